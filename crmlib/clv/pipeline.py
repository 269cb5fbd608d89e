"""The CLV analysis in steps, one call per notebook cell.

Model choice and validation use the calibration period; the chosen model and
the Gamma-Gamma spend model are then refitted on the whole observation period
(calibration + holdout) to value customers from the observation end onwards.
Without a holdout there is a single fit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..io import DataError, DataQualityReport, load_subscriptions, read_table
from . import diagnostics, segments
from .models import MODELS, GammaGamma
from .summary import UNIT_DAYS, UNIT_NAMES, CustomerSummary, summarise
from .value import CLVResult

COVARIATE_COLUMNS = ("channel", "segment")


def covariate_columns(path, mapping: dict | None = None) -> tuple[str, ...]:
    """Optional covariate columns (``channel``, ``segment``) present in the transactions file."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        cols = pq.read_schema(path).names
    elif path.suffix.lower() in (".csv", ".txt"):
        import duckdb
        cols = [r[0] for r in duckdb.sql(
            f"DESCRIBE SELECT * FROM read_csv('{path.as_posix()}', all_varchar = true)").fetchall()]
    else:
        cols = list(read_table(path).columns)
    own = {v: k for k, v in (mapping or {}).items()}
    return tuple(c for c in COVARIATE_COLUMNS if c in {own.get(x, x) for x in cols})


@dataclass
class PurchaseFit:
    """The chosen purchase model and the comparison that chose it."""

    name: str
    model: object
    comparison: pd.DataFrame
    fitted: dict


def fit_purchase_model(customers: pd.DataFrame, model: str = "auto") -> PurchaseFit:
    """Fit BG/NBD, MBG/NBD and Pareto/NBD; keep ``model`` (or the best by holdout MAE)."""
    if model != "auto" and model not in MODELS:
        raise DataError(f"unknown model {model!r}; choose one of {list(MODELS)} or 'auto'")
    if int((customers["frequency"] > 0).sum()) == 0:
        raise DataError("no customer made a repeat purchase: every customer has a single "
                        "purchase, so repeat-purchase models cannot be fitted",
                        column="frequency")
    table, fitted = diagnostics.compare_models(customers, {k: v() for k, v in MODELS.items()})
    name = diagnostics.choose_model(table) if model == "auto" else model
    if name not in fitted:
        note = table.loc[table["model"] == name, "note"].iloc[0]
        raise DataError(f"the {diagnostics.MODEL_LABELS.get(name, name)} model could not be "
                        f"fitted ({note}); try model='auto'")
    table["chosen"] = table["model"] == name
    return PurchaseFit(name, fitted[name], table, fitted)


def fit_spend_model(customers: pd.DataFrame) -> tuple[GammaGamma, dict]:
    """Gamma-Gamma on repeat customers with positive spend, plus the independence check."""
    rep = customers[customers["frequency"] > 0]
    if rep.empty:
        raise DataError("no repeat customers: the spend model needs customers with at least "
                        "two purchase days", column="frequency")
    if not (rep["monetary_value"] > 0).any():
        raise DataError("every repeat purchase has zero spend: check the amount column",
                        column="amount")
    rep = rep[rep["monetary_value"] > 0]
    gg = GammaGamma().fit(rep[["frequency", "monetary_value"]])
    check = GammaGamma.independence_check(rep["frequency"], rep["monetary_value"])
    return gg, check


def refit(model_name: str, customers: pd.DataFrame):
    """Refit the named purchase model on a (full-period) summary."""
    return MODELS[model_name]().fit(customers[["frequency", "recency", "T"]])


