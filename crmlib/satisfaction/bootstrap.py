"""Bootstrap intervals that contain their estimate, or none with the reason.

A statistic that is biased in small samples (omega, relative weights, PLS paths, a
CLV-weighted lift on a few respondents) can sit outside the middle of its own bootstrap
distribution. A percentile interval that excludes its estimate contradicts the estimate
it is printed beside, so it is not reported: the interval is left blank and the reason is
stated (Efron & Tibshirani 1993, ch. 13-14, on the percentile interval's bias). Used by
reliability (omega), the key-driver weights, the PLS path model and the value-weighted gaps.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import display

MIN_DRAWS = 20


def percentile_interval(estimate: float, draws, level: float) -> tuple[float, float, str]:
    """Percentile bootstrap interval that must contain its estimate, or NaNs and a reason.

    Returns ``(low, high, reason)``; ``reason`` is ``""`` when the interval is reported.
    """
    draws = np.asarray(draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    if len(draws) < MIN_DRAWS:
        return (np.nan, np.nan,
                f"fewer than {MIN_DRAWS} bootstrap resamples could be fitted: no interval")
    if not np.isfinite(estimate):
        return np.nan, np.nan, ""
    a = (1 - level) / 2
    lo, hi = (float(v) for v in np.quantile(draws, [a, 1 - a]))
    if not lo <= estimate <= hi:
        # enough decimals to tell the estimate from the nearer end
        places = display.decimals([min(abs(estimate - lo), abs(estimate - hi))])
        return np.nan, np.nan, (
            f"estimate {display.number(estimate, places=places)} outside its bootstrap "
            f"interval {display.interval(lo, hi, places=places)} (small-sample bias): "
            "interval not reported")
    return lo, hi, ""


def interval_columns(estimates: Sequence[float], draws: pd.DataFrame, level: float,
                     what: str = "") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`percentile_interval` for each column of ``draws`` against its estimate.

    Returns the low and high ends and one reason per column (prefixed ``"what: "``; empty
    when the interval is reported). With no draws at all every interval is blank, no reason.
    """
    n = len(estimates)
    if draws is None or not len(draws):
        return np.full(n, np.nan), np.full(n, np.nan), [""] * n
    out = [percentile_interval(float(e), draws.iloc[:, j], level)
           for j, e in enumerate(estimates)]
    lows = np.array([o[0] for o in out], dtype=float)
    highs = np.array([o[1] for o in out], dtype=float)
    reasons = [f"{what}: {o[2]}" if o[2] and what else o[2] for o in out]
    return lows, highs, reasons


def join_notes(*columns: Sequence[str]) -> list[str]:
    """Row-wise ``"; "``-joined reasons of several columns (empty ones left out)."""
    return ["; ".join(r for r in row if r) for row in zip(*columns)]
