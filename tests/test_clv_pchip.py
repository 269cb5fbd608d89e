"""PCHIP of many rows on one grid (crmlib.clv.pchip) against scipy's PchipInterpolator."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator

from crmlib.clv import pchip

# uneven knots (a one-line swap of the two spacings in a weight or an end rule shows)
KNOTS = np.array([0.0, 1.0, 2.5, 6.0, 7.0, 11.0])


def _rows() -> np.ndarray:
    """Knots × rows: increasing, flat stretches, sign changes, rows built to reach each
    branch of the end rule (slope of the wrong sign; steeper than three secants), and a
    zero secant of each sign."""
    rng = np.random.default_rng(1)
    k = len(KNOTS)
    rows = [np.cumsum(rng.exponential(1.0, (k, 40)), axis=0),          # increasing
            rng.normal(0, 1, (k, 40)),                                  # anything
            np.repeat(np.array([[0.0, 0.0, 1.0, 1.0, 1.0, 3.0]]).T, 2, axis=1),  # flats
            np.array([[0.0, 5.0, 5.5, 5.0, 2.0, 1.9]]).T,              # ends: wrong sign
            np.array([[0.0, 1.0, -3.0, -2.0, 4.0, 3.9]]).T,            # ends: too steep
            np.array([[1.0, 0.0, 3.0, 2.0, 2.0, -1.0]]).T,
            np.array([[0.0, -0.0, 0.0, 1.0, 1.0, 1.0]]).T]               # secants −0 and +0
    return np.concatenate(rows, axis=1)


def test_slopes_are_scipys_derivatives_at_the_knots():
    y = _rows()
    expected = PchipInterpolator(KNOTS, y, axis=0).derivative()(KNOTS)
    np.testing.assert_allclose(pchip.slopes(KNOTS, y), expected, rtol=1e-13, atol=1e-14)


def test_the_end_rules_are_reached():
    """The rows built for them do take the zero and the three-secant slope at an end."""
    h, y = np.diff(KNOTS), _rows()
    m = np.diff(y, axis=0) / h[:, None]
    d = pchip.slopes(KNOTS, y)
    ends = np.r_[d[0], d[-1]]
    assert (ends == 0).any()
    assert np.isclose(ends, 3 * np.r_[m[0], m[-1]]).any()


@pytest.mark.parametrize("knots", [np.array([0.0, 2.0]), np.array([0.0, 2.0, 3.0])])
def test_two_and_three_knots(knots):
    y = np.random.default_rng(2).normal(0, 1, (len(knots), 7))
    expected = PchipInterpolator(knots, y, axis=0).derivative()(knots)
    np.testing.assert_allclose(pchip.slopes(knots, y), expected, rtol=1e-13, atol=1e-14)


def test_linear_form_is_the_weighted_sum_of_scipys_interpolant():
    """Σ_j w_j f(t_j) over points inside, on and between the knots, both ends included."""
    y = _rows()
    at = np.r_[np.linspace(0, 11, 23), KNOTS, 0.4, 10.99]
    w = np.random.default_rng(3).normal(0, 1, len(at))
    a, b = pchip.hermite_form(KNOTS, at, w)
    expected = w @ PchipInterpolator(KNOTS, y, axis=0)(at)
    got = a @ y + b @ pchip.slopes(KNOTS, y)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
