"""Pareto/NBD: published CDNOW fit, stable hypergeometric terms, predictions."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from crmlib import paths
from crmlib.clv.models import ParetoNBD
from crmlib.clv.models.pareto_nbd import log_hyp2f1_a1


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(paths.REFERENCE / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def pnbd(cdnow):
    return ParetoNBD().fit(cdnow)


def test_reproduces_published_cdnow_fit(pnbd):
    for k, v in {"r": 0.5533, "alpha": 10.5778, "s": 0.6063, "beta": 11.6693}.items():
        assert pnbd.params_[k] == pytest.approx(v, rel=1e-3), k
    assert pnbd.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    s = pnbd.summary()
    assert (s.se > 0).all() and (s.ci_low < s.estimate).all() and (s.estimate < s.ci_high).all()


def test_customer_predictions_match_reference_implementation(pnbd):
    # Lifetimes 0.11.3 on the same file: P(alive) 0.86912, E[Y(39)] 1.45513 for customer 1
    assert pnbd.p_alive(2, 30.43, 38.86) == pytest.approx(0.86912, rel=1e-3)
    assert pnbd.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.45513, rel=1e-3)
    assert pnbd.p_alive(0, 0.0, 38.86) < pnbd.p_alive(0, 0.0, 1.0) < 1


def test_likelihood_terms_equal_the_integral_form(pnbd):
    # s/(r+s+x) A0 = s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ, for both branches α ≷ β
    for params in [tuple(pnbd.params_), (0.5, 12.0, 0.7, 6.0)]:
        r, al, s, be = params
        x, tx, T = 3.0, 10.0, 38.0
        _, l2 = ParetoNBD._row_terms(params, np.array([x]), np.array([tx]), np.array([T]))
        val, _ = integrate.quad(lambda u, r=r, al=al, s=s, be=be, x=x:
                                s * (al + u) ** -(r + x) * (be + u) ** -(s + 1), tx, T,
                                epsabs=0, epsrel=1e-12)
        assert np.exp(l2[0]) == pytest.approx(val * be ** s, rel=1e-8)  # terms times β^s


def test_hypergeometric_fallback_agrees_with_scipy():
    a, b, z = np.array([5.3, 40.0]), np.array([1.6, 20.2]), np.array([0.3, 0.9])
    direct = np.log(special.hyp2f1(a, b, a + 1, z))
    np.testing.assert_allclose(log_hyp2f1_a1(a, b, z), direct, rtol=1e-10)
    # the quadrature branch (forced by an overflowing case) stays finite
    huge = log_hyp2f1_a1(np.array([3000.0]), np.array([3000.0]), np.array([0.999]))
    assert np.isfinite(huge).all() and huge[0] > 100


def _log_f_mpmath(a, b, z):
    """log ₂F₁(a, b; a+1; z) as the Euler integral ∫₀^∞ e^(−v) (1 − z e^(−v/a))^(−b) dv,
    at 40 digits, split where the integrand changes scale."""
    import mpmath as mp

    with mp.workdps(30):
        a, b, z = mp.mpf(a), mp.mpf(b), mp.mpf(z)
        k = 1 + b * z / (a * (1 - z))
        f = lambda v: mp.exp(-v) * (1 - z * mp.exp(-v / a)) ** (-b)  # noqa: E731
        return float(mp.log(mp.quad(f, [0, 1 / k, 10 / k, 1, 10, a, mp.inf])))


LAGUERRE_CASES = [  # (a, b, z): a ≥ 100 and b ≥ 20 or z not close to 1
    (100.0, 20.0, 0.999), (100.0, 1e8, 1 - 1e-9), (100.0, 0.5, 1e-3), (1e3, 22.0, 0.99999),
    (1e3, 1e3, 0.3), (1e5, 5.0, 0.9), (1e5, 1e6, 0.99999), (1e8, 22.0, 1 - 1e-9),
    (1e8, 0.5, 0.99999), (1e8, 1e8, 0.0)]
NEAR_ONE_CASES = [  # (a, b, z): a ≥ 100, b < 20, z within 10/a of 1 (scipy loses digits)
    (100.0, 0.5, 0.999), (100.0, 5.0, 1 - 1e-9), (100.0, 19.9, 0.99), (1e3, 1.0, 0.99999),
    (1e5, 0.01, 0.99999), (1e5, 10.0, 1 - 1e-12), (1e8, 5.0, 1 - 1e-9)]


@pytest.mark.parametrize("cases,rule", [(LAGUERRE_CASES, "laguerre"),
                                        (NEAR_ONE_CASES, "near_one")])
def test_hypergeometric_for_large_parameters_against_mpmath(cases, rule):
    """For large a (a fit walking out to r → ∞) the function comes from quadrature rules of
    its own, each checked against mpmath where it is used."""
    from crmlib.clv.models import pareto_nbd as P

    a, b, z = (np.array(v) for v in zip(*cases))
    laguerre = (a >= P.LAGUERRE_A) & ((b >= P.LAGUERRE_B) | (a * (1 - z) >= 10 * z))
    assert (laguerre if rule == "laguerre" else (a >= P.LAGUERRE_A) & ~laguerre).all()
    ref = np.array([_log_f_mpmath(*case) for case in cases])
    np.testing.assert_allclose(log_hyp2f1_a1(a, b, z), ref, rtol=1e-13, atol=1e-13)


def test_hypergeometric_keeps_scipy_below_the_large_parameter_line():
    a = np.array([99.0, 5.0, 50.0, 90.0, 99.0])
    b = np.array([5.0, 0.5, 19.0, 3000.0, 30.0])
    z = np.array([0.99, 0.999, 0.99999, 0.999, 0.9])
    got = log_hyp2f1_a1(a, b, z)
    with np.errstate(all="ignore"):
        scipy_value = np.log(special.hyp2f1(a, b, a + 1, z))
    ok = np.isfinite(scipy_value)
    assert ok.any() and (~ok).any()  # where scipy fails, the quadrature stands in
    np.testing.assert_array_equal(got[ok], scipy_value[ok])
    assert np.isfinite(got).all()


def test_p_purchases_is_a_distribution_with_the_model_mean(pnbd):
    n = np.arange(400)
    for t in (5.0, 39.0, 78.0):
        p = pnbd.p_purchases(n, t)
        assert p.min() >= 0 and p.sum() == pytest.approx(1, abs=1e-8)
        assert (n * p).sum() == pytest.approx(pnbd.expected_purchases_new(t), rel=1e-6)


def test_expected_purchases_limit_at_s_equal_one(pnbd):
    m = pnbd.with_params({"r": 0.5, "alpha": 10.0, "s": 1.0, "beta": 12.0})
    near = pnbd.with_params({"r": 0.5, "alpha": 10.0, "s": 1.0 + 1e-7, "beta": 12.0})
    assert m.expected_purchases_new(39.0) == pytest.approx(near.expected_purchases_new(39.0), rel=1e-6)
    assert m.expected_purchases(39.0, 2, 30.0, 38.0) == pytest.approx(
        near.expected_purchases(39.0, 2, 30.0, 38.0), rel=1e-6)


def test_weights_give_the_same_fit(cdnow, pnbd):
    g = cdnow.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
    np.testing.assert_allclose(ParetoNBD().fit(g, weights="n").params_, pnbd.params_, rtol=1e-5)


def test_no_repeat_purchases_raises_convergence_error():
    from crmlib.clv.models import ConvergenceError
    df = pd.DataFrame({"frequency": [0] * 40, "recency": [0.0] * 40, "T": np.linspace(5, 30, 40)})
    with pytest.raises(ConvergenceError, match="Pareto/NBD"):
        ParetoNBD().fit(df)


def test_log_likelihood_of_data(cdnow, pnbd):
    assert pnbd.log_likelihood(cdnow) == pytest.approx(pnbd.log_likelihood_, rel=1e-12)
    other = pnbd.with_params({"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 11.0})
    assert other.log_likelihood(cdnow) < pnbd.log_likelihood_


def test_integral_route_gives_the_published_cdnow_likelihood(cdnow, pnbd, monkeypatch):
    # the ₂F₁-free evaluation used above s = 30, forced at the CDNOW estimates: the
    # published log-likelihood, and P(alive) of customer 1 as Lifetimes 0.11.3 gives it
    from crmlib.clv.models import pareto_nbd as P
    monkeypatch.setattr(P, "S_INTEGRAL", 0.0)
    assert pnbd.log_likelihood(cdnow) == pytest.approx(-9595.0, abs=0.05)
    assert pnbd.log_likelihood(cdnow) == pytest.approx(pnbd.log_likelihood_, abs=1e-8)
    assert pnbd.p_alive(2, 30.43, 38.86) == pytest.approx(0.86912, rel=1e-3)
