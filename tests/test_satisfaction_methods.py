"""Statistical building blocks checked against libraries, hand calculations and identities."""
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from crmlib.satisfaction import (
    RelativeWeights,
    adjust,
    classify,
    cronbach_alpha,
    fong_test,
    item_statistics,
    omega_total,
    paired_gap,
    priority_list,
)
from crmlib.satisfaction.gaps import _weighted_gap
from crmlib.satisfaction.kano import _feature_row


def test_paired_gap_matches_scipy_and_hand():
    rng = np.random.default_rng(3)
    e = pd.Series(rng.integers(3, 8, 60).astype(float))
    p = pd.Series(np.clip(e - rng.integers(-1, 3, 60), 1, 7).astype(float))
    p.iloc[5] = np.nan  # incomplete pair left out
    g = paired_gap(p, e)
    ok = p.notna()
    t = stats.ttest_rel(p[ok], e[ok])
    d = (p - e)[ok]
    assert g["n"] == 59
    assert g["gap"] == pytest.approx(d.mean())
    assert g["p"] == pytest.approx(t.pvalue)
    ci = t.confidence_interval(0.95)
    assert (g["ci_low"], g["ci_high"]) == pytest.approx((ci.low, ci.high))
    assert g["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    assert g["wilcoxon_p"] == pytest.approx(stats.wilcoxon(d).pvalue)
    assert g["expectation"] == pytest.approx(e[ok].mean())


def test_paired_gap_degenerate_cases_do_not_raise():
    same = pd.Series([4.0, 4, 4, 4])
    assert paired_gap(same, same)["wilcoxon_p"] == 1.0
    assert np.isnan(paired_gap(same + 1, same)["ci_low"])  # no spread: no t interval
    assert np.isnan(paired_gap(same[:1], same[:1])["p"])


def test_holm_and_bh_adjustments():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    holm = adjust(p, "holm")
    # Holm by hand: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 (monotone)
    assert holm[[4, 0, 2, 1]] == pytest.approx([0.02, 0.03, 0.06, 0.06])
    assert np.isnan(holm[3])
    bh = adjust(p, "bh")
    assert bh[[4, 0, 2, 1]] == pytest.approx([0.02, 0.02, 0.04, 0.04])


def test_alpha_if_deleted_and_item_total_match_pingouin():
    rng = np.random.default_rng(0)
    f = rng.normal(size=300)
    x = pd.DataFrame({f"i{k}": f * (0.5 + 0.2 * k) + rng.normal(size=300) for k in range(4)})
    t = item_statistics(x)
    for _, r in t.iterrows():
        rest = x.drop(columns=r["item"])
        assert r.alpha_if_deleted == pytest.approx(pg.cronbach_alpha(rest)[0])
        assert r.item_total_r == pytest.approx(np.corrcoef(x[r["item"]], rest.sum(axis=1))[0, 1])


def test_omega_recovers_population_value():
    rng = np.random.default_rng(1)
    lam, psi = np.array([0.9, 0.7, 0.5, 0.8]), np.array([0.4, 0.6, 0.8, 0.5])
    n = 20000
    x = rng.normal(size=(n, 1)) * lam + rng.normal(size=(n, 4)) * np.sqrt(psi)
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    assert omega_total(pd.DataFrame(x)) == pytest.approx(truth, abs=0.01)
    assert np.isnan(omega_total(pd.DataFrame(x[:, :2])))  # two items: not identified


def test_alpha_undefined_for_one_item():
    assert np.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, 2, 3, 4]}))[0])


def test_relative_weights_identities():
    rng = np.random.default_rng(2)
    n = 400
    x = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("abc"))
    x["b"] += 0.8 * x["a"]  # correlated predictors
    y = 0.6 * x["a"] + 0.3 * x["b"] + 0.1 * x["c"] + rng.normal(size=n)
    rw = RelativeWeights(n_boot=50).fit(x, y)
    r2 = sm_r2(x, y)
    assert rw.r2_ == pytest.approx(r2)
    assert rw.weights_.sum() == pytest.approx(r2)
    assert rw.shares_.sum() == pytest.approx(1)
    s = rw.summary()
    assert ((s.ci_low <= s.estimate) & (s.estimate <= s.ci_high)).all()
    assert list(s.sort_values("rank").predictor[:1]) == ["a"]


