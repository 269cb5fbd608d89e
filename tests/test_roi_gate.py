"""The phase gate's rule, case by case at its boundaries (the rule as the module states it).

Continue when P(NPV > 0) >= 0.8 and every KPI moved the intended way with p < 0.05
against control units; stop when P(NPV > 0) < 0.5; adjust otherwise; before/after
evidence alone is at most adjust; without P(NPV > 0) at most adjust.
"""
import math

import pandas as pd
import pytest

from crmlib.roi.gate import NO_CONTROL_CAP, NO_RISK, GateRule, decide, kpi_ok

DID = "DiD (TWFE, clustered by unit)"
BA = "before/after on pilot units only (no control group: weaker evidence)"


def _effects(effect=(1.0, -1.0), p=(0.01, 0.02), pretrend=(True, True), method=(DID, DID)):
    return pd.DataFrame({"kpi": ["calls", "churn"], "direction": ["up", "down"],
                         "effect": list(effect), "p_gate": list(p),
                         "pretrend_ok": list(pretrend), "method": list(method)})


@pytest.mark.parametrize("p_npv, decision", [(0.8, "continue"), (0.7999, "adjust"),
                                             (0.5, "adjust"), (0.4999, "stop"), (1.0, "continue"),
                                             (0.0, "stop")])
def test_thresholds_are_inclusive_for_continue_and_exclusive_for_stop(p_npv, decision):
    g = decide(_effects(), p_npv)
    assert g["decision"] == decision
    assert g["p_npv_positive"] == p_npv and g["kpis_ok"] is True
    assert g["reasons"] == [f"P(NPV > 0) = {p_npv:.2f}",
                            "every KPI moved the intended way significantly"]


def test_kpi_ok_needs_the_intended_sign_and_p_below_alpha():
    row = pd.Series({"direction": "up", "effect": 0.3, "p_gate": 0.049})
    assert kpi_ok(row, 0.05) is True
    assert kpi_ok(row.replace({0.049: 0.05}), 0.05) is False  # p = alpha is not below it
    assert kpi_ok(pd.Series({"direction": "up", "effect": -0.3, "p_gate": 0.001}), 0.05) is False
    assert kpi_ok(pd.Series({"direction": "up", "effect": 0.0, "p_gate": 0.001}), 0.05) is False
    assert kpi_ok(pd.Series({"direction": "down", "effect": -0.3, "p_gate": 0.01}), 0.05) is True
    assert kpi_ok(pd.Series({"direction": "down", "effect": 0.3, "p_gate": 0.01}), 0.05) is False
    assert kpi_ok(pd.Series({"direction": "up", "effect": float("nan"), "p_gate": 0.0}),
                  0.05) is False
    assert kpi_ok(pd.Series({"direction": "up", "effect": 0.3, "p_gate": 0.02}), 0.01) is False


def test_a_failed_kpi_is_named_and_blocks_continue():
    g = decide(_effects(p=(0.01, 0.05)), 0.95)
    assert g["decision"] == "adjust" and g["kpis_ok"] is False
    assert g["reasons"] == ["P(NPV > 0) = 0.95", "not significant or wrong way: churn"]
    both = decide(_effects(effect=(-1.0, 1.0)), 0.95)
    assert both["reasons"][1] == "not significant or wrong way: calls, churn"
    # a stricter alpha from the rule is used
    assert decide(_effects(p=(0.01, 0.02)), 0.95, GateRule(alpha=0.015))["reasons"][1] == \
        "not significant or wrong way: churn"


def test_pretrends_are_reported_but_do_not_change_the_decision():
    g = decide(_effects(pretrend=(True, False)), 0.9)
    assert g["decision"] == "continue"
    assert g["reasons"][2] == "pre-trends differ for: churn"
    missing = decide(_effects(pretrend=(None, None)), 0.9)  # not tested: not flagged
    assert len(missing["reasons"]) == 2


def test_before_after_caps_at_adjust_and_says_why_only_when_it_is_the_cap():
    mixed = _effects(method=(DID, BA))
    g = decide(mixed, 0.9)
    assert g["decision"] == "adjust"
    assert g["reasons"][2:] == ["no control group for: churn", NO_CONTROL_CAP]
    # adjust for another reason: the cap is not given as the reason
    low = decide(mixed, 0.6)
    assert low["decision"] == "adjust" and NO_CONTROL_CAP not in low["reasons"]
    failed = decide(_effects(p=(0.01, 0.2), method=(DID, BA)), 0.9)
    assert failed["decision"] == "adjust" and NO_CONTROL_CAP not in failed["reasons"]
    at = decide(mixed, 0.8)
    assert at["reasons"][-1] == NO_CONTROL_CAP
    assert decide(mixed, 0.3)["decision"] == "stop"


def test_no_risk_simulation_is_at_most_adjust_and_no_evidence_is_not_evaluated():
    g = decide(_effects(), math.nan)
    assert g["decision"] == "adjust" and g["reasons"][0] == NO_RISK
    none = decide(_effects(effect=(float("nan"), float("nan"))), 0.9)
    assert none == {"decision": "not evaluated", "reasons": ["the phase has no evidence yet"],
                    "kpis_ok": False, "p_npv_positive": 0.9}


def test_rule_defaults_bounds_and_description():
    r = GateRule()
    assert (r.continue_threshold, r.stop_threshold, r.alpha, r.horizon) == (0.8, 0.5, 0.05, 24)
    assert r.describe() == ("continue when P(NPV at 24 months > 0) ≥ 0.80 and every KPI moved "
                            "the intended way with p < 0.05 against control units (before/after "
                            "evidence alone: at most adjust); stop when P(NPV > 0) < 0.50; "
                            "adjust otherwise")
    GateRule(continue_threshold=0.5, stop_threshold=0.5)  # equal thresholds: no adjust band
    GateRule(continue_threshold=1.0, stop_threshold=0.0)
    for bad in ({"stop_threshold": -0.1}, {"continue_threshold": 1.1},
                {"continue_threshold": 0.4, "stop_threshold": 0.5}):
        with pytest.raises(ValueError, match="stop_threshold"):
            GateRule(**bad)


def test_several_kpis_are_listed_in_one_reason():
    g = decide(_effects(pretrend=(False, False), method=(BA, BA)), 0.9)
    assert g["reasons"][2:4] == ["pre-trends differ for: calls, churn",
                                 "no control group for: calls, churn"]
