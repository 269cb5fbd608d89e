"""Planted truths vs recovered: the planted values agree with TRUTH.md, the comparison logic."""
import json
import re

import numpy as np
import pandas as pd
import pytest

from crmlib.demo import generate
from crmlib.demo.assessment import planted_truth
from crmlib.demo.clv import BGNBD, GAMMA_GAMMA, SBG
from crmlib.demo.roi import PHASES
from crmlib.workshop.truths import (
    COLUMNS,
    _satisfaction_expected,
    assessment_rows,
    clv_migration_rows,
    clv_rows,
    comparison,
    roi_rows,
    satisfaction_rows,
)

SEED = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("truths")
    truth = generate(out, seed=SEED, size="small", only=("clv", "satisfaction", "roi"))
    return out, truth.read_text()


def by_quantity(rows):
    return {r["quantity"]: r for r in rows}


def test_assessment_recovered_exactly_is_within_and_a_miss_is_flagged():
    t = planted_truth()
    drivers = {d: float(v) for d, v in t["driver"].items()}
    res = {"company_stage": t["company_stage"], "mean_stage": t["mean_stage"] + 0.05,
           "mean_stage_ci": [t["mean_stage"] - 0.1, t["mean_stage"] + 0.1],
           "stage_by_driver": {d: v + 0.5 for d, v in drivers.items()},
           "stage_by_driver_ci": {d: [v + 0.3, v + 0.7] for d, v in drivers.items()},
           "staff_vs_customer_gap": 0.5, "staff_vs_customer_gap_ci": [0.4, 0.6],
           "misaligned_capabilities": list(reversed(t["misaligned"]))}
    rows = by_quantity(assessment_rows(res))
    assert rows["company base (no-skipping rule)"]["within"] is True
    assert rows["mean stage"]["within"] is True
    assert all(r["within"] is False for q, r in rows.items() if q.startswith("stage: "))
    assert rows["misaligned capabilities"]["within"] is True  # order does not matter
    assert rows["staff − customer gap"]["within"] == (0.4 <= t["gap_overall"] <= 0.6)


def test_clv_rows_use_the_planted_parameters():
    res = {"model": "bgnbd", "time_unit": "W",
           "params": dict(BGNBD), "params_ci": {k: [v * 0.9, v * 1.1] for k, v in BGNBD.items()},
           "gamma_gamma": {"p": 6.0, "q": 4.0, "v": 120.0},
           "gamma_gamma_se": {"p": 0.5, "q": 0.2, "v": 10.0},
           "subscriptions": {"params": dict(SBG), "params_se": {k: 0.1 for k in SBG}}}
    rows = by_quantity(clv_rows(res))
    assert all(rows[f"BG/NBD {k} (weeks)"]["within"] for k in BGNBD)
    assert rows["Gamma-Gamma gamma"]["within"] is False  # 120 ± 19.6 misses 90
    assert rows["Gamma-Gamma p"]["within"] is True
    spend = rows["mean spend per purchase pγ/(q − 1)"]
    assert spend["planted"] == pytest.approx(GAMMA_GAMMA["p"] * GAMMA_GAMMA["gamma"] / 3)
    assert spend["recovered"] == pytest.approx(240.0) and spend["within"] is None
    assert all(rows[f"sBG {k} (months)"]["within"] for k in SBG)
    # another time unit: the BG/NBD parameters are not comparable with the planted weeks
    assert not any(q.startswith("BG/NBD") for q in by_quantity(clv_rows({**res, "time_unit": "D"})))


