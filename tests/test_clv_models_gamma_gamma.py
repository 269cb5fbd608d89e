"""Gamma-Gamma spend model: published CDNOW fit, large samples, independence check, inputs."""
import numpy as np
import pandas as pd
import pytest

from crmlib import paths
from crmlib.clv.models import GammaGamma
from crmlib.io import DataError


@pytest.fixture(scope="module")
def repeat():
    df = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary_with_transactions.csv")
    df = df.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    return df[df.frequency > 0].reset_index(drop=True)


@pytest.fixture(scope="module")
def gg(repeat):
    return GammaGamma().fit(repeat)


def synthetic(n, p=6.0, q=4.0, v=15.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.poisson(3, n) + 1
    nu = rng.gamma(q, 1 / v, n)
    m = rng.gamma(p * x, 1 / (nu * x))  # mean of x Gamma(p, ν) transaction values
    return pd.DataFrame({"frequency": x, "monetary_value": np.round(m, 2)})


def test_reproduces_fader_hardie_lee_2005(gg, repeat):
    assert len(repeat) == 946 and gg.n_ == 946
    for k, v in {"p": 6.2488, "q": 3.7446, "v": 15.4477}.items():
        assert gg.params_[k] == pytest.approx(v, rel=1e-3), k
    s = gg.summary()
    assert (s.se > 0).all() and (s.ci_low < s.estimate).all()


def test_conditional_expected_value(gg):
    p, q, v = gg.params_
    assert gg.conditional_expected_value(2, 22.35) == pytest.approx((v + 2 * 22.35) * p / (2 * p + q - 1))
    assert gg.conditional_expected_value(0, 0.0) == pytest.approx(gg.mean_spend())
    # with many transactions the customer's own mean dominates
    assert gg.conditional_expected_value(500, 40.0) == pytest.approx(40.0, rel=0.01)


def test_independence_check_reports_cdnow_correlation(gg, repeat):
    res = gg.independence_check(repeat.frequency, repeat.monetary_value)
    assert res["n"] == 946
    assert res["corr"] == pytest.approx(0.11, abs=0.01)  # FHL 2005 report 0.11
    assert res["p_value"] < 0.01


def test_converges_on_460000_repeat_customers():
    df = synthetic(460_000)
    m = GammaGamma().fit(df)
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    s = m.summary()
    for k, v in truth.items():
        assert s.loc[k, "ci_low"] - 3 * s.loc[k, "se"] < v < s.loc[k, "ci_high"] + 3 * s.loc[k, "se"], k
        assert m.params_[k] == pytest.approx(v, rel=0.05)
    ind = m.independence_check(df.frequency, df.monetary_value)
    assert abs(ind["corr"]) < 0.01  # planted independence


def test_zero_frequency_rows_are_rejected_with_a_count(repeat):
    df = pd.concat([repeat, pd.DataFrame({"frequency": [0] * 3, "monetary_value": [0.0] * 3})],
                   ignore_index=True)
    with pytest.raises(DataError, match=r"repeat customers only.*2 more row") as err:
        GammaGamma().fit(df)
    assert err.value.column == "frequency" and err.value.row == 946 + 2


def test_non_positive_spend_rejected(repeat):
    df = repeat.copy()
    df.loc[3, "monetary_value"] = -5.0
    with pytest.raises(DataError, match="monetary_value must be > 0") as err:
        GammaGamma().fit(df)
    assert err.value.row == 5 and err.value.value == -5.0


def test_weights_equal_expanded_rows(repeat, gg):
    g = repeat.groupby(["frequency", "monetary_value"]).size().rename("n").reset_index()
    m = GammaGamma().fit(g, weights="n")
    np.testing.assert_allclose(m.params_, gg.params_, rtol=1e-6)


def test_identical_spend_raises_convergence_error():
    from crmlib.clv.models import ConvergenceError
    df = pd.DataFrame({"frequency": [1, 2, 3, 4] * 20, "monetary_value": [25.0] * 80})
    with pytest.raises(ConvergenceError, match="Gamma-Gamma"):
        GammaGamma().fit(df)


def _fhl_loglik(p, q, v, x, m):
    """ln L of one customer, Fader & Hardie (2013) eq. as written in the module docstring."""
    from scipy.special import gammaln
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + x * m))


def test_fit_maximises_the_published_likelihood_on_a_small_sample():
    from scipy import optimize
    df = synthetic(300, seed=4)
    x, m = df.frequency.to_numpy(float), df.monetary_value.to_numpy(float)
    ref = optimize.minimize(lambda t: -_fhl_loglik(*np.exp(t), x, m).sum(), np.log([1, 2, 10]),
                            method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12,
                                                           "maxiter": 20000})
    fit = GammaGamma().fit(df)
    np.testing.assert_allclose(fit.params_, np.exp(ref.x), rtol=1e-4)


