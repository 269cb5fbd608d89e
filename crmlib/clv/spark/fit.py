"""Fitting and checking the models on the driver from the sufficient statistics.

The same estimators, the same model choice (lowest holdout RMSE, lowest BIC
without a holdout) and the same holdout checks as :mod:`crmlib.clv.pipeline`
and :mod:`crmlib.clv.diagnostics`, computed from the weighted distinct rows of
:class:`~crmlib.clv.spark.stats.SufficientStatistics` instead of one row per
customer. Purchase-model fits and holdout errors are exact; the total CLV and
its interval are exact too (expected spend is linear in a customer's mean
spend, so each distinct (frequency, recency, T) row needs only the sum of its
customers' mean spends).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...io import DataError
from .. import value as V
from ..core import PurchaseFit
from ..diagnostics import MODEL_LABELS, choose_model, fit_model, form_fitted
from ..models import MODELS, GammaGamma, fit_identified
from ..summary import UNIT_DAYS
from .stats import SufficientStatistics


def _holdout_length(stats: SufficientStatistics) -> float:
    if stats.duration_holdout is None:
        raise DataError("no holdout period: set calibration_end before the observation end",
                        column="calibration_end")
    return stats.duration_holdout


def _predict_holdout(model, rft: pd.DataFrame, duration: float) -> np.ndarray:
    return np.asarray(model.expected_purchases(duration, rft["frequency"], rft["recency"],
                                               rft["T"]), dtype=float)


def _naive(rft: pd.DataFrame, duration: float) -> np.ndarray:
    T = rft["T"].to_numpy(dtype=float)
    rate = np.divide(rft["frequency"].to_numpy(dtype=float), T, out=np.zeros_like(T),
                     where=T > 0)
    return rate * duration


def holdout_errors(model, stats: SufficientStatistics) -> dict:
    """Holdout totals and per-customer MAE / RMSE, as :func:`crmlib.clv.diagnostics.holdout_errors`."""
    duration = _holdout_length(stats)
    rft, w = stats.rft, stats.rft["count"].to_numpy(dtype=float)
    actual = rft["frequency_holdout"].to_numpy(dtype=float)
    pred = _predict_holdout(model, rft, duration)
    naive = _naive(rft, duration)
    n = w.sum()
    return {"actual_total": float(w @ actual), "predicted_total": float(w @ pred),
            "naive_total": float(w @ naive),
            "mae": float(w @ np.abs(pred - actual) / n),
            "rmse": float(np.sqrt(w @ (pred - actual) ** 2 / n)),
            "naive_mae": float(w @ np.abs(naive - actual) / n),
            "naive_rmse": float(np.sqrt(w @ (naive - actual) ** 2 / n))}


def holdout_by_frequency(model, stats: SufficientStatistics,
                         max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency: actual, model, naive (weighted)."""
    duration = _holdout_length(stats)
    rft = stats.rft
    w = rft["count"].to_numpy(dtype=float)
    df = pd.DataFrame({"k": rft["frequency"].clip(upper=max_frequency).astype(int),
                       "w": w, "actual": w * rft["frequency_holdout"].to_numpy(dtype=float),
                       "predicted": w * _predict_holdout(model, rft, duration),
                       "naive": w * _naive(rft, duration)})
    g = df.groupby("k").sum()
    out = pd.DataFrame({"customers": g["w"].astype("int64"), "actual": g["actual"] / g["w"],
                        "predicted": g["predicted"] / g["w"], "naive": g["naive"] / g["w"]})
    out.insert(0, "calibration_frequency",
               [f"{k}+" if k == max_frequency else str(k) for k in out.index])
    return out.reset_index(drop=True)


def frequency_fit(model, stats: SufficientStatistics, max_frequency: int = 7) -> pd.DataFrame:
    """Customers by calibration repeat purchases: actual vs expected, as the diagnostics do."""
    rft = stats.rft
    by_T = rft.groupby("T")["count"].sum()
    n = np.arange(max_frequency)
    p = np.asarray(model.p_purchases(n[:, None], by_T.index.to_numpy(float)[None, :]),
                   dtype=float)
    expected = p @ by_T.to_numpy(dtype=float)
    expected = np.append(expected, by_T.sum() - expected.sum())
    actual = rft.groupby(rft["frequency"].clip(upper=max_frequency))["count"].sum()
    actual = actual.reindex(range(max_frequency + 1), fill_value=0).to_numpy()
    labels = [f"{k}+" if k == max_frequency else str(k) for k in range(max_frequency + 1)]
    return pd.DataFrame({"repeat_purchases": labels, "actual": actual, "expected": expected})


