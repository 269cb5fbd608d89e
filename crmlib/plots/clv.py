"""Charts of the CLV analysis; every axis that shows time names its unit.

Each function takes the tables computed by :mod:`crmlib.clv` and returns a
matplotlib Figure built with :func:`crmlib.plots.theme.new_figure`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .theme import NEUTRAL, PALETTE, new_figure, source_note


def _money(ax, axis: str = "x") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def frequency_fit(table: pd.DataFrame, model_label: str, unit: str, T_note: str = "") -> Figure:
    """Customers by number of repeat purchases in the calibration period: actual vs model."""
    fig, ax = new_figure()
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["actual"], 0.4, label="actual", color=PALETTE[0])
    ax.bar(x + 0.2, table["expected"], 0.4, label=model_label, color=PALETTE[1])
    ax.set_xticks(x, table["repeat_purchases"])
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title(f"Calibration fit: repeat purchases per customer ({model_label})")
    ax.legend()
    return source_note(fig, f"Time unit of the model: {unit}. {T_note}".strip())


def tracking(table: pd.DataFrame, calibration_end, model_label: str, unit: str) -> Figure:
    """Cumulative repeat purchases per week, actual vs model, across calibration and holdout."""
    fig, ax = new_figure()
    ax.plot(table["date"], table["actual"], color=PALETTE[0], lw=2, label="actual")
    ax.plot(table["date"], table["expected"], color=PALETTE[1], lw=2, ls="--",
            label=f"{model_label} (expected)")
    ax.axvline(pd.Timestamp(calibration_end), color=NEUTRAL, ls=":", lw=1.5)
    ax.annotate("calibration end", (pd.Timestamp(calibration_end), ax.get_ylim()[1] * 0.95),
                ha="right", va="top", fontsize=9, color=NEUTRAL, xytext=(-4, 0),
                textcoords="offset points")
    ax.set_xlabel("week ending (calendar date)")
    ax.set_ylabel("cumulative repeat purchase days")
    ax.set_title("Tracking: cumulative repeat purchases, calibration and holdout")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="upper left")
    return source_note(fig, f"Weekly points; the model works in {unit}.")


def conditional_expectations(table: pd.DataFrame, model_label: str, holdout: float,
                             unit: str) -> Figure:
    """Mean holdout purchases by calibration frequency: actual, model and naive baseline."""
    fig, ax = new_figure()
    x = np.arange(len(table))
    ax.plot(x, table["actual"], "o-", color=PALETTE[0], lw=2, label="actual")
    ax.plot(x, table["predicted"], "s--", color=PALETTE[1], lw=2, label=model_label)
    ax.plot(x, table["naive"], "^:", color=NEUTRAL, lw=1.5,
            label="naive (calibration rate continues)")
    ax.set_xticks(x, table["calibration_frequency"])
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel(f"mean purchase days in the holdout ({holdout:.1f} {unit})")
    ax.set_title("Holdout: predicted vs actual purchases by past frequency")
    ax.legend()
    return fig


def p_alive_matrix(matrix: pd.DataFrame, T: float, unit: str) -> Figure:
    """Heatmap of P(alive) by frequency and recency for a customer observed for T."""
    import seaborn as sns
    fig, ax = new_figure(figsize=(9, 6))
    step = max(1, matrix.shape[1] // 8)
    sns.heatmap(matrix, ax=ax, cmap="RdYlGn", vmin=0, vmax=1, cbar_kws={"label": "P(alive)"},
                xticklabels=step)
    ax.set_xticklabels([f"{v:,.0f}" for v in matrix.columns[::step]], rotation=0)
    ax.invert_yaxis()
    ax.set_xlabel(f"recency: time from first to last purchase ({unit})")
    ax.set_ylabel("repeat purchase days (frequency)")
    ax.set_title(f"P(alive) for a customer first seen {T:.0f} {unit} ago")
    return fig


def clv_distribution(clv: pd.Series, horizon_months: int, monthly_rate: float | None = None,
                     currency: str = "") -> Figure:
    """Histogram of per-customer CLV (log-scaled count axis)."""
    fig, ax = new_figure()
    v = clv.to_numpy(dtype=float)
    ax.hist(v, bins=50, color=PALETTE[0])
    ax.axvline(np.mean(v), color=PALETTE[1], ls="--", label=f"mean {np.mean(v):,.0f}")
    ax.axvline(np.median(v), color=PALETTE[2], ls=":", label=f"median {np.median(v):,.0f}")
    ax.set_yscale("log")
    _money(ax)
    ax.set_xlabel(f"CLV per customer, next {horizon_months} months (discounted margin{currency})")
    ax.set_ylabel("customers (log scale)")
    ax.set_title("Customer lifetime value: distribution")
    ax.legend()
    if monthly_rate is not None:
        source_note(fig, f"Horizon {horizon_months} months from the observation end, discounted "
                         f"monthly at {monthly_rate:.3%} per month.")
    return fig


def lorenz(curve: pd.DataFrame, top10: float, top20: float, gini: float) -> Figure:
    """Lorenz curve of CLV with the top-10% and top-20% shares marked."""
    fig, ax = new_figure(figsize=(6.5, 6))
    ax.plot(curve["customer_share"], curve["value_share"], color=PALETTE[0], lw=2,
            label=f"CLV (Gini {gini:.2f})")
    ax.plot([0, 1], [0, 1], color=NEUTRAL, ls=":", label="equal value")
    for share, top, col in ((0.9, top10, PALETTE[1]), (0.8, top20, PALETTE[2])):
        ax.plot([share, share], [1 - top, 1], color=col, lw=2,
                label=f"top {1 - share:.0%} hold {top:.0%}")
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set_xlabel("share of customers (lowest CLV first)")
    ax.set_ylabel("cumulative share of CLV")
    ax.set_title("Value concentration (Lorenz curve)")
    ax.legend(loc="upper left")
    return fig


def segments(table: pd.DataFrame) -> Figure:
    """Share of customers vs share of CLV by RFM segment."""
    fig, ax = new_figure()
    t = table.sort_values("clv_share")
    y = np.arange(len(t))
    ax.barh(y + 0.2, t["customer_share"], 0.4, color=PALETTE[6], label="share of customers")
    ax.barh(y - 0.2, t["clv_share"], 0.4, color=PALETTE[0], label="share of CLV")
    ax.set_yticks(y, t["segment"])
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.set_xlabel("share of all customers / of total CLV")
    ax.set_ylabel("RFM segment")
    ax.set_title("RFM segments: customers vs value")
    ax.legend(loc="lower right")
    return fig


def survival(observed: pd.DataFrame, projected: pd.DataFrame) -> Figure:
    """sBG survival: observed share still subscribed vs the model's projection (months)."""
    fig, ax = new_figure()
    ax.plot(observed["month"], observed["survival"], "o", color=PALETTE[0],
            label="observed (Kaplan-Meier)")
    ax.plot(projected["month"], projected["survival"], "-", color=PALETTE[1], lw=2,
            label="shifted-Beta-Geometric")
    if "ci_low" in projected:
        ax.fill_between(projected["month"], projected["ci_low"], projected["ci_high"],
                        color=PALETTE[1], alpha=0.2, label="90% interval")
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("months since subscription start")
    ax.set_ylabel("share still subscribed")
    ax.set_title("Subscriptions: survival, observed and projected")
    ax.legend()
    return fig