def test_relative_weights_equal_squared_correlations_when_uncorrelated():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(200, 3)))
    x = pd.DataFrame(q - q.mean(0), columns=list("abc"))
    x = (x - x.mean()) / x.std()
    x = pd.DataFrame(np.linalg.qr(x.to_numpy())[0], columns=list("abc"))  # orthogonal, centred
    x = x - x.mean()
    y = x["a"] * 2 + x["b"] + pd.Series(rng.normal(size=200)) * 0.05
    w = RelativeWeights(n_boot=0).fit(x, y).weights_
    r = x.corrwith(y) ** 2
    assert w.to_numpy() == pytest.approx(r.to_numpy(), abs=0.02)


def sm_r2(x, y):
    import statsmodels.api as sm
    return sm.OLS(y, sm.add_constant(x)).fit().rsquared


def test_kano_evaluation_table():
    f = pd.Series([1, 1, 1, 2, 3, 4, 5, 5, 1, np.nan])
    d = pd.Series([1, 2, 5, 5, 3, 5, 1, 5, 4, 3])
    c = classify(f, d)
    assert list(c[:9]) == ["Q", "A", "O", "M", "I", "M", "R", "Q", "A"]
    assert pd.isna(c.iloc[9])


def test_kano_feature_row_by_hand():
    cats = pd.Series(["A"] * 40 + ["O"] * 20 + ["M"] * 10 + ["I"] * 25 + ["R"] * 3 + ["Q"] * 2)
    r = _feature_row(cats, alpha=0.10, level=0.95)
    assert r["category"] == "A" and r["second"] == "I"
    assert r["strength"] == pytest.approx((40 - 25) / 100)
    assert r["better"] == pytest.approx(60 / 95)
    assert r["worse"] == pytest.approx(-30 / 95)
    assert r["better_ci_low"] < r["better"] < r["better_ci_high"]
    assert r["worse_ci_low"] < r["worse"] < r["worse_ci_high"] < 0
    # Fong: |40 - 25| vs 1.645 * sqrt(65 * (200 - 65) / 200)
    crit = stats.norm.ppf(0.95) * np.sqrt(65 * 135 / 200)
    assert r["fong_critical"] == pytest.approx(crit)
    assert r["clear_winner"] == (15 >= crit)


def test_fong_close_call_and_tie_break():
    clear, diff, crit = fong_test(pd.Series({"A": 30, "I": 29, "M": 5}))
    assert not clear and diff == 1
    cats = pd.Series(["A"] * 10 + ["M"] * 10 + ["I"] * 5)
    assert _feature_row(cats, 0.1, 0.95)["category"] == "M"  # M > O > A > I on ties


def test_weighted_gap_by_hand():
    d = np.array([-2.0, 0.0, 1.0, -1.0])
    w = np.array([4.0, 1.0, 1.0, 2.0])
    r = _weighted_gap(d, w, 0.95)
    g = (d * w).sum() / w.sum()
    p = w / w.sum()
    se = np.sqrt(4 / 3 * np.sum(p ** 2 * (d - g) ** 2))
    assert r["gap_weighted"] == pytest.approx(g)
    assert r["se"] == pytest.approx(se)
    assert r["n_eff"] == pytest.approx(64 / 22)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * 1.959964 * se, rel=1e-5)


def test_priority_rule_orders_by_tier_then_score():
    gaps = pd.DataFrame({
        "item": ["a", "b", "c", "d"], "label": list("ABCD"), "dimension": ["x"] * 4,
        "gap": [-0.5, -1.0, -0.8, 0.4], "ci_low": [-0.8, -1.3, -1.9, 0.1],
        "ci_high": [-0.2, -0.7, 0.3, 0.7], "p_adj": [0.01, 0.001, 0.3, 0.02]})
    derived = pd.DataFrame({"item": list("abcd"), "share": [0.4, 0.1, 0.3, 0.2]})
    pr = priority_list(gaps, 0.05, derived=derived)
    # a: 0.5 * 1.6 = 0.8; b: 1.0 * 0.4 = 0.4 (both act); c watch; d maintain
    assert list(pr["item"]) == ["a", "b", "c", "d"]
    assert list(pr["tier"]) == ["act", "act", "watch", "maintain"]
    assert pr["score"].tolist() == pytest.approx([0.8, 0.4, 0.96, 0.0])
    assert pr["importance_source"].iloc[0] == "derived"


