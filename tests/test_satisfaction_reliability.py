"""Reliability (alpha, omega, item statistics, the per-dimension table) against hand computations.

Alpha and its interval are written out from Cronbach (1951) and Feldt, Woodruff & Salih
(1987); omega from a one-factor model fitted here independently: in closed form for three
items (the model is just identified: lambda_1^2 = r12 r13 / r23) and by minimising the
maximum-likelihood discrepancy with scipy for more.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from crmlib.satisfaction import cronbach_alpha, item_statistics, omega_total
from crmlib.satisfaction.prepare import Survey
from crmlib.satisfaction.reliability import (
    NegativeLoadingWarning,
    item_reliability,
    negative_loading_items,
    percentile_interval,
    reliability_table,
)


def _alpha(x: np.ndarray) -> float:
    """Cronbach (1951): k/(k-1) * (1 - sum of item variances / variance of the sum)."""
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def _feldt(x: np.ndarray, ci: float) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987): 1 - (1 - alpha) F quantiles, df (n-1, (n-1)(k-1))."""
    n, k = x.shape
    a, df1, df2 = _alpha(x), n - 1, (n - 1) * (k - 1)
    return (1 - (1 - a) * stats.f.ppf(1 - (1 - ci) / 2, df1, df2),
            1 - (1 - a) * stats.f.ppf((1 - ci) / 2, df1, df2))


def _omega_3(x: np.ndarray) -> float:
    """Omega of three items from the just-identified one-factor model, on the item scale."""
    r = np.corrcoef(x, rowvar=False)
    sd = x.std(axis=0, ddof=1)
    lam = np.sqrt([r[0, 1] * r[0, 2] / r[1, 2], r[0, 1] * r[1, 2] / r[0, 2],
                   r[0, 2] * r[1, 2] / r[0, 1]]) * sd
    psi = sd ** 2 - lam ** 2
    return lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())


def _omega_ml(x: np.ndarray) -> float:
    """Omega from a one-factor ML fit (min log|S| + tr(R S^-1), S = ll' + diag(psi))."""
    r = np.corrcoef(x, rowvar=False)
    k = len(r)

    def discrepancy(theta):
        lam, psi = theta[:k], np.exp(theta[k:])
        s = np.outer(lam, lam) + np.diag(psi)
        return np.linalg.slogdet(s)[1] + np.trace(np.linalg.solve(s, r))

    res = optimize.minimize(discrepancy, np.r_[np.full(k, 0.7), np.log(np.full(k, 0.5))],
                            method="BFGS", options={"gtol": 1e-10})
    sd = x.std(axis=0, ddof=1)
    lam, psi = np.abs(res.x[:k]) * sd, np.exp(res.x[k:]) * sd ** 2
    return lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())


