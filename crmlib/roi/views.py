"""Tables behind the charts: KPI trends by group, the benefits waterfall, the gate table.

Charts (``crmlib.plots.roi``) compute no statistics; the summaries they draw
are made here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .. import display
from .evaluate import ProgrammeEvaluation
from .phase_effects import month_of, unit_starts
from .plan import Phase
from .risk import pv_by_line


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
    order = {k.name: i for i, k in enumerate(phase.kpis)}
    out = out.sort_values(["kpi", "group", "period"], key=lambda c: c.map(order)
                          if c.name == "kpi" else c, kind="stable").reset_index(drop=True)
    out.attrs.update(start=month_of(phase.start), end=month_of(phase.effective_end),
                     staggered=unit_starts(d, phase).dropna().nunique() > 1)
    return out.drop(columns="sd")


def benefits_waterfall(ev: ProgrammeEvaluation, horizon: int = 24) -> pd.DataFrame:
    """Present value (at the first phase start) of each phase's KPI benefits and costs over
    ``horizon`` months, in plan order, ending with the programme NPV."""
    plan = ev.plan
    costs = ev.cash_flows
    t0 = month_of(plan.phases[0].start)
    starts = {p.name: month_of(p.start) for p in plan.phases}
    coef, pvc = pv_by_line(ev.benefit_lines, costs[["phase", "t", "cost"]],
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
                     "ROI 24m P10": rk["p10"].get(g["phase"], np.nan),
                     "ROI 24m P90": rk["p90"].get(g["phase"], np.nan),
                     "reasons": "; ".join(g["reasons"])})
    return pd.DataFrame(rows)


def plan_table(plan) -> pd.DataFrame:
    """The phase plan as a table: dates, costs, rollout units, goals and KPIs."""
    rows = []
    for p in plan.phases:
        for g in p.goals:
            for k in g.kpis:
                rows.append({"phase": p.name, "start": p.start.date(), "planned end": p.end.date(),
                             "actual end": None if p.actual_end is None else p.actual_end.date(),
                             "one-off cost": p.costs.one_off, "monthly cost": p.costs.monthly,
                             "run cost / month": p.costs.run_monthly,
                             "rollout units": p.rollout_units, "goal": g.name, "KPI": k.name,
                             "direction": k.direction, "value per unit": k.value_per_unit,
                             "benefit": k.benefit + (f" ({k.role})" if k.role else "")})
    return pd.DataFrame(rows)


def _money(x) -> str:
    return "" if pd.isna(x) else f"{x:,.0f}"


def _pct(x) -> str:
    return "" if pd.isna(x) else f"{100 * x:,.1f}%"


def _num(x, digits: int = 3) -> str:
    return "" if pd.isna(x) else display.number(float(f"{x:.{digits}g}"))


def _p(x) -> str:
    return "" if pd.isna(x) else display.number(x, "p")


IRR_MEANINGFUL = 10.0  # an annual IRR above 1,000% only says the outlay was tiny: shown as n/m
IRR_NOTE = ("n/m: IRR not meaningful (no sign change in the cash flows, or above 1,000% a "
            "year because the outlay is small against the benefits); read NPV and ROI instead.")


def _irr(x) -> str:
    return "n/m" if pd.isna(x) or abs(x) > IRR_MEANINGFUL else _pct(x)


def _design(method: str) -> str:
    m = str(method)
    return ("before/after (weaker)" if m.startswith("before/after") else
            "stacked DiD (staggered)" if m.startswith("stacked") else
            "DiD" if m.startswith("DiD") else m)


def display_effects(ev: ProgrammeEvaluation) -> pd.DataFrame:
    """The effects table rounded for reading (the full table is in ``ev.effects``)."""
    e = ev.effects
    return pd.DataFrame({
        "phase": e["phase"], "KPI": e["kpi"], "direction": e["direction"],
        "effect": e["effect"].map(_num),
        "95% interval": [f"[{_num(a)}, {_num(b)}]" if pd.notna(a) else ""
                         for a, b in zip(e["ci_low"], e["ci_high"])],
        "vs baseline": e["effect_pct"].map(_pct), "p (clustered)": e["p_value"].map(_p),
        "p (placebo)": e["perm_p"].map(_p), "pre-trend p": e["pretrend_p"].map(_p),
        "design": e["method"].map(_design), "note": e["note"].fillna("")})


def display_values(ev: ProgrammeEvaluation) -> pd.DataFrame:
    """Monthly money value per KPI once rolled out, with its 95% interval."""
    v = ev.kpi_values
    return pd.DataFrame({
        "phase": v["phase"], "KPI": v["kpi"], "benefit": v["kind"], "role": v["role"].fillna(""),
        f"value / month ({ev.plan.currency})": v["monthly_value"].map(_money),
        "95% interval": [f"[{_money(a)}, {_money(b)}]" for a, b in zip(v["ci_low"], v["ci_high"])]})


def display_metrics(ev: ProgrammeEvaluation) -> pd.DataFrame:
    """ROI, NPV, IRR and payback by phase and horizon, with the risk-adjusted ROI range."""
    m = ev.metrics
    r = ev.risk[ev.risk["metric"] == "roi"].set_index(["phase", "horizon"])
    rng = [f"{_pct(r.at[(p, h), 'p10'])} to {_pct(r.at[(p, h), 'p90'])}"
           if (p, h) in r.index else "" for p, h in zip(m["phase"], m["horizon"])]
    q = ev.risk.set_index(["phase", "horizon", "metric"])

    def risk_range(metric: str, fmt) -> list[str]:
        return [f"{fmt(q.at[(p, h, metric), 'p10'])} to {fmt(q.at[(p, h, metric), 'p90'])}"
                if (p, h, metric) in q.index else "" for p, h in zip(m["phase"], m["horizon"])]

    cur = ev.plan.currency
    return pd.DataFrame({
        "phase": m["phase"], "months": [h if h != "to_date" else f"to date ({int(n)})"
                                        for h, n in zip(m["horizon"], m["months"].fillna(0))],
        f"PV costs ({cur})": m["pv_costs"].map(_money),
        f"PV benefits ({cur})": m["pv_benefits"].map(_money),
        f"NPV ({cur})": m["npv"].map(_money), "ROI": m["roi"].map(_pct),
        "ROI risk-adjusted P10 to P90": rng, "IRR (annual)": m["irr"].map(_irr),
        "IRR P10 to P90": risk_range("irr", _irr),
        "discounted payback (months)": m["payback_months"].map(lambda x: _num(x, 2)),
        "payback P10 to P90": risk_range("payback_months", lambda v: _num(v, 2) or "> 24")})


def display_risk(ev: ProgrammeEvaluation) -> pd.DataFrame:
    """Risk-adjusted NPV per phase and for the programme: P10, P50, P90 and P(NPV > 0)."""
    r = ev.risk[ev.risk["metric"] == "npv"].reset_index(drop=True)
    cur = ev.plan.currency
    return pd.DataFrame({"phase": r["phase"], "months": r["horizon"],
                         f"NPV P10 ({cur})": r["p10"].map(_money),
                         f"NPV P50 ({cur})": r["p50"].map(_money),
                         f"NPV P90 ({cur})": r["p90"].map(_money),
                         "P(NPV > 0)": r["p_npv_positive"].map(_pct)})
