"""Whole-programme evaluation: effects → money → finance → risk → gate, plus lessons.

:func:`evaluate_programme` runs every step on a validated plan and monthly
panel and returns a :class:`ProgrammeEvaluation` holding the tables a report
shows and :meth:`ProgrammeEvaluation.results` (the ``results.json`` content).

The effects, money, finance and gate are the main result. The Monte Carlo risk and
the tornado are optional sections (:mod:`crmlib.sections`): when one cannot be
computed its table is empty, a note says why, and the gate is decided without
P(NPV > 0) (at most "adjust", the reason stated; :func:`crmlib.roi.gate.decide`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..sections import optional
from . import cashflow as CF
from .effects import blas_single_thread
from .gate import GateRule, decide
from .phase_effects import estimate_effects, month_of
from .plan import PhasePlan
from .risk import RiskAssumptions, simulate, tornado

RISK_COLUMNS = ["phase", "horizon", "metric", "p10", "p50", "p90", "mean", "p_npv_positive"]
TORNADO_COLUMNS = ["driver", "setting_low", "setting_high", "npv_at_low", "npv_at_high",
                   "base_npv", "swing"]

CONVENTIONS = (
    "Monthly discount rate (1 + r)^(1/12) − 1 from the plan's annual rate; one-off costs at "
    "t = 0 undiscounted, each month's flows at the end of the month (numpy-financial's npv "
    "convention; Excel's NPV() starts at t = 1). ROI = (PV benefits − PV costs) / PV costs. "
    "IRR annualised from monthly flows. Horizons of 6, 12 and 24 months count from each phase's "
    "start; the programme adds each phase's 24-month present values, discounted to the first "
    "phase's start. During a phase its effect applies to the pilot units, afterwards to the "
    "rollout units; flows after the as-of date are projected with the measured effect.")


@dataclass
class ProgrammeEvaluation:
    plan: PhasePlan
    as_of: pd.Timestamp
    effects: pd.DataFrame
    event_study: pd.DataFrame
    kpi_values: pd.DataFrame
    productivity: pd.DataFrame
    cash_flows: pd.DataFrame
    benefit_lines: pd.DataFrame
    metrics: pd.DataFrame
    risk: pd.DataFrame
    tornado: pd.DataFrame
    gates: pd.DataFrame
    lessons: pd.DataFrame
    programme: dict
    cumulative: pd.DataFrame
    rule: GateRule = field(default_factory=GateRule)

    def roi_table(self) -> pd.DataFrame:
        """ROI and NPV by phase and horizon: point value and risk-adjusted P10/P50/P90."""
        m = self.metrics[self.metrics["horizon"] != "to_date"]
        out = []
        for metric in ("roi", "npv"):
            r = self.risk[self.risk["metric"] == metric].drop(columns="metric")
            x = m[["phase", "horizon", metric]].rename(columns={metric: "point"})
            out.append(x.merge(r, on=["phase", "horizon"], how="left").assign(metric=metric))
        prog = self.risk[self.risk["phase"] == "programme"]
        prog = prog.assign(point=[self.programme["roi"] if (m_ == "roi" and h == "24") else
                                  self.programme["npv"] if h == "24" else float("nan")
                                  for m_, h in zip(prog["metric"], prog["horizon"])])
        cols = ["phase", "metric", "horizon", "point", "p10", "p50", "p90", "mean",
                "p_npv_positive"]
        return pd.concat(out + [prog], ignore_index=True)[cols]

    def _range(self, phase: str, metric: str) -> list:
        r = self.risk[(self.risk["phase"] == phase) & (self.risk["metric"] == metric)]
        return [r["p10"].iloc[0], r["p90"].iloc[0]] if len(r) else [None, None]

    def results(self) -> dict:
        """The ``results.json`` content: phases in plan order and the programme view."""
        phases = []
        for p in self.plan.phases:
            e = self.effects[self.effects["phase"] == p.name].set_index("kpi")
            v = self.kpi_values[self.kpi_values["phase"] == p.name].set_index("kpi")
            m = self.metrics[self.metrics["phase"] == p.name].set_index("horizon")
            g = self.gates[self.gates["phase"] == p.name].iloc[0]
            kpis = {k: {"effect": e.at[k, "effect"], "ci_low": e.at[k, "ci_low"],
                        "ci_high": e.at[k, "ci_high"], "p_value": e.at[k, "p_value"],
                        "perm_p": e.at[k, "perm_p"], "pretrend_p": e.at[k, "pretrend_p"],
                        "method": e.at[k, "method"], "monthly_value": v.at[k, "monthly_value"],
                        "monthly_value_ci": [v.at[k, "ci_low"], v.at[k, "ci_high"]]}
                    for k in e.index}
            rk = self.risk[(self.risk["phase"] == p.name) & (self.risk["metric"] == "roi")]
            rn = self.risk[(self.risk["phase"] == p.name) & (self.risk["metric"] == "npv")]
            phases.append({
                "name": p.name, "kpis": kpis,
                "roi": {h: m.at[h, "roi"] for h in ("6", "12", "24")},
                "npv": {h: m.at[h, "npv"] for h in ("6", "12", "24")},
                "roi_p10_p90": {r["horizon"]: [r["p10"], r["p90"]] for _, r in rk.iterrows()},
                "roi_risk_adjusted": {r["horizon"]: r["p50"] for _, r in rk.iterrows()},
                "npv_risk_adjusted": {r["horizon"]: r["p50"] for _, r in rn.iterrows()},
                "npv_p10_p90": {r["horizon"]: [r["p10"], r["p90"]] for _, r in rn.iterrows()},
                "irr_p10_p90": self._range(p.name, "irr"),
                "payback_months_p10_p90": self._range(p.name, "payback_months"),
                "irr": m.at["24", "irr"], "payback_months": m.at["24", "payback_months"],
                "roi_to_date": m.at["to_date", "roi"], "npv_to_date": m.at["to_date", "npv"],
                "p_npv_positive": g["p_npv_positive"], "gate": g["decision"],
                "gate_reasons": g["reasons"]})
        pr = self.risk[(self.risk["phase"] == "programme") & (self.risk["horizon"] == "24")]
        none = pd.Series({"p10": None, "p50": None, "p90": None, "p_npv_positive": None})
        npv_r, roi_r = (pr[pr["metric"] == k].iloc[0] if (pr["metric"] == k).any() else none
                        for k in ("npv", "roi"))
        return {"currency": self.plan.currency, "as_of": self.as_of, "phases": phases,
                "programme": {"npv_24": self.programme["npv"], "roi_24": self.programme["roi"],
                              "p_npv_positive": npv_r["p_npv_positive"],
                              "npv_24_risk_adjusted": npv_r["p50"],
                              "roi_24_risk_adjusted": roi_r["p50"],
                              "npv_24_p10_p90": [npv_r["p10"], npv_r["p90"]],
                              "roi_24_p10_p90": [roi_r["p10"], roi_r["p90"]]},
                "gate_rule": self.rule.describe(), "conventions": CONVENTIONS}


def lessons(plan: PhasePlan) -> pd.DataFrame:
    """Planned vs actual dates per phase: delay in days and months, overlap with the next."""
    rows = []
    for i, p in enumerate(plan.phases):
        end = p.effective_end
        nxt = plan.phases[i + 1] if i + 1 < len(plan.phases) else None
        overlap = max((end - nxt.start).days + 1, 0) if nxt is not None else 0
        rows.append({"phase": p.name, "start": p.start.date(), "planned_end": p.end.date(),
                     "actual_end": p.actual_end.date() if p.actual_end is not None else None,
                     "delay_days": (end - p.end).days if p.actual_end is not None else 0,
                     "delay_months": round((end - p.end).days / 30.4375, 1)
                     if p.actual_end is not None else 0.0,
                     "overlap_with_next_days": overlap,
                     "extra_running_cost": p.costs.monthly * max(
                         (month_of(end).year - month_of(p.end).year) * 12
                         + month_of(end).month - month_of(p.end).month, 0)})
    return pd.DataFrame(rows)


def evaluate_programme(plan: PhasePlan, monthly: pd.DataFrame, *, pre_periods: int = 6,
                       n_simulations: int = 10_000, seed: int = 0, n_permutations: int = 999,
                       rule: GateRule = GateRule(),
                       risk: RiskAssumptions = RiskAssumptions()) -> ProgrammeEvaluation:
    """Run effects, money, finance, risk and gate for every phase of ``plan``."""
    with blas_single_thread():
        return _evaluate(plan, monthly, pre_periods, n_simulations, seed, n_permutations, rule,
                         risk)


def _evaluate(plan, monthly, pre_periods, n_simulations, seed, n_permutations, rule, risk):
    as_of = monthly.attrs.get("as_of", monthly["period"].max())
    eff, ev = estimate_effects(monthly, plan, pre_periods, n_permutations, seed,
                               alpha=rule.alpha)
    costs, lines = CF.cash_flows(plan, eff, as_of)
    net = CF.net_table(costs, lines)
    metrics = CF.horizon_metrics(net, plan.discount_rate_annual)
    sims = optional("risk simulation (Monte Carlo)", simulate, plan, costs, lines,
                    n_simulations, seed, risk)
    sims = pd.DataFrame(columns=RISK_COLUMNS) if sims is None else sims
    values = CF.kpi_values(eff, plan)
    gates = []
    for p in plan.phases:
        s = sims[(sims["phase"] == p.name) & (sims["horizon"] == str(rule.horizon))]
        p_pos = float(s["p_npv_positive"].iloc[0]) if len(s) else float("nan")
        gates.append({"phase": p.name, **decide(eff[eff["phase"] == p.name], p_pos, rule)})
    drivers = optional("tornado of NPV drivers", tornado, plan, costs, lines, risk=risk)
    return ProgrammeEvaluation(
        plan=plan, as_of=as_of, effects=eff, event_study=ev, kpi_values=values,
        productivity=CF.productivity_by_role(values), cash_flows=net, benefit_lines=lines,
        metrics=metrics, risk=sims,
        tornado=pd.DataFrame(columns=TORNADO_COLUMNS) if drivers is None else drivers,
        gates=pd.DataFrame(gates), lessons=lessons(plan),
        programme=CF.programme_metrics(metrics, plan), rule=rule,
        cumulative=CF.programme_cumulative(net, plan.discount_rate_annual))
