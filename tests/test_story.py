"""Findings and actions are sentences built from the analysis' own figures (none computed)."""
import pandas as pd

from crmlib import story
from crmlib.results import Results


def test_assessment_findings_carry_its_numbers():
    res = {"company_stage": 2, "company_stage_name": "customer-aware", "mean_stage": 2.5255,
           "mean_stage_ci": [2.4365, 2.6163],
           "stage_by_driver": {"business leadership": 2.81, "performance measurement": 2.378},
           "staff_vs_customer_gap": 0.548, "staff_vs_customer_gap_ci": [0.435, 0.666],
           "misaligned_capabilities": ["customer_360"],
           "headline": [{"label": "Mean stage", "value": 2.5255, "unit": "stage", "ci": None}]}
    road = pd.DataFrame({"rank": [1, 2], "capability": ["customer_360", "touchpoints"],
                         "gap": [1.8115, 0.9954], "misaligned": [True, False],
                         "action": ["reach base 2 (customer-aware): one view", "reach base 3"]})
    out = story.complete("01_crm_assessment", res, {"roadmap": road})
    text = " ".join(out["findings"])
    assert "base 2 (customer-aware)" in text and "2.53 (90% interval 2.44 to 2.62)" in text
    assert "Performance measurement is furthest behind at 2.38" in text
    assert "0.55 stages more customer-centric" in text and "customer 360" in text
    assert out["actions"][0] == {"rank": 1, "action": "Customer 360: reach base 2 "
                                 "(customer-aware): one view",
                                 "why": "1.81 stages below target; groups disagree on it"}
    assert Results.from_json(out).title == "CRM assessment" and len(out["findings"]) <= 5


def test_clv_findings_use_the_client_currency_and_the_holdout():
    res = {"n_customers": 4000, "clv_total": 567323.43, "clv_total_ci": [540619.7, 591673.0],
           "horizon_months": 36, "top_decile_share": 0.58, "top_20_share": 0.744,
           "model_label": "BG/NBD", "holdout": {"actual_total": 3219.0,
                                                "predicted_total": 3173.3, "naive_total": 5298.9}}
    slipping = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    out = story.complete("02_clv_modelling", res, {"valuable_but_slipping": slipping}, "CHF")
    text = " ".join(out["findings"])
    assert "CHF 567,323" in text and "CHF 540,620 to 591,673" in text
    assert "58.0%" in text and "74.4%" in text
    assert "3,173" in text and "3,219" in text and "1.4% off" in text  # |3173.3-3219|/3219
    assert out["currency"] == "CHF" and out["actions"][0]["action"].startswith("Win back the 3")


def test_roi_actions_follow_the_gate():
    res = {"currency": "EUR", "programme": {"npv_24_risk_adjusted": 937342.9,
                                            "npv_24_p10_p90": [726731.4, 1152401.0],
                                            "roi_24_risk_adjusted": 1.2508,
                                            "p_npv_positive": 1.0},
           "phases": [{"name": "B", "gate": "stop", "roi_risk_adjusted": {"24": -0.0923},
                       "roi_p10_p90": {"24": [-0.26, 0.086]}, "gate_reasons": ["P(NPV > 0) = 0.25"]},
                      {"name": "A", "gate": "continue", "roi_risk_adjusted": {"24": 5.744},
                       "roi_p10_p90": {"24": [4.354, 7.195]}, "gate_reasons": []}]}
    out = story.complete("04_phase_roi", res)
    assert out["findings"][0].startswith(
        "Programme (both phases, 24 months each), risk-adjusted: NPV EUR 937,343 (P10 to P90 "
        "EUR 726,731 to 1,152,401), programme ROI 125%")
    assert [a["action"] for a in out["actions"]] == ["Continue: A", "Stop: B"]
    assert "574%" in out["findings"][1] and "-9.2%" in out["findings"][2]


def test_programme_and_phase_roi_cannot_be_taken_for_each_other():
    """A phase's 574% beside the programme's 125%: each sentence says whose ROI it is,
    over which horizon and whether it is risk-adjusted."""
    res = {"currency": "EUR", "programme": {"npv_24_risk_adjusted": 937342.9,
                                            "npv_24_p10_p90": [726731.4, 1152401.0],
                                            "roi_24_risk_adjusted": 1.2508,
                                            "roi_24_p10_p90": [0.9622, 1.5571],
                                            "p_npv_positive": 1.0},
           "phases": [{"name": "Loyalty", "gate": "continue", "roi_risk_adjusted": {"24": 5.744},
                       "roi_p10_p90": {"24": [4.354, 7.195]}, "gate_reasons": []},
                      {"name": "Recovery", "gate": "adjust", "roi_risk_adjusted": {},
                       "roi": {"24": 1.2139}, "gate_reasons": []}]}
    programme, loyalty, recovery = story.complete("04_phase_roi", res)["findings"]
    assert "programme ROI 125%; chance it pays back 100%" in programme
    assert programme.startswith("Programme (both phases, 24 months each), risk-adjusted:")
    assert loyalty == ("Phase \u201cLoyalty\u201d alone: CONTINUE; own 24-month ROI 574%, "
                       "risk-adjusted (P10 to P90 435% to 720%).")
    assert recovery == ("Phase \u201cRecovery\u201d alone: ADJUST; own 24-month ROI 121%, not "
                        "risk-adjusted.")
