"""Pipeline steps: bad input gives clear errors; subscription periods; customer table."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crmlib.clv import pipeline as PL
from crmlib.clv.models import BGNBD
from crmlib.io import DataError, DataQualityReport


def test_single_purchase_customers_only():
    c = pd.DataFrame({"frequency": [0, 0, 0], "recency": [0.0] * 3, "T": [5.0, 8.0, 9.0],
                      "monetary_value": [0.0] * 3})
    with pytest.raises(DataError, match="no customer made a repeat purchase"):
        PL.fit_purchase_model(c)
    with pytest.raises(DataError, match="no repeat customers"):
        PL.fit_spend_model(c)


def test_all_zero_spend():
    c = pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 2.0], "T": [3.0, 4.0],
                      "monetary_value": [0.0, 0.0]})
    with pytest.raises(DataError, match="zero spend"):
        PL.fit_spend_model(c)


def test_unknown_model_name():
    c = pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]})
    with pytest.raises(DataError, match="unknown model 'lifetimes'"):
        PL.fit_purchase_model(c, "lifetimes")


def test_subscription_periods_calendar_months():
    subs = pd.DataFrame({
        "customer_id": list("abcde"),
        "start_date": pd.to_datetime(["2024-01-15", "2024-01-15", "2024-01-31", "2024-06-10",
                                      "2024-06-10"]),
        "end_date": pd.to_datetime(["2024-03-15", "2024-03-20", "2024-02-29", None,
                                    "2025-01-01"])})
    d = PL.subscription_durations(subs, dt.date(2024, 12, 31)).set_index("customer_id")
    assert d.loc["a", "duration"] == 2 and not d.loc["a", "censored"]   # anniversary
    assert d.loc["b", "duration"] == 3                                   # left during month 3
    assert d.loc["c", "duration"] == 1                                   # at least one period
    assert d.loc["d", "duration"] == 6 and d.loc["d", "censored"]        # active: whole months
    assert d.loc["e", "censored"]                                        # ends after the end


def test_subscriptions_recover_planted_sbg(clv_small):
    q = DataQualityReport()
    dur = PL.load_subscription_durations(clv_small / "subscriptions.csv",
                                         dt.date(2025, 6, 30), q)
    fit = PL.fit_subscriptions(dur, horizon=24, n_draws=50)
    s = fit.model.summary()
    assert s.loc["alpha", "ci_low"] < 0.9 < s.loc["alpha", "ci_high"]
    assert s.loc["beta", "ci_low"] < 2.4 < s.loc["beta", "ci_high"]
    p = fit.projected
    assert (p["ci_low"] <= p["survival"] + 1e-12).all() and p["survival"].is_monotonic_decreasing
    assert fit.observed["survival"].iloc[0] == 1.0
    assert "subscriptions" in q.read


def test_customer_table_columns(clv_small):
    s = PL.summarise(clv_small / "transactions.csv", observation_end="2025-06-30")
    bg = BGNBD().fit(s.customers)
    gg, check = PL.fit_spend_model(s.customers)
    assert check["n"] > 0 and abs(check["corr"]) < 0.3      # spend planted independent
    from crmlib.clv import customer_value, segments
    v = customer_value(bg, gg, s.customers, time_unit="W", margin=0.3,
                       discount_rate_annual=0.1, horizon_months=12, n_draws=20)
    t = PL.customer_table(s, bg, v, segments.rfm(s.customers))
    assert list(t.columns[:11]) == ["customer_id", "frequency", "recency", "T",
                                    "monetary_value", "p_alive", "expected_purchases", "clv",
                                    "clv_low", "clv_high", "segment"]
    assert len(t) == len(s.customers) and t["clv_decile"].between(1, 10).all()
    assert np.isclose(t["clv"].sum(), v.total)


def test_covariate_columns(clv_small, tmp_path):
    assert PL.covariate_columns(clv_small / "transactions.csv") == ("channel",)
    pd.DataFrame({"cust": ["a"], "date": ["2024-01-01"], "amount": [1.0]}).to_parquet(
        tmp_path / "t.parquet")
    assert PL.covariate_columns(tmp_path / "t.parquet") == ()
