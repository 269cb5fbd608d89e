"""Charts of customer value over time: the earlier run's forecast against what happened,
and the value bridge from the earlier run to this one.

Each function takes the tables of :mod:`crmlib.clv.over_time` / :mod:`crmlib.clv.migration`
and returns a matplotlib Figure.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .theme import BAD, GOOD, NEUTRAL, PALETTE, new_figure, source_note


def forecast_check(by_decile: pd.DataFrame, by_frequency: pd.DataFrame, period: float,
                   unit: str, start, end) -> Figure:
    """Mean purchases per customer in the period since the earlier run, forecast and
    actual, by decile of the forecast (left) and by past repeat purchases (right): Fader,
    Hardie & Lee's (2005) conditional-expectation check on calendar time."""
    fig, (left, right) = new_figure(1, 2, figsize=(11, 4.8))
    for ax, table, key, label in ((left, by_decile, "decile", "decile of the forecast "
                                   "(1 = expected to buy most)"),
                                  (right, by_frequency, "past_frequency",
                                   "repeat purchase days before the earlier run")):
        x = np.arange(len(table))
        ax.plot(x, table["actual_mean"], "o-", color=PALETTE[0], lw=2, label="actual")
        ax.plot(x, table["predicted_mean"], "s--", color=PALETTE[1], lw=2,
                label="forecast of the earlier run")
        ax.set_xticks(x, table[key].astype(str))
        ax.set_xlabel(label)
    left.set_ylabel("mean purchase days per customer")
    left.legend()
    fig.suptitle(f"Last run's forecast against what happened, {start} to {end}")
    return source_note(fig, f"Period checked: {period:.1f} {unit} of calendar time. The "
                            "earlier run's customers only; new customers are not in it.")


def value_bridge(table: pd.DataFrame, currency: str | None = None) -> Figure:
    """Waterfall from the earlier run's total value to this run's
    (:meth:`Migration.decomposition_table`)."""
    fig, ax = new_figure()
    values = table["value"].to_numpy(float)
    labels = ["earlier run", "new", "shifted tier", "same tier", "lost to churn", "now"] \
        if len(table) == 6 else [str(c) for c in table["component"]]
    bottom, level = [], 0.0
    colors = []
    for i, v in enumerate(values):
        if i == 0 or i == len(values) - 1:
            bottom.append(0.0)
            colors.append(PALETTE[0])
            level = v
        else:
            bottom.append(level if v >= 0 else level + v)
            colors.append(GOOD if v >= 0 else BAD)
            level += v
    heights = np.abs(values)
    heights[0], heights[-1] = values[0], values[-1]
    ax.bar(range(len(values)), heights, bottom=bottom, color=colors, edgecolor=NEUTRAL)
    ax.set_xticks(range(len(values)), labels)
    ax.set_ylim(0, max(np.max(np.array(bottom) + heights), 1.0) * 1.08)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel(f"customer lifetime value{f' ({currency})' if currency else ''}")
    ax.set_title("Where the change in customer value came from")
    return source_note(fig, "Value = each run's CLV. Lost = churned customers' value at the "
                            "earlier run less what is still expected of them.")


__all__ = ["forecast_check", "value_bridge"]
