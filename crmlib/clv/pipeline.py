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
    """Fit BG/NBD, MBG/NBD and Pareto/NBD; keep ``model`` (or the best by holdout RMSE)."""
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


def covariate_test(customers: pd.DataFrame, column: str) -> tuple[pd.DataFrame, object]:
    """BG/NBD with a static covariate on purchase and dropout, tested against the plain BG/NBD.

    Returns the coefficient table (estimates with 95% intervals) and the fitted
    :class:`~crmlib.clv.models.BGNBDCovariates` whose ``lr_test_`` holds the
    likelihood-ratio test (Fader & Hardie 2007 note on covariates in the BG/NBD).
    """
    from .models import BGNBDCovariates
    m = BGNBDCovariates().fit(customers[["frequency", "recency", "T", column]],
                              purchase_covariates=[column], dropout_covariates=[column])
    table = m.summary().reset_index()
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
    cols = ["frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases",
            "clv", "clv_low", "clv_high", "segment", "rfm", "clv_decile", "total_spend"]
    return out[cols].reset_index()


def subscription_durations(subs: pd.DataFrame, observation_end: dt.date) -> pd.DataFrame:
    """Monthly periods per subscriber and whether still active (right-censored).

    Periods are calendar months from the start date. A subscription that ended lasted
    the period in which it ended (ending on a monthly anniversary closes that month:
    start 15 Jan, end 15 Mar = 2 periods; end 20 Mar = 3). One still active at
    ``observation_end`` has completed the whole months up to it (Fader & Hardie 2007).
    """
    end = pd.Timestamp(observation_end)
    s, e = subs["start_date"], subs["end_date"]
    censored = (e.isna() | (e > end)).to_numpy()
    stop = e.where(~censored, end)
    months = ((stop.dt.year - s.dt.year) * 12 + (stop.dt.month - s.dt.month)).to_numpy()
    ended_dur = np.maximum(months + (stop.dt.day > s.dt.day).to_numpy(), 1)
    active_dur = np.maximum(months - (stop.dt.day < s.dt.day).to_numpy(), 0)
    return pd.DataFrame({"customer_id": subs["customer_id"].to_numpy(),
                         "duration": np.where(censored, active_dur, ended_dur).astype(int),
                         "censored": censored})


def load_subscription_durations(path, observation_end: dt.date,
                                quality: DataQualityReport) -> pd.DataFrame:
    """Read subscriptions and convert them to monthly durations, counting dropped rows."""
    subs = load_subscriptions(path, quality=quality)
    late = subs["start_date"] > pd.Timestamp(observation_end)
    first = f"row {int(subs.index[late.to_numpy()][0])}" if late.any() else None
    quality.exclude("subscriptions", "starts after observation end", int(late.sum()), first)
    return subscription_durations(subs[~late], observation_end)


@dataclass
class SubscriptionFit:
    """sBG fit on subscriptions: model, observed and projected survival, key numbers."""

    model: object
    observed: pd.DataFrame
    projected: pd.DataFrame
    n: int
    n_active: int


