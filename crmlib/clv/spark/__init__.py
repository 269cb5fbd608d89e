"""Spark engine of the CLV pipeline: summary, sufficient statistics and scoring on a cluster.

Only the summarising and scoring steps depend on the engine: the per-customer
summary is computed with Spark's DataFrame API, the compact sufficient
statistics travel to the driver for fitting, and per-customer scores are
computed in Spark with vectorised pandas UDFs and written back as Parquet or a
table. pyspark is an optional extra (``pip install -e .[spark]``) imported
only when one of these functions is called, so ``import crmlib.clv`` works
without it. See docs/spark.md.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "get_session": "session", "spark_available": "session", "require_pyspark": "session",
    "require_java": "session",
    "summarise_spark": "summary", "SparkCustomerSummary": "summary",
    "sufficient_statistics": "stats", "SufficientStatistics": "stats",
    "score_customers": "scoring", "write_frame": "scoring",
    "run_summary": "pipeline", "run_clv": "pipeline", "SparkCLVResult": "pipeline",
    "engine_for": "pipeline", "is_cluster_source": "pipeline", "SparkAnalysis": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