def test_planted_migration_rows_by_hand():
    # 20 top customers, 10 planted to lapse; the comparison found 9 of them and 1 stayer churned
    top = [f"T{i:02d}" for i in range(20)]
    acc = [f"A{i:02d}" for i in range(10)]
    planted = pd.DataFrame({"customer_id": top + acc + ["N1", "N2"],
                            "group": ["lapse"] * 10 + ["stay_top"] * 10 + ["accelerate"] * 10
                            + ["new"] * 2})
    status = ["churned"] * 9 + ["retained"] * 10 + ["churned"]
    # accelerating: 9 up (Lower 50% → Next 10%), 1 stays Lower 50%
    tiers = [("Lower 50%", "Next 10%")] * 9 + [("Lower 50%", "Lower 50%")]
    customers = pd.DataFrame({
        "customer_id": top + acc, "status": status + ["retained"] * 10,
        "tier_before": ["Top 10%"] * 20 + [t[0] for t in tiers],
        "tier_now": ["Churned" if s == "churned" else "Top 10%" for s in status]
        + [t[1] for t in tiers]})
    lapse, up, new = clv_migration_rows(customers, {"n_new": 2}, planted)
    assert (lapse["planted"], lapse["recovered"]) == (0.5, 0.5) and lapse["within"]
    assert (up["planted"], up["recovered"]) == (1.0, 0.9) and up["within"]
    assert (new["planted"], new["recovered"]) == (2, 2) and new["within"]
    # 3 lapsed customers missed: 7/20 churned, 0.15 off the planted half
    missed = customers.assign(status=["churned"] * 7 + ["retained"] * 23)
    assert not clv_migration_rows(missed, {"n_new": 2}, planted)[0]["within"]
    # a churned accelerating customer did not move up: 7/10 < 90%
    churned = customers["customer_id"].isin(acc[:2])
    down = customers.assign(tier_now=customers["tier_now"].mask(churned, "Churned"))
    assert clv_migration_rows(down, {"n_new": 2}, planted)[1]["recovered"] == 0.7
    assert not clv_migration_rows(down, {"n_new": 2}, planted)[1]["within"]
    assert not clv_migration_rows(customers, {"n_new": 3}, planted)[2]["within"]


def test_satisfaction_expected_gaps_agree_with_truth_md(demo):
    _, truth = demo
    stated = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^\| (\w+) \| [\d.]+ \| [\d.]+ \| ([+-][\d.]+) \|", truth, re.M)}
    assert len(stated) == 5
    expected = _satisfaction_expected(SEED)["dim_gap"]
    for dim, gap in stated.items():
        assert expected[dim] == pytest.approx(gap, abs=0.03), dim  # both by simulation


def test_satisfaction_rows_compare_gaps_and_kano():
    gaps = _satisfaction_expected(SEED)["dim_gap"]
    res = {"gaps_by_dimension": {d: {"gap": g, "ci_low": g - 0.1, "ci_high": g + 0.1}
                                 for d, g in gaps.items()},
           "kano": {"chatbot": {"category": "R", "better": 0.2, "better_ci_low": 0.1,
                                "better_ci_high": 0.3, "worse": -0.5, "worse_ci_low": -0.6,
                                "worse_ci_high": -0.4}}}
    rows = by_quantity(satisfaction_rows(res, SEED))
    assert all(rows[f"gap P − E: {d}"]["within"] for d in gaps)
    assert "Business" in rows["gap P − E: responsiveness"]["note"]
    assert rows["Kano category: chatbot"]["within"] is True
    assert rows["Kano Worse: chatbot"]["within"] is False  # planted −0.05/0.45 ≈ −0.11


def test_roi_planted_npv_matches_truth_md(demo):
    out, truth = demo
    stated = {m.group(1): float(m.group(2).replace(",", "")) for m in re.finditer(
        r"True 24-month NPV of \*(.+?)\* .*?EUR (-?[\d,]+)", truth)}
    phases = [{"name": p["name"], "npv": {"24": 0.0}, "npv_p10_p90": {"24": [-1e9, 1e9]},
               "kpis": {k[0]: {"effect": k[5], "ci_low": k[5] - 0.1, "ci_high": k[5] + 0.1}
                        for _, ks in p["goals"] for k in ks}} for p in PHASES]
    rows = by_quantity(roi_rows({"phases": phases}, out))
    for name, npv in stated.items():
        assert rows[f"NPV 24 months: {name}"]["planted"] == pytest.approx(npv, abs=1)
    effects = [r for q, r in rows.items() if q.startswith("effect: ")]
    assert len(effects) == 9 and all(r["within"] for r in effects)
    assert "zero" in rows["effect: nps (Service recovery)"]["note"]


def test_comparison_reads_results_json(tmp_path):
    t = planted_truth()
    res = {"company_stage": t["company_stage"] + 1, "mean_stage": 2.0,
           "stage_by_driver": {d: 2.0 for d in t["driver"].index},
           "staff_vs_customer_gap": 0.1, "misaligned_capabilities": []}
    (tmp_path / "results.json").write_text(json.dumps(res))
    df = comparison("01_crm_assessment", tmp_path)
    assert list(df.columns) == COLUMNS
    assert df.loc[0, "within"] is np.False_ or df.loc[0, "within"] == False  # noqa: E712
    assert df["within"].isna().sum() == 6  # no intervals given: no verdict
    with pytest.raises(ValueError, match="05_executive_summary"):
        comparison("05_executive_summary", tmp_path)
