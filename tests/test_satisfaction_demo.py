"""The small demo survey: the analysis recovers the planted truths (crmlib/demo/satisfaction.py)."""
import re

import pandas as pd
import pytest

import crmlib.satisfaction as S
from crmlib.demo import generate
from crmlib.demo.satisfaction import DIMENSIONS, KANO


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("sat")
    truth = generate(out, size="small", only=("satisfaction",)).read_text()
    P = {"survey": out / "survey.csv", "items": out / "survey_items.csv", "scale_min": 1,
         "scale_max": 7, "dont_know_codes": [99], "segment_col": "segment", "clv_table": None}
    sv, clv, quality = S.load_inputs(P)
    return sv, quality, truth


def test_planted_problems_are_counted(demo):
    sv, quality, truth = demo
    n_dk = int(re.search(r"(\d+) E/P cells hold the don't-know code", truth).group(1))
    ex = quality.excluded()
    assert ex["don't-know code set to missing"] == n_dk
    assert ex["no ratings at all (all missing or don't know)"] == 2
    assert ex["fewer than 50% of ratings answered"] == 3
    assert sv.n_respondents == 145


def test_dimension_gaps_recover_the_planted_signs(demo):
    sv, _, truth = demo
    g = S.dimension_gaps(sv).set_index("dimension")
    for dim in ("reliability", "responsiveness", "empathy"):
        assert g.loc[dim, "significant"] and g.loc[dim, "gap"] < 0, dim
    assert g.loc["tangibles", "gap"] > 0
    assert g.loc["reliability", "gap"] < g.loc["empathy", "gap"]
    expected = {m.group(1): float(m.group(2)) for m in
                re.finditer(r"^\| (\w+) \| [\d.]+ \| [\d.]+ \| ([+-][\d.]+) \|", truth, re.M)}
    assert set(expected) == set(DIMENSIONS)
    err = (g["gap"] - pd.Series(expected)) / g["se"]
    assert (err.abs() < 4).all()  # within sampling error (shared factor: loose bound)


def test_reverse_coded_items_are_recovered(demo):
    sv, _, _ = demo
    g = S.item_gaps(sv).set_index("item")
    assert g.loc["rel_errors", "gap"] < -0.4 and g.loc["res_busy", "gap"] < -0.2


def test_reliability_of_planted_scales(demo):
    rel = S.reliability_table(demo[0], n_boot=30)
    assert (rel["alpha"] > 0.75).all() and (rel["omega"] > 0.75).all()
    assert (rel["alpha_ci_low"] < rel["alpha"]).all()


def test_drivers_recover_the_planted_relative_weights(demo):
    sv, _, truth = demo
    d, r2, n = S.derived_importance(sv, "dimension", n_boot=200)
    d = d.set_index("dimension")
    assert d["share"].idxmax() == "reliability"  # the largest planted driver weight
    shares = {m.group(1): float(m.group(2)) for m in
              re.finditer(r"^\| (\w+) \|.*\| ([\d.]+) \|$", truth, re.M) if m.group(1) in DIMENSIONS}
    assert len(shares) == 5
    covered = [d.loc[k, "share_ci_low"] <= v <= d.loc[k, "share_ci_high"] for k, v in shares.items()]
    assert sum(covered) >= 4  # 95% intervals: one miss in five is allowed
    assert 0.4 < r2 < 0.9


def test_kano_categories_recovered(demo):
    k = S.kano_table(demo[0], alpha=0.05).set_index("feature")
    for feat, probs in KANO.items():
        if feat != "loyalty_points":
            assert k.loc[feat, "category"] == max(probs, key=probs.get), feat
            assert k.loc[feat, "clear_winner"], feat
    assert not k.loc["loyalty_points", "clear_winner"]


def test_segment_effect_shows_in_responsiveness(demo):
    by, tests = S.segment_gaps(demo[0])
    r = by[by.dimension == "responsiveness"].set_index("segment")["gap"]
    assert r.idxmin() == "Business"
    t = tests.set_index("dimension")
    assert t.loc["responsiveness", "p_welch"] == t["p_welch"].min()


def test_priorities_put_significant_reliability_shortfalls_on_top(demo):
    sv = demo[0]
    ig = S.item_gaps(sv)
    d = S.derived_importance(sv, n_boot=0)[0]
    pr = S.priority_list(ig, 0.05, derived=d, scale=sv.scale)
    assert pr["tier"].iloc[0] == "act"
    assert pr["dimension"].iloc[:4].isin(["reliability", "responsiveness"]).all()
    assert pr["rank"].tolist() == list(range(1, 23))
    tiers = pr["tier"].map({"act": 1, "watch": 2, "maintain": 3})
    assert tiers.is_monotonic_increasing


def test_readings_state_the_numbers(demo):
    from crmlib.satisfaction import narrative as N
    sv = demo[0]
    dg = S.dimension_gaps(sv)
    text = N.gaps(dg, "dimension", "holm")
    worst = dg.sort_values("gap").iloc[0]
    assert f"{worst['dimension']} {worst['gap']:+.2f} [{worst['ci_low']:+.2f}" in text
    assert "Holm" in text and "tangibles" in text
    assert "**No clear winner:** loyalty_points" in N.kano(S.kano_table(sv, alpha=0.05))
    rel = S.reliability_table(sv, n_boot=0)
    assert N.reliability(rel).startswith("5 of 5 dimensions")
    pr = S.priority_list(S.item_gaps(sv), 0.05, scale=sv.scale)
    assert N.priorities(pr).split(" ")[0] == str(int((pr["tier"] == "act").sum()))
