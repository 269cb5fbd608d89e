"""What the pandas/DuckDB and Spark engines of the CLV analysis share: the chosen
purchase fit, the subscription fit and the ``results.json`` content built from them.

Both :mod:`crmlib.clv.pipeline` and :mod:`crmlib.clv.spark.pipeline` build on this
module; it imports neither.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from . import diagnostics, identification
from .summary import UNIT_NAMES
from .value import CLVResult


@dataclass
class PurchaseFit:
    """The chosen purchase model and the comparison that chose it."""

    name: str
    model: Any
    comparison: pd.DataFrame
    fitted: dict


@dataclass
class SubscriptionFit:
    """sBG fit on subscriptions: model, observed and projected survival, key numbers."""

    model: Any
    observed: pd.DataFrame
    projected: pd.DataFrame
    n: int
    n_active: int


@runtime_checkable
class CLVAnalysis(Protocol):
    """Notebook 02's analysis as every engine offers it, one member per notebook section.

    Implemented by :class:`crmlib.clv.pipeline.LocalAnalysis` (pandas, DuckDB) and
    :class:`crmlib.clv.spark.pipeline.SparkAnalysis`; :func:`crmlib.clv.pipeline.analyse`
    returns one or the other. The type checker holds both to this protocol (members are
    read-only: an engine may compute them on first use).
    """

    @property
    def engine(self) -> str: ...

    @property
    def summary(self) -> Any: ...

    @property
    def quality(self) -> Any: ...

    @property
    def fit(self) -> PurchaseFit: ...

    @property
    def holdout(self) -> dict | None: ...

    @property
    def covariates(self) -> dict | None: ...

    @property
    def full(self) -> Any: ...

    @property
    def final_model(self) -> Any: ...

    @property
    def spend(self) -> Any: ...

    @property
    def independence(self) -> dict: ...

    @property
    def value(self) -> CLVResult: ...

    @property
    def deciles(self) -> pd.DataFrame | None: ...

    @property
    def segment_table(self) -> pd.DataFrame | None: ...

    @property
    def slipping(self) -> pd.DataFrame | None: ...

    @property
    def unit(self) -> str: ...

    @property
    def T_max(self) -> float: ...

    @property
    def customers(self) -> pd.DataFrame: ...

    @property
    def n_slipping(self) -> int | None: ...

    def describe(self) -> str: ...

    def frequency_fit(self) -> pd.DataFrame: ...

    def tracking(self) -> pd.DataFrame: ...

    def holdout_by_frequency(self) -> pd.DataFrame: ...

    def describe_value(self, currency: str | None = None) -> str: ...

    def identification_notes(self) -> list[str]: ...

    def concentration(self) -> dict: ...

    def results(self, subscriptions: SubscriptionFit | None = None) -> dict: ...

    def tables(self, subscriptions: SubscriptionFit | None = None) -> dict: ...


def headline(value: CLVResult, top10: float, fit: PurchaseFit, holdout: dict | None) -> list[dict]:
    """The report-index headline: total CLV with its interval, concentration, holdout check."""
    out = [{"label": f"Total CLV, next {value.horizon_months} months (discounted margin)",
            "value": value.total, "unit": "currency", "ci": list(value.total_ci), "ci_level": value.level},
           {"label": "Share of CLV held by the top 10% of customers", "value": top10,
            "unit": "share", "ci": None}]
    if holdout:
        out.append({"label": f"Holdout repeat purchases predicted by "
                             f"{diagnostics.MODEL_LABELS.get(fit.name, fit.name)} "
                             f"(actual {holdout['actual_total']:,.0f})",
                    "value": holdout["predicted_total"], "unit": "purchases", "ci": None})
    return out


def results_from_totals(summary, fit: PurchaseFit, final_model, spend, independence: dict,
                        value: CLVResult, holdout: dict | None, *, n_customers: int,
                        n_customers_calibration: int, top_decile_share: float,
                        top_20_share: float, subscriptions: SubscriptionFit | None = None,
                        covariates: dict | None = None,
                        observed_mean_spend: float | None = None) -> dict:
    """:func:`crmlib.clv.pipeline.results` from customer counts and value shares (for an
    engine whose per-customer rows stay where they were computed, such as Spark)."""
    m = fit.model
    top10 = top_decile_share
    out = {
        "n_customers": int(n_customers),
        "n_customers_calibration": int(n_customers_calibration),
        "n_transactions": int(summary.n_transactions),
        "excluded": summary.quality.excluded("transactions"),
        "kept_and_noted": summary.quality.noted("transactions"),
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
        "top_decile_share": top10, "top_20_share": top_20_share,
        "covariates": covariates,
        "headline": headline(value, top10, fit, holdout),
        "model_form": final_model.name,
        "model_limit": getattr(final_model, "limit", ""),
        "clv_upper_bound": bool(getattr(final_model, "upper_bound", False)),
        "clv_draws_dropped": int(value.n_draws_dropped),
        "clv_interval_method": str(value.interval_method),
        "identification_notes": identification.notes(final_model, spend, value,
                                                     observed_mean_spend),
    }
    if out["clv_upper_bound"]:
        out["headline"][0]["label"] += f" — upper bound: {identification.UPPER_BOUND}"
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