def covariate_test(customers: pd.DataFrame, column: str, base_ll: float):
    """Likelihood-ratio test of a BG/NBD with a static covariate against the plain BG/NBD.

    Uses :class:`crmlib.clv.models.BGNBDCovariates` when it is available; returns
    ``(table, fitted model)`` or ``(None, None)`` when the model is not available.
    """
    from . import models
    cls = getattr(models, "BGNBDCovariates", None)
    if cls is None or column not in customers:
        return None, None
    m = cls().fit(customers, covariates=[column])
    df = len(m.params_) - 4
    lr = 2 * (m.log_likelihood_ - base_ll)
    table = pd.DataFrame([{"covariate": column, "log_likelihood": m.log_likelihood_,
                           "log_likelihood_without": base_ll, "lr_statistic": lr, "df": df,
                           "p_value": float(stats.chi2.sf(lr, df))}])
    return table, m


def customer_table(summary: CustomerSummary, model, value: CLVResult,
                   rfm: pd.DataFrame) -> pd.DataFrame:
    """Per-customer results: summary, P(alive), expected purchases, CLV with interval, segment."""
    c = summary.customers
    out = c[["frequency", "recency", "T", "monetary_value", "total_spend"]].copy()
    out["p_alive"] = np.asarray(model.p_alive(c["frequency"], c["recency"], c["T"]), dtype=float)
    out = out.join(value.customers[["expected_purchases", "clv", "clv_low", "clv_high"]])
    out["segment"] = rfm["segment"]
    out["rfm"] = rfm["rfm"]
    out["clv_decile"] = segments.decile_of(out["clv"])
    return out.reset_index()


def subscription_durations(subs: pd.DataFrame, observation_end: dt.date) -> pd.DataFrame:
    """Paid months per subscriber and whether still active (right-censored) at the end.

    A subscription ending k months (30.4375 days) after its start, rounded up, lasted k
    periods; an active one has completed floor(months to the observation end) periods.
    """
    end = pd.Timestamp(observation_end)
    subs = subs[subs["start_date"] <= end]
    censored = subs["end_date"].isna() | (subs["end_date"] > end)
    stop = subs["end_date"].where(~censored, end)
    months = (stop - subs["start_date"]).dt.days / UNIT_DAYS["M"]
    dur = np.where(censored, np.floor(months + 1e-9), np.ceil(months - 1e-9)).astype(int)
    out = pd.DataFrame({"customer_id": subs["customer_id"].to_numpy(), "duration": dur,
                        "censored": censored.to_numpy()})
    return out[(out["duration"] >= 1) | ~out["censored"]].assign(
        duration=lambda d: d["duration"].clip(lower=1))


def load_subscription_durations(path, observation_end: dt.date,
                                quality: DataQualityReport) -> pd.DataFrame:
    """Read subscriptions and convert them to durations, counting dropped rows."""
    subs = load_subscriptions(path, quality=quality)
    late = subs["start_date"] > pd.Timestamp(observation_end)
    quality.exclude("subscriptions", "starts after observation end", int(late.sum()))
    dur = subscription_durations(subs, observation_end)
    short = int((~late).sum()) - len(dur)
    quality.exclude("subscriptions", "active for less than one month", short)
    return dur


def headline(value: CLVResult, conc: float, fit: PurchaseFit, holdout: dict | None,
             unit: str) -> list[dict]:
    """The report-index headline: total CLV, top-decile share, holdout accuracy."""
    out = [{"label": f"Total CLV, next {value.horizon_months} months (discounted margin)",
            "value": value.total, "unit": "currency", "ci": list(value.total_ci)},
           {"label": "Share of CLV held by the top 10% of customers", "value": conc,
            "unit": "share", "ci": None}]
    if holdout:
        out.append({"label": f"Holdout repeat purchases predicted by "
                             f"{diagnostics.MODEL_LABELS[fit.name]} vs actual",
                    "value": holdout["predicted_total"], "unit": "purchases",
                    "ci": None})
    return out


def unit_label(summary: CustomerSummary) -> str:
    """Human label of the summary's time unit (e.g. 'weeks')."""
    return UNIT_NAMES[summary.time_unit]


__all__ = ["PurchaseFit", "covariate_columns", "covariate_test", "customer_table",
           "fit_purchase_model", "fit_spend_model", "headline", "load_subscription_durations",
           "refit", "subscription_durations", "summarise", "unit_label"]
