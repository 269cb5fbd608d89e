"""Per-customer scores in Spark: P(alive), expected purchases, CLV with interval, segment.

The fitted models travel to the executors once (a broadcast variable); each
executor scores batches of customers with a vectorised pandas function
(``mapInPandas``) that calls the very functions the pandas pipeline uses —
:func:`crmlib.clv.value.customer_value` (same parameter draws, so the same
intervals) and the models' ``p_alive`` — so the numbers are those of the pandas
pipeline, computed where the rows live. RFM segments and CLV deciles need a
few global order statistics, computed exactly in Spark
(:mod:`crmlib.clv.spark.ranks`) and broadcast with the models. The result is a
Spark DataFrame, written back as Parquet or a table: the per-customer rows
never have to fit on the driver.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..segments import segment_name
from ..value import customer_value
from .ranks import order_statistics

SCHEMA = ("customer_id string, frequency long, recency double, T double, "
          "monetary_value double, total_spend double, p_alive double, "
          "expected_purchases double, expected_spend double, clv double, clv_low double, "
          "clv_high double, R int, F int, M int, rfm string, segment string")


def rfm_cuts(customers, n: int) -> dict[str, list]:
    """Order statistics that turn values into the 1–5 scores of :func:`crmlib.clv.segments.rfm`.

    A score is 1 + the number of cut points passed: ``v > cut`` for F and M (ascending) and
    ``v < cut`` for R (time since the last purchase, smaller is better). Cut k is the value
    at rank floor(n k / 5), k = 1..4 (None when that rank is 0: always passed).
    """
    from pyspark.sql import functions as F

    since = customers.select((F.col("T") - F.col("recency")).alias("since"), "frequency",
                             "total_spend")
    ranks = [n * k // 5 for k in range(1, 5)]
    out = {}
    for name, col, desc in (("R", "since", True), ("F", "frequency", False),
                            ("M", "total_spend", False)):
        wanted = [r for r in ranks if r > 0]
        vals = iter(v for v, _ in order_statistics(since, col, wanted, n, descending=desc))
        out[name] = [next(vals) if r > 0 else None for r in ranks]
    return out


def _score(values: np.ndarray, cuts: list, descending: bool) -> np.ndarray:
    score = np.ones(len(values), dtype=np.int32)
    for c in cuts:
        score += True if c is None else (values < c if descending else values > c)
    return score


def _score_batches(payload) -> Any:
    """The function run by mapInPandas on each executor (closes over a broadcast)."""
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        p = payload.value if hasattr(payload, "value") else payload
        model, spend, opts, cuts = p["model"], p["spend"], p["value"], p["cuts"]
        for batch in batches:
            if batch.empty:
                continue
            c = batch.set_index("customer_id")
            value = customer_value(model, spend, c, **opts).customers
            out = c[["frequency", "recency", "T", "monetary_value", "total_spend"]].copy()
            out["p_alive"] = np.asarray(model.p_alive(c["frequency"], c["recency"], c["T"]),
                                        dtype=float)
            for col in ("expected_purchases", "expected_spend", "clv", "clv_low", "clv_high"):
                out[col] = value[col].to_numpy(dtype=float)
            since = (c["T"] - c["recency"]).to_numpy(dtype=float)
            out["R"] = _score(since, cuts["R"], True)
            out["F"] = _score(c["frequency"].to_numpy(dtype=float), cuts["F"], False)
            out["M"] = _score(c["total_spend"].to_numpy(dtype=float), cuts["M"], False)
            out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
            out["segment"] = [segment_name(r, f) for r, f in zip(out["R"], out["F"])]
            yield out.reset_index()
    return run


def score_customers(summary, model, spend_model, *, margin: float,
                    discount_rate_annual: float, horizon_months: int, n_draws: int = 200,
                    level: float = 0.90, rng: int = 0, deciles: bool = True,
                    draw_keep: Any = None, boot_draws: pd.DataFrame | None = None) -> Any:
    """Score every customer of a Spark summary; returns a (lazy) Spark DataFrame.

    Parameters
    ----------
    summary : :class:`~crmlib.clv.spark.summary.SparkCustomerSummary`, usually the
        whole-period one (``full_period()``) on which ``model`` was refitted.
    model, spend_model : fitted purchase model and Gamma-Gamma model.
    margin, discount_rate_annual, horizon_months, n_draws, level, rng : as
        :func:`crmlib.clv.value.customer_value` (``rng`` an integer seed, so every batch
        uses the same parameter draws).
    draw_keep : boolean per draw from :func:`crmlib.clv.spark.fit.total_value`: the draws
        finite for every customer. Every batch keeps exactly these, so a draw that is not
        finite for some customer is dropped everywhere, as in the pandas engine (where
        one pass over all customers decides). None: each batch decides for itself.
    boot_draws : the purchase parameters of the draws when they come from the parametric
        bootstrap (``total_value``'s ``boot_draws``), so every batch uses the same
        replicates; None: the Wald draws.
    deciles : add ``clv_decile`` (1 = top 10%, ties broken by customer id, as
        :func:`crmlib.clv.segments.decile_of`).

    Columns: customer_id, frequency, recency, T, monetary_value, total_spend, p_alive,
    expected_purchases (over the horizon), expected_spend, clv, clv_low, clv_high, R, F, M,
    rfm, segment[, clv_decile].
    """
    if rng is not None and not isinstance(rng, (int, np.integer)):
        raise ValueError("rng must be an integer seed: every batch must draw the same "
                         "parameters")
    c = summary.customers.select("customer_id", "frequency", "recency", "T",
                                 "monetary_value", "frequency_spend", "total_spend")
    n = int(summary.n_customers) if summary.n_customers >= 0 else int(c.count())
    payload = {"model": model, "spend": spend_model, "cuts": rfm_cuts(c, n),
               "value": dict(time_unit=summary.time_unit, margin=margin,
                             discount_rate_annual=discount_rate_annual,
                             horizon_months=horizon_months, n_draws=n_draws, level=level,
                             rng=rng, interval_method="wald", boot_draws=boot_draws,
                             draw_keep=None if draw_keep is None
                             else np.asarray(draw_keep, dtype=bool))}
    spark = c.sparkSession
    try:
        shared = spark.sparkContext.broadcast(payload)
    except Exception:  # Spark Connect has no SparkContext: the closure carries the payload
        shared = payload
    scored = c.mapInPandas(_score_batches(shared), SCHEMA)
    return add_deciles(scored, n) if deciles else scored


def add_deciles(scored, n: int) -> Any:
    """Add ``clv_decile``: floor((rank − 1) · 10 / n) + 1, rank by CLV desc then id."""
    from pyspark.sql import functions as F

    scored = scored.persist()
    ranks = [int(np.ceil(j * n / 10)) for j in range(1, 10)]
    wanted = sorted({r for r in ranks if 1 <= r <= n})
    picked = dict(zip(wanted, order_statistics(scored, "clv", wanted, n, descending=True,
                                               tiebreak="customer_id")))
    decile = F.lit(1)
    for r in ranks:
        if r < 1 or r > n:
            continue
        v, cid = picked[r]
        after = (F.col("clv") < F.lit(v)) | ((F.col("clv") == F.lit(v))
                                              & (F.col("customer_id") > F.lit(cid)))
        decile = decile + F.when(after, 1).otherwise(0)
    return scored.withColumn("clv_decile", decile.cast("int"))


def write_frame(df, target: str, mode: str = "overwrite") -> str:
    """Write a Spark DataFrame as Parquet (a path: contains ``/`` or ends in .parquet) or a table."""
    text = str(target)
    if "/" in text or "\\" in text or text.endswith((".parquet", ".pq")):
        df.write.mode(mode).parquet(text)
    else:
        df.write.mode(mode).saveAsTable(text)
    return text
