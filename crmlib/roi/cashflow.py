"""Money: monthly benefits and costs per phase, and ROI/NPV/IRR/payback by horizon.

Monthly benefit of a KPI = effect × value per unit × units × sign, where the
sign is +1 for KPIs that should go up and −1 for KPIs that should go down (a
fall in handling time is a gain). While a phase runs (start to actual or
planned end) the effect applies to the pilot units only; after it ends it is
assumed rolled out to ``rollout_units``. Costs: ``one_off`` at t = 0,
``monthly`` while the phase runs (a delay therefore costs more and delays the
rollout), ``run_monthly`` after it ends. Each KPI is valued once (a KPI cannot
appear in two goals of a phase), and direct (cash) and indirect (productivity)
benefits are kept in separate columns so they are never added twice.
Flows of calendar months up to the as-of date are *achieved*, later ones
*projected* with the measured effect. Conventions of :mod:`crmlib.roi.finance`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import finance as F
from .phase_effects import month_of
from .plan import Phase, PhasePlan

HORIZONS = (6, 12, 24)


def _months_axis(phase: Phase, horizon: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """t = 0 (the start) and months t = 1 … horizon, each with its calendar month."""
    start, end = month_of(phase.start), month_of(phase.effective_end)
    t = np.arange(horizon + 1)
    month = [start + pd.DateOffset(months=max(int(i) - 1, 0)) for i in t]
    df = pd.DataFrame({"phase": phase.name, "t": t, "month": month})
    df["running"] = (df["t"] >= 1) & (df["month"] <= end)
    df["status"] = np.where(df["month"] <= month_of(as_of), "achieved", "projected")
    return df


def phase_costs(phase: Phase, horizon: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """Cost per month of one phase (t = 0 one-off, then monthly or run costs)."""
    df = _months_axis(phase, horizon, as_of)
    c = phase.costs
    df["one_off"] = np.where(df["t"] == 0, c.one_off, 0.0)
    df["monthly"] = np.where(df["running"], c.monthly,
                             np.where(df["t"] >= 1, c.run_monthly, 0.0))
    df["cost"] = df["one_off"] + df["monthly"]
    return df


def phase_benefit_lines(phase: Phase, effects: pd.DataFrame, horizon: int,
                        as_of: pd.Timestamp) -> pd.DataFrame:
    """Benefit per month and KPI; ``coef`` is the money per unit of KPI effect."""
    axis = _months_axis(phase, horizon, as_of)
    eff = effects[effects["phase"] == phase.name].set_index("kpi")
    out = []
    for goal in phase.goals:
        for k in goal.kpis:
            n_pilot = eff.at[k.name, "n_pilot"] if k.name in eff.index else 0
            n_pilot = 0 if pd.isna(n_pilot) else int(n_pilot)
            units = np.where(axis["t"] == 0, 0, np.where(axis["running"], n_pilot,
                                                         phase.rollout_units))
            e = eff.at[k.name, "effect"] if k.name in eff.index else np.nan
            se = eff.at[k.name, "se"] if k.name in eff.index else np.nan
            line = axis.assign(goal=goal.name, kpi=k.name, kind=k.benefit, role=k.role,
                               units=units, coef=k.sign * k.value_per_unit * units,
                               effect=0.0 if pd.isna(e) else e, se=0.0 if pd.isna(se) else se)
            line["benefit"] = line["coef"] * line["effect"]
            out.append(line)
    return pd.concat(out, ignore_index=True)


def cash_flows(plan: PhasePlan, effects: pd.DataFrame, as_of: pd.Timestamp,
               horizon: int = max(HORIZONS)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly costs and benefit lines of every phase over ``horizon`` months."""
    costs = pd.concat([phase_costs(p, horizon, as_of) for p in plan.phases], ignore_index=True)
    lines = pd.concat([phase_benefit_lines(p, effects, horizon, as_of) for p in plan.phases],
                      ignore_index=True)
    return costs, lines


