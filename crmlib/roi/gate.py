"""The phase gate: continue, adjust or stop, by a rule stated in the report.

Default rule (:class:`GateRule`):

* **continue** when P(NPV₂₄ > 0) ≥ ``continue_threshold`` (0.8) **and** every KPI of
  the phase moved the intended way significantly (p < ``alpha`` = 0.05, using the
  larger of the clustered and the placebo p-value when both exist);
* **stop** when P(NPV₂₄ > 0) < ``stop_threshold`` (0.5);
* **adjust** otherwise.

A phase whose evidence is before/after only (no control units for a KPI) is at most
**adjust**: without a control group the change is not separated from common shocks
(season, market, other initiatives), so the effect is not identified (Angrist &
Pischke 2009, ch. 5). The gate table then gives that reason.

"Every KPI significant" is an intersection–union test: each KPI is tested at
level α and no multiplicity correction is needed for the joint claim (Berger
1982, Technometrics 24(4)). A failed pre-trend test does not change the
decision but is listed among the reasons. Without P(NPV > 0) (the risk simulation
could not be computed) neither threshold can be checked: the decision is **adjust**,
with that reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

DECISIONS = ("continue", "adjust", "stop")
NO_CONTROL_CAP = ("at most adjust: without control units a before/after change cannot be told "
                  "apart from common shocks (season, market), so the effect is not identified")
NO_RISK = ("P(NPV > 0) not available (the risk simulation could not be computed): neither "
           "continue nor stop can be decided, so at most adjust")


@dataclass(frozen=True)
class GateRule:
    continue_threshold: float = 0.8
    stop_threshold: float = 0.5
    alpha: float = 0.05
    horizon: int = 24

    def __post_init__(self):
        if not 0 <= self.stop_threshold <= self.continue_threshold <= 1:
            raise ValueError("need 0 ≤ stop_threshold ≤ continue_threshold ≤ 1")

    def describe(self) -> str:
        return (f"continue when P(NPV at {self.horizon} months > 0) ≥ "
                f"{self.continue_threshold:.2f} "
                f"and every KPI moved the intended way with p < {self.alpha} against control "
                f"units (before/after evidence alone: at most adjust); stop when "
                f"P(NPV > 0) < {self.stop_threshold:.2f}; adjust otherwise")


def kpi_ok(row: pd.Series, alpha: float) -> bool:
    """The KPI moved the intended way (sign by direction) with p < alpha."""
    sign = 1 if row["direction"] == "up" else -1
    return bool(pd.notna(row["effect"]) and sign * row["effect"] > 0 and row["p_gate"] < alpha)


def decide(effects: pd.DataFrame, p_npv_positive: float, rule: GateRule = GateRule()) -> dict:
    """Gate decision for one phase's KPI rows and its P(NPV > 0).

    Returns ``{"decision", "reasons", "kpis_ok", "p_npv_positive"}``.
    """
    if effects["effect"].isna().all():
        return {"decision": "not evaluated", "reasons": ["the phase has no evidence yet"],
                "kpis_ok": False, "p_npv_positive": p_npv_positive}
    ok = {r["kpi"]: kpi_ok(r, rule.alpha) for _, r in effects.iterrows()}
    reasons = [f"P(NPV > 0) = {p_npv_positive:.2f}" if not math.isnan(p_npv_positive) else
               NO_RISK]
    failed = [k for k, v in ok.items() if not v]
    reasons.append("every KPI moved the intended way significantly" if not failed else
                   "not significant or wrong way: " + ", ".join(failed))
    weak = effects.loc[~effects["pretrend_ok"].fillna(True).astype(bool), "kpi"].tolist()
    if weak:
        reasons.append("pre-trends differ for: " + ", ".join(weak))
    ba = effects["method"].astype(str).str.startswith("before/after")
    if ba.any():
        reasons.append("no control group for: " + ", ".join(effects.loc[ba, "kpi"]))
    if p_npv_positive < rule.stop_threshold:
        decision = "stop"
    elif p_npv_positive >= rule.continue_threshold and not failed and not ba.any():
        decision = "continue"
    else:
        decision = "adjust"
    if ba.any() and decision == "adjust" and p_npv_positive >= rule.continue_threshold \
            and not failed:
        reasons.append(NO_CONTROL_CAP)
    return {"decision": decision, "reasons": reasons, "kpis_ok": not failed,
            "p_npv_positive": p_npv_positive}
