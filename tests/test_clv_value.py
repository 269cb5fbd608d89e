"""CLV value: discounting convention, closed-form checks, intervals from parameter draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib import paths
from crmlib.clv.models import BGNBD, GammaGamma
from crmlib.clv.value import customer_value, monthly_rate


@pytest.fixture(scope="module")
def cdnow():
    s = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary_with_transactions.csv")
    s = s.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    return s.set_index("ID")


@pytest.fixture(scope="module")
def fitted(cdnow):
    bg = BGNBD().fit(cdnow)
    gg = GammaGamma().fit(cdnow[cdnow["frequency"] > 0])
    return bg, gg


def test_monthly_rate_compounds_to_annual():
    d = monthly_rate(0.10)
    assert d == pytest.approx(0.0079741404, rel=1e-8)
    assert (1 + d) ** 12 == pytest.approx(1.10, rel=1e-12)
    assert monthly_rate(0.0) == 0.0
    with pytest.raises(ValueError):
        monthly_rate(-0.1)


def test_undiscounted_value_is_margin_spend_purchases(cdnow, fitted):
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow, time_unit="W", margin=0.3, discount_rate_annual=0.0,
                         horizon_months=12, n_draws=0)
    t = 12 * 30.4375 / 7
    c1 = cdnow.loc[1]
    purchases = bg.expected_purchases(t, c1.frequency, c1.recency, c1["T"])
    spend = gg.conditional_expected_value(c1.frequency, c1.monetary_value)
    assert res.customers.loc[1, "expected_purchases"] == pytest.approx(purchases, rel=1e-10)
    assert res.customers.loc[1, "clv"] == pytest.approx(0.3 * spend * purchases, rel=1e-10)
    assert res.total == pytest.approx(res.customers["clv"].sum())


def test_discounting_month_by_month(cdnow, fitted):
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow.iloc[:5], time_unit="W", margin=1.0,
                         discount_rate_annual=0.12, horizon_months=3, n_draws=0)
    c = cdnow.iloc[0]
    d = (1.12) ** (1 / 12) - 1
    cum = [0.0] + [bg.expected_purchases(m * 30.4375 / 7, c.frequency, c.recency, c["T"])
                   for m in (1, 2, 3)]
    expected = sum((cum[m] - cum[m - 1]) / (1 + d) ** m for m in (1, 2, 3))
    expected *= gg.conditional_expected_value(c.frequency, c.monetary_value)
    assert res.customers["clv"].iloc[0] == pytest.approx(expected, rel=1e-10)
    assert "0.9489%" in res.assumptions().to_string()


def test_time_unit_does_not_change_value(cdnow):
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    bg_w, bg_d = BGNBD().fit(cdnow), BGNBD().fit(days)
    gg = GammaGamma().fit(cdnow[cdnow["frequency"] > 0])
    kw = dict(margin=0.3, discount_rate_annual=0.1, horizon_months=24, n_draws=0)
    w = customer_value(bg_w, gg, cdnow, time_unit="W", **kw)
    d = customer_value(bg_d, gg, days, time_unit="D", **kw)
    assert d.total == pytest.approx(w.total, rel=1e-4)


def test_intervals_from_parameter_draws(cdnow, fitted):
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow, time_unit="W", margin=0.3, discount_rate_annual=0.1,
                         horizon_months=24, n_draws=100, rng=1)
    c = res.customers
    assert (c["clv_low"] <= c["clv"] + 1e-9).all() and (c["clv"] <= c["clv_high"] + 1e-9).all()
    assert res.total_ci[0] < res.total < res.total_ci[1]
    width = (res.total_ci[1] - res.total_ci[0]) / res.total
    assert 0.05 < width < 0.6           # estimation uncertainty of 2,357 customers
    assert len(res.draws_total) == 100
    again = customer_value(bg, gg, cdnow, time_unit="W", margin=0.3, discount_rate_annual=0.1,
                           horizon_months=24, n_draws=100, rng=1)
    assert again.total_ci == res.total_ci   # reproducible with a seed


def test_bad_value_parameters(cdnow, fitted):
    bg, gg = fitted
    with pytest.raises(ValueError, match="margin"):
        customer_value(bg, gg, cdnow, time_unit="W", margin=1.5, discount_rate_annual=0.1,
                       horizon_months=12, n_draws=0)
    with pytest.raises(ValueError, match="horizon_months"):
        customer_value(bg, gg, cdnow, time_unit="W", margin=0.5, discount_rate_annual=0.1,
                       horizon_months=0, n_draws=0)


def test_quarterly_interpolation_in_draws_is_accurate(cdnow, fitted):
    from crmlib.clv.value import _unique_rows, clv_rows
    bg, gg = fitted
    u, _ = _unique_rows(cdnow)
    months = np.arange(1, 61)
    grid, disc = months * 30.4375 / 7, 1.01 ** -months.astype(float)
    exact = clv_rows(bg, gg, u, grid, disc, 0.3, step=1)[0]
    approx = clv_rows(bg, gg, u, grid, disc, 0.3, step=3)[0]
    np.testing.assert_allclose(approx, exact, rtol=1e-4, atol=1e-6)


def _rebuilt_draws(bg, gg, cust, n_draws: int, seed: int, horizon: int, step: int):
    """Each customer's CLV (margin 0.3, 10% a year) under the parameter draws of
    ``customer_value(..., rng=seed)`` (same seed, purchase model first), rebuilt from the
    models' own E[Y(t)] at every ``step``-th month end; with ``step`` > 1 the months between
    are filled by scipy's PchipInterpolator."""
    from scipy.interpolate import PchipInterpolator
    gen = np.random.default_rng(seed)
    pm, ps = bg.sample_params(n_draws, gen), gg.sample_params(n_draws, gen)
    months = np.arange(horizon + 1) * 30.4375 / 7
    knots = months[::step]
    disc = (1.1 ** (1 / 12)) ** -np.arange(1.0, horizon + 1)
    x, tx, T, z = (cust[c].to_numpy()[:, None] for c in ("frequency", "recency", "T",
                                                          "monetary_value"))
    draws = np.empty((len(cust), n_draws))
    for k in range(n_draws):
        m, s = bg.with_params(pm.iloc[k]), gg.with_params(ps.iloc[k])
        cum = np.column_stack([np.zeros(len(cust)),
                               np.asarray(m.expected_purchases(knots[None, 1:], x, tx, T))])
        if step > 1:
            cum = PchipInterpolator(knots, cum, axis=1)(months)
        spend = np.asarray(s.conditional_expected_value(x[:, 0], z[:, 0]))
        draws[:, k] = 0.3 * spend * (np.diff(cum, axis=1) @ disc)
    return draws