def _congeneric(n: int, loadings, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = np.asarray(loadings, float)
    x = rng.normal(size=(n, 1)) * lam + rng.normal(size=(n, len(lam))) * np.sqrt(1 - lam ** 2)
    return pd.DataFrame(np.round(4 + 1.2 * x), columns=[f"i{j}" for j in range(len(lam))])


def test_alpha_and_feldt_interval_by_hand():
    x = _congeneric(40, [0.8, 0.7, 0.6, 0.5], seed=11)
    x.iloc[3, 2] = np.nan  # listwise: the respondent is left out
    full = x.dropna().to_numpy()
    for ci in (0.95, 0.80):
        a, lo, hi = cronbach_alpha(x, ci)
        assert a == pytest.approx(_alpha(full), rel=1e-12)
        # pingouin rounds the interval to three decimals
        assert (lo, hi) == pytest.approx(_feldt(full, ci), abs=6e-4)
    assert cronbach_alpha(x)[1:] == pytest.approx(_feldt(full, 0.95), abs=6e-4)


def test_alpha_needs_three_respondents_and_some_variance():
    x = np.array([[3.0, 4, 2], [5, 5, 4], [4, 3, 3]])
    assert cronbach_alpha(pd.DataFrame(x))[0] == pytest.approx(_alpha(x))
    assert np.isnan(cronbach_alpha(pd.DataFrame(x[:2]))).all()
    # one constant item still leaves a defined alpha; all constant does not
    y = x.copy()
    y[:, 0] = 4.0
    assert cronbach_alpha(pd.DataFrame(y))[0] == pytest.approx(_alpha(y))
    assert np.isnan(cronbach_alpha(pd.DataFrame(np.full((5, 3), 2.0)))[0])
    # every item variance exactly 1 is an ordinary case, not a degenerate one
    z = np.array([[3.0, 4, 5], [3, 3, 5], [4, 3, 4], [5, 5, 3], [5, 5, 3]])
    assert (z.var(axis=0, ddof=1) == 1).all()
    assert cronbach_alpha(pd.DataFrame(z))[0] == pytest.approx(_alpha(z))


def test_omega_of_three_items_matches_the_closed_form():
    x = _congeneric(120, [0.85, 0.7, 0.6], seed=5)
    assert omega_total(x) == pytest.approx(_omega_3(x.to_numpy()), rel=1e-4)


def test_omega_of_four_items_matches_an_independent_ml_fit():
    """Four items over-identify the model: maximum likelihood, not principal axes."""
    x = _congeneric(150, [0.9, 0.75, 0.5, 0.35], seed=7)
    assert omega_total(x) == pytest.approx(_omega_ml(x.to_numpy()), rel=1e-4)


def test_omega_needs_more_respondents_than_items_and_no_constant_item():
    x = _congeneric(121, [0.8, 0.7, 0.6], seed=2)
    assert np.isnan(omega_total(x.iloc[:3]))
    assert np.isfinite(omega_total(x.iloc[:4]))
    assert np.isnan(omega_total(x.assign(i1=4.0)))
    # an item with a standard deviation of exactly 1 (60 at 3, one at 4, 60 at 5) is fine
    rank = x["i0"].rank(method="first")
    unit = x.assign(i0=np.where(rank <= 60, 3.0, np.where(rank >= 62, 5.0, 4.0)))
    assert unit["i0"].std() == 1.0
    assert omega_total(unit) == pytest.approx(_omega_3(unit.to_numpy()), rel=1e-4)


def test_reverse_keyed_item_is_named_and_lowers_omega():
    x = _congeneric(200, [0.85, 0.75, 0.65], seed=9)
    flipped = x.assign(i1=8 - x["i1"])
    assert negative_loading_items(flipped) == ["i1"]
    assert negative_loading_items(x) == []
    with pytest.warns(NegativeLoadingWarning, match="i1"):
        om = omega_total(flipped)
    # signed loadings from the closed form: lambda_1 < 0, the other two > 0
    r = np.corrcoef(flipped.to_numpy(), rowvar=False)
    sd = flipped.std(ddof=1).to_numpy()
    lam = np.array([np.sqrt(r[0, 1] * r[0, 2] / r[1, 2]), -np.sqrt(r[0, 1] * r[1, 2] / r[0, 2]),
                    np.sqrt(r[0, 2] * r[1, 2] / r[0, 1])]) * sd
    psi = sd ** 2 - lam ** 2
    assert om == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()), rel=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        omega_total(x)  # no warning when every item loads positively


def test_item_statistics_by_hand_with_a_constant_item():
    x = _congeneric(50, [0.8, 0.3, 0.6], seed=4) / 4  # item sds below 1
    x["c"] = 3.0
    t = item_statistics(x).set_index("item")
    assert list(t.columns) == ["mean", "sd", "item_total_r", "alpha_if_deleted"]
    assert list(t.index) == ["i0", "i1", "i2", "c"]
    for col in ["i0", "i1", "i2"]:
        rest = x.drop(columns=col)
        assert t.loc[col, "mean"] == pytest.approx(x[col].mean())
        assert t.loc[col, "sd"] == pytest.approx(np.std(x[col], ddof=1))
        assert t.loc[col, "item_total_r"] == pytest.approx(
            np.corrcoef(x[col], rest.sum(axis=1))[0, 1])
        assert t.loc[col, "alpha_if_deleted"] == pytest.approx(_alpha(rest.to_numpy()))
    assert np.isnan(t.loc["c", "item_total_r"])  # a constant item correlates with nothing
    # three items: alpha if deleted is the alpha of the remaining two
    three = x[["i0", "i1", "i2"]]
    t3 = item_statistics(three).set_index("item")
    assert t3.loc["i1", "alpha_if_deleted"] == pytest.approx(
        _alpha(three[["i0", "i2"]].to_numpy()))
    # two items, one constant: the other item's rest is constant, no correlation
    two = item_statistics(x[["i0", "c"]]).set_index("item")
    assert two["item_total_r"].isna().all() and two["alpha_if_deleted"].isna().all()


