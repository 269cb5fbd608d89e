"""How well a purchase model fits and predicts: the checks of Fader, Hardie & Lee (2005).

* :func:`frequency_fit` — observed vs expected number of customers by calibration
  repeat purchases (FHL 2005, Figure 2).
* :func:`holdout_by_frequency` — conditional expectations: mean holdout purchases,
  actual vs predicted, by calibration frequency (FHL 2005, Figure 4).
* :func:`tracking` — cumulative repeat purchases per week, actual vs the model's
  unconditional expectation, across calibration and holdout (FHL 2005, Figure 3).
* :func:`holdout_errors` — per-customer MAE and RMSE of the holdout prediction against
  a naive baseline (each customer keeps buying at his calibration repeat rate x / T).
* :func:`compare_models` — log-likelihood, AIC, BIC and holdout errors per model;
  :func:`choose_model` picks the lowest holdout RMSE (lowest BIC without a holdout).
  RMSE, not MAE, decides: the models predict conditional *means*, which minimise squared
  error, whereas absolute error rewards forecasts shrunk towards the median (zero for
  most customers) and so favours a model that under-predicts the holdout total.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..io import DataError
from .models import MODELS, fit_identified
from .summary import UNIT_DAYS, CustomerSummary

if TYPE_CHECKING:
    from .spark.summary import SparkCustomerSummary

MODEL_LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pnbd": "Pareto/NBD"}


def _bucket(frequency: pd.Series, max_frequency: int) -> pd.Series:
    return frequency.clip(upper=max_frequency).astype(int)


def _label(k: int, max_frequency: int) -> str:
    return f"{k}+" if k == max_frequency else str(k)


def frequency_fit(model, customers: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Customers by calibration repeat purchases: actual vs expected (sum of P(X(T_i) = x))."""
    T = customers["T"].to_numpy(dtype=float)
    Tu, inv = np.unique(T, return_inverse=True)
    w = np.bincount(inv)
    n = np.arange(max_frequency)
    p = np.asarray(model.p_purchases(n[:, None], Tu[None, :]), dtype=float)   # (n, T)
    expected = p @ w
    expected = np.append(expected, len(T) - expected.sum())
    actual = _bucket(customers["frequency"], max_frequency).value_counts()
    actual = actual.reindex(range(max_frequency + 1), fill_value=0).to_numpy()
    return pd.DataFrame({"repeat_purchases": [_label(k, max_frequency)
                                              for k in range(max_frequency + 1)],
                         "actual": actual, "expected": expected})


def _require_holdout(customers: pd.DataFrame) -> None:
    if "frequency_holdout" not in customers:
        raise DataError("no holdout period: set calibration_end before the observation end",
                        column="calibration_end")


def predict_holdout(model, customers: pd.DataFrame) -> np.ndarray:
    """Expected purchases of each customer in the holdout period."""
    _require_holdout(customers)
    return np.asarray(model.expected_purchases(customers["duration_holdout"], customers["frequency"],
                                               customers["recency"], customers["T"]), dtype=float)


