"""Compact sufficient statistics: aggregated in Spark, collected to the driver for fitting.

The purchase models' likelihoods depend on a customer only through
(frequency, recency, T), so customers with the same triple are counted once
(Fader, Hardie & Lee 2005): the table grows with the number of distinct
triples — bounded by the calendar, not by the number of customers. The
holdout count is kept as a fourth key, so holdout errors (MAE, RMSE) and the
conditional expectations are exact; ``sum_monetary`` per row makes total CLV
exact too, because a customer's expected spend is linear in his mean spend.

The Gamma-Gamma likelihood (Fader & Hardie 2013) depends on each repeat
customer's (x, m̄). Spend is grouped by frequency and bins of ln m̄ of width
``spend_resolution`` (default 0.01, i.e. 1% of spend); each bin carries its
count and the mean of ln m̄ within it, so the (px − 1) ln m̄ terms are exact and
only ln(γ + x m̄) is evaluated at the bin's geometric mean — an error below
``spend_resolution² / 96`` (1e-6) per customer in the log-likelihood (tested: the
estimates agree with the per-customer fit to 1e-4 relative or better). The frequency–spend correlation
check is computed exactly in Spark.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .summary import SparkCustomerSummary


@dataclass
class SufficientStatistics:
    """What the driver needs to fit the models and check them (kilobytes).

    Attributes
    ----------
    rft : one row per distinct (frequency, recency, T[, frequency_holdout]) with ``count``
        customers and ``sum_monetary`` (Σ of their monetary_value; 0 when frequency is 0).
    spend : repeat customers with positive spend, per (frequency, spend bin): ``count`` and
        ``monetary_value`` (geometric mean of the bin).
    independence : frequency–spend correlation among repeat customers, as
        :meth:`crmlib.clv.models.GammaGamma.independence_check` returns it.
    """

    rft: pd.DataFrame
    spend: pd.DataFrame
    independence: dict
    n_customers: int
    time_unit: str
    duration_holdout: float | None
    spend_resolution: float

    @property
    def has_holdout(self) -> bool:
        return self.duration_holdout is not None

    @property
    def purchase_data(self) -> pd.DataFrame:
        """(frequency, recency, T, count) for ``Model().fit(data, weights="count")``."""
        return self.rft.groupby(["frequency", "recency", "T"], as_index=False, sort=True)[
            "count"].sum()

    @property
    def nbytes(self) -> int:
        """Size of the collected tables in memory."""
        return int(self.rft.memory_usage(index=False).sum()
                   + self.spend.memory_usage(index=False).sum())


def sufficient_statistics(summary: SparkCustomerSummary,
                          spend_resolution: float = 1e-2) -> SufficientStatistics:
    """Aggregate a Spark summary into :class:`SufficientStatistics` (three small collects).

    Parameters
    ----------
    summary : result of :func:`crmlib.clv.spark.summarise_spark` (or its ``full_period()``).
    spend_resolution : width of the ln(spend) bins of the Gamma-Gamma data.
    """
    if not spend_resolution > 0:
        raise ValueError(f"spend_resolution must be > 0, got {spend_resolution!r}")
    c = summary.customers
    return SufficientStatistics(
        _rft(c, summary.has_holdout), _spend(c, spend_resolution), _independence(c),
        int(summary.n_customers) if summary.n_customers >= 0 else int(c.count()),
        summary.time_unit, summary.holdout_length if summary.has_holdout else None,
        float(spend_resolution))


def _rft(c, holdout: bool) -> pd.DataFrame:
    from pyspark.sql import functions as F

    keys = ["frequency", "recency", "T", "frequency_spend"] + (
        ["frequency_holdout"] if holdout else [])
    m = F.when(F.col("frequency_spend") > 0, F.col("monetary_value")).otherwise(0.0)
    out = c.groupBy(*keys).agg(F.count(F.lit(1)).alias("count"),
                               F.sum(m).alias("sum_monetary")).toPandas()
    out["count"] = out["count"].astype("int64")
    for k in keys:
        out[k] = out[k].astype("int64" if k.startswith("frequency") else "float64")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def _spend(c, resolution: float) -> pd.DataFrame:
    from pyspark.sql import functions as F

    # $0 purchase days are out of the spend model: x is the count of days with a spend
    rep = c.filter((F.col("frequency_spend") > 0) & (F.col("monetary_value") > 0))
    lm = F.log(F.col("monetary_value"))
    out = rep.groupBy(F.col("frequency_spend").alias("frequency"),
                      F.floor(lm / resolution).alias("bin")) \
        .agg(F.count(F.lit(1)).alias("count"), F.avg(lm).alias("mean_log")).toPandas()
    out["monetary_value"] = np.exp(out.pop("mean_log").astype(float))
    out["frequency"] = out["frequency"].astype("int64")
    out["count"] = out["count"].astype("int64")
    return out.drop(columns="bin").sort_values(["frequency", "monetary_value"]) \
        .reset_index(drop=True)


def _independence(c) -> dict:
    """Pearson correlation of frequency and mean spend among repeat customers (exact)."""
    from pyspark.sql import functions as F

    rep = c.filter((F.col("frequency_spend") > 0) & (F.col("monetary_value") > 0))
    row = rep.agg(F.count(F.lit(1)), F.corr("frequency_spend", "monetary_value"),
                  F.stddev_pop("frequency_spend"), F.stddev_pop("monetary_value")).first()
    n = int(row[0])
    if n < 3 or not row[2] or not row[3] or row[1] is None:
        return {"corr": float("nan"), "p_value": float("nan"), "n": n, "method": "pearson"}
    r = max(-1.0, min(1.0, float(row[1])))
    # the test of scipy.stats.pearsonr: r is Beta(n/2 - 1, n/2 - 1) on [-1, 1] under H0
    dist = sps.beta(n / 2 - 1, n / 2 - 1, loc=-1, scale=2)
    p = 2 * float(dist.cdf(-abs(r))) if not math.isclose(abs(r), 1.0) else 0.0
    return {"corr": r, "p_value": min(p, 1.0), "n": n, "method": "pearson"}