def _survey(frame: pd.DataFrame, dims: dict[str, list[str]], constant=()) -> Survey:
    cat = pd.DataFrame([{"item": i, "dimension": d, "label": i, "reverse": 0}
                        for d, its in dims.items() for i in its]).set_index("item")
    e = frame.copy()
    e.iloc[:, :] = 5.0
    return Survey(expectations=e, perceptions=frame, catalogue=cat, scale=(1, 7),
                  constant_items=list(constant))


def _bootstrap(x: np.ndarray, n_boot: int, ci: float, seed) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    vals = [_omega_ml(x[rng.integers(0, len(x), len(x))]) for _ in range(n_boot)]
    return tuple(np.quantile(vals, [(1 - ci) / 2, 1 - (1 - ci) / 2]))


def test_reliability_table_by_hand():
    rng = np.random.default_rng(21)
    a = _congeneric(150, [0.7, 0.6, 0.5], seed=21)
    frame = pd.DataFrame({"a1": a["i0"], "a2": a["i1"], "a3": a["i2"],
                          "b1": a["i0"] + rng.integers(-1, 2, 150), "b2": a["i1"],
                          "c1": a["i2"],
                          "d1": a["i1"], "d2": a["i2"] + rng.integers(-1, 2, 150), "dk": 4.0,
                          "e1": a["i0"], "ek": 4.0})
    frame.iloc[0, 0] = np.nan  # a1 missing for one respondent: dimension A uses 149
    dims = {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"], "C": ["c1"], "D": ["d1", "d2", "dk"],
            "E": ["e1", "ek"]}
    t = reliability_table(_survey(frame, dims, constant=["dk", "ek"]), n_boot=30)
    t = t.set_index("dimension")
    assert list(t.columns) == ["n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
                               "omega_ci_low", "omega_ci_high", "note"]
    assert list(t["n_items"]) == [3, 2, 1, 2, 1]
    assert list(t["n"]) == [149, 150, 150, 150, 150]
    assert t.loc["B", "note"] == "two items: omega undefined (one-factor model not identified)"
    assert t.loc["C", "note"] == "one item: alpha and omega undefined"
    assert t.loc["D", "note"] == ("two items: omega undefined (one-factor model not identified); "
                                  "constant item(s) left out: ['dk']")
    assert t.loc["E", "note"] == ("fewer than two items with variance: alpha undefined; "
                                  "constant item(s) left out: ['ek']")
    xa = frame[["a1", "a2", "a3"]].dropna().to_numpy()
    for dim, cols in (("A", ["a1", "a2", "a3"]), ("B", ["b1", "b2"]), ("D", ["d1", "d2"])):
        x = frame[cols].dropna().to_numpy()
        assert t.loc[dim, "alpha"] == pytest.approx(_alpha(x))
        assert (t.loc[dim, "alpha_ci_low"], t.loc[dim, "alpha_ci_high"]) == pytest.approx(
            _feldt(x, 0.95), abs=6e-4)
    assert t.loc[["C", "E"], ["alpha", "omega", "omega_ci_low"]].isna().all().all()
    assert t.loc["A", "omega"] == pytest.approx(_omega_ml(xa), rel=1e-3)
    assert t.loc[["B", "D"], "omega"].isna().all()
    # resamples of respondents drawn with the default seed 0, percentile interval
    lo, hi = _bootstrap(xa, 30, 0.95, 0)
    assert (t.loc["A", "omega_ci_low"], t.loc["A", "omega_ci_high"]) == pytest.approx(
        (lo, hi), abs=5e-4)
    assert t.loc["A", "note"] == ""


