"""Diagnostics and segments on the small demo data and hand-made inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.clv import diagnostics as D
from crmlib.clv import segments as S
from crmlib.clv.models import BGNBD, MODELS
from crmlib.clv.summary import summarise
from crmlib.io import DataError


@pytest.fixture(scope="module")
def summary(clv_small):
    return summarise(clv_small / "transactions.csv", time_unit="W",
                     observation_end="2025-06-30", calibration_end="2024-12-31")


@pytest.fixture(scope="module")
def bg(summary):
    return BGNBD().fit(summary.customers)


def test_frequency_fit_sums_to_customers(bg, summary):
    t = D.frequency_fit(bg, summary.customers)
    assert t["actual"].sum() == len(summary.customers)
    assert t["expected"].sum() == pytest.approx(len(summary.customers))
    assert t["repeat_purchases"].iloc[-1] == "7+"
    # expected counts are Σ_i P(X(T_i) = n), the rest in the last bucket (exact)
    n = np.arange(7)[:, None]
    p = bg.p_purchases(n, summary.customers["T"].to_numpy(float)[None, :])
    np.testing.assert_allclose(t["expected"].iloc[:7], p.sum(axis=1), rtol=1e-12)
    # a correctly specified model: counts differ from expected by multinomial noise,
    # s.d. ≈ √expected; the largest of eight standardised residuals stays below 3.5
    assert (np.abs(t["actual"] - t["expected"]) / np.sqrt(t["expected"])).max() < 3.5


def test_holdout_by_frequency_and_errors(bg, summary):
    c = summary.customers
    t = D.holdout_by_frequency(bg, c)
    assert t["customers"].sum() == len(c)
    assert (t["actual"] * t["customers"]).sum() == pytest.approx(c["frequency_holdout"].sum())
    err = D.holdout_errors(bg, c)
    assert err["actual_total"] == c["frequency_holdout"].sum()
    assert err["mae"] < err["naive_mae"] and err["rmse"] < err["naive_rmse"]
    # the predicted total is the sum of the per-customer predictions (exact) ...
    pred = bg.expected_purchases(c["duration_holdout"], c["frequency"], c["recency"], c["T"])
    assert err["predicted_total"] == pytest.approx(pred.sum(), rel=1e-12)
    # ... and misses the actual total by customers' independent errors: s.e. of the total
    # error ≈ √n · RMSE (about 7% of the total here); allow three of them
    se_total = np.sqrt(len(c)) * err["rmse"]
    assert abs(err["predicted_total"] - err["actual_total"]) < 3 * se_total


def test_tracking_is_cumulative_and_split(bg, summary):
    tr = D.tracking(bg, summary)
    assert tr["actual"].is_monotonic_increasing and tr["expected"].is_monotonic_increasing
    assert tr["actual"].iloc[-1] == summary.daily["repeat"].sum()
    assert set(tr["period"]) == {"calibration", "holdout"}
    assert tr["date"].iloc[-1] == pd.Timestamp("2025-06-30")
    # expected at the end: Σ_i E[X(t_i)] with t_i each customer's time from first purchase
    # to the observation end (exact) ...
    c = summary.customers
    t_end = (c["T"] + c["duration_holdout"]).to_numpy(float)
    assert tr["expected"].iloc[-1] == pytest.approx(bg.expected_purchases_new(t_end).sum(),
                                                    rel=1e-9)
    # ... and the actual count differs from it by the model's own randomness: s.e. =
    # √Σ_i Var X(t_i), the variance from the model's P(X(t) = n); allow three s.e.
    n = np.arange(300)[:, None]
    p = bg.p_purchases(n, t_end[None, :])
    var = (n ** 2 * p).sum(axis=0) - ((n * p).sum(axis=0)) ** 2
    assert abs(tr["expected"].iloc[-1] - tr["actual"].iloc[-1]) < 3 * np.sqrt(var.sum())


def test_compare_and_choose(summary):
    table, fitted = D.compare_models(summary.customers, {k: v() for k, v in MODELS.items()})
    assert {"bgnbd", "mbgnbd"} <= set(fitted)
    # a model the data do not identify is reported, never silently dropped
    assert (table["note"] == "").sum() == len(fitted) and len(table) == len(MODELS)
    assert {"log_likelihood", "aic", "bic", "holdout_mae", "holdout_rmse"} <= set(table.columns)
    best = D.choose_model(table)
    assert table.set_index("model").loc[best, "holdout_rmse"] == table["holdout_rmse"].min()
    no_holdout = table.drop(columns=["holdout_mae", "holdout_rmse"])
    assert D.choose_model(no_holdout) == table.sort_values("bic")["model"].iloc[0]


def test_failed_model_is_reported_not_chosen(summary):
    class Broken:
        def fit(self, df):
            raise RuntimeError("did not converge")
    table, fitted = D.compare_models(summary.customers, {"bgnbd": BGNBD(), "broken": Broken()})
    assert "broken" not in fitted and table["note"].iloc[1].startswith("not fitted")
    assert D.choose_model(table) == "bgnbd"


def test_holdout_required(bg):
    with pytest.raises(DataError, match="no holdout"):
        D.holdout_errors(bg, pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))


def test_p_alive_matrix(bg):
    m = D.p_alive_matrix(bg, T=52.0, max_frequency=10, n=20)
    assert m.shape == (11, 20) and m.iloc[0, 0] == 1.0 and np.isnan(m.iloc[0, 5])
    assert (m.iloc[5].dropna().diff().dropna() > 0).all()   # more recent → more likely alive


# ------------------------------------------------------------------------------ segments
def test_deciles_lorenz_top_share():
    v = pd.Series(np.arange(1, 101, dtype=float), index=[f"c{i}" for i in range(100)])
    d = S.deciles(v)
    assert list(d["decile"]) == list(range(1, 11)) and (d["customers"] == 10).all()
    assert d["clv_total"].iloc[0] == sum(range(91, 101))
    assert d["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert S.top_share(v, 0.1) == pytest.approx(955 / 5050)
    assert S.top_share(v, 0.2) == pytest.approx(sum(range(81, 101)) / 5050)
    assert S.gini(pd.Series(np.ones(50))) == pytest.approx(0.0, abs=1e-12)
    assert S.gini(pd.Series([0.0] * 99 + [1.0])) == pytest.approx(0.99, abs=1e-9)
    dec = S.decile_of(v)
    assert dec["c99"] == 1 and dec["c0"] == 10


def test_rfm_conventional_names():
    c = pd.DataFrame({"frequency": [10, 0, 12, 0, 5], "recency": [50, 0, 5, 0, 30],
                      "T": [52, 52, 52, 1, 40], "total_spend": [900, 10, 800, 20, 300]},
                     index=list("abcde"))
    r = S.rfm(c)
    assert r.loc["a", "segment"] == "Loyal Customers"    # recent and frequent
    assert r.loc["c", "segment"] == "Can't Lose Them"    # frequent, long gone
    assert r.loc["d", "segment"] == "New Customers"      # just arrived, one purchase
    assert r.loc["b", "segment"] == "Hibernating"
    assert set(r.columns) == {"R", "F", "M", "rfm", "segment"}
    assert r[["R", "F", "M"]].isin(range(1, 6)).all().all()


def test_rfm_segment_of_every_customer_is_that_of_its_scores():
    """Many customers, every (R, F) pair: each row named as segment_name names its scores."""
    rng = np.random.default_rng(4)
    n = 3000
    c = pd.DataFrame({"frequency": rng.integers(0, 60, n), "recency": rng.uniform(0, 40, n),
                      "T": np.full(n, 52.0), "total_spend": rng.gamma(2, 50, n)})
    r = S.rfm(c)
    assert len(r.groupby(["R", "F"])) == 25
    assert list(r["segment"]) == [S.segment_name(a, b) for a, b in zip(r["R"], r["F"])]
    assert S.segment_name(5, 5) == "Champions" and S.segment_name(1, 5) == "Can't Lose Them"
    assert S.segment_name(4, 1) == "Promising" and S.segment_name(3, 3) == "Need Attention"


def test_valuable_but_slipping():
    c = pd.DataFrame({"frequency": [5, 5, 1, 1], "recency": [1.0, 9, 1, 1], "T": [10.0] * 4,
                      "total_spend": [1000, 900, 10, 20], "p_alive": [0.1, 0.9, 0.1, 0.2],
                      "clv": [5.0, 300, 1, 2]}, index=list("abcd"))
    out = S.valuable_but_slipping(c, value_share=0.5, p_alive_below=0.5)
    assert list(out.index) == ["a"]
