"""Reading a transaction log into Spark and typing it as the pandas and DuckDB engines do.

A source is a Spark DataFrame, a pandas DataFrame, a path (Parquet file or
dataset folder, CSV; local or a cluster URI such as ``s3://`` or ``dbfs:/``)
or a table name in the session's catalog. CSV is read as text and parsed with
the transactions contract of :mod:`crmlib.io.contracts`: ids are trimmed text,
dates ISO or ``yyyymmdd``, amounts numbers (a decimal comma accepted).
Unparsable values raise :class:`~crmlib.io.DataError` naming file, column,
row (line of the file, header = 1) and value.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...io import DataError
from ...io.contracts import TRANSACTIONS
from ...io.mapping import resolve

PARQUET = (".parquet", ".pq")
CSV = (".csv", ".txt")
STD = ("customer_id", "date", "amount")
_MASK = (1 << 33) - 1  # monotonically_increasing_id: partition << 33 | row in partition


def is_spark_frame(obj: Any) -> bool:
    """True for a pyspark DataFrame (classic or Spark Connect), without importing pyspark."""
    mod = type(obj).__module__ or ""
    return mod.startswith("pyspark.sql") and type(obj).__name__ == "DataFrame"


def read_source(spark, source: Any, fmt: str | None = None) -> tuple[Any, str]:
    """Return ``(Spark DataFrame, label for messages)`` for any supported source.

    Parameters
    ----------
    spark : the Spark session.
    source : Spark DataFrame, pandas DataFrame, path or table name.
    fmt : ``"parquet"``, ``"csv"`` or ``"table"`` to override the guess from the suffix.
    """
    import pandas as pd

    if is_spark_frame(source):
        return source, "transactions (Spark DataFrame)"
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        return spark.createDataFrame(frame), "transactions (DataFrame)"
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"the Spark engine reads a Spark or pandas DataFrame, a path or a "
                        f"table name, not {type(source).__name__}")
    text = os.fspath(source)
    fmt = fmt or _guess_format(text)
    if fmt == "table":
        try:
            return spark.table(text), f"table {text}"
        except Exception as exc:
            raise DataError(f"neither a file nor a table in the Spark catalog ({exc})",
                            file=text) from None
    reader = spark.read
    if fmt == "csv":
        reader = reader.option("header", True).option("inferSchema", False)
    elif fmt != "parquet":
        raise DataError(f"format must be 'parquet', 'csv' or 'table', got {fmt!r}", file=text)
    try:
        return reader.format(fmt).load(text), text
    except Exception as exc:
        raise DataError(f"cannot read the {fmt} data: {exc}", file=text) from None


def _guess_format(text: str) -> str:
    has_scheme = "://" in text or text.startswith("dbfs:")
    local = Path(text)
    suffix = local.suffix.lower()
    if suffix in PARQUET:
        fmt = "parquet"
    elif suffix in CSV:
        fmt = "csv"
    elif has_scheme or local.is_dir():
        return "parquet"
    elif local.exists():
        raise DataError(f"the Spark engine reads CSV or Parquet, not {suffix!r}; use the "
                        "pandas engine for Excel", file=text)
    else:
        return "table"
    if not has_scheme and not local.exists():
        raise DataError("file not found", file=text)
    return fmt


def map_columns(df, file: str, mapping: dict[str, str] | None, covariates) -> Any:
    """Strip header names, rename mapped client columns to the contract's, check required ones."""
    renames = resolve(df.columns, mapping, contract=TRANSACTIONS, file=file, required=STD)
    df = df.toDF(*[renames[c] for c in df.columns])
    for c in covariates:
        if c not in df.columns:
            raise DataError(f"covariate column not found; columns are {list(df.columns)}",
                            file=file, column=c)
    return df


