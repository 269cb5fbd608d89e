"""Spark engine of the customer summary: the same definitions, written with the DataFrame API.

The conventions are those of :mod:`crmlib.clv.summary` (purchases counted per
calendar day; frequency, recency, T, monetary value of repeat days; exclusions
in the same order and counted by the same reasons) so that the three engines
give identical results on the same data (tested on shared fixtures).

The work mirrors the DuckDB engine's three aggregations — distinct rows,
customer × day, customer — after one shuffle by customer, so every later
grouping and join by customer runs without moving data again. The customer ×
day table is cached while it is read twice (customers, per-day counts); the
customer table stays cached for the statistics, scoring and the whole-period
summary (``unpersist()`` frees it). The
per-customer table stays in Spark (:class:`SparkCustomerSummary`); only the
exclusion counts and the per-day counts (one row per calendar day) reach the
driver.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...io import DataError, DataQualityReport
from ...io.options import options_for
from ..summary_core import (
    DUPLICATES,
    INPUT,
    NOTES,
    REASONS,
    UNIT_DAYS,
    CustomerSummary,
    SummaryWindow,
    as_date,
    check_unit,
    check_window,
)
from . import reader
from .scoring import write_frame
from .session import get_session

HOLDOUT_COLUMNS = ("frequency_holdout", "spend_holdout", "monetary_value_holdout",
                   "duration_holdout")
_FLAGS = ("dup", "after", "ret", "zero")


@dataclass
class SparkCustomerSummary(SummaryWindow):
    """Result of :func:`summarise_spark`; ``customers`` is a Spark DataFrame.

    Attributes
    ----------
    customers : one row per customer (``customer_id``, frequency, recency, T,
        monetary_value, total_spend, first_purchase, last_purchase, covariates and, with
        a holdout, frequency_holdout, spend_holdout, monetary_value_holdout,
        duration_holdout), as in :class:`crmlib.clv.summary.CustomerSummary`.
    daily : pandas, per calendar day, customers making their ``first`` purchase and
        ``repeat`` purchase days (small: one row per day).
    """

    customers: Any
    daily: pd.DataFrame
    time_unit: str
    observation_end: dt.date
    calibration_end: dt.date
    first_date: dt.date
    n_transactions: int
    n_customers: int
    covariates: tuple[str, ...] = ()
    quality: DataQualityReport = field(default_factory=DataQualityReport)
    cached: Any = field(default=None, repr=False)
    _daily_all: pd.DataFrame | None = field(default=None, repr=False)
    _n_all: int = field(default=0, repr=False)

    def to_pandas(self) -> CustomerSummary:
        """Collect to a :class:`CustomerSummary` (only for data that fit on the driver)."""
        pdf = self.customers.toPandas().set_index("customer_id").sort_index()
        pdf.index = pdf.index.astype(str).rename("customer_id")
        for c in ("first_purchase", "last_purchase"):
            pdf[c] = pd.to_datetime(pdf[c]).astype("datetime64[ns]")
        pdf["frequency"] = pdf["frequency"].astype("int64")
        pdf["frequency_spend"] = pdf["frequency_spend"].astype("int64")
        if self.has_holdout:
            pdf["frequency_holdout"] = pdf["frequency_holdout"].astype("int64")
        return CustomerSummary(pdf, self.daily, self.time_unit, self.observation_end,
                               self.calibration_end, self.first_date, self.n_transactions,
                               self.quality)

    def full_period(self) -> SparkCustomerSummary:
        """The summary over the whole observation period (no holdout), from the same cache.

        Equal to summarising again with ``calibration_end=None`` (customers first seen in the
        holdout come back), without reading the log a second time.
        """
        from pyspark.sql import functions as F

        if not self.has_holdout:
            return self
        quality = DataQualityReport()
        for r in self.quality.rows:
            late = r["reason"] == REASONS[4]
            quality.exclude(r["input"], r["reason"], 0 if late else r["rows"],
                            None if late else (r["example"] or None))
        for r in self.quality.notes:
            quality.note(r["input"], r["reason"], r["rows"], r["example"] or None)
        quality.read = dict(self.quality.read)
        cust = self.cached.filter(F.col("first_day").isNotNull())
        cols = cust.select("customer_id", "first_day", F.col("n_days").alias("n_cal"),
                           F.col("last_day").alias("last_purchase"),
                           F.col("spend_all").alias("total_spend"), "first_spend",
                           F.col("paid_all").alias("paid_cal"), *self.covariates)
        obs = self.observation_end
        customers = _finish(cols, self.time_unit, obs, obs, self.covariates)
        daily = self._daily_all
        if daily is None:
            raise ValueError("full_period needs a summary made by summarise_spark")
        n_tx = self.n_transactions + quality_late(self.quality)
        return SparkCustomerSummary(customers, daily, self.time_unit, obs, obs,
                                    daily.index.min().date(), n_tx, self._n_all, self.covariates,
                                    quality, self.cached)

    def write(self, target: str, mode: str = "overwrite") -> str:
        """Write ``customers`` as Parquet (a path) or a table (a name without ``/``)."""
        return write_frame(self.customers, target, mode)

    def unpersist(self) -> None:
        """Release the cached per-customer table."""
        if self.cached is not None:
            self.cached.unpersist()


def quality_late(quality: DataQualityReport) -> int:
    """Rows excluded because the customer was first seen after the calibration end."""
    return int(quality.excluded(INPUT).get(REASONS[4], 0))


def summarise_spark(source: Any, *, time_unit: str = "W", observation_end=None,
                    calibration_end=None, mapping: dict[str, str] | None = None,
                    covariates: Sequence[str] = (), zero_amounts: str = "keep",
                    duplicates: str = "keep", quality: DataQualityReport | None = None,
                    spark=None,
                    master: str | None = "local[*]", fmt: str | None = None,
                    partitions: int | None = None) -> SparkCustomerSummary:
    """Summarise a transaction log per customer with Spark.

    Parameters
    ----------
    source : Spark DataFrame, pandas DataFrame, path (Parquet file or folder, CSV; local or
        a cluster URI) or table name.
    time_unit, observation_end, calibration_end, mapping, covariates, zero_amounts,
    duplicates, quality : as :func:`crmlib.clv.summary.summarise`.
    spark : a Spark session; default the active one or a new one on ``master``.
    master : Spark master for a new session (``"local[*]"``, ``"local[2]"``, a cluster URL).
    fmt : ``"parquet"``, ``"csv"`` or ``"table"`` when the path does not tell.
    partitions : number of partitions of the shuffle by customer (default: the session's
        ``spark.sql.shuffle.partitions``).
    """
    from pyspark.sql import functions as F

    check_unit(time_unit)
    if zero_amounts not in ("exclude", "keep"):
        raise ValueError(f"zero_amounts must be 'exclude' or 'keep', got {zero_amounts!r}")
    if duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be 'keep' or 'drop', got {duplicates!r}")
    quality = quality if quality is not None else DataQualityReport()
    obs, cal = as_date(observation_end, "observation_end"), as_date(calibration_end,
                                                                        "calibration_end")
    spark = spark or get_session(master)
    covariates = tuple(covariates)
    raw, file = reader.read_source(spark, source, fmt)
    raw = reader.map_columns(raw, file, mapping, covariates)
    options = options_for(source if isinstance(source, (str, os.PathLike)) else None)
    formats = reader.formats(raw, file, options)
    n_read, first, last = reader.validate(raw, file, formats, options.currency)
    obs, cal = check_window(first, last, obs, cal, file)
    quality.add_read(INPUT, n_read)
    others = [c for c in raw.columns if c not in reader.STD]
    t = reader.typed(raw, formats, options.currency).drop("raw_date", "raw_amount")
    n_part = partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    t = t.repartition(n_part, "customer_id")
    keep_zero, drop_dups = zero_amounts == "keep", duplicates == "drop"
    days = _days(t, others, covariates, obs, keep_zero, drop_dups).persist()
    cust = _customers(days, covariates, cal).persist()
    try:
        n_tx, n_cust, n_all = _record_exclusions(cust, cal, quality, keep_zero, drop_dups)
        kept = cust.filter(F.col("first_day") <= F.lit(cal))
        if not n_cust:
            raise DataError("no purchases left after the exclusions (see the data-quality "
                            "table)", file=file, column="amount")
        daily, daily_all = _daily(days, cust, cal, obs)
    except Exception:
        cust.unpersist()
        raise
    finally:  # the customer × day table is read twice (customers, per-day counts), then freed
        days.unpersist()
    customers = _finish(kept, time_unit, obs, cal, covariates)
    out = SparkCustomerSummary(customers, daily, time_unit, obs, cal, daily.index.min().date(),
                               int(n_tx), int(n_cust), covariates, quality, cust)
    out._daily_all, out._n_all = daily_all, n_all
    return out


def _days(t, others: list[str], covariates, obs: dt.date, keep_zero: bool, drop_dups: bool):
    """Distinct rows → one row per customer and calendar day with exclusion counts.

    A distinct row seen ``n`` times counts ``n`` times unless identical rows are dropped.
    """
    from pyspark.sql import functions as F

    keys = ["customer_id", "ts", "amount", *others]
    distinct = t.groupBy(*keys).agg(F.count(F.lit(1)).alias("n")) \
        .withColumn("day", F.to_date("ts"))
    mult = F.lit(1) if drop_dups else F.col("n")
    after = F.col("day") > F.lit(obs)
    ret = ~after & (F.col("amount") < 0)
    zero = ~after & (F.col("amount") == 0)
    kept = ~after & ((F.col("amount") >= 0) if keep_zero else (F.col("amount") > 0))

    def count(cond):
        return F.sum(F.when(cond, mult).otherwise(0))

    covs = [F.min(F.when(kept, F.col(c))).alias(c) for c in covariates]
    return distinct.groupBy("customer_id", "day").agg(
        F.sum(F.when(kept, F.col("amount") * mult)).alias("spend"), count(kept).alias("kept"),
        F.sum(F.col("n") - 1).alias("dup"), count(after).alias("after"),
        count(ret).alias("ret"), count(zero).alias("zero"), *covs)


def _customers(days, covariates, cal: dt.date):
    """One row per customer: first kept day, calibration and holdout aggregates, exclusions."""
    from pyspark.sql import functions as F

    k = F.col("kept") > 0
    in_cal, in_hold = k & (F.col("day") <= F.lit(cal)), k & (F.col("day") > F.lit(cal))
    paid = F.col("spend") > 0
    kday = F.when(k, F.col("day"))
    examples = [F.min(F.when(F.col(f) > 0, F.col("day"))).alias(f"ex_{f}") for f in _FLAGS]
    return days.groupBy("customer_id").agg(
        F.min(kday).alias("first_day"),
        F.sum(F.when(in_cal, 1).otherwise(0)).alias("n_cal"),
        F.max(F.when(in_cal, F.col("day"))).alias("last_purchase"),
        F.sum(F.when(in_cal, F.col("spend"))).alias("total_spend"),
        F.min_by("spend", kday).alias("first_spend"),
        F.sum(F.when(in_cal & paid, 1).otherwise(0)).alias("paid_cal"),
        F.sum(F.when(in_hold, 1).otherwise(0)).alias("frequency_holdout"),
        F.coalesce(F.sum(F.when(in_hold, F.col("spend"))), F.lit(0.0)).alias("spend_holdout"),
        F.sum(F.when(in_hold & paid, 1).otherwise(0)).alias("paid_holdout"),
        F.sum(F.when(k, 1).otherwise(0)).alias("n_days"), F.max(kday).alias("last_day"),
        F.sum(F.when(k, F.col("spend"))).alias("spend_all"),
        F.sum(F.when(k & paid, 1).otherwise(0)).alias("paid_all"),
        F.sum("kept").alias("rows"), *[F.sum(f).alias(f) for f in _FLAGS], *examples,
        *[F.min_by(c, kday).alias(c) for c in covariates])


def _record_exclusions(cust, cal: dt.date, quality: DataQualityReport, keep_zero: bool,
                       drop_dups: bool) -> tuple[int, int, int]:
    """Count excluded rows by reason (the order of :data:`crmlib.clv.summary.REASONS`) and
    the kept rows worth noting (:data:`crmlib.clv.summary.NOTES`).

    Returns the transactions and customers kept, and the customers of the whole period
    (one pass over the customer table).
    """
    from pyspark.sql import functions as F

    late = F.col("first_day") > F.lit(cal)
    ok = F.col("first_day") <= F.lit(cal)
    sums = [F.sum(f) for f in _FLAGS] + [F.sum(F.when(late, F.col("rows")))]
    ex = [F.min(F.when(F.col(f"ex_{f}").isNotNull(), F.struct("customer_id", f"ex_{f}")))
          for f in _FLAGS] + [F.min(F.when(late, F.struct("customer_id", "first_day")))]
    row = cust.agg(*sums, *ex, F.sum(F.when(ok, F.col("rows"))), F.count_if(ok),
                   F.count_if(F.col("first_day").isNotNull())).first()
    for i, reason in enumerate(REASONS):
        n = int(row[i] or 0)
        example = row[len(REASONS) + i]
        text = f"customer {example[0]} on {example[1]}" if n and example is not None else None
        if i == 0 and not drop_dups:
            quality.note(INPUT, NOTES[0], n, text)
        elif i == 3 and keep_zero:
            quality.note(INPUT, NOTES[1], n, text)
        else:
            quality.exclude(INPUT, reason, n, text)
    return int(row[-3] or 0), int(row[-2] or 0), int(row[-1] or 0)


def _daily(days, cust, cal: dt.date, obs: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per calendar day, first purchases and repeat purchase days (collected: one row a day).

    Returns the table for the customers first seen by ``cal`` and the one for all
    customers (the whole-period summary), from one pass.
    """
    from pyspark.sql import functions as F

    d = days.filter(F.col("kept") > 0).select("customer_id", "day") \
        .join(cust.filter(F.col("first_day").isNotNull()).select("customer_id", "first_day"),
              "customer_id")
    early = F.col("first_day") <= F.lit(cal)
    first, repeat = F.col("day") == F.col("first_day"), F.col("day") > F.col("first_day")
    rows = d.groupBy("day").agg(
        F.count_if(first & early).alias("first"), F.count_if(repeat & early).alias("repeat"),
        F.count_if(first).alias("first_all"), F.count_if(repeat).alias("repeat_all")).toPandas()
    rows.index = pd.to_datetime(rows.pop("day")).astype("datetime64[ns]")

    def frame(cols: list[str]) -> pd.DataFrame:
        part = rows[cols].set_axis(["first", "repeat"], axis=1)
        part = part[part.sum(axis=1) > 0]
        index = pd.date_range(part.index.min(), pd.Timestamp(obs), freq="D")
        return part.reindex(index).fillna(0).astype("int64").rename_axis("date")

    return frame(["first", "repeat"]), frame(["first_all", "repeat_all"])


