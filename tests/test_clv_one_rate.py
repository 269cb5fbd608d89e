"""The one-purchase-rate limits (r, α → ∞): closed forms checked three independent ways.

* against the three-parameter limits they come from, evaluated at r = 10⁸;
* against each other: MBG/NBD with one rate k and dropout probability p after each
  purchase (the first included) and Pareto/NBD with purchase rate λ = k(1−p) and
  dropout rate μ = kp describe the same data (events at rate k, each a purchase or,
  with probability p, the end), so likelihoods and expected purchases must agree
  although the two classes share no formula;
* against themselves: the distribution P(X(t) = n) sums to one and has the mean
  E[X(t)]; fits of simulated logs cover the planted values and are chosen over the
  full model.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.clv.models import (
    MBGNBD,
    BGNBDCommonDropout,
    ConvergenceError,
    ParetoNBDCommonDropout,
    PoissonCommonDropout,
    PoissonExponentialDropout,
    fit_identified,
    simulate_bgnbd,
    simulate_pareto_nbd,
)
from crmlib.clv.models.bootstrap import bootstrap_params
from crmlib.clv.models.identified import LIMIT_TOL
from crmlib.clv.models.optimiser import OptimiserState

R = 1e8  # r standing in for infinity
ROWS = pd.DataFrame({"frequency": [0, 0, 1, 3, 7, 12, 2],
                     "recency": [0.0, 0.0, 4.0, 20.0, 30.5, 51.0, 2.0],
                     "T": [10.0, 52.0, 40.0, 52.0, 31.0, 52.0, 60.0]})
SAMPLE = simulate_bgnbd(400, R, R / 0.8, 1e8 * 0.05, 1e8 * 0.95, 52, rng=5, modified=True)


def _with(cls, params, *args):
    return cls(*args).fit(SAMPLE).with_params(params)


def _rows():
    return [ROWS[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]


@pytest.mark.parametrize("modified", [False, True])
def test_bg_one_rate_is_the_limit_of_one_dropout_probability(modified):
    lam, p = 0.7, 0.08
    one = _with(PoissonCommonDropout, [lam, p], modified)
    three = _with(BGNBDCommonDropout, [R, R / lam, p], modified)
    x, tx, T = _rows()
    # the three-parameter form carries the NBD constant ln Γ(r+x)/Γ(r) − x ln α → x ln λ
    assert one.log_likelihood(ROWS) == pytest.approx(three.log_likelihood(ROWS), rel=1e-6)
    np.testing.assert_allclose(one.p_alive(x, tx, T), three.p_alive(x, tx, T), rtol=1e-4)
    np.testing.assert_allclose(one.expected_purchases(26.0, x, tx, T),
                               three.expected_purchases(26.0, x, tx, T), rtol=1e-4)
    t = np.array([1.0, 13.0, 52.0, 200.0])
    np.testing.assert_allclose(one.expected_purchases_new(t), three.expected_purchases_new(t),
                               rtol=1e-4)
    n = np.arange(12)
    np.testing.assert_allclose(one.p_purchases(n, 20.0), three.p_purchases(n, 20.0),
                               rtol=1e-4, atol=1e-12)


def test_pareto_one_rate_is_the_limit_of_one_dropout_rate():
    lam, mu = 0.6, 0.03
    one = _with(PoissonExponentialDropout, [lam, mu])
    three = _with(ParetoNBDCommonDropout, [R, R / lam, mu])
    x, tx, T = _rows()
    assert one.log_likelihood(ROWS) == pytest.approx(three.log_likelihood(ROWS), rel=1e-6)
    np.testing.assert_allclose(one.p_alive(x, tx, T), three.p_alive(x, tx, T), rtol=1e-4)
    np.testing.assert_allclose(one.expected_purchases(26.0, x, tx, T),
                               three.expected_purchases(26.0, x, tx, T), rtol=1e-4)
    n = np.arange(12)
    np.testing.assert_allclose(one.p_purchases(n, 20.0), three.p_purchases(n, 20.0),
                               rtol=1e-4, atol=1e-12)


def test_mbg_and_pareto_one_rate_limits_describe_the_same_process():
    k, p = 0.9, 0.05
    mbg = _with(PoissonCommonDropout, [k, p], True)
    pareto = _with(PoissonExponentialDropout, [k * (1 - p), k * p])
    x, tx, T = _rows()
    assert mbg.log_likelihood(ROWS) == pytest.approx(pareto.log_likelihood(ROWS), rel=1e-12)
    t = np.array([0.5, 13.0, 104.0])
    np.testing.assert_allclose(mbg.expected_purchases_new(t), pareto.expected_purchases_new(t),
                               rtol=1e-12)
    np.testing.assert_allclose(mbg.expected_purchases(30.0, x, tx, T),
                               pareto.expected_purchases(30.0, x, tx, T), rtol=1e-12)
    n = np.arange(25)
    np.testing.assert_allclose(mbg.p_purchases(n, 30.0), pareto.p_purchases(n, 30.0),
                               rtol=1e-10, atol=1e-15)
    # P(alive) differs by the factor 1 − p: the two place the moment of leaving
    # differently (at a purchase, or between purchases); expected purchases agree
    np.testing.assert_allclose(mbg.p_alive(x, tx, T), (1 - p) * pareto.p_alive(x, tx, T),
                               rtol=1e-12)


@pytest.mark.parametrize("model", [
    lambda: _with(PoissonCommonDropout, [0.7, 0.08], False),
    lambda: _with(PoissonCommonDropout, [0.7, 0.08], True),
    lambda: _with(PoissonExponentialDropout, [0.6, 0.03]),
])
def test_purchase_distribution_sums_to_one_with_the_stated_mean(model):
    m = model()
    n = np.arange(400)
    for t in (0.0, 5.0, 60.0):
        prob = np.asarray(m.p_purchases(n, t))
        assert prob.min() >= 0 and prob.sum() == pytest.approx(1.0, abs=1e-12)
        assert (n * prob).sum() == pytest.approx(float(m.expected_purchases_new(t)), rel=1e-10,
                                                 abs=1e-12)


def _limit_or_as_good(d, name, one, planted):
    """``one`` (the one-rate limit fitted directly) covers the planted values; the model
    :func:`fit_identified` chooses is the limit when nothing fits better by more than
    ``LIMIT_TOL``, and otherwise fits better (a sample can show heterogeneity that is not
    there); when it is a limit with one dropout process it predicts the same purchases."""
    for k, v in planted.items():
        assert abs(one.params_[k] - v) <= 2.81 * one.se_[k], (k, one.params_[k], one.se_[k])
    m = fit_identified(name, d)
    assert m.log_likelihood_ >= one.log_likelihood_ - 1e-9
    if m.log_likelihood_ <= one.log_likelihood_ + LIMIT_TOL:
        assert type(m) is type(one) and "r, α → ∞" in m.limit
    if not getattr(m, "limit", ""):  # the full model: dropout seen to vary, other predictions
        return
    x, tx, T = (d[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    assert np.sum(m.expected_purchases(52.0, x, tx, T)) == pytest.approx(
        np.sum(one.expected_purchases(52.0, x, tx, T)), rel=0.02)


@pytest.mark.parametrize("rng", [1, 4, 6])  # 1 lands on the limit; 4 (finite r), 6 (a, b) not
def test_weekly_buyers_reach_the_mbg_one_rate_limit(rng):
    lam, p = 1.2, 0.03
    d = simulate_bgnbd(3000, R, R / lam, R * p, R * (1 - p), 78, rng=rng, modified=True,
                       resolution=1 / 7)
    _limit_or_as_good(d, "mbgnbd", PoissonCommonDropout(True).fit(d), {"lam": lam, "p": p})


def test_one_rate_one_dropout_rate_reaches_the_pareto_one_rate_limit():
    lam, mu = 0.5, 0.02
    d = simulate_pareto_nbd(1000, R, R / lam, R, R / mu, 78, rng=5, resolution=1 / 7)
    _limit_or_as_good(d, "pnbd", PoissonExponentialDropout().fit(d), {"lam": lam, "mu": mu})


def test_heterogeneous_rates_keep_the_full_model():
    d = simulate_bgnbd(2000, 0.6, 6.0, 0.8, 3.0, 52, rng=1, modified=True)
    assert type(fit_identified("mbgnbd", d)) is MBGNBD


@pytest.mark.parametrize("model", [
    lambda: _with(PoissonCommonDropout, [0.8, 0.05], True),
    lambda: _with(PoissonExponentialDropout, [0.8, 0.04]),
])
def test_bootstrap_refits_the_one_rate_limits(model):
    m = model()
    draws, failed = bootstrap_params(m, np.full(300, 52.0), n_boot=20, rng=3)
    assert failed == 0 and list(draws.columns) == list(m.param_names) and len(draws) == 20
    # the refits scatter around the generating values
    for k in m.param_names:
        assert abs(draws[k].median() - m.params_[k]) < 3 * draws[k].std()


def test_a_fit_flat_in_every_direction_returns_no_estimates():
    """A likelihood flat in every direction (information over all customers below one in
    each) identifies nothing, even when rounding leaves its Hessian positive definite."""
    m = PoissonExponentialDropout()
    state = OptimiserState(theta=np.log([0.5, 0.02]), value=1.0, gradient=np.zeros(2),
                           information=np.diag([1e-4, 2e-4]), n=40.0, iterations=9,
                           converged=False, message="stopped on a flat ridge", flat=np.eye(2))
    with pytest.raises(ConvergenceError, match="inform no direction"):
        m._finish(state, {}, np.ones(40))


def test_a_weak_purchase_rate_is_named_as_such_in_the_notes():
    from crmlib.clv.identification import notes

    m = _with(PoissonCommonDropout, [0.7, 0.08], True)
    m.se_ = pd.Series({"lam": 1.4, "p": 0.01})
    said = " ".join(notes(m, None, None))
    assert "lam of MBG/NBD (one purchase rate, one dropout probability) are weakly" in said
    assert "how often customers buy" in said
    assert "how purchase rates vary" not in said and "how dropout varies" not in said
    assert "r, α → ∞ with r/α fixed" in said  # the limit it is
