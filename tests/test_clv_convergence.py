"""Optima that are optima: the optimiser's state, its convergence test and flat ridges.

Two fits of the same data from different start values must agree to 1e-7 in
log-likelihood and 1e-5 in the parameters; an independent optimiser (Nelder-Mead,
started at the fit) must find no higher likelihood; a fit that stops on a flat ridge
says so. The Spark-against-pandas agreement is in ``test_clv_spark_model.py``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from crmlib import paths
from crmlib.clv import identification, summarise
from crmlib.clv.models import BGNBD, MBGNBD, ConvergenceError, ParetoNBD
from crmlib.clv.models.base import check_rft
from crmlib.clv.models.optimiser import OptimiserState, newton
from crmlib.io.errors import ParameterError

LL_AGREE, PARAM_AGREE = 1e-7, 1e-5
# far from the published CDNOW estimates (Fader, Hardie & Lee 2005), so L-BFGS-B takes
# another path: BG/NBD r 0.243, α 4.41, a 0.793, b 2.43; Pareto/NBD r 0.553, α 10.58,
# s 0.606, β 11.67
OTHER_START = {BGNBD: (3.0, 0.5, 0.1, 20.0), MBGNBD: (3.0, 0.5, 0.1, 20.0),
               ParetoNBD: (3.0, 50.0, 5.0, 1.0)}


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(paths.REFERENCE / "cdnow_customers_summary.csv")


def _agree(a, b) -> None:
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, abs=LL_AGREE, rel=0)
    np.testing.assert_allclose(a.params_, b.params_, rtol=PARAM_AGREE)


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD, ParetoNBD], ids=lambda c: c.__name__)
def test_two_start_values_reach_the_same_optimum(cls, cdnow):
    default = cls().fit(cdnow)
    other = cls(start_params=OTHER_START[cls]).fit(cdnow)
    assert default.converged_ and other.converged_
    _agree(default, other)
    # rows in another order and compressed by hand: the same optimum again
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    _agree(default, cls().fit(grouped.iloc[::-1], weights="n"))


def test_no_other_optimiser_finds_a_higher_likelihood(cdnow):
    """Nelder-Mead (no derivatives, so independent of the Newton polish), started at the
    Pareto/NBD fit (numerical derivatives only) with tight tolerances, gains less than
    1e-7 in log-likelihood."""
    m = ParetoNBD().fit(cdnow)
    data, w = check_rft(cdnow, m.name)
    m._prepare(data, w)

    def negll(theta):
        return m._negll(theta, data, w)[0]

    res = optimize.minimize(negll, np.log(m.params_.to_numpy()), method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000,
                                     "initial_simplex": None})
    assert -res.fun - m.log_likelihood_ < LL_AGREE
    assert m.optimiser_.remaining_gain() < 1e-9


def test_the_state_is_returned_not_left_in_attributes(cdnow):
    m = BGNBD().fit(cdnow)
    state = m.optimiser_
    assert isinstance(state, OptimiserState) and state.converged and m.converged_
    assert state.log_likelihood == pytest.approx(m.log_likelihood_, rel=1e-15)
    assert np.max(np.abs(state.gradient)) < 1e-8 and state.iterations > 0
    # the covariance is the inverse of the information the optimiser stopped with
    np.testing.assert_allclose(np.linalg.inv(state.information * m.n_), m._cov_log, rtol=1e-10)
    assert not [k for k in vars(m) if k in ("_hess_mean", "_last_grad")]
    assert identification.convergence_note(m) == ""


def test_newton_stops_on_the_decrement_of_a_known_maximum():
    """A Gaussian log-likelihood with known maximum μ = mean, log σ = log sd (ddof 0):
    Newton from a point a quarter of a standard deviation off lands there to 1e-7 and says
    it converged."""
    y = np.random.default_rng(1).normal(3.0, 2.0, 500)

    def fun(th):
        mu, ls = th
        z = (y - mu) / np.exp(ls)
        f = np.mean(ls + 0.5 * z**2)
        return f, np.array([-np.mean(z) / np.exp(ls), np.mean(1 - z**2)])

    state = newton(fun, np.array([2.5, np.log(1.5)]), True, len(y))
    assert state.converged and "converged" in state.message
    np.testing.assert_allclose(state.theta, [y.mean(), np.log(y.std())], atol=1e-7)
    # the information per observation at the maximum is diag(1/σ², 2)
    np.testing.assert_allclose(state.information, np.diag([1 / y.var(), 2.0]), rtol=1e-6, atol=1e-7)


def test_newton_stops_on_a_flat_ridge_and_says_so():
    """f(θ) = (θ₁ − 1)² + e^(−θ₂)/100 falls towards θ₂ → ∞ without a minimum: Newton
    reports a ridge along θ₂ (converged False) with θ₁ at its optimum."""
    def fun(th):
        e = np.exp(-th[1]) / 100
        return (th[0] - 1) ** 2 + e, np.array([2 * (th[0] - 1), -e])

    state = newton(fun, np.array([0.3, 2.0]), True, 300.0)
    assert not state.converged and state.on_ridge and "flat ridge" in state.message
    np.testing.assert_allclose(np.abs(state.flat[:, 0]), [0.0, 1.0], atol=1e-6)
    assert state.theta[0] == pytest.approx(1.0, abs=1e-7) and state.theta[1] > 2.0


def test_a_ridge_is_said_in_words(cdnow, clv_small):
    """A fit whose state is a ridge gets a sentence naming the parameters along it; on the
    small demo client up to 2024 the Pareto/NBD likelihood rises towards s, β → ∞ (one
    dropout rate for everyone) and the fit says so, while the limit converges."""
    from dataclasses import replace

    from crmlib.clv.models import ParetoNBDCommonDropout
    m = ParetoNBD().fit(cdnow)
    flat = np.array([[0.0, 0.0, 0.7071, 0.7071]]).T
    m.optimiser_, m.converged_ = replace(m.optimiser_, converged=False, flat=flat), False
    assert identification.ridge_parameters(m) == ["s", "beta"]
    note = identification.convergence_note(m)
    assert "flat ridge" in note and "s, beta" in note and note in identification.notes(
        m, None, None)
    tx = pd.read_csv(clv_small / "transactions.csv", dtype=str)
    c = summarise(tx, engine="pandas", time_unit="W", calibration_end="2024-12-31").customers
    c = c[["frequency", "recency", "T"]]
    try:  # stops on the ridge: either no estimates at all, or estimates flagged as not converged
        full = ParetoNBD().fit(c)
    except ConvergenceError as exc:
        assert "flat ridge" in str(exc)
    else:
        assert not full.converged_ and "flat ridge" in identification.convergence_note(full)
    limit = ParetoNBDCommonDropout().fit(c)
    assert limit.converged_ and identification.convergence_note(limit) == ""


def test_bad_start_values_are_refused(cdnow):
    for bad in [(1.0, 2.0, 3.0), (1.0, -2.0, 1.0, 1.0), {"r": 1.0}, (1, 2, 3, np.nan)]:
        with pytest.raises(ParameterError, match="start_params"):
            BGNBD(start_params=bad).fit(cdnow)


def test_a_fit_far_from_any_maximum_still_raises(cdnow):
    """An optimiser state with a gradient of 1 per customer (far from any maximum, and not
    on a ridge) gives no estimates rather than flagged ones."""
    m = BGNBD()
    data, w = check_rft(cdnow, m.name)
    state = OptimiserState(np.zeros(4), 5.0, np.ones(4), np.eye(4), float(w.sum()), 1,
                           False, "stopped early")
    with pytest.raises(ConvergenceError, match="gradient 1 per customer"):
        m._finish(state, data, w)
