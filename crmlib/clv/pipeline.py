"""The CLV analysis in steps, one call per notebook cell.

Model choice and validation use the calibration period; the chosen model and
the Gamma-Gamma spend model are then refitted on the whole observation period
(calibration + holdout) to value customers from the observation end onwards.
Without a holdout there is a single fit.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from ..io import DataError, DataQualityReport
from ..io.database import is_database, read_database
from ..sections import optional
from . import diagnostics, identification, segments
from .core import CLVAnalysis, PurchaseFit, SubscriptionFit, headline, results_from_totals
from .inputs import (  # noqa: F401
    COVARIATE_COLUMNS,
    covariate_columns,
    engine_for,
    load_subscription_durations,
    subscription_durations,
)
from .models import MODELS, BGNBDCovariates, GammaGamma, ShiftedBetaGeometric, fit_identified
from .models.base import ConvergenceError
from .models.spend_fallback import ObservedMeanSpend
from .settings import SummaryOptions, Valuation, settings_from
from .spark.pipeline import SparkAnalysis
from .spark.sources import is_cluster_source
from .summary import UNIT_NAMES, CustomerSummary, summarise
from .value import CLVResult, customer_value, describe_total, spend_count


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
    x = spend_count(rep)
    rep = rep[(rep["monetary_value"] > 0) & (rep[x] > 0)]
    gg = fit_spend_or_mean(rep[[x, "monetary_value"]].rename(columns={x: "frequency"}))
    check = GammaGamma.independence_check(rep[x], rep["monetary_value"])
    return gg, check


def fit_spend_or_mean(rep: pd.DataFrame, weights: str | None = None):
    """Gamma-Gamma on repeat customers, or, when it cannot be fitted (no spend
    heterogeneity identified), the labelled observed mean spend
    (:class:`~crmlib.clv.models.spend_fallback.ObservedMeanSpend`)."""
    try:
        return GammaGamma().fit(rep, weights=weights)
    except ConvergenceError:
        if weights is not None:
            rep = rep.loc[rep.index.repeat(rep[weights].astype(int))]
        return ObservedMeanSpend().fit(rep)


def refit(model_name: str, customers: pd.DataFrame):
    """Refit the named purchase model on a (full-period) summary."""
    return fit_identified(model_name, customers[["frequency", "recency", "T"]])


def covariate_test(customers: pd.DataFrame, column: str) -> tuple[pd.DataFrame, BGNBDCovariates]:
    """BG/NBD with a static covariate on purchase and dropout, tested against the plain BG/NBD.

    Returns the coefficient table (estimates with 95% intervals) and the fitted
    :class:`~crmlib.clv.models.BGNBDCovariates` whose ``lr_test_`` holds the
    likelihood-ratio test (Fader & Hardie 2007 note on covariates in the BG/NBD).
    """
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


def fit_subscriptions(durations: pd.DataFrame, horizon: int = 24, n_draws: int = 200,
                      level: float = 0.90, rng=0) -> SubscriptionFit:
    """Shifted-Beta-Geometric fit with Kaplan-Meier observed survival and projected intervals."""
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


def results(summary: CustomerSummary, fit: PurchaseFit, final_model, spend, independence: dict,
            value: CLVResult, customers: pd.DataFrame, holdout: dict | None,
            subscriptions: SubscriptionFit | None = None, covariates: dict | None = None) -> dict:
    """The notebook's ``results.json`` content (see docs/clv.md for every key)."""
    return results_from_totals(
        summary, fit, final_model, spend, independence, value, holdout,
        n_customers=len(customers), n_customers_calibration=len(summary.customers),
        top_decile_share=segments.top_share(customers["clv"], 0.1),
        top_20_share=segments.top_share(customers["clv"], 0.2),
        subscriptions=subscriptions, covariates=covariates,
        observed_mean_spend=identification.observed_mean_spend(customers))


def _local_summary(source, *, engine: str, **options) -> CustomerSummary:
    """:func:`summarise` on the pandas or DuckDB engine (Spark runs in :func:`analyse`)."""
    summary = summarise(source, engine=engine, **options)
    if not isinstance(summary, CustomerSummary):
        raise ValueError(f"engine {engine!r} is not a local engine")
    return summary