def test_segment_pairwise_matches_pingouin_and_intervals_agree_with_p():
    from crmlib.satisfaction import segment_pairwise
    from crmlib.satisfaction.prepare import Survey
    rng = np.random.default_rng(5)
    n = 90
    seg = pd.Series(np.repeat(["a", "b", "c"], 30))
    e = pd.DataFrame({"x": rng.normal(5, 1, n)})
    p = pd.DataFrame({"x": e["x"] - 0.8 * (seg == "c") + rng.normal(0, 1, n)})
    cat = pd.DataFrame({"dimension": ["D"], "label": ["x"], "reverse": [0]}, index=["x"])
    s = Survey(expectations=e, perceptions=p, catalogue=cat, scale=(1, 7), segment=seg)
    t = segment_pairwise(s, 0.05)
    ref = pg.pairwise_gameshowell(data=pd.DataFrame({"g": p["x"] - e["x"], "s": seg}),
                                  dv="g", between="s")
    assert t["diff"].to_numpy() == pytest.approx(ref["diff"].to_numpy())
    assert t["p_adj"].to_numpy() == pytest.approx(ref["pval"].to_numpy())
    excludes_zero = (t["ci_low"] > 0) | (t["ci_high"] < 0)
    assert (excludes_zero == (t["p_adj"] < 0.05)).all()


def test_value_lift_interval_brackets_the_lift():
    from crmlib.satisfaction.gaps import _lift_ci
    rng = np.random.default_rng(0)
    d = rng.normal(-0.5, 1, 300)
    w = rng.gamma(1, 1, 300)
    d[w > np.quantile(w, 0.75)] -= 1.0  # valuable customers feel a bigger shortfall
    lift = (d * w).sum() / w.sum() - d.mean()
    lo, hi, why = _lift_ci(d, w, lift, 0.95, 400, np.random.default_rng(1))
    assert lo < lift < hi < 0 and why == ""


def test_weighted_gap_matches_weighted_least_squares_with_robust_errors():
    """The linearisation s.e. of a weighted mean is the HC1 sandwich s.e. of the intercept
    of a weighted regression on a constant; its p-value is the two-sided normal one."""
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    d = np.round(rng.normal(-0.2, 1.2, 40))
    w = rng.gamma(2.0, 50.0, 40)
    r = _weighted_gap(d, w, 0.95)
    ref = sm.WLS(d, np.ones_like(d), weights=w).fit(cov_type="HC1")
    assert r["gap_weighted"] == pytest.approx(ref.params[0], rel=1e-12)
    assert r["se"] == pytest.approx(ref.bse[0], rel=1e-10)
    assert r["p"] == pytest.approx(ref.pvalues[0], rel=1e-8)
    assert 0.001 < r["p"] < 0.2  # a p-value where one- and two-sided differ visibly


def _ipa_survey(scale_min, scale_max, perf, imp, n=40, seed=2, stated=True):
    """A survey whose item means sit at ``perf`` / ``imp`` (± a symmetric spread)."""
    from crmlib.io import DataQualityReport, load_items, load_survey
    from crmlib.satisfaction import prepare_survey

    spread = np.resize([-1.0, 1.0], n)
    data = {"respondent_id": [f"R{i}" for i in range(n)]}
    for it, p, i in zip(("a1", "a2", "b1"), perf, imp):
        data[f"E_{it}"] = np.full(n, float(scale_max))
        data[f"P_{it}"] = p + spread
        if stated:
            data[f"I_{it}"] = i + spread
    items = pd.DataFrame({"item": ["a1", "a2", "b1"], "dimension": ["A", "A", "B"],
                          "label": ["x", "y", "z"]})
    q = DataQualityReport()
    return prepare_survey(load_survey(pd.DataFrame(data), quality=q),
                          load_items(items, quality=q), scale_min=scale_min,
                          scale_max=scale_max, segment_col=None, quality=q)