def test_interval_is_the_5th_to_95th_percentile_of_the_draws(cdnow, fitted):
    """The draws are rebuilt from the same parameter draws with the month-by-month formula;
    the 90% interval must be their 5th and 95th percentiles (six months: no quarterly
    interpolation in the draws)."""
    bg, gg = fitted
    cust = cdnow.iloc[:40]
    kw = dict(time_unit="W", margin=0.3, discount_rate_annual=0.1, horizon_months=6)
    res = customer_value(bg, gg, cust, n_draws=60, rng=3, **kw)
    draws = _rebuilt_draws(bg, gg, cust, 60, 3, horizon=6, step=1)
    c = res.customers
    np.testing.assert_allclose(c["clv_low"], np.percentile(draws, 5, axis=1), rtol=1e-9)
    np.testing.assert_allclose(c["clv_high"], np.percentile(draws, 95, axis=1), rtol=1e-9)
    np.testing.assert_allclose(res.draws_total, draws.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(res.total_ci, np.percentile(draws.sum(axis=0), [5, 95]), rtol=1e-9)


def test_draws_over_quarterly_knots_are_scipys_pchip_months(cdnow, fitted):
    """Over 24 months the draws compute E[Y(t)] at months 3, 6, … 24 and fill the months
    between by PCHIP: the same as scipy's PchipInterpolator through the model's own E[Y(t)]
    at those knots, month by month."""
    bg, gg = fitted
    cust = cdnow.iloc[:60]
    kw = dict(time_unit="W", margin=0.3, discount_rate_annual=0.1, horizon_months=24)
    res = customer_value(bg, gg, cust, n_draws=30, rng=5, **kw)
    draws = _rebuilt_draws(bg, gg, cust, 30, 5, horizon=24, step=3)
    np.testing.assert_allclose(res.draws_total, draws.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(res.customers["clv_low"], np.percentile(draws, 5, axis=1),
                               rtol=1e-12)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_a_draw_with_a_non_finite_knot_is_dropped(cdnow, fitted, monkeypatch, bad):
    """One customer's E[Y(t)] not finite at one quarterly knot in the third draw: that draw
    is dropped (counted), the others are kept."""
    from crmlib.clv import value as V
    bg, gg = fitted
    real, calls = V._expected_purchases, []

    def spoilt(model, t, rows):
        out = np.array(real(model, t, rows), dtype=float)
        calls.append(1)
        if len(calls) == 4:  # the point estimate, then the draws
            out[5, 2] = bad
        return out
    monkeypatch.setattr(V, "_expected_purchases", spoilt)
    res = customer_value(bg, gg, cdnow.iloc[:30], time_unit="W", margin=0.3,
                         discount_rate_annual=0.1, horizon_months=24, n_draws=6, rng=0)
    assert res.n_draws_dropped == 1
    assert len(res.draws_total) == 5 and np.isfinite(res.draws_total).all()


def test_assumptions_table_states_the_conventions(cdnow, fitted):
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow.iloc[:20], time_unit="W", margin=0.3,
                         discount_rate_annual=0.12, horizon_months=24, n_draws=5, rng=0)
    a = res.assumptions().set_index("assumption")
    assert list(a.columns) == ["value", "note"]
    assert a.at["margin", "value"] == "30.0%" and a.at["margin", "note"] == \
        "share of spend kept as margin"
    assert a.at["annual discount rate", "value"] == "12.00%"
    assert a.at["annual discount rate", "note"] == "parameter"
    assert a.at["monthly discount rate", "value"] == f"{1.12 ** (1 / 12) - 1:.4%}"
    assert a.at["monthly discount rate", "note"] == ("(1 + annual)^(1/12) − 1, applied at the "
                                                     "end of each month")
    # 24 months of 30.4375 days = 104.4 weeks
    assert a.at["horizon", "value"] == "24 months"
    assert a.at["horizon", "note"] == "= 104.4 weeks (1 month = 30.4375 days)"
    assert a.at["interval", "value"] == "90%"
    assert a.at["interval", "note"] == "percentiles over 5 parameter draws"


def test_without_draws_the_intervals_are_missing(cdnow, fitted):
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow.iloc[:20], time_unit="W", margin=0.3,
                         discount_rate_annual=0.1, horizon_months=12, n_draws=0)
    c = res.customers
    assert list(c.columns) == ["expected_purchases", "expected_spend", "clv", "clv_low",
                               "clv_high"]
    assert c[["clv_low", "clv_high"]].isna().all().all() and c["clv_low"].dtype == float
    assert np.isnan(res.total_ci).all() and isinstance(res.total_ci, tuple)
    assert len(res.draws_total) == 0


