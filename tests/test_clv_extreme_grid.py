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


PNBD_OPEN = [(0.01, 10.0, 1e7, 1e5), (1.0, 1e-3, 1e7, 5e8)]


@pytest.mark.xfail(strict=True, reason="Pareto/NBD with s in the millions: scipy's hyp2f1 in "
                   "the likelihood loses digits (up to 7% here); not yet evaluated stably")
@pytest.mark.parametrize("params", PNBD_OPEN, ids=str)
def test_pareto_nbd_huge_s_against_mpmath(fitted, params):
    test_pareto_nbd_against_mpmath(fitted, params)
