"""Shifted-beta-geometric retention model: Fader & Hardie (2007) cohorts and projections."""
import numpy as np
import pytest

from crmlib.clv.models import ShiftedBetaGeometric
from crmlib.io import DataError, ParameterError

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
ACTUAL_8_12 = {"regular": [223, 207, 194, 183, 173], "high_end": [468, 445, 427, 409, 394]}


@pytest.fixture(scope="module")
def regular():
    return ShiftedBetaGeometric().fit_survivors(REGULAR)


@pytest.fixture(scope="module")
def high_end():
    return ShiftedBetaGeometric().fit_survivors(HIGH_END)


def test_reproduces_fader_hardie_2007(regular, high_end):
    assert regular.params_["alpha"] == pytest.approx(0.704, rel=1e-3)
    assert regular.params_["beta"] == pytest.approx(1.182, rel=1e-3)
    assert regular.log_likelihood_ == pytest.approx(-1680.27, abs=0.005)
    assert high_end.params_["alpha"] == pytest.approx(0.668, rel=1e-3)
    assert high_end.params_["beta"] == pytest.approx(3.806, rel=1e-3)
    assert high_end.log_likelihood_ == pytest.approx(-1611.16, abs=0.005)
    assert regular.n_ == 1000 and (regular.summary().se > 0).all()


def test_projects_years_8_to_12(regular, high_end):
    # The fit to years 0-7 projects years 8-12 within 2% (Regular) and 4.5% (High End)
    # of the survivors later observed, slightly under, as in the paper's figure.
    for model, key, tol in ((regular, "regular", 0.02), (high_end, "high_end", 0.045)):
        proj = model.projected_survivors(np.arange(8, 13))
        actual = np.array(ACTUAL_8_12[key])
        rel = proj / actual - 1
        assert np.all(rel < 0) and np.all(np.abs(rel) < tol), (key, rel)
    assert regular.projected_survivors(12) == pytest.approx(170.0, abs=0.5)


def test_durations_with_censoring_equal_survivor_counts(regular):
    n = np.array(REGULAR)
    lost = n[:-1] - n[1:]
    durations = np.concatenate([np.repeat(np.arange(1, 8), lost), np.full(n[-1], 7)])
    censored = np.concatenate([np.zeros(lost.sum(), bool), np.ones(n[-1], bool)])
    m = ShiftedBetaGeometric().fit(durations, censored)
    np.testing.assert_allclose(m.params_, regular.params_, rtol=1e-6)
    assert m.log_likelihood_ == pytest.approx(regular.log_likelihood_, rel=1e-10)


def test_retention_rises_and_matches_survival(regular):
    t = np.arange(1, 13)
    r = regular.retention(t)
    assert np.all(np.diff(r) > 0)
    np.testing.assert_allclose(r, regular.survival(t) / regular.survival(t - 1), rtol=1e-12)
    np.testing.assert_allclose(regular.churn_probability(t),
                               regular.survival(t - 1) - regular.survival(t), rtol=1e-10)
    table = regular.projection(range(1, 13))
    assert list(table.columns) == ["period", "survival", "retention", "survivors"]


@pytest.mark.parametrize("renewals", [0, 4])
def test_discounted_expected_residual_lifetime_equals_the_sum(high_end, renewals):
    d, n = 0.10, renewals + 1
    k = np.arange(1, 4000)
    s = high_end.survival(n - 1 + k) / high_end.survival(n - 1)
    assert high_end.expected_remaining_lifetime(renewals, d) == pytest.approx(
        np.sum(s / (1 + d) ** (k - 1)), rel=1e-8)
    t = np.arange(0, 4000)
    assert high_end.expected_lifetime(d) == pytest.approx(
        np.sum(high_end.survival(t) / (1 + d) ** t), rel=1e-8)
    # longer tenure, higher retention, longer residual lifetime
    assert high_end.expected_remaining_lifetime(4, d) > high_end.expected_remaining_lifetime(0, d)


def test_undiscounted_lifetime(regular):
    assert regular.expected_remaining_lifetime(0) == np.inf  # alpha < 1: heavy tail
    m = regular.with_params({"alpha": 2.0, "beta": 3.0})
    assert m.expected_remaining_lifetime(2) == pytest.approx((3 + 2) / (2 - 1))
    with pytest.raises(ParameterError, match="discount_rate"):
        regular.expected_remaining_lifetime(0, -0.1)


def test_bad_input():
    with pytest.raises(DataError, match="must not increase"):
        ShiftedBetaGeometric().fit_survivors([1000, 600, 700])
    with pytest.raises(DataError, match="no customer has left"):
        ShiftedBetaGeometric().fit_survivors([1000, 1000, 1000])
    with pytest.raises(DataError, match="durations") as err:
        ShiftedBetaGeometric().fit([1, 2, 0, 3], [False, False, False, True])
    assert err.value.row == 4


def _brute_lifetimes(m, renewals: int, d: float, terms: int = 200_000):
    """DEL and DERL as the sums that define them (Fader & Hardie 2010, eqs. 4 and 6)."""
    t = np.arange(0, terms)
    s = m.survival(t)
    n = renewals + 1
    k = np.arange(1, terms - n)
    derl = np.sum(s[n - 1 + k] / s[n - 1] * np.exp(-(k - 1) * np.log1p(d)))
    return np.sum(s * np.exp(-t * np.log1p(d))), derl