def holdout_by_frequency(model, customers: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency: actual, model, naive baseline."""
    pred = predict_holdout(model, customers)
    df = pd.DataFrame({"k": _bucket(customers["frequency"], max_frequency).to_numpy(),
                       "actual": customers["frequency_holdout"].to_numpy(dtype=float),
                       "predicted": pred, "naive": _naive(customers)})
    g = df.groupby("k").agg(customers=("actual", "size"), actual=("actual", "mean"),
                            predicted=("predicted", "mean"), naive=("naive", "mean"))
    g.insert(0, "calibration_frequency", [_label(k, max_frequency) for k in g.index])
    return g.reset_index(drop=True)


def _naive(customers: pd.DataFrame) -> np.ndarray:
    T = customers["T"].to_numpy(dtype=float)
    rate = np.divide(customers["frequency"].to_numpy(dtype=float), T, out=np.zeros_like(T),
                     where=T > 0)
    return rate * customers["duration_holdout"].to_numpy(dtype=float)


def holdout_errors(model, customers: pd.DataFrame) -> dict:
    """Holdout totals and per-customer MAE / RMSE of the model and the naive baseline."""
    _require_holdout(customers)
    actual = customers["frequency_holdout"].to_numpy(dtype=float)
    pred, naive = predict_holdout(model, customers), _naive(customers)
    return {"actual_total": float(actual.sum()), "predicted_total": float(pred.sum()),
            "naive_total": float(naive.sum()),
            "mae": float(np.mean(np.abs(pred - actual))),
            "rmse": float(np.sqrt(np.mean((pred - actual) ** 2))),
            "naive_mae": float(np.mean(np.abs(naive - actual))),
            "naive_rmse": float(np.sqrt(np.mean((naive - actual) ** 2)))}


def tracking(model, summary: CustomerSummary | SparkCustomerSummary) -> pd.DataFrame:
    """Weekly cumulative repeat purchases: actual vs expected from each cohort's first day.

    Returns one row per week end: ``date``, ``actual``, ``expected`` (cumulative) and
    ``period`` (calibration or holdout). Expected = Σ_cohorts n_cohort · E[X(t)] with t the
    time since the cohort's first purchase day in the model's unit (FHL 2005, eq. 9).
    """
    daily = summary.daily
    start = daily.index.min()
    ends = pd.date_range(start + pd.Timedelta(days=6), pd.Timestamp(summary.observation_end),
                         freq="7D")
    if len(ends) == 0 or ends[-1] < pd.Timestamp(summary.observation_end):
        ends = ends.append(pd.DatetimeIndex([pd.Timestamp(summary.observation_end)]))
    cohorts = daily.loc[daily["first"] > 0, "first"]
    unit = UNIT_DAYS[summary.time_unit]
    # purchases on the cohort's own day are first purchases: repeat time starts the day after
    age = ((ends.values[:, None] - cohorts.index.values[None, :]) / np.timedelta64(1, "D")) / unit
    e = np.asarray(model.expected_purchases_new(np.clip(age, 0, None)), dtype=float)
    expected = (e * cohorts.to_numpy()[None, :]).sum(axis=1)
    actual = daily["repeat"].cumsum().reindex(ends, method="ffill").to_numpy()
    period = np.where(ends <= pd.Timestamp(summary.calibration_end), "calibration", "holdout")
    return pd.DataFrame({"date": ends, "actual": actual, "expected": expected,
                         "period": period})


def compare_models(customers: pd.DataFrame, models: dict) -> tuple[pd.DataFrame, dict]:
    """Fit each model (name → unfitted estimator) and tabulate fit and holdout error.

    Returns the table (one row per model, sorted as given) and name → fitted model for the
    models that converged; a model that fails is reported in the ``note`` column.
    """
    rows, fitted = [], {}
    holdout = "frequency_holdout" in customers
    for name, est in models.items():
        row = {"model": name, "label": MODEL_LABELS.get(name, name)}
        try:
            m = fit_model(name, est, customers[["frequency", "recency", "T"]])
        except (RuntimeError, ValueError) as exc:   # ConvergenceError, DataError
            rows.append({**row, "note": f"not fitted: {exc}"})
            continue
        fitted[name] = m
        row.update(form_fitted(m))
        if holdout:
            err = holdout_errors(m, customers)
            row.update(holdout_mae=err["mae"], holdout_rmse=err["rmse"],
                       predicted_total=err["predicted_total"], actual_total=err["actual_total"])
        rows.append({**row, "note": ""})
    return pd.DataFrame(rows), fitted


def fit_model(name: str, est, data: pd.DataFrame, weights: str | None = None):
    """Fit a purchase model of ``MODELS`` or the limit the data reached
    (:func:`~crmlib.clv.models.fit_identified`); any other estimator as it is."""
    if name in MODELS:
        return fit_identified(name, data, weights=weights)
    return est.fit(data) if weights is None else est.fit(data, weights=weights)


def form_fitted(m) -> dict:
    """Comparison-table columns of a fitted purchase model: fit statistics and, for a
    limiting form, which limit the data reached."""
    return {"n_params": len(m.params_), "log_likelihood": m.log_likelihood_, "aic": m.aic_,
            "bic": m.bic_, "form": m.name, "limit": getattr(m, "limit", "")}


def choose_model(table: pd.DataFrame) -> str:
    """Name of the model with the lowest holdout RMSE (lowest BIC when there is no holdout)."""
    ok = table[table["note"] == ""]
    if ok.empty:
        raise DataError("no purchase model could be fitted: " + "; ".join(table["note"]))
    key = "holdout_rmse" if "holdout_rmse" in ok and ok["holdout_rmse"].notna().all() else "bic"
    return str(ok.sort_values(key, kind="stable")["model"].iloc[0])


def p_alive_matrix(model, T: float, max_frequency: int | None = None,
                   max_recency: float | None = None, n: int = 40) -> pd.DataFrame:
    """P(alive) on a grid of frequency (rows) × recency (columns) at age ``T``."""
    max_frequency = int(max_frequency or 20)
    max_recency = float(max_recency or T)
    x = np.arange(0, max_frequency + 1)
    tx = np.linspace(0, max_recency, n)
    X, TX = np.meshgrid(x, tx, indexing="ij")
    p = np.asarray(model.p_alive(X.ravel(), TX.ravel(), np.full(X.size, T)), dtype=float)
    p = p.reshape(X.shape)
    p[(X == 0) & (TX > 0)] = np.nan   # recency is 0 whenever frequency is 0
    return pd.DataFrame(p, index=pd.Index(x, name="frequency"),
                        columns=pd.Index(np.round(tx, 2), name="recency"))