def typed(df) -> Any:
    """Typed columns: customer_id (text), ts, amount (double), raw texts, other columns."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kinds = {f.name: f.dataType for f in df.schema.fields}

    def text(c: str):
        return F.nullif(F.trim(F.col(c).cast("string")), F.lit(""))

    if isinstance(kinds["date"], (T.DateType, T.TimestampType, T.TimestampNTZType)):
        ts = F.col("date").cast("timestamp_ntz") if isinstance(kinds["date"], T.DateType) \
            else F.col("date")
    else:
        t = text("date")
        ts = F.coalesce(t.try_cast("timestamp_ntz"), F.try_to_timestamp(t, F.lit("yyyyMMdd")))
    if isinstance(kinds["amount"], T.NumericType):
        amount = F.col("amount").cast("double")
    else:
        t = F.nullif(F.regexp_replace(F.trim(F.col("amount").cast("string")), "\u00a0", ""),
                     F.lit(""))
        t = F.when(t.rlike(r"^-?\d+,\d+$"), F.regexp_replace(t, ",", ".")).otherwise(t)
        amount = t.try_cast("double")
    others = [F.col(c) for c in df.columns if c not in STD and not c.startswith("_crm_")]
    extra = [F.col(c) for c in df.columns if c.startswith("_crm_")]
    return df.select(text("customer_id").alias("customer_id"), ts.alias("ts"),
                     amount.alias("amount"), F.col("date").cast("string").alias("raw_date"),
                     F.col("amount").cast("string").alias("raw_amount"), *others, *extra)


CHECKS = {  # column: (condition on the typed frame, raw value shown, message)
    "customer_id": ("customer_id IS NULL", "customer_id", "a value is required"),
    "date": ("ts IS NULL", "raw_date", "not a date (use ISO yyyy-mm-dd)"),
    "amount": ("amount IS NULL", "raw_amount", "not a number"),
}


def validate(df, file: str) -> tuple[int, Any, Any]:
    """Count rows and bad values in one pass; return (rows, first date, last date).

    Raises :class:`DataError` for the first unparsable or missing value, naming the row.
    """
    from pyspark.sql import functions as F

    t = typed(df)
    aggs = [F.count(F.lit(1))] + [F.count_if(F.expr(cond)) for cond, _, _ in CHECKS.values()]
    aggs += [F.min("ts"), F.max("ts")]
    n, *bad, first, last = t.agg(*aggs).first()
    if n == 0:
        raise DataError("the file has no data rows", file=file)
    for (column, (cond, raw, message)), k in zip(CHECKS.items(), bad):
        if k:
            row, value, where = first_bad_row(df, cond, raw)
            if value is None:
                message = "a value is required"
            raise DataError(message, file=where or file, column=column, row=row, value=value,
                            more=int(k) - 1)
    return int(n), first.date(), last.date()


def first_bad_row(df, cond: str, raw: str) -> tuple[int | None, Any, str | None]:
    """Spreadsheet row (header = 1), raw value and file of the first row matching ``cond``.

    Rows are numbered from each partition's position (Spark keeps a file's splits in
    order); when one partition packs several files the row cannot be told and is None.
    """
    from pyspark.sql import functions as F

    pos = df.withColumn("_crm_pos", F.monotonically_increasing_id()) \
            .withColumn("_crm_file", F.input_file_name())
    hit = typed(pos).filter(F.expr(cond)) \
        .agg(F.min_by(F.struct(raw, "_crm_file"), "_crm_pos"), F.min("_crm_pos")).first()
    (value, file), first = hit[0], int(hit[1])
    part, offset = first >> 33, first & _MASK
    parts = pos.groupBy(F.shiftright("_crm_pos", 33).alias("p")) \
        .agg(F.count(F.lit(1)).alias("n"), F.collect_set("_crm_file").alias("files")).collect()
    mine = [r for r in parts if r.p == part][0]
    if len(mine.files) > 1:
        return None, value, file or None
    before = sum(r.n for r in parts if r.p < part and list(r.files) == list(mine.files))
    return before + offset + 2, value, file or None