def test_reliability_table_level_seed_and_wave():
    x = _congeneric(120, [0.7, 0.6, 0.5], seed=31)
    s = _survey(x, {"A": ["i0", "i1", "i2"]})
    s.expectations = _congeneric(120, [0.6, 0.6, 0.6], seed=32)
    t = reliability_table(s, ci=0.80, n_boot=40, random_state=5).iloc[0]
    xv = x.to_numpy()
    assert (t.alpha_ci_low, t.alpha_ci_high) == pytest.approx(_feldt(xv, 0.80), abs=6e-4)
    assert (t.omega_ci_low, t.omega_ci_high) == pytest.approx(_bootstrap(xv, 40, 0.80, 5),
                                                              abs=5e-4)
    e = reliability_table(s, "expectations", n_boot=0).iloc[0]
    assert e.alpha == pytest.approx(_alpha(s.expectations.to_numpy()))
    assert np.isnan(e.omega_ci_low) and np.isfinite(e.omega)


def test_item_reliability_by_hand():
    x = _congeneric(40, [0.8, 0.6, 0.7, 0.5], seed=13)
    frame = pd.DataFrame({"a1": x["i0"], "a2": x["i1"], "ak": 4.0, "b1": x["i2"], "bk": 4.0,
                          "c1": x["i3"]})
    s = _survey(frame, {"A": ["a1", "a2", "ak"], "B": ["b1", "bk"], "C": ["c1"]},
                constant=["ak", "bk"])
    t = item_reliability(s)
    assert list(t.columns) == ["dimension", "item", "mean", "sd", "item_total_r",
                               "alpha_if_deleted"]
    assert list(t["dimension"]) == ["A", "A"] and list(t["item"]) == ["a1", "a2"]
    r = np.corrcoef(frame["a1"], frame["a2"])[0, 1]
    assert t["item_total_r"].to_numpy() == pytest.approx([r, r])
    assert t["mean"].to_numpy() == pytest.approx(frame[["a1", "a2"]].mean().to_numpy())
    assert t["alpha_if_deleted"].isna().all()  # one item left: no alpha
    e = item_reliability(_survey(frame, {"C": ["c1"], "B": ["b1", "bk"]}, constant=["bk"]))
    assert e.empty and list(e.columns) == list(t.columns)
    s.expectations = frame * 0 + np.arange(40)[:, None] % 5
    ex = item_reliability(s, "expectations")
    assert ex["mean"].to_numpy() == pytest.approx([2.0, 2.0])


def test_percentile_interval_by_hand():
    draws = np.r_[np.linspace(0.5, 0.9, 40), np.nan, np.inf]
    lo, hi, why = percentile_interval(0.7, draws, 0.90)
    assert (lo, hi, why) == (pytest.approx(0.5 + 0.4 * 0.05), pytest.approx(0.5 + 0.4 * 0.95), "")
    # an estimate on the interval's edge is inside it
    edge = np.linspace(0.0, 1.0, 21)
    assert percentile_interval(0.05, edge, 0.90)[:2] == pytest.approx((0.05, 0.95))
    assert percentile_interval(0.95, edge, 0.90)[:2] == pytest.approx((0.05, 0.95))
    lo, hi, why = percentile_interval(0.97, edge, 0.90)
    assert np.isnan([lo, hi]).all()
    assert why == ("estimate 0.970 outside its bootstrap interval 0.050 to 0.950 "
                   "(small-sample bias): interval not reported")
    few = percentile_interval(0.5, np.r_[np.linspace(0, 1, 19), np.nan], 0.90)
    assert np.isnan(few[:2]).all()
    assert few[2] == "fewer than 20 bootstrap resamples could be fitted: no interval"
    assert percentile_interval(0.5, np.linspace(0, 1, 20), 0.90)[2] == ""


