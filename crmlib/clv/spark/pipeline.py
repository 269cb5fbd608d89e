"""The CLV analysis on Spark in one call: what notebook 02 runs with ``engine="spark"``.

Summary (Spark) → sufficient statistics (collected, kilobytes) → model choice
on the calibration period and refit on the whole period (driver) → per-customer
scores (Spark, written as Parquet or a table) → the aggregate tables the report
shows (deciles, segments, the win-back list), computed in Spark. Only
aggregates and the first rows of the win-back list reach the driver.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...io import DataQualityReport
from .. import identification, segments
from ..core import PurchaseFit, SubscriptionFit, results_from_totals
from ..diagnostics import tracking
from ..inputs import engine_for  # noqa: F401 (re-exported)
from ..settings import SummaryOptions, Valuation, settings_from
from ..summary import UNIT_NAMES
from ..value import CLVResult, describe_total
from . import fit as FIT
from .ranks import order_statistics
from .scoring import score_customers, write_frame
from .sources import CLUSTER_SCHEMES, LOCAL_FILES, is_cluster_source  # noqa: F401 (re-exported)
from .stats import SufficientStatistics, sufficient_statistics
from .summary import SparkCustomerSummary, summarise_spark


def run_summary(source: Any, *, master: str | None = "local[*]", spark=None,
                time_unit: str = "W", observation_end=None, calibration_end=None,
                mapping: dict[str, str] | None = None, covariates: Sequence[str] = (),
                zero_amounts: str = "keep", duplicates: str = "keep",
                transaction_col: str | None = None,
                quality: DataQualityReport | None = None,
                fmt: str | None = None) -> SparkCustomerSummary:
    """Summarise a log with Spark (path, table name or DataFrame); see :func:`summarise_spark`.

    ``transaction_col`` names the column identifying transactions: identical rows are then
    one transaction and dropped, as with ``duplicates="drop"``.
    """
    if transaction_col:
        mapping = {**(mapping or {}), "order_id": transaction_col}
    return summarise_spark(source, master=master, spark=spark, time_unit=time_unit,
                           observation_end=observation_end, calibration_end=calibration_end,
                           mapping=mapping, covariates=covariates, zero_amounts=zero_amounts,
                           duplicates="drop" if transaction_col else duplicates,
                           quality=quality, fmt=fmt)


@dataclass
class SparkCLVResult:
    """Everything notebook 02 shows, from a Spark run; per-customer rows stay in Spark."""

    summary: SparkCustomerSummary
    full: SparkCustomerSummary
    stats: SufficientStatistics
    stats_full: SufficientStatistics
    fit: PurchaseFit
    final_model: Any
    spend: Any
    independence: dict
    holdout: dict | None
    value: CLVResult
    scored: Any
    output: str | None
    deciles: pd.DataFrame
    segment_table: pd.DataFrame
    slipping: pd.DataFrame
    n_slipping: int
    options: SummaryOptions = field(default_factory=SummaryOptions)
    valuation: Valuation = field(default_factory=Valuation)

    @property
    def top_decile_share(self) -> float:
        return float(self.deciles["share"].iloc[0])

    def sample(self, n: int = 100_000, seed: int = 0) -> pd.DataFrame:
        """A uniform random sample of about ``n`` scored customers (pandas), for charts."""
        total = max(int(self.full.n_customers), 1)
        frac = min(1.0, n / total)
        return self.scored.sample(fraction=frac, seed=seed).toPandas()

    def results(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """``results.json`` content, built as the pandas/DuckDB run builds it
        (:func:`crmlib.clv.core.results_from_totals`), plus where the per-customer table
        went (``customers_table``)."""
        quality = self.summary.quality
        out = results_from_totals(
            self.summary, self.fit, self.final_model, self.spend, self.independence,
            self.value, self.holdout, n_customers=int(self.full.n_customers),
            n_customers_calibration=int(self.summary.n_customers),
            top_decile_share=self.top_decile_share,
            top_20_share=float(self.deciles["share"].iloc[:2].sum()),
            subscriptions=subscriptions, covariates=None)
        out["excluded"] = quality.excluded("transactions")
        out["kept_and_noted"] = quality.noted("transactions")
        out["data_quality"] = quality.to_frame()
        out["engine"] = "spark"
        out["customers_table"] = self.output
        out["n_valuable_but_slipping"] = self.n_slipping
        out["sufficient_statistics_rows"] = int(len(self.stats.rft) + len(self.stats.spend))
        return out

    def tables(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """The aggregate tables (the per-customer table is :attr:`output`, not a CSV)."""
        out = {"model_comparison": self.fit.comparison,
               "model_parameters": self.fit.model.summary().reset_index(),
               "clv_deciles": self.deciles, "segments": self.segment_table,
               "valuable_but_slipping": self.slipping.reset_index(),
               "assumptions": self.value.assumptions(),
               "data_quality": self.summary.quality.to_frame()}
        if subscriptions is not None:
            out["subscription_projection"] = subscriptions.projected
        return out


def run_clv(source: Any, *, output: str | None = None, master: str | None = "local[*]",
            spark=None, options: SummaryOptions | None = None,
            valuation: Valuation | None = None, model: str = "auto",
            covariates: Sequence[str] = (), quality: DataQualityReport | None = None,
            fmt: str | None = None, slipping_rows: int = 1000, **loose) -> SparkCLVResult:
    """Run the CLV analysis on Spark and write the per-customer scores.

    Parameters
    ----------
    source : path (Parquet/CSV, local or cluster URI), table name or DataFrame.
    output : where the per-customer table goes: a path (Parquet) or a table name; None keeps
        it as a lazy Spark DataFrame (``result.scored``).
    master : Spark master for a new session (ignored when one is active).
    options, valuation : :class:`~crmlib.clv.settings.SummaryOptions` and
        :class:`~crmlib.clv.settings.Valuation`, passed on whole; or their fields as
        keywords (``time_unit="W", margin=0.3``), not both.
    model : ``"bgnbd"``, ``"mbgnbd"``, ``"pnbd"`` or ``"auto"`` (lowest holdout RMSE).
    covariates : columns carried per customer, as :func:`crmlib.clv.summary.summarise`.
    slipping_rows : rows of the valuable-but-slipping list brought to the driver.
    """
    options, valuation = settings_from(options, valuation, loose, "run_clv")
    options = options if options is not None else SummaryOptions()
    valuation = valuation if valuation is not None else Valuation()
    quality = quality if quality is not None else DataQualityReport()
    summary = run_summary(source, master=master, spark=spark, covariates=covariates,
                          quality=quality, fmt=fmt, **options.summary_kwargs())
    stats = sufficient_statistics(summary)
    fit = FIT.fit_purchase_model(stats, model)
    holdout = FIT.holdout_errors(fit.model, stats) if stats.has_holdout else None
    full = summary.full_period()
    stats_full = sufficient_statistics(full) if summary.has_holdout else stats
    final = FIT.refit(fit.name, stats_full) if summary.has_holdout else fit.model
    spend, independence = FIT.fit_spend_model(stats_full)
    v = valuation
    tv = FIT.total_value(final, spend, stats_full, **v.value_kwargs())
    value = CLVResult(pd.DataFrame(), tv["total"], tv["total_ci"], tv["draws_total"], v.margin,
                      v.discount_rate_annual, tv["monthly_rate"], v.horizon_months,
                      stats_full.time_unit, tv["level"], tv["n_draws_dropped"],
                      tv["interval_method"])
    scored = score_customers(full, final, spend, draw_keep=tv["draw_keep"],
                             boot_draws=tv["boot_draws"], **v.value_kwargs())
    if output is not None:
        write_frame(scored, output)
        scored = scored.sparkSession.read.parquet(output) if _is_path(output) \
            else scored.sparkSession.table(output)
    scored = scored.persist()
    n = int(full.n_customers)
    slipping, n_slip = valuable_but_slipping(scored, n, rows=slipping_rows)
    return SparkCLVResult(summary, full, stats, stats_full, fit, final, spend, independence,
                          holdout, value, scored, output, deciles(scored, n),
                          segment_table(scored, n), slipping, n_slip, options, valuation)


def _is_path(target: str) -> bool:
    return "/" in target or "\\" in target or target.endswith((".parquet", ".pq"))


def deciles(scored, n: int) -> pd.DataFrame:
    """CLV by decile, as :func:`crmlib.clv.segments.deciles` (aggregated in Spark)."""
    from pyspark.sql import functions as F

    out = scored.groupBy("clv_decile").agg(
        F.count(F.lit(1)).alias("customers"), F.sum("clv").alias("clv_total"),
        F.avg("clv").alias("clv_mean"), F.min("clv").alias("clv_min"),
        F.max("clv").alias("clv_max")).toPandas().rename(columns={"clv_decile": "decile"})
    out = out.sort_values("decile").reset_index(drop=True)
    total = out["clv_total"].sum()
    out["share"] = out["clv_total"] / total if total else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    return out


def segment_table(scored, n: int) -> pd.DataFrame:
    """Per RFM segment, as :func:`crmlib.clv.segments.segment_table` (aggregated in Spark)."""
    from pyspark.sql import functions as F

    out = scored.groupBy("segment").agg(
        F.count(F.lit(1)).alias("customers"), F.avg("p_alive").alias("p_alive_mean"),
        F.sum("clv").alias("clv_total"), F.avg("clv").alias("clv_mean"),
        F.avg("total_spend").alias("past_spend_mean")).toPandas()
    total = out["clv_total"].sum()
    out["customer_share"] = out["customers"] / n
    out["clv_share"] = out["clv_total"] / total if total else np.nan
    return out.sort_values("clv_total", ascending=False).reset_index(drop=True)


def valuable_but_slipping(scored, n: int, value_share: float = 0.2,
                          p_alive_below: float = 0.5, rows: int = 1000) -> tuple[pd.DataFrame, int]:
    """Top ``value_share`` by past spend with P(alive) below the threshold.

    The spend cut is pandas' linearly interpolated quantile, from two exact order statistics.
    Returns the first ``rows`` (most valuable first) and the number of such customers.
    """
    from pyspark.sql import functions as F

    h = (n - 1) * (1 - value_share)
    lo = int(np.floor(h))
    ranks = sorted({lo + 1, min(lo + 2, n)})
    vals = dict(zip(ranks, (v for v, _ in order_statistics(scored, "total_spend", ranks, n))))
    a, b = vals[lo + 1], vals[min(lo + 2, n)]
    cut = a + (h - lo) * (b - a)
    keep = scored.filter((F.col("total_spend") >= F.lit(cut))
                         & (F.col("p_alive") < F.lit(p_alive_below)))
    cols = ["customer_id", "frequency", "recency", "T", "total_spend", "p_alive", "clv",
            "segment"]
    first = keep.orderBy(F.col("total_spend").desc(), "customer_id").select(*cols) \
        .limit(int(rows)).toPandas().set_index("customer_id")
    return first, int(keep.count())


class SparkAnalysis:
    """Notebook 02's sections from a Spark run, with the attributes of
    :class:`crmlib.clv.pipeline.LocalAnalysis`.

    The whole pipeline runs when the object is made (:func:`run_clv`); per-customer scores
    are written to ``output`` and stay in Spark. Charts that need per-customer rows use a
    uniform random sample of ``sample_size`` customers (:attr:`customers`); totals, deciles,
    segments and the win-back list cover every customer. The channel covariate test is not
    run on Spark (:attr:`covariates` is None).
    """

    engine = "spark"
    covariates = None

    def __init__(self, source: Any, *, output: str, master: str | None = "local[*]",
                 quality: DataQualityReport | None = None, sample_size: int = 100_000,
                 spark=None, options: SummaryOptions | None = None,
                 valuation: Valuation | None = None, model: str = "auto"):
        self.source = source
        self.quality = quality if quality is not None else DataQualityReport()
        self.sample_size = int(sample_size)
        self.run = run_clv(source, output=output, master=master, spark=spark,
                           quality=self.quality, options=options, valuation=valuation,
                           model=model)
        self.options, self.valuation = self.run.options, self.run.valuation
        r = self.run
        self.summary, self.fit, self.holdout, self.full = r.summary, r.fit, r.holdout, r.full
        self.final_model, self.spend, self.independence = r.final_model, r.spend, r.independence
        self.value, self.deciles, self.segment_table = r.value, r.deciles, r.segment_table
        self.slipping, self.n_slipping, self.output = r.slipping, r.n_slipping, r.output

    @property
    def unit(self) -> str:
        return UNIT_NAMES[self.summary.time_unit]

    def describe(self) -> str:
        s = self.summary
        return (f"{s.n_customers:,} customers, {s.n_transactions:,} purchases kept; "
                f"first purchase {s.first_date}, calibration end {s.calibration_end}, "
                f"observation end {s.observation_end}; durations in {self.unit} (Spark).")

    def frequency_fit(self) -> pd.DataFrame:
        return FIT.frequency_fit(self.fit.model, self.run.stats)

    def tracking(self) -> pd.DataFrame:
        return tracking(self.fit.model, self.summary)

    def holdout_by_frequency(self) -> pd.DataFrame:
        return FIT.holdout_by_frequency(self.fit.model, self.run.stats)

    @property
    def T_max(self) -> float:
        return float(self.run.stats_full.rft["T"].max())

    @property
    def customers(self) -> pd.DataFrame:
        """A uniform random sample of about ``sample_size`` scored customers (for charts)."""
        if not hasattr(self, "_sample"):
            self._sample = self.run.sample(self.sample_size)
        return self._sample

    def describe_value(self, currency: str | None = None) -> str:
        v, n = self.value, int(self.full.n_customers)
        return (f"{describe_total(v, v.total / n, currency)} "
                f"Charts of per-customer values below use a random sample of "
                f"{len(self.customers):,} of {n:,} customers; every customer is in "
                f"{self.output}.")

    def identification_notes(self) -> list[str]:
        """Sentences on the limit the purchase model reached, weak identification and
        unstable mean spend (see :mod:`crmlib.clv.identification`)."""
        return identification.notes(self.final_model, self.spend, self.value)

    def concentration(self) -> dict:
        """Lorenz curve and Gini from the sample; top-10% and 20% shares from every customer."""
        clv = self.customers["clv"]
        return {"curve": segments.lorenz(clv), "top10": self.run.top_decile_share,
                "top20": float(self.deciles["share"].iloc[:2].sum()),
                "gini": segments.gini(clv)}

    def results(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """``results.json`` content (:meth:`SparkCLVResult.results`)."""
        return self.run.results(subscriptions)

    def tables(self, subscriptions: SubscriptionFit | None = None) -> dict:
        """The aggregate tables (the per-customer table is :attr:`output`, not a CSV)."""
        return self.run.tables(subscriptions)
