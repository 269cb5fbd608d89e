"""BG/NBD and MBG/NBD: published CDNOW results, predictions, inputs and failure modes."""
import numpy as np
import pandas as pd
import pytest
from scipy import special

from crmlib import paths
from crmlib.clv.models import BGNBD, MBGNBD, MODELS, ConvergenceError
from crmlib.io import DataError

CDNOW = paths.REFERENCE / "cdnow_customers_summary.csv"


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(CDNOW)


@pytest.fixture(scope="module")
def bg(cdnow):
    return BGNBD().fit(cdnow)


def test_bgnbd_reproduces_fader_hardie_lee_2005(bg):
    expected = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    for k, v in expected.items():
        assert bg.params_[k] == pytest.approx(v, rel=1e-3), k
    assert bg.log_likelihood_ == pytest.approx(-9582.4, rel=1e-3)
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.n_ == 2357


def test_bgnbd_customer_one(bg):
    # customer 1: x = 2, t_x = 30.43, T = 38.86 (weeks)
    assert bg.p_alive(2, 30.43, 38.86) == pytest.approx(0.7266, rel=1e-3)
    assert bg.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.2259, rel=1e-3)


def test_conditional_expectation_matches_direct_formula(bg):
    r, al, a, b = bg.params_
    x, tx, T, t = np.array([0, 2, 7, 40]), np.array([0, 30.43, 20.0, 38.0]), 38.86, 39.0
    direct = ((a + b + x - 1) / (a - 1)
              * (1 - ((al + T) / (al + T + t)) ** (r + x)
                 * special.hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))))
    direct /= 1 + (x > 0) * a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)
    np.testing.assert_allclose(bg.expected_purchases(t, x, tx, T), direct, rtol=1e-9)


def test_summary_and_information(bg):
    s = bg.summary()
    assert list(s.columns) == ["estimate", "se", "ci_low", "ci_high"]
    assert list(s.index) == ["r", "alpha", "a", "b"]
    assert (s.se > 0).all() and (s.ci_low < s.estimate).all() and (s.estimate < s.ci_high).all()
    # standard errors of the published fit (observed information, delta method)
    assert s.loc["r", "se"] == pytest.approx(0.0126, rel=0.02)
    assert bg.covariance_.shape == (4, 4)
    assert bg.aic_ == pytest.approx(2 * 4 + 2 * 9582.4256, rel=1e-6)
    assert bg.bic_ > bg.aic_


def test_weights_give_the_same_fit(cdnow, bg):
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    m = BGNBD().fit(grouped, weights="count")
    np.testing.assert_allclose(m.params_, bg.params_, rtol=1e-6)
    assert m.n_ == bg.n_ and m.log_likelihood_ == pytest.approx(bg.log_likelihood_, rel=1e-10)
    assert bg.n_rows_ < len(cdnow)  # compressed before fitting


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD])
def test_analytic_gradient_matches_numerical(cls, cdnow):
    m = cls()
    from statsmodels.tools.numdiff import approx_fprime

    from crmlib.clv.models.base import check_rft
    data, w = check_rft(cdnow, "x")
    m._prepare(data, w)
    th = np.log([0.4, 5.0, 0.9, 2.0])
    num = approx_fprime(th, lambda t: m._negll(t, data, w)[0], centered=True)
    np.testing.assert_allclose(m._negll(th, data, w)[1], num, rtol=1e-5)


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD])
def test_p_purchases_is_a_distribution_with_the_model_mean(cls, cdnow):
    m = cls().fit(cdnow)
    n = np.arange(0, 400)
    p = m.p_purchases(n, 39.0)
    assert p.min() >= 0 and p.sum() == pytest.approx(1, abs=1e-8)
    assert (n * p).sum() == pytest.approx(m.expected_purchases_new(39.0), rel=1e-6)
    # frequency fit: the model's expected count of customers with 0 repeat purchases
    t = cdnow["T"].to_numpy()
    pred0 = m.p_purchases(0, t).sum()
    assert pred0 == pytest.approx((cdnow.frequency == 0).sum(), rel=0.05)


def test_mbgnbd_cdnow_matches_reference_implementation(cdnow):
    # Lifetimes 0.11.3 ModifiedBetaGeoFitter on the same file
    m = MBGNBD().fit(cdnow)
    expected = {"r": 0.5248, "alpha": 6.1830, "a": 0.8914, "b": 1.6140}
    for k, v in expected.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-3), k
    assert m.p_alive(0, 0, 38.86) < 1
    assert BGNBD().fit(cdnow).p_alive(0, 0, 38.86) == 1


def test_predictions_accept_series_and_arrays(bg, cdnow):
    pa = bg.p_alive(cdnow.frequency, cdnow.recency, cdnow["T"])
    assert isinstance(pa, pd.Series) and pa.between(0, 1).all()
    e = bg.expected_purchases_new(np.array([1.0, 10.0, 39.0]))
    assert np.all(np.diff(e) > 0)
    assert MODELS["bgnbd"] is BGNBD and MODELS["mbgnbd"] is MBGNBD


