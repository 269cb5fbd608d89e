"""Importance-performance analysis (Martilla & James 1977) with the iso-priority diagonal.

Martilla, J. A. & James, J. C. (1977), "Importance-performance analysis",
Journal of Marketing 41(1), 77–79: items are placed by importance (y) and
performance (x); the crosshair splits them into four quadrants:

* high importance, low performance — **Concentrate here**
* high importance, high performance — **Keep up the good work**
* low importance, low performance — **Low priority**
* low importance, high performance — **Possible overkill**

The crosshair sits at the scale midpoint or at the data means (Oh 2001,
"Revisiting importance-performance analysis", Tourism Management 22 discusses
the choice). The iso-priority diagonal (Slack 1994; Bacon 2003, "A comparison
of approaches to importance-performance analysis", Int. J. Market Research
45(1)) runs through the crosshair at 45°: items above it have more
importance than performance and deserve attention first; ``priority_index``
is the signed distance, (importance − I_c) − (performance − P_c), in scale
points for stated importance and in standard deviations across items for
derived importance (whose units differ from the rating scale).

Performance is the mean perception with its t interval; stated importance is
the mean ``I_`` rating with its t interval; derived importance is the share of
R² from :mod:`crmlib.satisfaction.drivers` with its bootstrap interval. An
item whose intervals cross the crosshair is flagged ``quadrant_certain = False``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..io import ParameterError
from .prepare import Survey

QUADRANTS = {(True, False): "Concentrate here", (True, True): "Keep up the good work",
             (False, False): "Low priority", (False, True): "Possible overkill"}


def _mean_ci(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    n = frame.notna().sum()
    m, se = frame.mean(), frame.std(ddof=1) / np.sqrt(n)
    h = se * stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
    return pd.DataFrame({"mean": m, "ci_low": m - h, "ci_high": m + h})


def ipa_table(survey: Survey, derived: pd.DataFrame | None = None, importance: str = "stated",
              crosshair: str = "midpoint", level: float = 0.95) -> pd.DataFrame:
    """One row per item: performance, importance (with intervals), quadrant, priority index.

    Parameters
    ----------
    survey : prepared survey.
    derived : item-level summary from :func:`~crmlib.satisfaction.drivers.derived_importance`
        (needed for ``importance="derived"``).
    importance : ``"stated"`` (mean ``I_`` rating) or ``"derived"`` (share of R²).
    crosshair : ``"midpoint"`` (scale midpoint; equal share 1/k for derived importance)
        or ``"mean"`` (mean across items).
    """
    if crosshair not in ("midpoint", "mean"):
        raise ParameterError("crosshair", f"must be 'midpoint' or 'mean', got {crosshair!r}")
    perf = _mean_ci(survey.perceptions, level)
    if importance == "stated":
        if survey.importance is None:
            raise ParameterError("importance", "stated importance needs I_ items in the survey")
        imp = _mean_ci(survey.importance, level)
        mid_i = sum(survey.scale) / 2
    elif importance == "derived":
        if derived is None:
            raise ParameterError("importance", "derived importance needs the driver analysis")
        d = derived.set_index("item")
        imp = pd.DataFrame({"mean": d["share"], "ci_low": d["share_ci_low"],
                            "ci_high": d["share_ci_high"]})
        mid_i = 1 / len(imp)
    else:
        raise ParameterError("importance", f"must be 'stated' or 'derived', got {importance!r}")
    items = [i for i in survey.items if i in imp.index]
    perf, imp = perf.loc[items], imp.loc[items]
    p_c = sum(survey.scale) / 2 if crosshair == "midpoint" else perf["mean"].mean()
    i_c = mid_i if crosshair == "midpoint" else imp["mean"].mean()
    hi_i, hi_p = imp["mean"] >= i_c, perf["mean"] >= p_c
    sure_i = (imp["ci_low"] > i_c) | (imp["ci_high"] < i_c)
    sure_p = (perf["ci_low"] > p_c) | (perf["ci_high"] < p_c)
    if importance == "stated":
        s_i = s_p = 1.0
    else:
        s_i, s_p = imp["mean"].std() or 1.0, perf["mean"].std() or 1.0
    out = pd.DataFrame({
        "item": items, "dimension": survey.catalogue.loc[items, "dimension"].to_numpy(),
        "label": survey.catalogue.loc[items, "label"].to_numpy(),
        "performance": perf["mean"].to_numpy(), "performance_ci_low": perf["ci_low"].to_numpy(),
        "performance_ci_high": perf["ci_high"].to_numpy(),
        "importance": imp["mean"].to_numpy(), "importance_ci_low": imp["ci_low"].to_numpy(),
        "importance_ci_high": imp["ci_high"].to_numpy(),
        "quadrant": [QUADRANTS[(a, b)] for a, b in zip(hi_i, hi_p)],
        "quadrant_certain": (sure_i & sure_p).to_numpy(),
        "priority_index": ((imp["mean"] - i_c) / s_i - (perf["mean"] - p_c) / s_p).to_numpy()})
    out.attrs.update(importance=importance, crosshair=crosshair, importance_center=float(i_c),
                     performance_center=float(p_c))
    return out


def ipa_auto(survey: Survey, derived: pd.DataFrame | None = None, crosshair: str = "mean",
             level: float = 0.95) -> pd.DataFrame | None:
    """IPA on stated importance when the survey has ``I_`` items, else on derived importance,
    else None (no importance measure at all)."""
    if survey.importance is not None:
        return ipa_table(survey, derived, "stated", crosshair, level)
    if derived is not None:
        return ipa_table(survey, derived, "derived", crosshair, level)
    return None
