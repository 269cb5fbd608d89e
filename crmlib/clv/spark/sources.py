"""Which transaction sources only Spark reads: cluster URIs and catalog table names.

Kept free of heavy imports: the notebook's parameter rules use it before any analysis.
"""
from __future__ import annotations

from typing import Any

from ... import paths

CLUSTER_SCHEMES = ("s3://", "s3a://", "s3n://", "abfss://", "abfs://", "wasbs://", "gs://",
                   "hdfs://", "dbfs:/", "viewfs://")
LOCAL_FILES = (".csv", ".txt", ".parquet", ".pq", ".xlsx", ".xls")


def is_cluster_source(source: Any) -> bool:
    """True for a cluster URI (``s3://``, ``abfss://``, ``dbfs:/``, …) or a catalog table name.

    A table name is text without a path separator or a file suffix that is not an existing
    local path (``sales.transactions``, ``main.sales.transactions``).
    """
    if not isinstance(source, str):
        return False
    text = source.strip()
    if text.lower().startswith(CLUSTER_SCHEMES):
        return True
    if "/" in text or "\\" in text or text.lower().endswith(LOCAL_FILES):
        return False
    return not paths.resolve(text).exists()
