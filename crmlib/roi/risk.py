"""Risk: Monte Carlo of NPV and ROI, and a one-at-a-time tornado of NPV drivers.

Three sources of risk, in the spirit of Forrester's risk-adjusted Total Economic
Impact (benefits adjusted down, costs adjusted up, three-point estimates):

* **effect** — each KPI effect drawn from Normal(estimate, s.e.) (its sampling
  uncertainty from the DiD fit);
* **benefit realisation** — a multiplier of all of a phase's benefits,
  triangular(low 0.70, mode 0.95, high 1.05), mean 0.90 (a 10% haircut);
* **cost overrun** — a multiplier of all of a phase's costs,
  triangular(low 0.95, mode 1.00, high 1.20), mean 1.05 (a 5% uplift).

Phases draw their multipliers independently. Because money is linear in the
effects, each draw only rescales precomputed present values (fast for 100,000
draws). The tornado swings one driver at a time from its P10 to its P90
value, all others at their point values, and reports programme NPV at 24 months
(Eschenbach 1992, "Spiderplots versus tornado diagrams for sensitivity
analysis", Interfaces 22(6)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from . import finance as F
from .phase_effects import month_of
from .plan import PhasePlan

Z90 = stats.norm.ppf(0.9)


@dataclass(frozen=True)
class Triangular:
    """Three-point (low, mode, high) estimate of a multiplier."""

    low: float
    mode: float
    high: float

    def __post_init__(self):
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError(f"need low ≤ mode ≤ high and low < high, got {self}")

    @property
    def dist(self):
        scale = self.high - self.low
        return stats.triang((self.mode - self.low) / scale, loc=self.low, scale=scale)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, size=n)


@dataclass(frozen=True)
class RiskAssumptions:
    """Risk distributions and tornado swings (defaults as in the module docstring)."""

    benefit_realisation: Triangular = Triangular(0.70, 0.95, 1.05)
    cost_overrun: Triangular = Triangular(0.95, 1.00, 1.20)
    discount_rate_swing: float = 0.05
    rollout_swing: float = 0.20


def pv_by_line(lines: pd.DataFrame, costs: pd.DataFrame, rate_annual: float, horizon: int,
                t0: pd.Timestamp, starts: dict) -> tuple[pd.DataFrame, pd.Series]:
    """PV at programme start of money per unit of effect (by phase, KPI) and of costs."""
    r = F.monthly_rate(rate_annual)

    def off(phase):
        s = starts[phase]
        return (s.year - t0.year) * 12 + s.month - t0.month

    lw = lines[lines["t"] <= horizon].copy()
    lw["df"] = (1 + r) ** -(lw["t"] + lw["phase"].map(off))
    lw["pv_coef"] = lw["coef"] * lw["df"]
    coef = lw.groupby(["phase", "kpi"], sort=False).agg(pv_coef=("pv_coef", "sum"),
                                                        effect=("effect", "first"),
                                                        se=("se", "first")).reset_index()
    cw = costs[costs["t"] <= horizon]
    pvc = (cw["cost"] * (1 + r) ** -(cw["t"] + cw["phase"].map(off))).groupby(cw["phase"],
                                                                            sort=False).sum()
    return coef, pvc


def _phase_arrays(name: str, costs: pd.DataFrame, lines: pd.DataFrame, horizon: int):
    """Money per unit of effect per KPI and month (J × T), effects, s.e. and costs (T)."""
    ln = lines[(lines["phase"] == name) & (lines["t"] <= horizon)].sort_values("t")
    kpis = list(dict.fromkeys(ln["kpi"]))
    B = np.vstack([ln.loc[ln["kpi"] == k, "coef"].to_numpy(float) for k in kpis])
    first = ln.groupby("kpi", sort=False)[["effect", "se"]].first().loc[kpis]
    c = costs[(costs["phase"] == name) & (costs["t"] <= horizon)].sort_values("t")
    return B, first["effect"].to_numpy(float), first["se"].to_numpy(float), \
        c["cost"].to_numpy(float)


def _payback(disc_net: np.ndarray) -> np.ndarray:
    """Discounted payback (periods, interpolated) per row; inf when not reached."""
    cum = np.cumsum(disc_net, axis=1)
    reached = cum >= 0
    idx = reached.argmax(axis=1)
    rows = np.arange(len(cum))
    prev = cum[rows, np.maximum(idx - 1, 0)]
    step = disc_net[rows, idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(idx == 0, 0.0, idx - 1 + (-prev) / step)
    return np.where(reached.any(axis=1), t, np.inf)


def simulate(plan: PhasePlan, costs: pd.DataFrame, lines: pd.DataFrame, n: int = 10_000,
             seed: int = 0, risk: RiskAssumptions = RiskAssumptions(),
             horizons=(6, 12, 24), n_irr: int = 1000) -> pd.DataFrame:
    """Monte Carlo draws of NPV and ROI per phase, horizon and for the programme, plus the
    discounted payback and the annualised IRR of each phase at the longest horizon.

    Returns a long frame of summaries: ``phase`` (or ``"programme"``), ``horizon``,
    ``metric`` (npv, roi, payback_months, irr), ``p10``, ``p50``, ``p90``, ``mean`` and
    ``p_npv_positive``. Phase values are discounted to the phase start, programme values
    to the first start. Payback quantiles beyond the horizon are reported as missing;
    the IRR uses the first ``n_irr`` draws (all of them solved in one batch,
    :func:`crmlib.roi.finance.irr_many`).
    """
    rng = np.random.default_rng(seed)
    r = F.monthly_rate(plan.discount_rate_annual)
    H = max(horizons)
    t0 = month_of(plan.phases[0].start)
    rows, prog = [], {h: [np.zeros(n), np.zeros(n)] for h in horizons}
    for p in plan.phases:
        B, eff, se, c = _phase_arrays(p.name, costs, lines, H)
        real, over = risk.benefit_realisation.draw(rng, n), risk.cost_overrun.draw(rng, n)
        E = rng.normal(eff, se, (n, len(eff)))
        ben = real[:, None] * (E @ B)
        cost = over[:, None] * c[None, :]
        df = F.discount_factors(r, B.shape[1])
        s = month_of(p.start)
        d_off = (1 + r) ** -((s.year - t0.year) * 12 + s.month - t0.month)
        for h in horizons:
            pvb, pvc = ben[:, :h + 1] @ df[:h + 1], cost[:, :h + 1] @ df[:h + 1]
            rows += _summaries(p.name, h, pvb, pvc)
            prog[h][0] += pvb * d_off
            prog[h][1] += pvc * d_off
        net = ben - cost
        p_pos = rows[-1]["p_npv_positive"]
        rows.append(_quantiles(p.name, H, "payback_months", _payback(net * df), p_pos))
        irr = np.array([F.annualise(x) for x in F.irr_many(net[:n_irr])])
        rows.append(_quantiles(p.name, H, "irr", irr, p_pos))
    for h in horizons:
        rows += _summaries("programme", h, *prog[h])
    return pd.DataFrame(rows)


def _quantiles(name: str, h: int, metric: str, x: np.ndarray, p_pos: float) -> dict:
    x = x[~np.isnan(x)]
    big = 1e300  # stands for "not reached" (inf) so that quantiles stay finite
    q = np.percentile(np.minimum(x, big), [10, 50, 90]) if len(x) else np.full(3, np.nan)
    q = np.where(q > 1e200, np.nan, q)
    finite = x[np.isfinite(x)]
    return {"phase": name, "horizon": str(h), "metric": metric, "p10": q[0], "p50": q[1],
            "p90": q[2], "mean": float(finite.mean()) if len(finite) == len(x) and len(x)
            else np.nan, "p_npv_positive": p_pos}


def _summaries(name: str, h: int, pvb: np.ndarray, pvc: np.ndarray) -> list[dict]:
    npv = pvb - pvc
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = np.where(pvc > 0, npv / pvc, np.nan)
    out = []
    for metric, x in (("npv", npv), ("roi", roi)):
        q = np.nanpercentile(x, [10, 50, 90])
        out.append({"phase": name, "horizon": str(h), "metric": metric, "p10": q[0], "p50": q[1],
                    "p90": q[2], "mean": float(np.nanmean(x)),
                    "p_npv_positive": float(np.mean(npv > 0))})
    return out


def tornado(plan: PhasePlan, costs: pd.DataFrame, lines: pd.DataFrame, horizon: int = 24,
            risk: RiskAssumptions = RiskAssumptions()) -> pd.DataFrame:
    """Programme NPV at ``horizon`` months with one driver at its P10 and P90 value.

    Returns ``driver``, ``setting_low`` and ``setting_high`` (the driver's P10 and P90),
    ``npv_at_low``, ``npv_at_high``, ``base_npv`` and ``swing`` (largest first).
    """
    def npv(lines_=lines, costs_=costs, rate=plan.discount_rate_annual, real=1.0, over=1.0):
        t0 = month_of(plan.phases[0].start)
        starts = {p.name: month_of(p.start) for p in plan.phases}
        coef, pvc = pv_by_line(lines_, costs_, rate, horizon, t0, starts)
        return float(real * (coef["pv_coef"] * coef["effect"]).sum() - over * pvc.sum())

    base = npv()
    rows = []
    for (phase, kpi), g in lines.groupby(["phase", "kpi"], sort=False):
        e, se = g["effect"].iloc[0], g["se"].iloc[0]
        lo, hi = e - Z90 * se, e + Z90 * se
        vals = [npv(lines_=lines.assign(effect=np.where((lines["phase"] == phase)
                                                        & (lines["kpi"] == kpi), v,
                                                        lines["effect"]))) for v in (lo, hi)]
        rows.append((f"{phase}: {kpi} effect", lo, hi, *vals))
    br, co = risk.benefit_realisation.dist, risk.cost_overrun.dist
    rows.append(("benefit realisation", br.ppf(.1), br.ppf(.9),
                 npv(real=br.ppf(.1)), npv(real=br.ppf(.9))))
    rows.append(("cost overrun", co.ppf(.1), co.ppf(.9), npv(over=co.ppf(.1)),
                 npv(over=co.ppf(.9))))
    r, s = plan.discount_rate_annual, risk.discount_rate_swing
    rows.append(("discount rate (annual)", max(r - s, 0.0), r + s, npv(rate=max(r - s, 0.0)),
                 npv(rate=r + s)))
    k = risk.rollout_swing
    after = lines["units"] > 0
    scale = {f: lines.assign(coef=lines["coef"] * np.where(after & ~_running(lines), f, 1.0))
             for f in (1 - k, 1 + k)}
    rows.append(("rollout units", 1 - k, 1 + k, npv(lines_=scale[1 - k]), npv(lines_=scale[1 + k])))
    df = pd.DataFrame(rows, columns=["driver", "setting_low", "setting_high", "npv_at_low",
                                     "npv_at_high"])
    df["base_npv"] = base
    df["swing"] = (df["npv_at_high"] - df["npv_at_low"]).abs()
    return df.sort_values("swing", ascending=False).reset_index(drop=True)


def _running(lines: pd.DataFrame) -> pd.Series:
    return lines["running"] if "running" in lines else pd.Series(False, index=lines.index)