def fit_subscriptions(durations: pd.DataFrame, horizon: int = 24, n_draws: int = 200,
                      level: float = 0.90, rng=0) -> SubscriptionFit:
    """Shifted-Beta-Geometric fit with Kaplan-Meier observed survival and projected intervals."""
    from statsmodels.duration.survfunc import SurvfuncRight
    from .models import ShiftedBetaGeometric
    sbg = ShiftedBetaGeometric().fit(durations["duration"], durations["censored"])
    km = SurvfuncRight(durations["duration"].to_numpy(float),
                       (~durations["censored"]).to_numpy().astype(int))
    months = np.arange(0, int(max(horizon, durations["duration"].max())) + 1)
    idx = np.searchsorted(km.surv_times, months[1:], side="right") - 1
    obs = np.where(idx >= 0, km.surv_prob[np.clip(idx, 0, None)], 1.0)
    observed = pd.DataFrame({"month": months, "survival": np.append(1.0, obs)})
    observed = observed[observed["month"] <= durations["duration"].max()]
    draws = sbg.sample_params(n_draws, rng)
    curves = np.array([sbg.with_params(d).survival(months) for _, d in draws.iterrows()])
    q = np.quantile(curves, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
    projected = pd.DataFrame({"month": months, "survival": sbg.survival(months),
                              "ci_low": q[0], "ci_high": q[1],
                              "retention": np.append(np.nan, sbg.retention(months[1:]))})
    return SubscriptionFit(sbg, observed, projected, len(durations),
                           int(durations["censored"].sum()))


def headline(value: CLVResult, top10: float, fit: PurchaseFit, holdout: dict | None) -> list[dict]:
    """The report-index headline: total CLV with its interval, concentration, holdout check."""
    out = [{"label": f"Total CLV, next {value.horizon_months} months (discounted margin)",
            "value": value.total, "unit": "currency", "ci": list(value.total_ci), "ci_level": 0.9},
           {"label": "Share of CLV held by the top 10% of customers", "value": top10,
            "unit": "share", "ci": None}]
    if holdout:
        out.append({"label": f"Holdout repeat purchases predicted by "
                             f"{diagnostics.MODEL_LABELS.get(fit.name, fit.name)} "
                             f"(actual {holdout['actual_total']:,.0f})",
                    "value": holdout["predicted_total"], "unit": "purchases", "ci": None})
    return out


def results(summary: CustomerSummary, fit: PurchaseFit, final_model, spend, independence: dict,
            value: CLVResult, customers: pd.DataFrame, holdout: dict | None,
            subscriptions: SubscriptionFit | None = None, covariates: dict | None = None) -> dict:
    """The notebook's ``results.json`` content (see docs/clv.md for every key)."""
    from .segments import top_share
    m = fit.model
    top10 = top_share(customers["clv"], 0.1)
    out = {
        "n_customers": int(len(customers)),
        "n_customers_calibration": int(len(summary.customers)),
        "n_transactions": int(summary.n_transactions),
        "excluded": summary.quality.excluded("transactions"),
        "time_unit": summary.time_unit, "time_unit_name": UNIT_NAMES[summary.time_unit],
        "first_purchase": summary.first_date, "observation_end": summary.observation_end,
        "calibration_end": summary.calibration_end if summary.has_holdout else None,
        "model": fit.name, "model_label": diagnostics.MODEL_LABELS.get(fit.name, fit.name),
        "params": m.params_.to_dict(), "params_se": m.se_.to_dict(),
        "params_ci": m.summary()[["ci_low", "ci_high"]].T.to_dict(orient="list"),
        "log_likelihood": m.log_likelihood_, "aic": m.aic_, "bic": m.bic_,
        "params_full_period": final_model.params_.to_dict(),
        "model_comparison": fit.comparison,
        "holdout": holdout,
        "gamma_gamma": spend.params_.to_dict(), "gamma_gamma_se": spend.se_.to_dict(),
        "spend_independence": independence,
        "margin": value.margin, "discount_rate_annual": value.annual_rate,
        "discount_rate_monthly": value.monthly_rate, "horizon_months": value.horizon_months,
        "clv_total": value.total, "clv_total_ci": list(value.total_ci),
        "clv_interval_level": value.level,
        "top_decile_share": top10, "top_20_share": top_share(customers["clv"], 0.2),
        "covariates": covariates,
        "headline": headline(value, top10, fit, holdout),
    }
    if subscriptions is not None:
        sm = subscriptions.model
        proj = subscriptions.projected.set_index("month")
        out["subscriptions"] = {
            "n": subscriptions.n, "n_active": subscriptions.n_active,
            "params": sm.params_.to_dict(), "params_se": sm.se_.to_dict(),
            "log_likelihood": sm.log_likelihood_,
            "survival_12m": float(proj.loc[12, "survival"]) if 12 in proj.index else None,
            "survival_12m_ci": ([float(proj.loc[12, "ci_low"]), float(proj.loc[12, "ci_high"])]
                                if 12 in proj.index else None),
            "retention_month_2": float(proj.loc[2, "retention"]) if 2 in proj.index else None,
            "expected_lifetime_months_discounted": sm.expected_lifetime(value.monthly_rate)}
    return out


def unit_label(summary: CustomerSummary) -> str:
    """Human label of the summary's time unit (e.g. 'weeks')."""
    return UNIT_NAMES[summary.time_unit]


__all__ = ["PurchaseFit", "SubscriptionFit", "covariate_columns", "covariate_test",
           "customer_table", "fit_purchase_model", "fit_spend_model", "fit_subscriptions",
           "headline", "load_subscription_durations", "refit", "subscription_durations",
           "summarise", "unit_label"]
