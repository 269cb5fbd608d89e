"""Investment arithmetic: discounting, NPV, IRR, ROI and discounted payback.

Conventions (stated in every report):

* Cash flows are per period, ``flows[0]`` at t = 0 (undiscounted: the one-off
  cost at the start), ``flows[t]`` at the **end** of period t. This is
  ``numpy_financial.npv``'s convention; Excel's ``NPV()`` discounts its first
  value by one period (t = 1), so Excel users write ``=C0 + NPV(r, C1:Cn)``.
* A monthly rate is derived from the annual one as (1 + r)^(1/12) − 1, so twelve
  monthly periods discount exactly like one year.
* ROI = (PV benefits − PV costs) / PV costs, the Forrester Total Economic Impact
  definition (Forrester Research, *The Total Economic Impact methodology*).
* IRR from monthly flows is annualised as (1 + irr_month)^12 − 1.
* Discounted payback: the first time the cumulative discounted net cash flow
  reaches zero, interpolated linearly within the period; None when not reached.

NPV and IRR are numpy-financial's (``npf.npv``, ``npf.irr``); payback has no
numpy-financial function, hence the few lines below.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy_financial as npf


def monthly_rate(annual: float) -> float:
    """Monthly rate equivalent to an annual rate: (1 + r)^(1/12) − 1."""
    return (1.0 + annual) ** (1.0 / 12.0) - 1.0


def discount_factors(rate: float, n: int) -> np.ndarray:
    """(1 + rate)^−t for t = 0 … n − 1."""
    return (1.0 + rate) ** -np.arange(n, dtype=float)


def present_value(rate: float, flows: Sequence[float] | np.ndarray) -> float:
    """Present value at t = 0 of ``flows`` (first flow at t = 0), as ``npf.npv``."""
    return float(npf.npv(rate, np.asarray(flows, float)))


def irr(flows: Sequence[float]) -> float:
    """Internal rate of return per period (NaN when the flows never change sign)."""
    f = np.asarray(flows, float)
    if not (np.any(f < 0) and np.any(f > 0)):
        return float("nan")
    return float(npf.irr(f))


def irr_many(flows: np.ndarray) -> np.ndarray:
    """:func:`irr` of each row of ``flows`` (one row of flows per scenario), all at once.

    numpy-financial's method, batched: the roots of the NPV polynomial are the
    eigenvalues of its companion matrix (as ``np.roots``), a real positive root x gives
    the rate 1/x − 1, and of several the rate closest to zero is returned. Rows whose
    flows have the same first and last non-zero period share one batched eigenvalue call.
    NaN when a row's flows never change sign.
    """
    f = np.atleast_2d(np.asarray(flows, float))
    out = np.full(len(f), np.nan)
    change = (f < 0).any(axis=1) & (f > 0).any(axis=1)
    nonzero = f != 0
    first = nonzero.argmax(axis=1)  # leading zero flows only add roots at 0, never a rate
    last = f.shape[1] - 1 - nonzero[:, ::-1].argmax(axis=1)
    for a, b in set(zip(first[change].tolist(), last[change].tolist())):
        rows = np.flatnonzero(change & (first == a) & (last == b))
        out[rows] = _irr_same_length(f[rows, a:b + 1][:, ::-1])
    return out


def _irr_same_length(p: np.ndarray) -> np.ndarray:
    """Rate from polynomial coefficients ``p`` (rows, highest power first, no zero ends)."""
    n = p.shape[1] - 1
    A = np.zeros((len(p), n, n))
    A[:, np.arange(1, n), np.arange(n - 1)] = 1.0
    A[:, 0, :] = -p[:, 1:] / p[:, :1]
    roots = np.linalg.eigvals(A)
    real = (roots.imag == 0) & (roots.real > 0)
    rate = np.where(real, 1 / np.where(real, roots.real, 1.0) - 1, np.inf)
    best = rate[np.arange(len(p)), np.argmin(np.abs(rate), axis=1)]
    return np.where(real.any(axis=1), best, np.nan)


def annualise(rate_per_month: float) -> float:
    """(1 + monthly rate)^12 − 1."""
    return float((1.0 + rate_per_month) ** 12 - 1.0) if np.isfinite(rate_per_month) else np.nan


def roi(pv_benefits: float, pv_costs: float) -> float:
    """(PV benefits − PV costs) / PV costs; NaN when there are no costs."""
    return (pv_benefits - pv_costs) / pv_costs if pv_costs > 0 else float("nan")


def discounted_payback(rate: float, flows: Sequence[float]) -> float | None:
    """Periods until the cumulative discounted net flow reaches zero (interpolated).

    Returns 0 when the first flow is already non-negative, None when the
    cumulative discounted flow stays negative over the flows given.
    """
    f = np.asarray(flows, float) * discount_factors(rate, len(flows))
    cum = np.cumsum(f)
    if cum[0] >= 0:
        return 0.0
    hit = np.flatnonzero(cum >= 0)
    if not len(hit):
        return None
    t = int(hit[0])
    return float(t - 1 + (-cum[t - 1]) / f[t])


def evaluate(costs: Sequence[float], benefits: Sequence[float], rate: float) -> dict:
    """PV costs, PV benefits, NPV, ROI, IRR (per period) and discounted payback.

    ``costs`` and ``benefits`` are positive amounts per period, index 0 = t = 0.
    """
    c, b = np.asarray(costs, float), np.asarray(benefits, float)
    pvc, pvb = present_value(rate, c), present_value(rate, b)
    net = b - c
    return {"pv_costs": pvc, "pv_benefits": pvb, "npv": present_value(rate, net),
            "roi": roi(pvb, pvc), "irr": irr(net), "payback": discounted_payback(rate, net)}
