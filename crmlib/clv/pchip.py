"""Monotone cubic (PCHIP) interpolation of many rows on one grid, reduced to a linear form.

The CLV value draws interpolate every customer's E[Y(t)], known at quarterly knots, to the
month ends and then take one fixed linear combination of the monthly values (discounted
increments). The knots and the evaluation points are the same for every row, so the
Hermite basis at each month end is a constant: a row's value is ``a @ y + b @ d``, where
``y`` are its knot values, ``d`` its PCHIP slopes at the knots and ``a``, ``b`` are
computed once (:func:`hermite_form`).

The slopes are those of scipy's ``PchipInterpolator``: the weighted harmonic mean of the
neighbouring secants, zero where they change sign or one is zero (Fritsch & Butland 1984,
SIAM J. Sci. Stat. Comput. 5(2), 300–304), and the shape-preserving one-sided three-point
rule at the ends (Moler 2004, *Numerical Computing with MATLAB*, §3.6, ``pchiptx``).
Written here, not taken from scipy, because ``PchipInterpolator`` builds and evaluates a
piecewise polynomial of every row on every call (copies of the rows × knots array, masked
assignments): for a log of 200,000 customers (154,425 distinct rows, 200 draws) the value
step took 49 to 59 s with it and 14 to 17 s with this module, with the same values (within
8e-16). The tests compare both with scipy's interpolant.
"""
from __future__ import annotations

import numpy as np


def slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP derivatives at the knots ``x`` (increasing, length k) of the columns of ``y``
    (k × n, one column per interpolated row), as scipy's ``PchipInterpolator``."""
    h = np.diff(x)[:, None]
    m = np.diff(y, axis=0) / h
    if len(y) == 2:  # one interval: the straight line
        return np.concatenate([m, m])
    sign = np.sign(m)
    same_sign = (sign[1:] == sign[:-1]) & (sign[1:] != 0)
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    d = np.empty_like(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        d[1:-1] = np.where(same_sign, (w1 + w2) / (w1 / m[:-1] + w2 / m[1:]), 0.0)
    d[0] = _end_slope(h[0, 0], h[1, 0], m[0], m[1])
    d[-1] = _end_slope(h[-1, 0], h[-2, 0], m[-1], m[-2])
    return d


def _end_slope(h0: float, h1: float, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """One-sided three-point slope at an end, kept from overshooting."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    wrong_sign = np.sign(d) != np.sign(m0)
    too_steep = (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3 * np.abs(m0))
    return np.where(wrong_sign, 0.0, np.where(too_steep, 3 * m0, d))


def hermite_form(x: np.ndarray, at: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors ``a``, ``b`` (length of ``x``) such that ``a @ y + b @ d`` is
    ``Σ_j w_j · f(at_j)`` for the cubic Hermite interpolant ``f`` of knot values ``y`` and
    slopes ``d`` at the knots ``x``; ``at`` lies within ``[x[0], x[-1]]``."""
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    s = (at - x[k]) / h
    a, b = np.zeros(len(x)), np.zeros(len(x))
    np.add.at(a, k, w * (2 * s**3 - 3 * s**2 + 1))
    np.add.at(a, k + 1, w * (3 * s**2 - 2 * s**3))
    np.add.at(b, k, w * h * (s**3 - 2 * s**2 + s))
    np.add.at(b, k + 1, w * h * (s**3 - s**2))
    return a, b
