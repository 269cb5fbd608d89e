"""Tables behind the charts: KPI trends by group, the benefits waterfall, the gate table.

Charts (``crmlib.plots.roi``) compute no statistics; the summaries they draw
are made here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .evaluate import ProgrammeEvaluation
from .phase_effects import month_of, unit_starts
from .plan import Phase
from .risk import _pv_by_line


def kpi_trends(monthly: pd.DataFrame, phase: Phase, pre_periods: int = 6,
               after: int = 6) -> pd.DataFrame:
    """Monthly mean of each of the phase's KPIs for pilot and control units, with a 95%
    t-interval of the mean, from ``pre_periods`` months before the start to ``after``
    months after the (actual) end."""
    lo = month_of(phase.start) - pd.DateOffset(months=pre_periods)
    hi = month_of(phase.effective_end) + pd.DateOffset(months=after)
    d = monthly[monthly["kpi"].isin([k.name for k in phase.kpis])
                & monthly["period"].between(lo, hi)]
    g = d.groupby(["kpi", "group", "period"], observed=True)["value"]
    out = g.agg(mean="mean", sd="std", n="size").reset_index()
    half = stats.t.ppf(0.975, np.maximum(out["n"] - 1, 1)) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    out.attrs.update(start=month_of(phase.start), end=month_of(phase.effective_end),
                     staggered=unit_starts(d, phase).dropna().nunique() > 1)
    return out.drop(columns="sd")


def benefits_waterfall(ev: ProgrammeEvaluation, horizon: int = 24) -> pd.DataFrame:
    """Present value (at the first phase start) of each phase's KPI benefits and costs over
    ``horizon`` months, in plan order, ending with the programme NPV."""
    plan = ev.plan
    costs = ev.cash_flows.rename(columns={})
    t0 = month_of(plan.phases[0].start)
    starts = {p.name: month_of(p.start) for p in plan.phases}
    coef, pvc = _pv_by_line(ev.benefit_lines, costs[["phase", "t", "cost"]],
                            plan.discount_rate_annual, horizon, t0, starts)
    rows = []
    for p in plan.phases:
        c = coef[coef["phase"] == p.name]
        for _, r in c.iterrows():
            rows.append({"phase": p.name, "item": r["kpi"], "kind": "benefit",
                         "value": r["pv_coef"] * r["effect"]})
        rows.append({"phase": p.name, "item": "costs", "kind": "cost", "value": -pvc[p.name]})
    df = pd.DataFrame(rows)
    total = df["value"].sum()
    df = pd.concat([df, pd.DataFrame([{"phase": "programme", "item": f"NPV {horizon} months",
                                       "kind": "total", "value": total}])], ignore_index=True)
    df["end"] = np.where(df["kind"] == "total", total, df["value"].cumsum())
    df["start"] = np.where(df["kind"] == "total", 0.0, df["end"] - df["value"])
    return df


def gate_table(ev: ProgrammeEvaluation) -> pd.DataFrame:
    """One row per phase: decision, P(NPV > 0), ROI at 24 months with its P10–P90, reasons."""
    rk = ev.risk[(ev.risk["metric"] == "roi") & (ev.risk["horizon"] == "24")].set_index("phase")
    m = ev.metrics[ev.metrics["horizon"] == "24"].set_index("phase")
    rows = []
    for _, g in ev.gates.iterrows():
        rows.append({"phase": g["phase"], "decision": g["decision"],
                     "P(NPV>0)": g["p_npv_positive"], "ROI 24m": m.at[g["phase"], "roi"],
                     "ROI 24m P10": rk.at[g["phase"], "p10"],
                     "ROI 24m P90": rk.at[g["phase"], "p90"],
                     "reasons": "; ".join(g["reasons"])})
    return pd.DataFrame(rows)


def plan_table(plan) -> pd.DataFrame:
    """The phase plan as a table: dates, costs, rollout units, goals and KPIs."""
    rows = []
    for p in plan.phases:
        for g in p.goals:
            for k in g.kpis:
                rows.append({"phase": p.name, "start": p.start.date(), "planned end": p.end.date(),
                             "actual end": p.actual_end.date() if p.actual_end is not None else None,
                             "one-off cost": p.costs.one_off, "monthly cost": p.costs.monthly,
                             "run cost / month": p.costs.run_monthly,
                             "rollout units": p.rollout_units, "goal": g.name, "KPI": k.name,
                             "direction": k.direction, "value per unit": k.value_per_unit,
                             "benefit": k.benefit + (f" ({k.role})" if k.role else "")})
    return pd.DataFrame(rows)