@pytest.mark.parametrize("lo,hi,mid", [(1, 7, 4.0), (0, 10, 5.0)])
def test_ipa_crosshair_at_the_scale_midpoint(lo, hi, mid):
    from crmlib.satisfaction import ipa_table

    # item a1 just below the midpoint, a2 just above, b1 well above (importance likewise)
    s = _ipa_survey(lo, hi, perf=[mid - 0.25, mid + 0.25, mid + 2], imp=[mid + 2, mid - 0.25,
                                                                         mid + 0.25])
    t = ipa_table(s, crosshair="midpoint").set_index("item")
    assert t.attrs["performance_center"] == mid and t.attrs["importance_center"] == mid
    assert t.loc["a1", ["performance", "importance"]].tolist() == [mid - 0.25, mid + 2]
    assert t.at["a1", "quadrant"] == "Concentrate here"
    assert t.at["a2", "quadrant"] == "Possible overkill"
    assert t.at["b1", "quadrant"] == "Keep up the good work"


def test_ipa_intervals_certainty_and_priority_by_hand():
    from crmlib.satisfaction import ipa_table

    s = _ipa_survey(1, 7, perf=[3.5, 4.25, 6.0], imp=[6.0, 3.75, 4.25])
    t = ipa_table(s).set_index("item")
    for it, col in (("a1", "performance"), ("b1", "importance")):
        x = (s.perceptions if col == "performance" else s.importance)[it]
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert t.at[it, f"{col}_ci_low"] == pytest.approx(lo, rel=1e-12)
        assert t.at[it, f"{col}_ci_high"] == pytest.approx(hi, rel=1e-12)
    x = s.perceptions["a2"]
    lo, hi = stats.t.interval(0.90, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    t90 = ipa_table(s, level=0.90).set_index("item")
    assert (t90.at["a2", "performance_ci_low"], t90.at["a2", "performance_ci_high"]) == \
        pytest.approx((lo, hi), rel=1e-12)
    # half-width 2.02 · 1.01 / √40 ≈ 0.32: a1 is clear of both lines, a2 (perf) and b1
    # (importance) are not
    assert t["quadrant_certain"].tolist() == [True, False, False]
    # stated importance: (importance − 4) − (performance − 4)
    np.testing.assert_allclose(t["priority_index"], [2 + 0.5, -0.25 - 0.25, 0.25 - 2])
    assert t.attrs["importance"] == "stated" and t.attrs["crosshair"] == "midpoint"
    m = ipa_table(s, crosshair="mean")
    assert m.attrs["performance_center"] == pytest.approx((3.5 + 4.25 + 6) / 3)
    assert m.attrs["importance_center"] == pytest.approx((6 + 3.75 + 4.25) / 3)
    assert m.attrs["crosshair"] == "mean"


def test_ipa_on_derived_importance_by_hand():
    from crmlib.io import ParameterError
    from crmlib.satisfaction import ipa_auto, ipa_table

    s = _ipa_survey(1, 7, perf=[3.5, 4.25, 6.0], imp=[0, 0, 0], stated=False)
    derived = pd.DataFrame({"item": ["a1", "a2", "b1"], "share": [0.5, 0.3, 0.2],
                            "share_ci_low": [0.4, 0.25, 0.1], "share_ci_high": [0.6, 0.35, 0.3]})
    t = ipa_table(s, derived, "derived").set_index("item")
    assert t.attrs["importance_center"] == pytest.approx(1 / 3)  # equal share of 3 items
    assert t["importance"].tolist() == [0.5, 0.3, 0.2]
    assert t["importance_ci_low"].tolist() == [0.4, 0.25, 0.1]
    assert t["importance_ci_high"].tolist() == [0.6, 0.35, 0.3]
    assert t["quadrant"].tolist() == ["Concentrate here", "Possible overkill",
                                      "Possible overkill"]
    # a2's share interval (0.25, 0.35) straddles 1/3; b1's (0.1, 0.3) lies below it
    assert t["quadrant_certain"].tolist() == [True, False, True]
    s_i, s_p = np.std([0.5, 0.3, 0.2], ddof=1), np.std([3.5, 4.25, 6.0], ddof=1)
    np.testing.assert_allclose(
        t["priority_index"], (np.array([0.5, 0.3, 0.2]) - 1 / 3) / s_i
        - (np.array([3.5, 4.25, 6.0]) - 4) / s_p)
    assert list(t.columns) == ["dimension", "label", "performance", "performance_ci_low",
                               "performance_ci_high", "importance", "importance_ci_low",
                               "importance_ci_high", "quadrant", "quadrant_certain",
                               "priority_index"]
    assert t["dimension"].tolist() == ["A", "A", "B"] and t["label"].tolist() == ["x", "y", "z"]
    # ipa_auto: stated importance when there is one, else derived, else nothing; mean crosshair
    auto = ipa_auto(s, derived, level=0.90)
    assert auto.attrs["importance"] == "derived" and auto.attrs["crosshair"] == "mean"
    assert auto.attrs["importance_center"] == pytest.approx(1 / 3)
    assert auto["performance_ci_high"].tolist() == pytest.approx(
        ipa_table(s, derived, "derived", "mean", 0.90)["performance_ci_high"].tolist())
    assert ipa_auto(s, None) is None
    stated = _ipa_survey(1, 7, perf=[3.5, 4.25, 6.0], imp=[6.0, 3.75, 4.25])
    a = ipa_auto(stated, derived, level=0.90)
    assert a.attrs["importance"] == "stated" and a.attrs["crosshair"] == "mean"
    assert a["importance"].tolist() == pytest.approx([6.0, 3.75, 4.25])
    assert a["performance_ci_low"].tolist() == pytest.approx(
        ipa_table(stated, None, "stated", "mean", 0.90)["performance_ci_low"].tolist())
    for kw, name in (({"crosshair": "median"}, "crosshair"), ({"importance": "x"}, "importance"),
                     ({"importance": "derived"}, "importance"), ({}, "importance")):
        with pytest.raises(ParameterError, match=name):
            ipa_table(s, **kw)


def test_ipa_ties_at_the_crosshair_and_flat_performance():
    from crmlib.satisfaction import ipa_auto, ipa_table

    # an item exactly on both lines counts as high importance and high performance
    s = _ipa_survey(1, 7, perf=[4.0, 3.0, 5.0], imp=[4.0, 5.0, 3.0])
    t = ipa_table(s).set_index("item")
    assert t.at["a1", "quadrant"] == "Keep up the good work"
    # ipa_auto's default level is 95%, as ipa_table's
    a = ipa_auto(s).set_index("item")
    m = ipa_table(s, crosshair="mean").set_index("item")
    np.testing.assert_allclose(a["performance_ci_low"], m["performance_ci_low"])
    # derived importance with every item performing the same: the spread of performance is
    # 0 and is taken as 1, so the priority index is (share − 1/3)/s_i − (5 − 4)/1
    flat = _ipa_survey(1, 7, perf=[5.0, 5.0, 5.0], imp=[0, 0, 0], stated=False)
    derived = pd.DataFrame({"item": ["a1", "a2", "b1"], "share": [0.5, 0.3, 0.2],
                            "share_ci_low": [0.4, 0.2, 0.1], "share_ci_high": [0.6, 0.4, 0.3]})
    t = ipa_table(flat, derived, "derived").set_index("item")
    s_i = np.std([0.5, 0.3, 0.2], ddof=1)
    np.testing.assert_allclose(t["priority_index"], (np.array([0.5, 0.3, 0.2]) - 1 / 3) / s_i - 1)
    same = derived.assign(share=1 / 3)
    t = ipa_table(flat, same, "derived").set_index("item")
    np.testing.assert_allclose(t["priority_index"], [-1.0, -1.0, -1.0])


def test_segment_pairwise_games_howell_by_hand():
    """Games & Howell (1976) written out: Welch s.e. √(v_A/n_A + v_B/n_B) and df, q = √2·|t|
    against the studentized range of k segments; interval diff ± q_crit/√2 · s.e."""
    from crmlib.satisfaction import segment_pairwise
    from crmlib.satisfaction.prepare import Survey

    rng = np.random.default_rng(8)
    seg = pd.Series(np.repeat(["a", "b", "c", "d"], [12, 20, 16, 3]))  # d: too small
    n = len(seg)
    e = pd.DataFrame({"x": rng.normal(5, 1, n), "y": rng.normal(5, 1, n)})
    p = pd.DataFrame({"x": e["x"] - 0.9 * (seg == "c") + rng.normal(0, 1, n) * (1 + (seg == "b")),
                      "y": e["y"] + rng.normal(0, 1, n)})
    cat = pd.DataFrame({"dimension": ["D", "E"], "label": ["x", "y"], "reverse": [0, 0]},
                       index=["x", "y"])
    s = Survey(expectations=e, perceptions=p, catalogue=cat, scale=(1, 7), segment=seg)
    t = segment_pairwise(s, 0.10, min_size=5)
    assert list(t.columns) == ["dimension", "A", "B", "diff", "se", "ci_low", "ci_high", "p_adj"]
    assert len(t) == 6 and set(t["A"]) | set(t["B"]) == {"a", "b", "c"}
    for r in t.itertuples():
        g = s.dimension_scores("gaps")[r.dimension]
        a, b = g[seg == r.A], g[seg == r.B]
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        diff = a.mean() - b.mean()
        assert r.diff == pytest.approx(diff, rel=1e-12)
        assert r.p_adj == pytest.approx(stats.studentized_range.sf(np.sqrt(2) * abs(diff) / se,
                                                                   3, df), rel=1e-6)
        half = stats.studentized_range.ppf(0.90, 3, df) / np.sqrt(2) * se
        assert (r.ci_low, r.ci_high) == pytest.approx((diff - half, diff + half), rel=1e-6)


def _wilson(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_kano_evaluation_table_and_feature_row_by_hand():
    # Berger et al. (1993) evaluation table: rows functional 1 (like) … 5 (dislike),
    # columns dysfunctional 1 … 5
    table = ["QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ"]
    f = pd.Series(np.repeat(np.arange(1, 6), 5).astype(float))
    d = pd.Series(np.tile(np.arange(1, 6), 5).astype(float))
    assert "".join(classify(f, d)) == "".join(table)
    gaps = classify(pd.Series([1.0, np.nan]), pd.Series([np.nan, 5.0]))
    assert gaps.isna().all()
    # 12 A, 9 O, 5 M, 3 I, 1 R (30 answers): A wins, O second
    cats = pd.Series(list("A" * 12 + "O" * 9 + "M" * 5 + "I" * 3 + "R") + [None])
    r = _feature_row(cats, 0.10, 0.95)
    assert (r["n"], r["A"], r["O"], r["M"], r["I"], r["R"], r["Q"]) == (30, 12, 9, 5, 3, 1, 0)
    assert (r["category"], r["category_name"], r["second"]) == ("A", "attractive", "O")
    assert r["strength"] == pytest.approx(3 / 30)
    assert r["better"] == pytest.approx(21 / 29) and r["worse"] == pytest.approx(-14 / 29)
    assert (r["better_ci_low"], r["better_ci_high"]) == pytest.approx(_wilson(21, 29))
    lo, hi = _wilson(14, 29)
    assert (r["worse_ci_low"], r["worse_ci_high"]) == pytest.approx((-hi, -lo))
    crit = 1.6448536269514722 * np.sqrt(21 * (60 - 21) / 60)  # Fong: a = 12, b = 9, n = 30
    assert (r["fong_diff"], r["fong_critical"]) == pytest.approx((3, crit))
    assert r["clear_winner"] is False
    # a tie between M and O goes to M (the stronger influence on satisfaction)
    tie = _feature_row(pd.Series(list("OOMMI")), 0.10, 0.95)
    assert (tie["category"], tie["second"], tie["strength"]) == ("M", "O", 0.0)
    assert fong_test(pd.Series({"A": 20, "O": 2, "M": 1}))[0] is True
    empty = _feature_row(pd.Series([None, None], dtype=object), 0.10, 0.95)
    assert empty["n"] == 0 and empty["category"] is None and empty["clear_winner"] is False
    assert np.isnan(empty["better"]) and np.isnan(empty["strength"])
