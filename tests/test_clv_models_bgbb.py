"""BG/BB: published donations fit and the paper's predictions."""
import numpy as np
import pandas as pd
import pytest
from scipy import special

from crmlib import paths
from crmlib.clv.models import BGBB
from crmlib.io import DataError


@pytest.fixture(scope="module")
def donations():
    return pd.read_csv(paths.REFERENCE / "donations.csv")


@pytest.fixture(scope="module")
def bgbb(donations):
    return BGBB().fit(donations, weights="weights")


def test_reproduces_fader_hardie_shang_2010(bgbb):
    for k, v in {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}.items():
        assert bgbb.params_[k] == pytest.approx(v, rel=1e-3), k
    assert bgbb.n_ == 11104
    assert bgbb.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)  # FHS 2010
    s = bgbb.summary()
    assert (s.se > 0).all() and (s.ci_low < s.estimate).all()


def test_frequency_distribution_and_expectations(bgbb):
    n = np.arange(7)
    p = bgbb.p_purchases(n, 6)
    assert p.sum() == pytest.approx(1, abs=1e-12)
    # Lifetimes 0.11.3 expected_number_of_transactions_in_first_n_periods(6) on the same fit
    np.testing.assert_allclose(p * 11104, [3454.88, 1888.65, 1348.88, 1113.38, 1017.92,
                                           1027.17, 1253.11], rtol=1e-5)
    assert (n * p).sum() == pytest.approx(bgbb.expected_purchases_new(6), rel=1e-10)
    assert bgbb.p_purchases(7, 6) == 0


def test_conditional_predictions(bgbb):
    e = bgbb.expected_purchases(5, np.array([3, 0]), np.array([4, 0]), np.array([6, 6]))
    np.testing.assert_allclose(e, [1.03457, 0.072863], rtol=1e-4)  # Lifetimes 0.11.3
    # P(alive at n+1) from eq. 11 by hand for x = 6, t_x = 6, n = 6 (only the alive term)
    al, be, ga, de = bgbb.params_
    assert bgbb.p_alive(6, 6, 6) == pytest.approx(
        np.exp(special.betaln(ga, de + 7) - special.betaln(ga, de + 6)), rel=1e-10)
    assert bgbb.p_alive(0, 0, 6) < bgbb.p_alive(3, 6, 6)


def test_conditional_expectation_sums_the_future(bgbb):
    # E[X(n, n+t)] grows with t, by less each period as customers die
    e = np.array([bgbb.expected_purchases(t, 3, 4, 6) for t in range(1, 6)])
    assert np.all(np.diff(e) > 0) and np.all(np.diff(e, 2) < 0)


@pytest.mark.parametrize("col,value,match", [
    ("frequency", 9, "must not exceed recency"), ("recency", 9, "must not exceed periods"),
    ("periods", 0, "must be >= 1"), ("frequency", 1.5, "whole number"),
])
def test_bad_input(donations, col, value, match):
    df = donations.copy().astype(float)
    df.loc[4, col] = value
    with pytest.raises(DataError, match=match) as err:
        BGBB().fit(df, weights="weights")
    assert err.value.row == 6


def test_recency_of_a_customer_without_transactions_must_be_zero(donations):
    df = donations.copy().astype(float)
    row = int(np.flatnonzero(df["frequency"].to_numpy() == 0)[0])
    df.loc[row, "recency"] = 2
    with pytest.raises(DataError, match="recency must be 0 when frequency is 0") as err:
        BGBB().fit(df, weights="weights")
    assert err.value.column == "recency" and err.value.row == row + 2


def test_one_transaction_opportunity_is_accepted(donations):
    # customers observed for a single period: periods = 1 is a valid record
    extra = pd.DataFrame({"frequency": [1, 0], "recency": [1, 0], "periods": [1, 1],
                          "weights": [50, 80]})
    m = BGBB().fit(pd.concat([donations, extra], ignore_index=True), weights="weights")
    assert np.isfinite(m.log_likelihood_) and m.n_ == 11104 + 130


def test_predictions_keep_the_index_of_series_inputs(bgbb):
    x = pd.Series([3, 0, 6], index=["a", "b", "c"])
    tx, n = pd.Series([4, 0, 6], index=x.index), pd.Series([6, 6, 6], index=x.index)
    for out in (bgbb.p_alive(x, tx, n), bgbb.expected_purchases(5, x, tx, n)):
        assert isinstance(out, pd.Series) and list(out.index) == ["a", "b", "c"]
    assert bgbb.p_alive(x, tx, n)["c"] == pytest.approx(bgbb.p_alive(6, 6, 6), rel=1e-12)
    arrays = bgbb.expected_purchases(np.array([1, 5]), 3, 4, 6)
    assert isinstance(arrays, np.ndarray) and arrays.shape == (2,)
    assert arrays[1] == pytest.approx(bgbb.expected_purchases(5, 3, 4, 6), rel=1e-12)
    new = bgbb.expected_purchases_new(np.array([1.0, 6.0]))
    assert isinstance(new, np.ndarray) and new[1] == pytest.approx(
        bgbb.expected_purchases_new(6), rel=1e-12)