def test_value_parameter_boundaries(cdnow, fitted):
    bg, gg = fitted
    kw = dict(time_unit="W", discount_rate_annual=0.1, n_draws=0)
    one = cdnow.iloc[:3]
    assert customer_value(bg, gg, one, margin=0.0, horizon_months=1, **kw).total == 0.0
    res = customer_value(bg, gg, one, margin=1.0, horizon_months=1, **kw)
    assert res.total > 0
    assert monthly_rate(9.99) == pytest.approx(10.99 ** (1 / 12) - 1)
    with pytest.raises(ValueError, match="annual discount rate"):
        monthly_rate(10.0)


def test_draw_defaults_and_identical_customers(cdnow, fitted):
    """200 draws by default, seeded with 0; duplicated customers share one computation but
    each counts in the total."""
    bg, gg = fitted
    two = pd.concat([cdnow.iloc[:3], cdnow.iloc[:3]])
    two.index = range(6)
    kw = dict(time_unit="W", margin=0.3, discount_rate_annual=0.1, horizon_months=12)
    res = customer_value(bg, gg, two, **kw)
    assert len(res.draws_total) == 200
    again = customer_value(bg, gg, two, rng=0, **kw)
    np.testing.assert_array_equal(res.draws_total, again.draws_total)
    one = customer_value(bg, gg, cdnow.iloc[:3], **kw)
    np.testing.assert_allclose(res.draws_total, 2 * one.draws_total, rtol=1e-12)
    np.testing.assert_allclose(res.customers["clv"].to_numpy(),
                               np.tile(one.customers["clv"].to_numpy(), 2), rtol=1e-12)


def test_point_estimate_evaluates_every_month(cdnow, fitted):
    """The point estimate is never interpolated: 12 discounted months match the sum written
    out month by month to 1e-10 (the draws alone use quarterly knots)."""
    bg, gg = fitted
    res = customer_value(bg, gg, cdnow.iloc[:8], time_unit="W", margin=0.3,
                         discount_rate_annual=0.1, horizon_months=12, n_draws=0)
    d = 1.1 ** (1 / 12) - 1
    for i in range(8):
        c = cdnow.iloc[i]
        cum = [0.0] + [bg.expected_purchases(m * 30.4375 / 7, c.frequency, c.recency, c["T"])
                       for m in range(1, 13)]
        v = sum((cum[m] - cum[m - 1]) / (1 + d) ** m for m in range(1, 13))
        v *= 0.3 * gg.conditional_expected_value(c.frequency, c.monetary_value)
        assert res.customers["clv"].iloc[i] == pytest.approx(v, rel=1e-10)
