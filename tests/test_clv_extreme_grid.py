"""BG/NBD, MBG/NBD and Pareto/NBD at extreme but admissible parameters, against mpmath.

Log-likelihood, P(alive), E[Y(t) | x, t_x, T] and E[X(t)] on a small grid of
parameters at the edges the fits reach (a, b up to 1e7, a near 1, a, b of 0.01,
α of 1e-3 and 1e5, r of 0.01 and 50, ages up to 2,000 time units), compared with
the closed forms evaluated by mpmath at 50 digits (``tests/mp_btyd.py``). The
grid is kept small (a few seconds): mpmath's hypergeometric series is the cost.
"""
from __future__ import annotations

import mp_btyd as R
import mpmath as mp
import numpy as np
import pandas as pd
import pytest

from crmlib.clv.models import BGNBD, MBGNBD, ParetoNBD, simulate_bgnbd, simulate_pareto_nbd

ROWS = [(0, 0.0, 50.0), (3, 20.0, 50.0), (40, 500.0, 520.0), (1, 1.0, 2000.0)]
TS = [1.0, 52.0, 1000.0]
RTOL = 1e-7  # predictions
LL_ATOL = 1e-9  # log-likelihood per customer (values near 0 make a relative test meaningless)

BG_GRID = [(0.01, 1e-3, 0.05, 0.3), (1.0, 10.0, 1.58e6, 4.14e6), (50.0, 1e5, 1e7, 1e7),
           (0.01, 1e-3, 3.0, 1e7), (1.0, 10.0, 1e7, 0.5), (0.5, 10.0, 1.0000001, 2.0),
           (0.8, 1e-3, 0.01, 0.01)]
PNBD_GRID = [(0.01, 1e-3, 0.05, 1e-3), (1.0, 10.0, 0.5, 10.0), (50.0, 1e5, 2.5, 1e5),
             (1.0, 10.0, 1e-6, 10.0), (0.5, 10.0, 0.3, 1e9)]


@pytest.fixture(scope="module")
def fitted():
    bg = simulate_bgnbd(300, 1.0, 10.0, 3.0, 7.0, 52, rng=3)
    # on the rng=3 sample the MBG/NBD likelihood rises towards a, b → ∞ (no maximum)
    mbg = simulate_bgnbd(300, 1.0, 10.0, 3.0, 7.0, 52, rng=4)
    return {BGNBD: BGNBD().fit(bg), MBGNBD: MBGNBD().fit(mbg),
            ParetoNBD: ParetoNBD().fit(simulate_pareto_nbd(300, 1.0, 10, 1.0, 20, 52, rng=2))}


def _check(got, ref, what):
    ref = float(ref)
    assert np.isfinite(got), what
    assert got == pytest.approx(ref, rel=RTOL, abs=1e-300), what


def _row(x, tx, T):
    return pd.DataFrame({"frequency": [x], "recency": [tx], "T": [T]})


@pytest.fixture(autouse=True)
def _digits():
    with mp.workdps(50):
        yield


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD], ids=["bgnbd", "mbgnbd"])
@pytest.mark.parametrize("params", BG_GRID, ids=str)
def test_bgnbd_family_against_mpmath(fitted, cls, params):
    mod = cls is MBGNBD
    m = fitted[cls].with_params(params)
    for x, tx, T in ROWS:
        ll = R.bg_loglik(*params, x, tx, T, mod)
        assert m.log_likelihood(_row(x, tx, T)) == pytest.approx(float(ll), rel=1e-9,
                                                                 abs=LL_ATOL), (x, tx, T)
        _check(m.p_alive(x, tx, T), R.bg_p_alive(*params, x, tx, T, mod), ("p_alive", x))
        got = m.expected_purchases(np.array(TS), x, tx, T)
        for t, g in zip(TS, got):
            _check(g, R.bg_expected(*params, t, x, tx, T, mod), ("E[Y]", t, x, tx, T))
    got = m.expected_purchases_new(np.array(TS))
    for t, g in zip(TS, got):
        _check(g, R.bg_expected_new(*params, t, mod), ("E[X]", t))


@pytest.mark.parametrize("params", PNBD_GRID, ids=str)
def test_pareto_nbd_against_mpmath(fitted, params):
    m = fitted[ParetoNBD].with_params(params)
    for x, tx, T in ROWS:
        ll = R.pnbd_loglik(*params, x, tx, T)
        assert m.log_likelihood(_row(x, tx, T)) == pytest.approx(float(ll), rel=1e-9,
                                                                 abs=LL_ATOL), (x, tx, T)
        _check(m.p_alive(x, tx, T), R.pnbd_p_alive(*params, x, tx, T), ("p_alive", x))
        for t in TS:
            _check(m.expected_purchases(t, x, tx, T), R.pnbd_expected(*params, t, x, tx, T),
                   ("E[Y]", t, x, tx, T))
    for t in TS:
        _check(m.expected_purchases_new(t), R.pnbd_expected_new(*params, t), ("E[X]", t))


# s from just below to far above the hand-over to the integral (S_INTEGRAL = 30), where
# scipy's hyp2f1 loses digits (0.05 in one customer's log-likelihood at s = 10⁷)
PNBD_HUGE_S = [(0.01, 10.0, 1e7, 1e5), (1.0, 1e-3, 1e7, 5e8), (0.8, 3.0, 29.0, 300.0),
               (0.8, 3.0, 31.0, 300.0), (40.0, 1e-3, 1e4, 1e6), (0.5, 1e3, 1e5, 1e3)]


@pytest.mark.parametrize("params", PNBD_HUGE_S, ids=str)
def test_pareto_nbd_huge_s_against_mpmath(fitted, params):
    test_pareto_nbd_against_mpmath(fitted, params)


def test_pareto_nbd_hand_over_is_continuous(fitted):
    # on either side of S_INTEGRAL the two evaluations agree to far below the optimiser's steps
    rows = simulate_pareto_nbd(200, 0.8, 3.0, 30.0, 300.0, 80, rng=5)
    from crmlib.clv.models import pareto_nbd as P
    lo = fitted[ParetoNBD].with_params((0.8, 3.0, P.S_INTEGRAL, 300.0))
    hi = fitted[ParetoNBD].with_params((0.8, 3.0, np.nextafter(P.S_INTEGRAL, np.inf), 300.0))
    assert hi.log_likelihood(rows) == pytest.approx(lo.log_likelihood(rows), rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(hi.p_alive(rows.frequency, rows.recency, rows["T"]),
                               lo.p_alive(rows.frequency, rows.recency, rows["T"]), rtol=1e-10)


def test_reference_quadrature_agrees_with_its_series():
    # the mpmath reference switches from Gauss's series to the integral above z = 0.999:
    # where both apply, they agree far below the grid's tolerances (the reference is
    # checked, not assumed)
    for args in [(0.5, 12.0, 0.7, 6.0, 3, 10.0, 38.0), (0.8, 3.0, 400.0, 2000.0, 2, 5.0, 60.0),
                 (2.0, 0.5, 0.3, 40.0, 7, 30.0, 31.0)]:
        series = R._pnbd_A0(*[mp.mpf(v) for v in args])
        integral = R._pnbd_A0(*[mp.mpf(v) for v in args], quad=True)
        assert float(integral / series) == pytest.approx(1.0, abs=1e-10)
