"""Agreement and alignment statistics: published values (REFERENCES.md) and hand computations."""
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from crmlib.assessment import alignment as AL

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
SF_LONG = pd.DataFrame([(t, j, SF[t, j]) for t in range(6) for j in range(4)],
                       columns=["target", "judge", "rating"])
SF_PUBLISHED = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71,
                "ICC(1,4)": 0.44, "ICC(2,4)": 0.62, "ICC(3,4)": 0.91}


def test_shrout_fleiss_six_iccs_reproduced():
    got = AL.shrout_fleiss_icc(SF_LONG, "target", "judge", "rating").set_index("type")["icc"]
    for name, value in SF_PUBLISHED.items():
        assert got[name] == pytest.approx(value, abs=0.005), name


def test_oneway_icc_equals_shrout_fleiss_icc1_and_pingouin_interval():
    out = AL.icc_oneway(SF_LONG["rating"], SF_LONG["target"], ci=0.95)
    assert out["icc1"] == pytest.approx(0.17, abs=0.005)      # ICC(1,1)
    assert out["icc2"] == pytest.approx(0.44, abs=0.005)      # ICC(1,k): reliability of means
    assert out["k0"] == 4 and out["df1"] == 5 and out["df2"] == 18
    ref = pg.intraclass_corr(SF_LONG, "target", "judge", "rating").set_index("Type")
    assert out["icc1"] == pytest.approx(ref.loc["ICC(1,1)", "ICC"], rel=1e-12)
    assert [out["icc1_low"], out["icc1_high"]] == pytest.approx(ref.loc["ICC(1,1)", "CI95"],
                                                               abs=0.005)
    assert [out["icc2_low"], out["icc2_high"]] == pytest.approx(ref.loc["ICC(1,k)", "CI95"],
                                                               abs=0.005)


def test_oneway_icc_unequal_groups_uses_k0_by_hand():
    # groups of 2, 3 and 5: MSB and MSW by hand
    groups = [[1, 2], [2, 3, 4], [3, 4, 4, 4, 3]]
    v = np.concatenate(groups)
    g = np.repeat([0, 1, 2], [2, 3, 5])
    grand = v.mean()
    msb = sum(len(x) * (np.mean(x) - grand) ** 2 for x in groups) / 2
    msw = sum(((np.array(x) - np.mean(x)) ** 2).sum() for x in groups) / 7
    k0 = (10 - (4 + 9 + 25) / 10) / 2
    out = AL.icc_oneway(v, g)
    assert out["k0"] == pytest.approx(k0)
    assert out["icc1"] == pytest.approx((msb - msw) / (msb + (k0 - 1) * msw))
    assert out["icc2"] == pytest.approx((msb - msw) / msb)


def test_oneway_icc_undefined_cases_are_nan():
    assert np.isnan(AL.icc_oneway([3, 2], ["a", "b"])["icc1"])        # no within-group df
    assert np.isnan(AL.icc_oneway([3, 2, 4], ["a", "a", "a"])["icc2"])  # one group


def test_rwg_single_item_by_hand():
    # James, Demaree & Wolf (1984): r_wg = 1 - s²/σ²_EU, σ²_EU = (A² - 1)/12
    assert AL.null_variance(4) == pytest.approx(1.25)
    assert AL.null_variance(5) == pytest.approx(2.0)
    assert AL.rwg([2, 3, 3, 4]) == pytest.approx(1 - (2 / 3) / 1.25)    # 0.4667
    assert AL.rwg([3, 3, 3, 3, 3]) == 1.0
    assert AL.rwg([4, 4, 5, 5, 4], n_options=5) == pytest.approx(1 - 0.3 / 2.0)
    assert AL.rwg([1, 4, 1, 4]) == 0.0                                  # s² = 3 > 1.25: truncated
    assert AL.rwg([1, 4, 1, 4], truncate=False) == pytest.approx(1 - 3 / 1.25)
    assert np.isnan(AL.rwg([3]))                                          # one respondent
    assert AL.rwg([2, np.nan, 3, 3, 4]) == AL.rwg([2, 3, 3, 4])


def test_rwg_j_by_hand():
    # four items, each with variance 0.5 → s̄²/σ² = 0.4 → 4·0.6 / (4·0.6 + 0.4) = 0.857
    x = np.array([[2, 2, 3, 3], [3, 3, 2, 2], [2, 3, 3, 2], [3, 2, 2, 3]], dtype=float)
    assert np.var(x, axis=0, ddof=1) == pytest.approx([1 / 3] * 4)
    ratio = (1 / 3) / 1.25
    assert AL.rwg_j(x) == pytest.approx(4 * (1 - ratio) / (4 * (1 - ratio) + ratio))
    y = np.array([[1, 2], [2, 4], [3, 3]], dtype=float)   # variances 1 and 1 → ratio 0.8, J=2
    assert AL.rwg_j(y) == pytest.approx(2 * 0.2 / (2 * 0.2 + 0.8))
    assert AL.rwg_j(np.array([[1, 1], [4, 4], [1, 4]], dtype=float)) == 0.0
    assert np.isnan(AL.rwg_j(np.array([[2.0, 3.0]])))     # one respondent


def _data(rows):
    df = pd.DataFrame(rows, columns=["respondent_id", "group", "capability", "current"])
    df["driver"] = df["capability"].map({"a": "business leadership", "b": "business leadership",
                                         "c": "organisation design"})
    return df


