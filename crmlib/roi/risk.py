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


def simulate(plan: PhasePlan, costs: pd.DataFrame, lines: pd.DataFrame, n: int = 10_000,
             seed: int = 0, risk: RiskAssumptions = RiskAssumptions(),
             horizons=(6, 12, 24)) -> pd.DataFrame:
    """Monte Carlo draws of NPV and ROI per phase, horizon and for the programme.

    Returns a long frame of summaries: ``phase`` (or ``"programme"``), ``horizon``,
    ``metric`` (npv/roi), ``p10``, ``p50``, ``p90``, ``mean`` and ``p_npv_positive``.
    Phase values are discounted to the phase start; programme values to the first start.
    """
    rng = np.random.default_rng(seed)
    starts = {p.name: month_of(p.start) for p in plan.phases}
    draws = {name: (risk.benefit_realisation.draw(rng, n), risk.cost_overrun.draw(rng, n))
             for name in starts}
    eff_draws: dict[tuple, np.ndarray] = {}
    rows = []
    for h in horizons:
        prog_b, prog_c = np.zeros(n), np.zeros(n)
        for p in plan.phases:
            own_t0 = starts[p.name]
            coef, pvc = pv_by_line(lines[lines["phase"] == p.name],
                                    costs[costs["phase"] == p.name], plan.discount_rate_annual,
                                    h, own_t0, starts)
            pvb = np.zeros(n)
            for _, c in coef.iterrows():
                key = (p.name, c["kpi"])
                if key not in eff_draws:
                    eff_draws[key] = rng.normal(c["effect"], c["se"], n)
                pvb += c["pv_coef"] * eff_draws[key]
            real, over = draws[p.name]
            b, c_ = real * pvb, over * float(pvc.sum())
            rows += _summaries(p.name, h, b, c_)
            off = (own_t0.year - starts[plan.phases[0].name].year) * 12 + own_t0.month - \
                starts[plan.phases[0].name].month
            d = (1 + F.monthly_rate(plan.discount_rate_annual)) ** -off
            prog_b += b * d
            prog_c += c_ * d
        rows += _summaries("programme", h, prog_b, prog_c)
    return pd.DataFrame(rows)


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