def test_sample_params_and_with_params(bg):
    draws = bg.sample_params(4000, np.random.default_rng(1))
    assert list(draws.columns) == ["r", "alpha", "a", "b"]
    assert np.log(draws["r"]).std() == pytest.approx(bg.se_["r"] / bg.params_["r"], rel=0.1)
    other = bg.with_params(draws.iloc[0])
    assert other.params_["r"] == draws.iloc[0]["r"] and bg.params_["r"] != other.params_["r"]
    assert other.p_alive(2, 30.43, 38.86) != bg.p_alive(2, 30.43, 38.86)


@pytest.mark.parametrize("col,value,match", [
    ("frequency", -1, "whole number"), ("frequency", 1.5, "whole number"),
    ("recency", 50.0, "must not exceed"), ("T", 0.0, "must be > 0"),
    ("recency", "abc", "finite number"),
])
def test_bad_input_names_column_and_row(cdnow, col, value, match):
    df = cdnow.head(20).copy()
    df[col] = df[col].astype(object)
    df.loc[5, col] = value
    with pytest.raises(DataError, match=match) as err:
        BGNBD().fit(df)
    assert err.value.column == col and err.value.row == 7


def test_missing_column_and_zero_frequency_with_recency(cdnow):
    with pytest.raises(DataError, match="missing column"):
        BGNBD().fit(cdnow.drop(columns="T"))
    df = cdnow.head(10).copy()
    df.loc[2, ["frequency", "recency"]] = [0, 3.0]
    with pytest.raises(DataError, match="recency must be 0"):
        BGNBD().fit(df)


def test_no_repeat_purchases_raises_convergence_error():
    df = pd.DataFrame({"frequency": [0] * 50, "recency": [0.0] * 50, "T": np.linspace(5, 30, 50)})
    with pytest.raises(ConvergenceError):
        BGNBD().fit(df)
    assert issubclass(ConvergenceError, RuntimeError)


def test_large_input_path_matches_the_direct_fit():
    # > 40,000 distinct rows: warm start on a subsample, then Newton on all rows
    from crmlib.clv.models import simulate_bgnbd
    rng = np.random.default_rng(5)
    d = simulate_bgnbd(45_000, 0.25, 4.4, 0.8, 2.4, rng.uniform(20, 60, 45_000), rng)
    warm = BGNBD().fit(d)
    assert warm.n_rows_ > 40_000
    direct = BGNBD()
    direct._warm_rows = 10**9
    direct.fit(d)
    np.testing.assert_allclose(warm.params_, direct.params_, rtol=1e-6)
    np.testing.assert_allclose(warm.se_, direct.se_, rtol=1e-3)
    truth = np.array([0.25, 4.4, 0.8, 2.4])
    s = warm.summary()
    assert np.all((s.ci_low - 2 * s.se < truth) & (truth < s.ci_high + 2 * s.se))


def test_weights_must_be_counts(cdnow):
    df = cdnow.head(30).assign(n=1.0)
    df.loc[3, "n"] = 0.5
    with pytest.raises(DataError, match="whole counts") as err:
        BGNBD().fit(df, weights="n")
    assert err.value.column == "n" and err.value.row == 5


def test_log_likelihood_of_data(cdnow, bg):
    assert bg.log_likelihood(cdnow) == pytest.approx(bg.log_likelihood_, rel=1e-12)
    assert bg.log_likelihood(cdnow.head(100)) > bg.log_likelihood_  # fewer customers


def _lifetimes_mbgnbd(params, t, x, tx, T):
    """Lifetimes 0.11.3 ``ModifiedBetaGeoFitter`` formulas, written out here as the
    independent reference (Batislam et al. 2007, appendix eq. 5; Wagner & Hoppe 2008):
    the plain hypergeometric form, not the Euler-transformed one the model uses."""
    r, al, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    odds_dead = a / (b + x) * ((al + T) / (al + tx)) ** (r + x)
    p_alive = 1 / (1 + odds_dead)
    hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, t / (al + T + t))
    expected = (a + b + x) / (a - 1) * (1 - hyp * ((al + T) / (al + T + t)) ** (r + x))
    return expected / (1 + odds_dead), p_alive


def test_mbgnbd_predictions_match_lifetimes_formulas_for_repeat_buyers(cdnow):
    m = MBGNBD().fit(cdnow)
    x = np.array([0, 1, 2, 5, 12, 3])
    tx = np.array([0.0, 5.0, 30.43, 20.0, 37.0, 2.0])
    T = np.array([38.86, 38.86, 38.86, 30.0, 38.0, 35.0])
    for t in (1.0, 39.0, 104.0):
        expected, alive = _lifetimes_mbgnbd(m.params_, t, x, tx, T)
        np.testing.assert_allclose(m.expected_purchases(t, x, tx, T), expected, rtol=1e-8)
        np.testing.assert_allclose(m.p_alive(x, tx, T), alive, rtol=1e-10)
        assert np.all(m.expected_purchases(t, x, tx, T) > 0)
