"""Charts of the phase-ROI analysis.

Each function takes the tables computed by :mod:`crmlib.roi` (and
:mod:`crmlib.roi.views`) and returns a matplotlib Figure built with
:func:`crmlib.plots.theme.new_figure`. Money axes carry the currency.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .theme import BAD, GOOD, NEUTRAL, PALETTE, new_figure, source_note

GROUP_COLOURS = {"pilot": PALETTE[1], "control": PALETTE[0]}
DECISION_COLOURS = {"continue": GOOD, "adjust": PALETTE[2], "stop": BAD,
                    "not evaluated": NEUTRAL}



def _money(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v / 1e3:,.0f}k" if abs(v) >= 1e4 else f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def kpi_trends(trends: pd.DataFrame, phase: str) -> Figure:
    """Pilot vs control monthly means (95% band) per KPI, phase start and end marked."""
    kpis = list(dict.fromkeys(trends["kpi"]))
    fig, axes = new_figure(1, len(kpis), figsize=(4.2 * len(kpis), 4.2), squeeze=False)
    start, end = trends.attrs.get("start"), trends.attrs.get("end")
    for ax, kpi in zip(axes[0], kpis):
        d = trends[trends["kpi"] == kpi]
        for group, g in d.groupby("group"):
            c = GROUP_COLOURS.get(group, NEUTRAL)
            ax.plot(g["period"], g["mean"], "o-", ms=3, color=c, label=group)
            ax.fill_between(g["period"], g["ci_low"], g["ci_high"], color=c, alpha=0.15, lw=0)
        if start is not None:
            ax.axvspan(start, end + pd.offsets.MonthEnd(0), color=PALETTE[2], alpha=0.12, lw=0)
            ax.axvline(start, color=PALETTE[2], ls="--", lw=1.5)
        ax.set_title(kpi, fontsize=11)
        ax.set_xlabel("month")
        ax.tick_params(axis="x", rotation=45, labelsize=8)
    axes[0][0].set_ylabel("KPI value (monthly mean)")
    axes[0][0].legend(loc="best", fontsize=9)
    fig.suptitle(f"{phase}: KPI trends, pilot vs control", fontweight="bold")
    note = "Shaded: the phase (start dashed); bands: 95% interval of the monthly mean."
    if trends.attrs.get("staggered"):
        note += " Pilot starts are staggered: the dashed line is the first start."
    return source_note(fig, note)


def event_study(coefs: pd.DataFrame, phase: str) -> Figure:
    """Event-study coefficients (pilot − control, relative to the month before the start)."""
    kpis = list(dict.fromkeys(coefs["kpi"]))
    fig, axes = new_figure(1, max(len(kpis), 1), figsize=(4.2 * max(len(kpis), 1), 4.0),
                           squeeze=False)
    for ax, kpi in zip(axes[0], kpis):
        d = coefs[coefs["kpi"] == kpi].sort_values("rel")
        pre = d["rel"] < 0
        for mask, c in ((pre, PALETTE[0]), (~pre, PALETTE[1])):
            x = d.loc[mask, "rel"]
            ax.errorbar(x, d.loc[mask, "estimate"],
                        yerr=[d.loc[mask, "estimate"] - d.loc[mask, "ci_low"],
                              d.loc[mask, "ci_high"] - d.loc[mask, "estimate"]],
                        fmt="o", color=c, capsize=3, ms=5)
        ax.axhline(0, color=NEUTRAL, lw=1)
        ax.axvline(-0.5, color=PALETTE[2], ls="--", lw=1.5)
        ax.set_title(kpi, fontsize=11)
        ax.set_xlabel("months since the start")
    axes[0][0].set_ylabel("pilot − control difference vs month −1")
    fig.suptitle(f"{phase}: event study (leads test parallel trends)", fontweight="bold")
    return source_note(fig, "Points with 95% intervals (clustered by unit); blue: before the "
                            "start (should be near 0), red: after.")


def cumulative_cash_flow(cum: pd.DataFrame, currency: str, as_of) -> Figure:
    """Programme cumulative net cash flow, nominal and discounted; projection dashed."""
    fig, ax = new_figure()
    ach = cum["month"] <= pd.Timestamp(as_of)
    for col, c, label in (("cumulative", PALETTE[0], "nominal"),
                          ("cumulative_discounted", PALETTE[3], "discounted")):
        ax.plot(cum.loc[ach, "month"], cum.loc[ach, col], "-", color=c, lw=2,
                label=f"{label} (achieved)")
        proj = cum.index[~ach]
        if len(proj):
            idx = [proj[0] - 1] + list(proj) if proj[0] > 0 else list(proj)
            ax.plot(cum.loc[idx, "month"], cum.loc[idx, col], "--", color=c, lw=2,
                    label=f"{label} (projected)")
    ax.axhline(0, color=NEUTRAL, lw=1)
    ax.axvline(pd.Timestamp(as_of), color=NEUTRAL, ls=":", lw=1.5)
    ax.annotate("as of", (pd.Timestamp(as_of), ax.get_ylim()[1]), ha="right", va="top",
                fontsize=9, color=NEUTRAL, xytext=(-4, -4), textcoords="offset points")
    _money(ax)
    ax.set_xlabel("month")
    ax.set_ylabel(f"cumulative net cash flow ({currency})")
    ax.set_title("Programme cumulative cash flow (all phases)")
    ax.legend(loc="upper left", fontsize=9)
    return source_note(fig, "Each phase over 24 months from its start; after the as-of date "
                            "the measured effects are projected.")


def roi_horizons(roi_table: pd.DataFrame) -> Figure:
    """ROI at 6, 12 and 24 months per phase: point value and risk-adjusted P10–P90."""
    d = roi_table[(roi_table["metric"] == "roi") & (roi_table["phase"] != "programme")]
    phases = list(dict.fromkeys(d["phase"]))
    horizons = ["6", "12", "24"]
    fig, ax = new_figure()
    width = 0.8 / len(horizons)
    for j, h in enumerate(horizons):
        x = np.arange(len(phases)) - 0.4 + width * (j + 0.5)
        g = d[d["horizon"] == h].set_index("phase").reindex(phases)
        ax.bar(x, g["point"], width * 0.9, color=PALETTE[j], alpha=0.85, label=f"{h} months")
        ax.errorbar(x, g["p50"], yerr=[g["p50"] - g["p10"], g["p90"] - g["p50"]], fmt="_",
                    color="black", capsize=4, lw=1.2)
    ax.axhline(0, color=NEUTRAL, lw=1)
    ax.set_xticks(np.arange(len(phases)), phases)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("ROI = (PV benefits − PV costs) / PV costs")
    ax.set_title("ROI by phase at 6, 12 and 24 months")
    ax.legend(title="after the phase start", fontsize=9)
    return source_note(fig, "Bars: measured effects; whiskers: risk-adjusted P10–P50–P90 "
                            "(effect uncertainty, benefit realisation, cost overrun).")


def tornado(tor: pd.DataFrame, currency: str, top: int = 12) -> Figure:
    """Programme NPV at 24 months as each driver moves from its P10 to its P90."""
    d = tor.head(top).iloc[::-1]
    base = float(tor["base_npv"].iloc[0])
    fig, ax = new_figure(figsize=(9, 0.45 * len(d) + 1.8))
    y = np.arange(len(d))
    lo = np.minimum(d["npv_at_low"], d["npv_at_high"])
    hi = np.maximum(d["npv_at_low"], d["npv_at_high"])
    below = np.minimum(hi, base) - lo
    above = hi - np.maximum(lo, base)
    ax.barh(y, np.where(lo < base, below, 0), left=lo, color=BAD, alpha=0.8,
            label="below the base NPV")
    ax.barh(y, np.where(hi > base, above, 0), left=np.maximum(lo, base), color=GOOD, alpha=0.8,
            label="above the base NPV")
    for yi, (_, r) in zip(y, d.iterrows()):
        for v, setting in ((r["npv_at_low"], r["setting_low"]),
                           (r["npv_at_high"], r["setting_high"])):
            right = v >= max(r["npv_at_low"], r["npv_at_high"])
            ax.annotate(f"{setting:.3g}", (v, yi), xytext=(4 if right else -4, 0),
                        textcoords="offset points", ha="left" if right else "right",
                        va="center", fontsize=8, color=NEUTRAL)
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(y, d["driver"])
    _money(ax, "x")
    ax.set_xlabel(f"programme NPV at 24 months ({currency})")
    ax.set_title("What drives the programme NPV (tornado)")
    ax.legend(loc="lower right", fontsize=9)
    span = max(hi.max() - lo.min(), abs(base) * 0.01, 1.0)
    ax.set_xlim(min(lo.min(), base) - 0.12 * span, max(hi.max(), base) + 0.12 * span)
    return source_note(fig, f"One driver at a time between its P10 and P90 (values at the bar "
                            f"ends); others at their point values, no risk adjustment "
                            f"(base NPV {base:,.0f} {currency}).")


def waterfall(steps: pd.DataFrame, currency: str) -> Figure:
    """Present value of benefits by phase and KPI, minus costs, to the programme NPV."""
    fig, ax = new_figure(figsize=(max(9, 0.6 * len(steps) + 2), 5.5))
    phases = [p for p in dict.fromkeys(steps["phase"]) if p != "programme"]
    colour = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(phases)}
    x = np.arange(len(steps))
    for i, r in steps.iterrows():
        c = ("black" if r["kind"] == "total" else BAD if r["kind"] == "cost"
             else colour[r["phase"]])
        ax.bar(i, r["end"] - r["start"], bottom=r["start"], color=c,
               alpha=0.55 if r["kind"] == "cost" else 0.9, edgecolor="white")
    ax.set_xticks(x, steps["item"], rotation=60, ha="right", fontsize=8)
    ax.axhline(0, color=NEUTRAL, lw=1)
    _money(ax)
    ax.set_ylabel(f"present value over 24 months ({currency})")
    ax.set_title("Where the programme value comes from: benefits by phase and KPI, less costs")
    handles = [Patch(color=colour[p], label=p) for p in phases]
    handles += [Patch(color=BAD, alpha=0.55, label="costs"), Patch(color="black", label="NPV")]
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    return source_note(fig, "Discounted to the first phase's start; direct and indirect "
                            "(productivity) benefits each counted once.")


def gate_summary(gates: pd.DataFrame, continue_threshold: float = 0.8,
                 stop_threshold: float = 0.5) -> Figure:
    """P(NPV > 0) per phase against the gate thresholds, coloured by decision."""
    fig, ax = new_figure(figsize=(9, 0.6 * len(gates) + 2.0))
    y = np.arange(len(gates))[::-1]
    ax.barh(y, gates["P(NPV>0)"], color=[DECISION_COLOURS.get(d, NEUTRAL)
                                         for d in gates["decision"]])
    for yi, (_, r) in zip(y, gates.iterrows()):
        ax.text(r["P(NPV>0)"] + 0.015, yi, r["decision"], va="center", fontsize=10,
                fontweight="bold")
    for x, label in ((stop_threshold, "stop below"), (continue_threshold, "continue from")):
        ax.axvline(x, color=NEUTRAL, ls="--", lw=1.2)
        ax.annotate(f"{label} {x:.0%}", (x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -2), textcoords="offset points", fontsize=8, color=NEUTRAL,
                    va="top")
    ax.set_yticks(y, gates["phase"])
    ax.set_xlim(0, 1.25)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("P(NPV at 24 months > 0), risk-adjusted Monte Carlo")
    ax.set_title("Phase gate: continue, adjust or stop")
    return source_note(fig, "Continue also needs every KPI to move the intended way "
                            "significantly; adjust otherwise.")