def test_conditional_expected_value_vectorised_with_first_time_buyers(gg):
    p, q, v = gg.params_
    x = pd.Series([0, 2, 5], index=[7, 8, 9])
    m = pd.Series([80.0, 22.35, 10.0], index=[7, 8, 9])  # a first-time buyer's spend is ignored
    got = gg.conditional_expected_value(x, m)
    assert list(got.index) == [7, 8, 9]
    assert got.to_numpy() == pytest.approx([p * v / (q - 1), (v + 2 * 22.35) * p / (2 * p + q - 1),
                                            (v + 5 * 10.0) * p / (5 * p + q - 1)])
    assert gg.mean_spend() == pytest.approx(p * v / (q - 1))
    assert gg.with_params({"p": 2.0, "q": 1.0, "v": 3.0}).mean_spend() == float("inf")
    assert gg.with_params({"p": 2.0, "q": 0.5, "v": 3.0}).mean_spend() == float("inf")


def test_independence_check_edges_against_scipy():
    from scipy import stats
    x = np.array([1, 2, 0, 3, 5, 2, 4])
    m = np.array([10.0, 12, 99, 11, np.nan, 15, 13])
    res = GammaGamma.independence_check(x, m)  # the first-time buyer and the NaN are left out
    ref = stats.pearsonr([1, 2, 3, 2, 4], [10.0, 12, 11, 15, 13])
    assert res == pytest.approx({"corr": ref.statistic, "p_value": ref.pvalue, "n": 5,
                                 "method": "pearson"})
    assert GammaGamma.independence_check([1, 2, 3], [4.0, 5, 7])["n"] == 3
    for x, m, n in (([1, 2], [3.0, 4.0], 2), ([2, 2, 2], [3.0, 4, 5], 3),
                    ([1, 2, 3], [5.0, 5, 5], 3)):
        r = GammaGamma.independence_check(x, m)
        assert np.isnan(r["corr"]) and np.isnan(r["p_value"]) and r["n"] == n
        assert r["method"] == "pearson"


def test_log_likelihood_at_the_estimate_is_the_published_formula(gg, repeat):
    p, q, v = gg.params_
    x, m = repeat.frequency.to_numpy(float), repeat.monetary_value.to_numpy(float)
    assert gg.log_likelihood_ == pytest.approx(_fhl_loglik(p, q, v, x, m).sum(), rel=1e-9)


def test_conditional_spend_with_one_transaction_or_no_mean(gg):
    p, q, v = gg.params_
    assert gg.conditional_expected_value(0, np.nan) == pytest.approx(gg.mean_spend())
    assert gg.conditional_expected_value(1, 30.0) == pytest.approx((v + 30.0) * p / (p + q - 1))
    assert gg.with_params({"p": 2.0, "q": 1.5, "v": 3.0}).mean_spend() == pytest.approx(12.0)


def test_independence_check_at_three_customers_and_a_range_of_one():
    import warnings

    from scipy import stats
    three = GammaGamma.independence_check([1, 2, 3], [4.0, 5, 7])
    assert three["corr"] == pytest.approx(stats.pearsonr([1, 2, 3], [4.0, 5, 7]).statistic)
    x, m = [1, 2, 1, 2, 2], [3.0, 4, 5, 6, 7]  # frequencies one apart
    assert GammaGamma.independence_check(x, m)["corr"] == pytest.approx(
        stats.pearsonr(x, m).statistic)
    assert GammaGamma.independence_check([1, 3, 2, 2], [5.0, 6, 5, 6])["corr"] == pytest.approx(
        stats.pearsonr([1, 3, 2, 2], [5.0, 6, 5, 6]).statistic)  # spends one apart
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = GammaGamma.independence_check([2, 2, 2], [3.0, 4, 5])
    assert np.isnan(flat["corr"])


def test_inputs_fractional_frequency_zero_spend_and_spend_below_one():
    df = synthetic(400, seed=2)
    bad = df.assign(frequency=df.frequency.astype(float))
    bad.loc[7, "frequency"] = 2.5
    with pytest.raises(DataError, match="frequency must be a whole number") as err:
        GammaGamma().fit(bad)
    assert err.value.column == "frequency" and err.value.row == 9
    zero = df.copy()
    zero.loc[4, "monetary_value"] = 0.0
    with pytest.raises(DataError, match="monetary_value must be > 0") as err:
        GammaGamma().fit(zero)
    assert err.value.column == "monetary_value"
    cents = GammaGamma().fit(df.assign(monetary_value=df.monetary_value / 100))
    whole = GammaGamma().fit(df)
    np.testing.assert_allclose(cents.params_[["p", "q"]], whole.params_[["p", "q"]], rtol=1e-4)
    assert cents.params_["v"] == pytest.approx(whole.params_["v"] / 100, rel=1e-4)
    with pytest.raises(DataError, match="Gamma-Gamma"):
        GammaGamma().fit(df[["frequency"]])