def test_kruskal_wallis_effect_size_and_holm():
    rng = np.random.default_rng(3)
    rows = []
    for g, shift in [("X", 0), ("Y", 1), ("Z", 0)]:
        for i in range(8):
            for cap in "abc":
                v = int(np.clip(2 + (shift if cap == "a" else 0) + rng.integers(-1, 2), 1, 4))
                rows.append((f"{g}{i}", g, cap, v))
    data = _data(rows)
    out = AL.between_group_differences(data, ["X", "Y", "Z"]).set_index("capability")
    part = data.loc[data["capability"] == "a"]
    H, p = stats.kruskal(*[part.loc[part["group"] == g, "current"] for g in "XYZ"])
    assert out.loc["a", "H"] == pytest.approx(H) and out.loc["a", "p"] == pytest.approx(p)
    assert out.loc["a", "epsilon2"] == pytest.approx(H / ((24 ** 2 - 1) / (24 + 1)))
    assert out.loc["a", "highest_group"] == "Y"
    assert out["p_holm"].tolist() == pytest.approx(
        multipletests(out["p"], method="holm")[1].tolist())
    assert bool(out.loc["a", "significant"])


def test_identical_ratings_give_h_zero_not_a_scipy_error():
    data = _data([(f"{g}{i}", g, "a", 3) for g in "XY" for i in range(5)])
    out = AL.between_group_differences(data, ["X", "Y"])
    assert out.loc[0, "H"] == 0 and out.loc[0, "p"] == 1 and out.loc[0, "p_holm"] == 1


def test_misalignment_rule_needs_size_and_significance():
    between = pd.DataFrame({"capability": ["a", "b", "c", "d"], "driver": ["x"] * 4,
                            "range": [0.8, 0.3, 0.1, 0.9], "p_holm": [0.01, 0.001, 0.5, 0.2]})
    gap = pd.DataFrame({"capability": ["a", "b", "c", "d", "overall"],
                        "estimate": [0.1, 0.2, 0.7, 0.6, 0.3], "p_boot": [0.5, 0.5, 0.001, 0.3, 0]})
    out = AL.flag_misaligned(between, gap, alpha=0.05, min_difference=0.5).set_index("capability")
    assert out["groups_differ"].tolist() == [True, False, False, False]
    assert out["staff_customer_gap"].tolist() == [False, False, True, False]
    assert out["misaligned"].tolist() == [True, False, False, False]  # internal only
    assert "Holm p" in out.loc["a", "reason"] and "gap +0.70" in out.loc["c", "reason"]


def test_agreement_tables_say_when_a_group_has_one_respondent(catalogue):
    data = _data([("X1", "X", "a", 2), ("X2", "X", "a", 3), ("X3", "X", "a", 3),
                  ("Y1", "Y", "a", 4), ("X1", "X", "b", 2), ("X2", "X", "b", 2)])
    cat = catalogue.iloc[:0].reindex(["a", "b", "c"])
    cat["driver"] = ["business leadership", "business leadership", "organisation design"]
    out = AL.within_group_agreement(data, cat)
    y = out.loc[out["group"] == "Y"]
    assert y["value"].isna().all() and (y["note"] == AL.ONE_RESPONDENT).all()
    x = out.loc[(out["group"] == "X") & (out["level"] == "capability")].set_index("name")
    assert x.loc["a", "value"] == pytest.approx(1 - (1 / 3) / 1.25)
    assert x.loc["b", "value"] == 1.0
    summary = AL.agreement_summary(out).set_index("group")
    assert summary.loc["Y", "note"] == AL.ONE_RESPONDENT


@pytest.fixture
def catalogue():
    from crmlib.assessment import load_catalogue
    return load_catalogue()


def test_bootstrap_agreement_replicates_match_the_scalar_formulas():
    x = np.array([[1, 2, np.nan], [2, 2, 3], [3, 4, 3], [2, 3, 4], [4, 4, 4]], dtype=float)
    r1, rj = AL._boot_agreement(x, [np.array([0, 1]), np.array([2])], 50,
                                np.random.default_rng(5), 4)
    counts = np.random.default_rng(5).multinomial(5, np.full(5, 0.2), size=50)
    assert (counts.sum(1) == 5).all()
    for b in range(50):
        xb = np.repeat(x, counts[b], axis=0)
        assert r1[b].tolist() == pytest.approx([AL.rwg(xb[:, k]) for k in range(3)], nan_ok=True)
        assert rj[b, 0] == pytest.approx(AL.rwg_j(xb[:, :2]), nan_ok=True)


def test_agreement_intervals_collapse_when_a_group_agrees_fully():
    data = _data([(f"X{i}", "X", c, 3) for i in range(6) for c in "ab"])
    cat = pd.DataFrame({"driver": ["business leadership"] * 2}, index=pd.Index(list("ab"),
                                                                               name="capability"))
    out = AL.within_group_agreement(data, cat, n_boot=200)
    assert (out["value"] == 1).all() and (out["ci_low"] == 1).all() and (out["ci_high"] == 1).all()


def test_profile_agreement_of_groups():
    caps = list("abcdef")
    base = [1.5, 2.0, 2.5, 3.0, 3.5, 2.2]
    rows = [{"group": g, "capability": c, "estimate": v + shift}
            for g, shift in (("X", 0.0), ("Y", 0.5)) for c, v in zip(caps, base)]
    out = AL.profile_agreement(pd.DataFrame(rows)).set_index("type")["icc"]
    assert out["ICC(3,1)"] == pytest.approx(1.0)        # same ranking: full consistency
    assert out["ICC(2,1)"] < 1                           # but not absolute agreement (shift)
    assert AL.profile_agreement(pd.DataFrame(rows[:6])).empty   # one group: nothing to compare