class LocalAnalysis:
    """Notebook 02's sections on the pandas or DuckDB engine, each computed when first used.

    Every step calls the functions of this module, :mod:`~crmlib.clv.diagnostics`,
    :mod:`~crmlib.clv.segments` and :func:`~crmlib.clv.value.customer_value` on one row per
    customer. :class:`crmlib.clv.spark.pipeline.SparkAnalysis` offers the same attributes
    for the Spark engine; :func:`analyse` returns one or the other.
    """

    def __init__(self, source, *, engine: str, quality: DataQualityReport,
                 options: SummaryOptions | None = None, valuation: Valuation | None = None,
                 model: str = "auto"):
        self.engine, self.source, self.quality, self.model_choice = engine, source, quality, model
        self.options = options if options is not None else SummaryOptions()
        self.valuation = valuation if valuation is not None else Valuation()
        self.covariate_columns = covariate_columns(source, self.options.summary_kwargs()["mapping"])
        self.summary = self._summarise(calibration=True, quality=quality)

    def _summarise(self, *, calibration: bool, quality: DataQualityReport | None = None
                   ) -> CustomerSummary:
        return _local_summary(self.source, engine=self.engine, quality=quality,
                              covariates=self.covariate_columns,
                              **self.options.summary_kwargs(calibration=calibration))

    @property
    def unit(self) -> str:
        return unit_label(self.summary)

    def describe(self) -> str:
        """One line: customers, purchases kept, period and unit."""
        s = self.summary
        return (f"{len(s.customers):,} customers, {s.n_transactions:,} purchases kept; "
                f"first purchase {s.first_date}, calibration end {s.calibration_end}, "
                f"observation end {s.observation_end}; durations in {self.unit}.")

    @cached_property
    def fit(self) -> PurchaseFit:
        return fit_purchase_model(self.summary.customers, self.model_choice)

    def frequency_fit(self) -> pd.DataFrame:
        return diagnostics.frequency_fit(self.fit.model, self.summary.customers)

    @cached_property
    def holdout(self) -> dict | None:
        s = self.summary
        return diagnostics.holdout_errors(self.fit.model, s.customers) if s.has_holdout else None

    def tracking(self) -> pd.DataFrame:
        return diagnostics.tracking(self.fit.model, self.summary)

    def holdout_by_frequency(self) -> pd.DataFrame:
        return diagnostics.holdout_by_frequency(self.fit.model, self.summary.customers)

    @cached_property
    def covariates(self) -> dict | None:
        """The channel test (coefficients and likelihood-ratio test), or None without one
        or when it cannot be estimated (an optional section: :mod:`crmlib.sections`)."""
        if "channel" not in self.summary.customers:
            return None
        return optional("acquisition channel test (BG/NBD with covariates)", self._channel_test)

    def _channel_test(self) -> dict:
        table, model = covariate_test(self.summary.customers, "channel")
        return {"column": "channel", "lr_test": model.lr_test_, "coefficients": table}

    @cached_property
    def full(self) -> CustomerSummary:
        if not self.summary.has_holdout:
            return self.summary
        return self._summarise(calibration=False)

    @cached_property
    def final_model(self):
        return refit(self.fit.name, self.full.customers) if self.summary.has_holdout \
            else self.fit.model

    @property
    def T_max(self) -> float:
        return float(self.full.customers["T"].max())

    @cached_property
    def _spend(self):
        return fit_spend_model(self.full.customers)

    @property
    def spend(self) -> GammaGamma:
        return self._spend[0]

    @property
    def independence(self) -> dict:
        return self._spend[1]

    @cached_property
    def value(self) -> CLVResult:
        return customer_value(self.final_model, self.spend, self.full.customers,
                              time_unit=self.full.time_unit, **self.valuation.value_kwargs())

    @cached_property
    def customers(self) -> pd.DataFrame:
        """One row per customer (the whole table: charts use every customer)."""
        return customer_table(self.full, self.final_model, self.value,
                              segments.rfm(self.full.customers))

    def describe_value(self, currency: str | None = None) -> str:
        return describe_total(self.value, self.customers["clv"].mean(), currency)

    def identification_notes(self) -> list[str]:
        """Sentences on the limit the purchase model reached, weak identification and
        unstable mean spend (empty when there is nothing to say)."""
        return identification.notes(self.final_model, self.spend, self.value,
                                    identification.observed_mean_spend(self.full.customers))

    def concentration(self) -> dict:
        """Arguments of :func:`crmlib.plots.clv.lorenz`: curve, top-10% and 20% shares, Gini."""
        clv = self.customers["clv"]
        return {"curve": segments.lorenz(clv), "top10": segments.top_share(clv, 0.1),
                "top20": segments.top_share(clv, 0.2), "gini": segments.gini(clv)}

    # deciles, segments and the slipping list are optional sections (crmlib.sections):
    # None, with a note, when they cannot be computed
    @cached_property
    def deciles(self) -> pd.DataFrame | None:
        return optional("CLV deciles", segments.deciles,
                        self.customers.set_index("customer_id")["clv"])

    @cached_property
    def segment_table(self) -> pd.DataFrame | None:
        return optional("RFM segments", segments.segment_table, self.customers)

    @cached_property
    def slipping(self) -> pd.DataFrame | None:
        """The valuable-but-slipping customers, most valuable first."""
        return optional("valuable but slipping customers", segments.valuable_but_slipping,
                        self.customers.set_index("customer_id"))

    @property
    def n_slipping(self) -> int | None:
        return None if self.slipping is None else len(self.slipping)

    def results(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """``results.json`` content, with the data-quality ledger as it stands."""
        out = results(self.summary, self.fit, self.final_model, self.spend, self.independence,
                      self.value, self.customers, self.holdout, subscriptions, self.covariates)
        out["excluded"] = self.quality.excluded("transactions")
        out["kept_and_noted"] = self.quality.noted("transactions")
        out["data_quality"] = self.quality.to_frame()
        return out

    def tables(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """The tables written next to ``results.json`` (CSV and one Excel workbook)."""
        out = {"customers": self.customers, "model_comparison": self.fit.comparison,
               "model_parameters": self.fit.model.summary().reset_index(),
               "clv_deciles": self.deciles, "segments": self.segment_table,
               "valuable_but_slipping": None if self.slipping is None
               else self.slipping.reset_index(),
               "assumptions": self.value.assumptions(),
               "data_quality": self.quality.to_frame()}
        if subscriptions is not None:
            out["subscription_projection"] = subscriptions.projected
        return {k: v for k, v in out.items() if v is not None}  # optional sections missing


def analyse(source, *, engine: str = "auto", quality: DataQualityReport | None = None,
            options: SummaryOptions | None = None, valuation: Valuation | None = None,
            model: str = "auto", spark_master: str | None = "local[*]",
            spark_output: str | None = None, output_dir=None, **loose) -> CLVAnalysis:
    """Start notebook 02's analysis on the engine ``engine`` (or the one suited to ``source``).

    Returns a :class:`LocalAnalysis` (pandas, DuckDB) or, for Spark, a
    :class:`crmlib.clv.spark.pipeline.SparkAnalysis`, which runs the whole Spark pipeline
    at once and writes the per-customer scores to ``spark_output`` (a table name or URI;
    None = ``output_dir/customers.parquet``). Both implement :class:`CLVAnalysis`.
    ``options`` and ``valuation`` (:mod:`crmlib.clv.settings`) are passed on whole; instead
    of them, their fields may be given as keywords (``time_unit="D", margin=0.4``), not both.
    """
    options, valuation = settings_from(options, valuation, loose, "analyse")
    quality = quality if quality is not None else DataQualityReport()
    if is_database(source):
        if engine not in ("auto", "pandas"):
            raise DataError(f"a database input is read with engine 'pandas' or 'auto', not "
                            f"{engine!r}", file=str(source))
        source = read_database(source)
    chosen = engine_for(source if isinstance(source, pd.DataFrame) else str(source), engine)
    if chosen != "spark" and is_cluster_source(source):
        raise DataError("a cluster URI or a table name, which only the Spark engine reads: "
                        "use engine='spark' or 'auto'", file=str(source))
    if chosen != "spark":
        return LocalAnalysis(source, engine=chosen, quality=quality, options=options,
                             valuation=valuation, model=model)
    if spark_output is None:
        if output_dir is None:
            raise ValueError("the Spark engine needs spark_output or output_dir for the "
                             "per-customer scores")
        spark_output = str(Path(output_dir).resolve() / "customers.parquet")
    return SparkAnalysis(str(source), output=spark_output, master=spark_master,
                         quality=quality, options=options, valuation=valuation, model=model)


def unit_label(summary: CustomerSummary) -> str:
    """Human label of the summary's time unit (e.g. 'weeks')."""
    return UNIT_NAMES[summary.time_unit]


__all__ = ["LocalAnalysis", "PurchaseFit", "SubscriptionFit", "analyse", "covariate_columns",
           "covariate_test",
           "customer_table", "fit_purchase_model", "fit_spend_model", "fit_subscriptions",
           "headline", "load_subscription_durations", "refit", "results", "results_from_totals",
           "subscription_durations",
           "summarise", "unit_label"]