def fit_purchase_model(stats: SufficientStatistics, model: str = "auto") -> PurchaseFit:
    """Fit BG/NBD, MBG/NBD and Pareto/NBD on the weighted rows; keep ``model`` or the best."""
    if model != "auto" and model not in MODELS:
        raise DataError(f"unknown model {model!r}; choose one of {list(MODELS)} or 'auto'")
    data = stats.purchase_data
    if not (data["frequency"] > 0).any():
        raise DataError("no customer made a repeat purchase: every customer has a single "
                        "purchase, so repeat-purchase models cannot be fitted",
                        column="frequency")
    rows, fitted = [], {}
    for name, cls in MODELS.items():
        row = {"model": name, "label": MODEL_LABELS.get(name, name)}
        try:
            m = fit_model(name, cls(), data, weights="count")
        except (RuntimeError, ValueError) as exc:   # ConvergenceError, DataError
            rows.append({**row, "note": f"not fitted: {exc}"})
            continue
        fitted[name] = m
        row.update(form_fitted(m))
        if stats.has_holdout:
            err = holdout_errors(m, stats)
            row.update(holdout_mae=err["mae"], holdout_rmse=err["rmse"],
                       predicted_total=err["predicted_total"], actual_total=err["actual_total"])
        rows.append({**row, "note": ""})
    table = pd.DataFrame(rows)
    name = choose_model(table) if model == "auto" else model
    if name not in fitted:
        note = table.loc[table["model"] == name, "note"].iloc[0]
        raise DataError(f"the {MODEL_LABELS.get(name, name)} model could not be fitted "
                        f"({note}); try model='auto'")
    table["chosen"] = table["model"] == name
    return PurchaseFit(name, fitted[name], table, fitted)


def refit(model_name: str, stats: SufficientStatistics):
    """Fit the named purchase model on (whole-period) statistics."""
    return fit_identified(model_name, stats.purchase_data, weights="count")


def fit_spend_model(stats: SufficientStatistics) -> tuple[GammaGamma, dict]:
    """Gamma-Gamma on the binned repeat-customer spend, plus the independence check."""
    if stats.spend.empty:
        if not (stats.rft["frequency"] > 0).any():
            raise DataError("no repeat customers: the spend model needs customers with at "
                            "least two purchase days", column="frequency")
        raise DataError("every repeat purchase has zero spend: check the amount column",
                        column="amount")
    gg = GammaGamma().fit(stats.spend[["frequency", "monetary_value", "count"]],
                          weights="count")
    return gg, dict(stats.independence)


def total_value(model, spend_model, stats: SufficientStatistics, *, margin: float,
                discount_rate_annual: float, horizon_months: int, n_draws: int = 200,
                level: float = 0.90, rng=0, interval_method: str = "auto",
                n_boot: int = 60) -> dict:
    """Total CLV with its interval, equal to :func:`crmlib.clv.value.customer_value`'s.

    Uses the same parameter draws (same ``rng`` and order; the parametric bootstrap's
    replicates when the purchase model's standard errors are unreliable, from the same
    customer ages: :func:`crmlib.clv.value.purchase_draws`) and the same month grid, on
    the distinct (frequency, recency, T) rows weighted by their customer counts.
    ``draw_keep`` marks the draws finite for every row and ``boot_draws`` holds the
    bootstrap replicates (or None): per-customer scoring
    (:func:`~crmlib.clv.spark.scoring.score_customers`) uses exactly those.
    """
    if not 0 <= margin <= 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    d = V.monthly_rate(discount_rate_annual)
    months = np.arange(1, int(horizon_months) + 1)
    grid = months * UNIT_DAYS["M"] / UNIT_DAYS[stats.time_unit]
    disc = (1 + d) ** -months.astype(float)
    keys = ["frequency", "recency", "T", "frequency_spend"]
    g = stats.rft.groupby(keys, as_index=False)[["count", "sum_monetary"]].sum()
    u = g[keys].assign(monetary_value=g["sum_monetary"] / g["count"])
    w = g["count"].to_numpy(dtype=float)
    total = float(w @ V.clv_rows(model, spend_model, u, grid, disc, margin)[0])
    totals, dropped, keep = np.array([]), 0, None
    ci = (float("nan"), float("nan"))
    ages = np.repeat(stats.rft["T"].to_numpy(dtype=float), stats.rft["count"].astype("int64"))
    boot, n_draws, method = V.purchase_draws(model, ages, n_draws, interval_method, n_boot, rng)
    if n_draws:
        per_draw = list(V.draw_values(model, spend_model, u, grid, disc, margin, n_draws, rng,
                                      purchase_draws=boot))
        keep = np.array([v is not None for v in per_draw], dtype=bool)
        kept = [v for v in per_draw if v is not None]
        dropped = n_draws - len(kept)
        totals = w @ np.column_stack(kept) if kept else np.array([])
    if len(totals):
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        t_lo, t_hi = np.quantile(totals, [lo, hi])
        ci = (float(t_lo), float(t_hi))
    return {"total": total, "total_ci": ci, "draws_total": totals, "monthly_rate": d,
            "level": level, "n_draws_dropped": int(dropped), "draw_keep": keep,
            "interval_method": method, "boot_draws": boot}