def _varying_resamples(x: np.ndarray, n_boot: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    return sum(bool((x[rng.integers(0, len(x), len(x))].std(axis=0) > 0).all())
               for _ in range(n_boot))


def test_omega_interval_needs_half_the_resamples_fitted():
    # b and c differ from the rest in one respondent each: a resample missing either
    # has a constant item, and its one-factor model cannot be fitted
    x = pd.DataFrame({"a": [3.0, 4, 5, 4, 3, 5], "b": [4.0, 4, 4, 4, 4, 5],
                      "c": [4.0, 4, 5, 4, 4, 4]})
    s = _survey(x, {"A": ["a", "b", "c"]})
    assert _varying_resamples(x.to_numpy(), 40, 4) == 18  # fewer than half
    t = reliability_table(s, n_boot=40, random_state=4).iloc[0]
    # (on six respondents the fitted sign of a weak loading is not stable: read the end)
    half = "omega: fewer than half the bootstrap resamples could be fitted"
    assert t.note.endswith(half)
    assert np.isnan([t.omega_ci_low, t.omega_ci_high]).all() and np.isfinite(t.omega)
    assert _varying_resamples(x.to_numpy(), 40, 3) == 14  # above a third: still too few
    assert reliability_table(s, n_boot=40, random_state=3).iloc[0].note.endswith(half)
    assert _varying_resamples(x.to_numpy(), 40, 7) == 20  # exactly half is enough
    assert "fewer than half" not in reliability_table(s, n_boot=40, random_state=7).iloc[0].note


def test_omega_interval_notes_with_no_or_one_resample():
    x = _congeneric(80, [0.7, 0.6, 0.5], seed=3)
    s = _survey(x, {"A": ["i0", "i1", "i2"]})
    assert reliability_table(s, n_boot=0).iloc[0].note == ""
    one = reliability_table(s, n_boot=1).iloc[0]
    assert one.note == "omega: fewer than 20 bootstrap resamples could be fitted: no interval"
    # omega undefined (three respondents for three items): no bootstrap is tried
    tiny = reliability_table(_survey(x.iloc[:3], {"A": ["i0", "i1", "i2"]}), n_boot=30).iloc[0]
    assert np.isnan(tiny.omega) and tiny.note == ""


def test_reverse_keyed_item_is_named_in_the_table_note():
    x = _congeneric(150, [0.8, 0.7, 0.6], seed=12)
    frame = x.assign(i2=8 - x["i2"], k=4.0)
    t = reliability_table(_survey(frame, {"A": ["i0", "i1", "i2", "k"]}, constant=["k"]),
                          n_boot=0).iloc[0]
    assert t.note == ("constant item(s) left out: ['k']; negative loading: ['i2'] "
                      "(reverse-keyed, `reverse` flag missing?)")


def test_loadings_keep_their_orientation_on_items_with_small_spread():
    x = _congeneric(150, [0.8, 0.7, 0.6], seed=12) / 20  # loadings sum to well below 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert omega_total(x) == pytest.approx(_omega_ml(x.to_numpy()), rel=1e-4)
    assert negative_loading_items(x) == []


def test_item_statistics_of_a_constant_item_raise_no_warning():
    x = _congeneric(50, [0.8, 0.6, 0.7], seed=4)
    x["c"] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = item_statistics(x).set_index("item")
        two = item_statistics(x[["i0", "c"]])
    assert np.isnan(t.loc["c", "item_total_r"]) and two["item_total_r"].isna().all()


def test_item_reliability_skips_small_dimensions_wherever_they_are():
    x = _congeneric(40, [0.8, 0.6, 0.7, 0.5], seed=13)
    frame = pd.DataFrame({"c1": x["i3"], "a1": x["i0"], "a2": x["i1"], "b1": x["i2"],
                          "b2": x["i3"]})
    t = item_reliability(_survey(frame, {"C": ["c1"], "A": ["a1", "a2"], "B": ["b1", "b2"]}))
    assert list(t["dimension"]) == ["A", "A", "B", "B"] and list(t.index) == [0, 1, 2, 3]
    assert list(t["item"]) == ["a1", "a2", "b1", "b2"]


def test_omega_is_reproducible_on_a_small_sample():
    """The one-factor fit starts from fixed values: the same data give the same omega and the
    same loadings' signs every time (statsmodels ≥ 0.15 would otherwise draw random starts)."""
    from crmlib.satisfaction.reliability import _one_factor
    g = np.random.default_rng(5)
    f = g.normal(size=6)
    X = pd.DataFrame(np.round(4 + f[:, None] + g.normal(scale=1.2, size=(6, 4))))
    runs = [_one_factor(X) for _ in range(8)]
    assert all(r[0] == runs[0][0] for r in runs)
    assert all((r[1] == runs[0][1]).all() for r in runs)