def net_table(costs: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Per phase and month: costs, direct and indirect benefits, net flow."""
    b = (lines.pivot_table(index=["phase", "t"], columns="kind", values="benefit",
                           aggfunc="sum", fill_value=0.0)
         .reindex(columns=["direct", "indirect"], fill_value=0.0)
         .rename(columns=lambda k: f"benefit_{k}").reset_index())
    df = costs.merge(b, on=["phase", "t"], how="left").fillna({"benefit_direct": 0.0,
                                                               "benefit_indirect": 0.0})
    df["benefits"] = df["benefit_direct"] + df["benefit_indirect"]
    df["net"] = df["benefits"] - df["cost"]
    return df[["phase", "t", "month", "status", "one_off", "monthly", "cost", "benefit_direct",
               "benefit_indirect", "benefits", "net"]]


def horizon_metrics(net: pd.DataFrame, annual_rate: float, horizons=HORIZONS) -> pd.DataFrame:
    """ROI, NPV, PVs at each horizon, annualised IRR and discounted payback (months)
    per phase; plus the same to the as-of date (``to_date``)."""
    r = F.monthly_rate(annual_rate)
    rows = []
    for phase, g in net.groupby("phase", sort=False):
        g = g.sort_values("t")
        for h in horizons:
            w = g[g["t"] <= h]
            m = F.evaluate(w["cost"], w["benefits"], r)
            rows.append({"phase": phase, "horizon": str(h), **m, "irr": F.annualise(m["irr"])})
        w = g[(g["status"] == "achieved") | (g["t"] == 0)]
        m = F.evaluate(w["cost"], w["benefits"], r)
        rows.append({"phase": phase, "horizon": "to_date", **m, "irr": F.annualise(m["irr"]),
                     "months": int(w["t"].max())})
    out = pd.DataFrame(rows)
    return out.rename(columns={"payback": "payback_months"})


def kpi_values(effects: pd.DataFrame, plan: PhasePlan) -> pd.DataFrame:
    """Monthly money value of each KPI effect once rolled out, with its 95% interval."""
    rows = []
    for p in plan.phases:
        e = effects[effects["phase"] == p.name].set_index("kpi")
        for g in p.goals:
            for k in g.kpis:
                f = k.sign * k.value_per_unit * p.rollout_units
                lo, hi = sorted((f * e.at[k.name, "ci_low"], f * e.at[k.name, "ci_high"]))
                rows.append({"phase": p.name, "goal": g.name, "kpi": k.name, "kind": k.benefit,
                             "role": k.role, "value_per_unit": k.value_per_unit,
                             "rollout_units": p.rollout_units,
                             "monthly_value": f * e.at[k.name, "effect"],
                             "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def productivity_by_role(values: pd.DataFrame) -> pd.DataFrame:
    """Indirect (productivity) monthly value per role, kept apart from cash benefits."""
    v = values[values["kind"] == "indirect"].fillna({"role": "(role not stated)"})
    return (v.groupby(["phase", "role"], sort=False)[["monthly_value"]].sum().reset_index())


def programme_metrics(phase_metrics: pd.DataFrame, plan: PhasePlan, horizon: int = 24) -> dict:
    """Programme NPV and ROI: each phase's PVs over ``horizon`` months, discounted back
    from its start to the first phase's start and added."""
    r = F.monthly_rate(plan.discount_rate_annual)
    t0 = month_of(plan.phases[0].start)
    pvb = pvc = 0.0
    for p in plan.phases:
        m = phase_metrics[(phase_metrics["phase"] == p.name)
                          & (phase_metrics["horizon"] == str(horizon))].iloc[0]
        off = (month_of(p.start).year - t0.year) * 12 + month_of(p.start).month - t0.month
        pvb += m["pv_benefits"] / (1 + r) ** off
        pvc += m["pv_costs"] / (1 + r) ** off
    return {"pv_benefits": pvb, "pv_costs": pvc, "npv": pvb - pvc, "roi": F.roi(pvb, pvc)}


def _months_between(a: pd.Series, b: pd.Timestamp) -> pd.Series:
    return (a.dt.year - b.year) * 12 + (a.dt.month - b.month)


def programme_cumulative(net: pd.DataFrame, annual_rate: float) -> pd.DataFrame:
    """Calendar-month programme cash flow, cumulative (nominal and discounted to the start).

    Each flow is discounted with the timing the NPV uses (:func:`programme_metrics`):
    ``t`` months after its phase's start (the one-off at t = 0, month 1 at t = 1, though
    both fall in the start month), plus the phase's offset from the first phase's start.
    The last point of ``cumulative_discounted`` is therefore the programme NPV over the
    horizon of ``net``. Calendar months without flows (a gap between phases) are shown
    with zero flows, so the line keeps its time axis.
    """
    starts = net.loc[net["t"] == 0].groupby("phase")["month"].min()
    offset = _months_between(net["phase"].map(starts), starts.min())
    r = F.monthly_rate(annual_rate)
    flows = net.assign(net_discounted=net["net"] * (1 + r) ** -(offset + net["t"]).to_numpy(float))
    df = flows.groupby("month").agg(cost=("cost", "sum"), benefits=("benefits", "sum"),
                                    net=("net", "sum"), net_discounted=("net_discounted", "sum"),
                                    status=("status", "min"))
    calendar = pd.date_range(df.index.min(), df.index.max(), freq="MS")
    df = df.reindex(calendar).rename_axis("month")
    df[["cost", "benefits", "net", "net_discounted"]] = (
        df[["cost", "benefits", "net", "net_discounted"]].fillna(0.0))
    df["status"] = df["status"].ffill()
    df["cumulative"] = df["net"].cumsum()
    df["cumulative_discounted"] = df["net_discounted"].cumsum()
    return df.drop(columns="net_discounted").reset_index()