def _finish(kept, time_unit: str, obs: dt.date, cal: dt.date, covariates):
    """The summary columns, computed as :func:`crmlib.clv.summary_core.finish` does."""
    from pyspark.sql import functions as F

    unit = UNIT_DAYS[time_unit]
    freq = (F.col("n_cal") - 1).cast("long")
    paid = (F.col("paid_cal") - F.when(F.col("first_spend") > 0, 1).otherwise(0)).cast("long")
    cols = [F.col("customer_id"), freq.alias("frequency"),
            (F.datediff("last_purchase", "first_day").cast("double") / unit).alias("recency"),
            (F.datediff(F.lit(cal), "first_day").cast("double") / unit).alias("T"),
            F.when(paid > 0, (F.col("total_spend") - F.col("first_spend")) / paid)
            .otherwise(0.0).alias("monetary_value"), paid.alias("frequency_spend"),
            F.col("total_spend").cast("double").alias("total_spend"),
            F.col("first_day").alias("first_purchase"), F.col("last_purchase"),
            *[F.col(c) for c in covariates]]
    if cal < obs:
        fh = F.col("frequency_holdout").cast("long")
        cols += [fh.alias("frequency_holdout"), F.col("spend_holdout"),
                 F.when(F.col("paid_holdout") > 0, F.col("spend_holdout") / F.col("paid_holdout"))
                 .otherwise(0.0).alias("monetary_value_holdout"),
                 F.lit(float(np.float64((obs - cal).days) / unit)).alias("duration_holdout")]
    return kept.select(*cols)
