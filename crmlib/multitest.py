"""Multiplicity-adjusted p-values.

Holm's step-down adjustment (Holm 1979, *Scand. J. Statist.* 6:65–70) is computed here:
``statsmodels.stats.multitest.multipletests`` gives the same values but runs a full
``gc.collect()`` on every Holm call (statsmodels 0.14–0.15), about 0.1 s each in a report
notebook whose heap holds charts and frames, and the reports call it many times. The
other methods are statsmodels'.
"""
from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests


def holm(p) -> np.ndarray:
    """Holm-adjusted p-values of finite ``p``: the running maximum of (n − i + 1)·p₍ᵢ₎ over
    the sorted p-values, capped at 1, in the input's order (as statsmodels computes it)."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1))
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def adjusted_p(p, method: str = "holm") -> np.ndarray:
    """Adjusted p-values of finite ``p`` by ``method`` (statsmodels' names: ``"holm"``,
    ``"fdr_bh"``, ``"bonferroni"``, ...)."""
    if method == "holm":
        return holm(p)
    return multipletests(np.asarray(p, dtype=float), method=method)[1]
