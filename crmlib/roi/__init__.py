"""Phase-by-phase ROI of a CRM programme: pilot vs control effects, money, risk, gate.

Typical use::

    from crmlib.io import DataQualityReport, load_kpi_panel
    from crmlib.roi import load_plan, prepare_panel, evaluate_programme

    quality = DataQualityReport()
    plan = load_plan("data/demo/phase_plan.yaml")
    monthly = prepare_panel(load_kpi_panel("data/demo/kpi_panel.csv", quality=quality),
                            plan, quality=quality)
    ev = evaluate_programme(plan, monthly)
    ev.effects, ev.roi_table(), ev.gates, ev.results()

Methods and conventions: ``docs/roi.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .cashflow import HORIZONS, cash_flows, horizon_metrics, kpi_values, net_table
    from .effects import BeforeAfter, DiD, EventStudy, twfe_point
    from .evaluate import CONVENTIONS, ProgrammeEvaluation, evaluate_programme, lessons
    from .finance import annualise, discounted_payback, irr, monthly_rate, present_value, roi
    from .gate import GateRule, decide
    from .panel import prepare_panel
    from .phase_effects import estimate_effects
    from .plan import KPI, Costs, Goal, Phase, PhasePlan, load_plan, validate_plan
    from .risk import RiskAssumptions, Triangular, simulate, tornado

# names imported from their modules on first use (crmlib.lazy); finance.evaluate is not
# re-exported: its name is the evaluate submodule's
# (evaluate: not re-exported, the name is a submodule's)
_EXPORTS = {"HORIZONS": "cashflow", "cash_flows": "cashflow", "horizon_metrics": "cashflow",
            "kpi_values": "cashflow", "net_table": "cashflow", "BeforeAfter": "effects",
            "DiD": "effects", "EventStudy": "effects", "twfe_point": "effects",
            "CONVENTIONS": "evaluate", "ProgrammeEvaluation": "evaluate",
            "evaluate_programme": "evaluate", "lessons": "evaluate", "annualise": "finance",
            "discounted_payback": "finance", "irr": "finance", "monthly_rate": "finance",
            "present_value": "finance", "roi": "finance", "GateRule": "gate", "decide": "gate",
            "prepare_panel": "panel", "estimate_effects": "phase_effects", "KPI": "plan",
            "Costs": "plan", "Goal": "plan", "Phase": "plan", "PhasePlan": "plan",
            "load_plan": "plan", "validate_plan": "plan", "RiskAssumptions": "risk",
            "Triangular": "risk", "simulate": "risk", "tornado": "risk"}

__all__ = ["BeforeAfter", "CONVENTIONS", "Costs", "DiD", "EventStudy", "GateRule", "Goal",
           "HORIZONS", "KPI", "Phase", "PhasePlan", "ProgrammeEvaluation", "RiskAssumptions",
           "Triangular", "annualise", "cash_flows", "decide", "discounted_payback",
           "estimate_effects", "evaluate_programme", "horizon_metrics", "irr", "kpi_values",
           "lessons", "load_plan", "monthly_rate", "net_table", "prepare_panel", "present_value",
           "roi", "simulate", "tornado", "twfe_point", "validate_plan"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
