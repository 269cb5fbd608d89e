"""The steps of ``notebooks/04_phase_roi.ipynb`` that are not analysis: loading the
inputs with their checks, and assembling ``results.json`` and the result tables."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..io import DataQualityReport
from .evaluate import ProgrammeEvaluation
from .inputs import load_inputs  # noqa: F401 (re-exported)
from .views import benefits_waterfall, gate_table, plan_table


def _pct(x):
    return None if x is None else 100 * x


def headline(ev: ProgrammeEvaluation) -> list[dict]:
    """Figures for the report index: programme NPV, ROI and P(NPV > 0), gate decisions."""
    r = ev.results()
    pr = r["programme"]
    cur = ev.plan.currency
    risk = [{"label": "Programme NPV at 24 months, risk-adjusted median (P10–P90)",
             "value": pr["npv_24_risk_adjusted"], "unit": cur, "ci": pr["npv_24_p10_p90"],
             "ci_level": 0.8},
            {"label": "Programme ROI at 24 months, risk-adjusted median (P10–P90)",
             "value": _pct(pr["roi_24_risk_adjusted"]), "unit": "%",
             "ci": [_pct(x) for x in pr["roi_24_p10_p90"]], "ci_level": 0.8}]
    out = [h for h in risk if h["value"] is not None]  # the risk simulation is optional
    out.append({"label": "Programme NPV at 24 months with the measured effects, unadjusted",
                "value": pr["npv_24"], "unit": cur, "ci": None})
    if pr["p_npv_positive"] is not None:
        out.append({"label": "P(programme NPV at 24 months > 0)", "value": pr["p_npv_positive"],
                    "unit": "probability", "ci": None})
    for ph in r["phases"]:
        gate = f"Phase \u201c{ph['name']}\u201d alone: gate {ph['gate'].upper()}; "
        if "24" in ph["roi_risk_adjusted"]:
            out.append({"label": gate + "its ROI over its first 24 months, risk-adjusted "
                                        "median (P10–P90)",
                        "value": _pct(ph["roi_risk_adjusted"]["24"]), "unit": "%",
                        "ci": [_pct(x) for x in ph["roi_p10_p90"]["24"]], "ci_level": 0.8})
        else:
            out.append({"label": gate + "its ROI over its first 24 months, unadjusted",
                        "unit": "%",
                        "value": _pct(ph["roi"]["24"]), "ci": None})
    return out


def build_results(P: Mapping[str, Any], ev: ProgrammeEvaluation,
                  quality: DataQualityReport) -> tuple[dict, dict[str, pd.DataFrame]]:
    """``results.json`` content and the tables written as CSV and Excel."""
    results = ev.results()
    results["parameters"] = {k: v for k, v in P.items() if k != "output_dir"}
    results["headline"] = headline(ev)
    results["excluded"] = quality.to_dict()["excluded"]  # input → reason → rows
    tables = {"effects": ev.effects, "event_study": ev.event_study, "kpi_values": ev.kpi_values,
              "productivity_by_role": ev.productivity, "cash_flows": ev.cash_flows,
              "metrics": ev.metrics, "roi": ev.roi_table(), "risk": ev.risk,
              "tornado": ev.tornado, "waterfall": benefits_waterfall(ev),
              "gates": gate_table(ev), "lessons": ev.lessons, "plan": plan_table(ev.plan),
              "cumulative_cash_flow": ev.cumulative, "data_quality": quality.to_frame()}
    return results, tables