@pytest.mark.parametrize("d", [0.0, 0.1])
@pytest.mark.parametrize("renewals", [0, 2, 5])
def test_lifetimes_with_and_without_discounting_are_their_sums(regular, renewals, d):
    m = regular.with_params({"alpha": 4.0, "beta": 3.0})  # alpha > 1: finite sums
    DEL, DERL = _brute_lifetimes(m, renewals, d)
    assert m.expected_lifetime(d) == pytest.approx(DEL, rel=1e-9)
    assert m.expected_remaining_lifetime(renewals, d) == pytest.approx(DERL, rel=1e-9)
    many = m.expected_remaining_lifetime(np.array([0, renewals]), d)
    assert many.shape == (2,) and many[1] == pytest.approx(DERL, rel=1e-9)


def test_heavy_tail_lifetimes_are_infinite_without_discounting(regular):
    m = regular.with_params({"alpha": 0.8, "beta": 3.0})
    assert m.expected_lifetime() == np.inf
    assert np.all(m.expected_remaining_lifetime(np.array([0, 3])) == np.inf)
    assert np.isfinite(m.expected_lifetime(0.1))
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(ParameterError, match="discount_rate"):
            m.expected_lifetime(bad)
        with pytest.raises(ParameterError, match="discount_rate"):
            m.expected_remaining_lifetime(1, bad)


def test_projected_survivors_of_another_cohort(regular):
    t = np.array([1, 5, 12])
    assert regular.projected_survivors(t) == pytest.approx(1000 * regular.survival(t))
    assert regular.projected_survivors(t, cohort_size=250) == pytest.approx(
        250 * regular.survival(t))


def test_weights_count_identical_customers():
    durations, censored = np.array([1, 2, 3, 3]), np.array([False, False, False, True])
    weights = np.array([300, 150, 80, 470])
    m = ShiftedBetaGeometric().fit(durations, censored, weights)
    expanded = ShiftedBetaGeometric().fit(np.repeat(durations, weights),
                                          np.repeat(censored, weights))
    np.testing.assert_allclose(m.params_, expanded.params_, rtol=1e-6)
    zero = ShiftedBetaGeometric().fit(np.r_[durations, 2], np.r_[censored, False],
                                      np.r_[weights, 0])  # a weight of 0 is allowed
    np.testing.assert_allclose(zero.params_, m.params_, rtol=1e-6)
    # durations that identify both parameters (all-equal churn, e.g. [1, 1, 2, 3, 5], drives
    # beta to the bound: a ConvergenceError)
    churned = [1, 1, 1, 1, 2, 2, 3, 6, 10, 15]
    uncensored = ShiftedBetaGeometric().fit(churned)
    same = ShiftedBetaGeometric().fit(churned, [False] * len(churned))
    np.testing.assert_allclose(uncensored.params_, same.params_, rtol=1e-12)


@pytest.mark.parametrize("weights,row,value", [([1, -2, 1], 3, -2.0), ([1, 1, np.nan], 4, None)])
def test_bad_weights_are_named(weights, row, value):
    with pytest.raises(DataError, match="weights must be >= 0") as err:
        ShiftedBetaGeometric().fit([1, 2, 3], [False, False, True], weights)
    assert err.value.column == "weights" and err.value.row == row
    if value is not None:
        assert err.value.value == value


@pytest.mark.parametrize("durations,censored", [([1.5, 2, 3], None), ([np.nan, 2, 3], None),
                                                ([0, 2, 3], None), ([-1, 2, 3], [True] * 3)])
def test_bad_durations_are_named(durations, censored):
    with pytest.raises(DataError, match="durations must be whole numbers") as err:
        ShiftedBetaGeometric().fit(durations, censored)
    assert err.value.column == "durations" and err.value.row == 2
    ShiftedBetaGeometric().fit([0, 2, 3, 1], [True, False, True, False])  # 0 if censored


def test_lengths_must_agree():
    for censored, weights in (([False, True], None), (None, [1, 2]),
                              ([False, False, True], [1, 2])):
        with pytest.raises(DataError, match="same length"):
            ShiftedBetaGeometric().fit([1, 2, 3], censored, weights)


@pytest.mark.parametrize("survivors,match", [([1000], "cohort size"),
                                             ([[1000, 600], [500, 300]], "cohort size"),
                                             ([1000, 600, -1], "period 2"),
                                             ([1000, 600.5, 300], "period 1"),
                                             ([1000, np.nan, 300], "period 1"),
                                             ([1000, 600, 601], "period 2 has more")])
def test_bad_survivor_counts_are_named(survivors, match):
    with pytest.raises(DataError, match=match):
        ShiftedBetaGeometric().fit_survivors(survivors)


def test_two_counts_and_counts_down_to_zero_are_accepted():
    two = ShiftedBetaGeometric().fit_survivors([100, 60])   # one period: a ridge, but a fit
    assert two.survival(1) == pytest.approx(0.6, rel=1e-4)
    gone = ShiftedBetaGeometric().fit_survivors([100, 40, 10, 0])  # the last count 0
    assert np.isfinite(gone.log_likelihood_) and gone.survival(3) < gone.survival(1) < 0.5
