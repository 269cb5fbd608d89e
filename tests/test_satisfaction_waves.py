"""The satisfaction survey over waves: gap-change tests against scipy on the raw answers,
the multiplicity correction against statsmodels, reliability flags against pingouin, and the
demo's planted follow-up recovered."""
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from crmlib.demo import MODULES, generate
from crmlib.demo import satisfaction as DS
from crmlib.demo.waves import satisfaction_truth
from crmlib.io import load_items, load_survey
from crmlib.satisfaction import prepare_survey
from crmlib.satisfaction import waves as W

ITEMS = pd.DataFrame({"item": ["a1", "a2", "a3", "b1", "b2"], "dimension": ["A"] * 3 + ["B"] * 2,
                      "label": list("vwxyz"), "reverse": 0})


def _raw(rng, ids, shift=0.0, noise_b=False):
    n = len(ids)
    f = rng.normal(0, 1, n)
    cols = {"respondent_id": ids}
    for it, dim in zip(ITEMS["item"], ITEMS["dimension"]):
        base = 4 + f if not (noise_b and dim == "B") else 4
        cols[f"E_{it}"] = np.clip(np.rint(5 + rng.normal(0, 0.8, n)), 1, 7)
        cols[f"P_{it}"] = np.clip(np.rint(base + shift * (dim == "A") + rng.normal(0, 0.7, n)),
                                  1, 7)
    return pd.DataFrame(cols)


def _survey(raw):
    return prepare_survey(raw, ITEMS, 1, 7, segment_col=None)


@pytest.fixture(scope="module")
def raw_waves():
    rng = np.random.default_rng(5)
    ids = [f"r{i}" for i in range(80)]
    return _raw(rng, ids), _raw(rng, ids, shift=0.6), _raw(rng, [f"n{i}" for i in range(70)], 0.6)


def _gap(raw, item):
    return (raw[f"P_{item}"] - raw[f"E_{item}"]).to_numpy(float)


def test_paired_change_is_scipys_paired_t_on_the_raw_answers(raw_waves):
    before, after, _ = raw_waves
    b, lt = _survey(before), _survey(after)
    assert W.is_paired(b, lt)
    items, dims = W.gap_change(b, lt, significance=0.05, correction="holm")
    p = []
    for it in ITEMS["item"]:
        ref = stats.ttest_rel(_gap(after, it), _gap(before, it))
        ci = ref.confidence_interval(0.95)
        r = items.set_index("item").loc[it]
        assert r["test"] == "paired t" and r["n_pairs"] == 80
        assert r["change"] == pytest.approx(np.mean(_gap(after, it) - _gap(before, it)))
        assert r["p"] == pytest.approx(ref.pvalue) and r["t"] == pytest.approx(ref.statistic)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
        p.append(ref.pvalue)
    assert items["p_adj"].to_numpy() == pytest.approx(multipletests(p, method="holm")[1])
    da = lambda raw: np.mean([_gap(raw, i) for i in ("a1", "a2", "a3")], axis=0)  # noqa: E731
    ref = stats.ttest_rel(da(after), da(before))
    assert dims.set_index("dimension").loc["A", "p"] == pytest.approx(ref.pvalue)


def test_independent_change_is_scipys_welch_t_with_bh(raw_waves):
    before, _, fresh = raw_waves
    b, lt = _survey(before), _survey(fresh)
    assert not W.is_paired(b, lt)
    items, _ = W.gap_change(b, lt, significance=0.10, correction="bh")
    p = []
    for it in ITEMS["item"]:
        ref = stats.ttest_ind(_gap(fresh, it), _gap(before, it), equal_var=False)
        ci = ref.confidence_interval(0.90)
        r = items.set_index("item").loc[it]
        assert r["test"] == "Welch t"
        assert r["change"] == pytest.approx(_gap(fresh, it).mean() - _gap(before, it).mean())
        assert r["df"] == pytest.approx(ref.df) and r["p"] == pytest.approx(ref.pvalue)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))
        p.append(ref.pvalue)
    assert items["p_adj"].to_numpy() == pytest.approx(multipletests(p, method="fdr_bh")[1])


def test_a_scale_that_stops_being_reliable_is_flagged(raw_waves):
    rng = np.random.default_rng(9)
    before = _raw(rng, [f"r{i}" for i in range(200)])
    after = _raw(rng, [f"r{i}" for i in range(200)], noise_b=True)  # B items: noise only
    rel = W.reliability_by_wave({"w1": _survey(before), "w2": _survey(after)})
    r = rel.set_index(["wave", "dimension"])
    cols = ["P_b1", "P_b2"]
    assert r.loc[("w1", "B"), "alpha"] == pytest.approx(pg.cronbach_alpha(before[cols])[0])
    assert r.loc[("w2", "B"), "alpha"] == pytest.approx(pg.cronbach_alpha(after[cols])[0])
    assert r.loc[("w1", "B"), "alpha"] >= 0.7 > r.loc[("w2", "B"), "alpha"]
    assert rel.loc[rel["stopped_reliable"], "dimension"].tolist() == ["B"]
    assert not r.loc[("w2", "A"), "below_threshold"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("swaves")
    generate(out, seed=7, only=("clv", "satisfaction", "waves"))
    items = load_items(out / "survey_items.csv")
    s = {w: prepare_survey(load_survey(out / f), items, 1, 7, [DS.DONT_KNOW])
         for w, f in (("baseline", "survey.csv"), ("follow-up", "survey_wave2.csv"))}
    return W.compare_waves(s), items


def test_demo_gap_closing_and_kano_shift_recovered(demo):
    cmp, items = demo
    planted_items = DS.item_table(np.random.default_rng([7, MODULES.index("satisfaction")]))
    truth = satisfaction_truth(planted_items, np.random.default_rng(0), 20_000)
    d = cmp.dimension_change.set_index("dimension")
    assert not cmp.paired and (d["test"] == "Welch t").all()
    r = d.loc["reliability"]
    assert r["significant"] and r["ci_low"] <= truth.loc["reliability", "change"] <= r["ci_high"]
    assert "reliability" in cmp.payload()["gaps_closing"]
    k = cmp.kano.set_index("feature").loc["mobile_app"]
    assert (k["category_baseline"], k["category_latest"]) == ("A", "O") and k["shares_differ"]
    assert cmp.kano["shifted"].sum() == 1
    assert not cmp.reliability["stopped_reliable"].any()


def test_workshop_tabulates_the_planted_changes(demo):
    from crmlib.workshop.truths import satisfaction_wave_rows
    rows = satisfaction_wave_rows(demo[0].payload())
    assert {r["quantity"] for r in rows} >= {"gap change since baseline: reliability",
                                            "Kano category now: mobile_app"}
    within = {r["quantity"]: r["within"] for r in rows}
    assert within["gap change since baseline: reliability"]
    assert within["Kano category now: mobile_app"]
