"""Reading a transaction log into Spark and typing it as the pandas and DuckDB engines do.

A source is a Spark DataFrame, a pandas DataFrame, a path (Parquet file or
dataset folder, CSV; local or a cluster URI such as ``s3://`` or ``dbfs:/``)
or a table name in the session's catalog. CSV is read as text and parsed with
the reading contract of :mod:`crmlib.io.parse`: a local file in another encoding
is transcoded to UTF-8 first, the date format and the number separators are
inferred from one value of each shape (collected to the driver) or taken from
the input's declaration, and each value is then checked against that one
format. Unparsable values raise :class:`~crmlib.io.DataError` naming file,
column, row (line of the file, header = 1) and value, with the message the
pandas reader gives.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...io import DataError
from ...io import parse as P
from ...io.contracts import TRANSACTIONS
from ...io.encoding import utf8_path
from ...io.mapping import resolve
from ...io.options import ReadOptions
from ...io.readers import delimiter

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
        reader = reader.option("header", True).option("inferSchema", False) \
            .option("escape", '"')
        if "://" not in text and not text.startswith("dbfs:") and Path(text).is_file():
            local = utf8_path(text)            # the same text as the pandas reader
            with open(local, encoding="utf-8", errors="ignore") as fh:
                reader = reader.option("sep", delimiter(fh.read(1 << 16)))
            return _load(reader, "csv", str(local)), text
    elif fmt != "parquet":
        raise DataError(f"format must be 'parquet', 'csv' or 'table', got {fmt!r}", file=text)
    return _load(reader, fmt, text), text


def _load(reader, fmt: str, text: str):
    try:
        return reader.format(fmt).load(text)
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


def _label(where: str | None, file: str) -> str:
    """The file to name in a message: the part file Spark read, unless it is the UTF-8 copy
    of the user's file (then the user's file)."""
    return file if not where or "crmlib-utf8" in where else where


def _text(c: str):
    from pyspark.sql import functions as F
    return F.nullif(F.trim(F.col(c).cast("string")), F.lit(""))


def _is_date_type(dtype) -> bool:
    from pyspark.sql import types as T
    return isinstance(dtype, (T.DateType, T.TimestampType, T.TimestampNTZType))


def formats(df, file: str, options: ReadOptions | None = None) -> tuple:
    """Date format and number separators of the text columns ``date`` and ``amount``,
    inferred by :mod:`crmlib.io.parse` from one value per shape (or as declared)."""
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    options = options or ReadOptions()
    kinds = {f.name: f.dataType for f in df.schema.fields}

    def reps(col: str, *keys) -> pd.Series:
        v = _text(col)
        rows = df.select(v.alias("v")).where(F.col("v").isNotNull()) \
            .groupBy(*[k(F.col("v")) for k in keys]).agg(F.min("v")).collect()
        return pd.Series(sorted(r[-1] for r in rows), dtype="string")

    shape = lambda v: F.regexp_replace(v, r"\d", "9")  # noqa: E731
    dfmt = nfmt = None
    try:
        if not _is_date_type(kinds["date"]):
            dfmt = P.infer_date_format(reps("date", lambda v: F.regexp_extract(v, r"^[^ T]+", 0),
                                            shape), file=file, column="date",
                                       declared=options.date_format_of("date"), strict=False)
        if not isinstance(kinds["amount"], T.NumericType):
            nfmt = P.infer_number_format(reps("amount", shape), file=file, column="amount",
                                         decimal=options.decimal, thousands=options.thousands,
                                         currency=options.currency, strict=False)
    except DataError as exc:          # name the value's first row in the file
        col = exc.column or "date"
        lit = "'" + str(exc.value).replace("\\", "\\\\").replace("'", "\\'") + "'"
        row, value, where = first_bad_row(df, f"raw_{col} = {lit}" if exc.value else "false",
                                          f"raw_{col}")
        raise DataError(exc.message, file=_label(where, file), column=col, row=row,
                        value=exc.value) from None
    return dfmt, nfmt


def _date_expr(t, fmt: str | None):
    from pyspark.sql import functions as F

    if fmt is None:
        return F.coalesce(t.try_cast("timestamp_ntz"), F.try_to_timestamp(t, F.lit("yyyyMMdd")))
    shape = next((k for k, (_, fmts) in P.DATE_SHAPES.items() if fmt in fmts), None)
    if shape is None or shape == "serial":
        return F.try_to_timestamp(t, F.lit(P.java_date_pattern(fmt))).cast("timestamp_ntz")
    rx = P.DATE_RE[shape].pattern.replace("(?P<", "(?<")
    norm = F.regexp_replace(F.regexp_replace(t, r"\s*(Z|[+-]\d{2}:?\d{2})$", ""),
                            r"(:\d{2})[.,]\d+$", "$1")
    norm = F.regexp_replace(norm, r"^(\S+?)T", "$1 ")
    day = P.java_date_pattern(fmt)
    parsed = F.coalesce(*[F.try_to_timestamp(norm, F.lit(day + p))
                          for p in ("", " H:mm", " H:mm:ss")])
    return F.when(t.rlike(rx), parsed.cast("timestamp_ntz"))


def _amount_expr(t, fmt, currency: str | None):
    from pyspark.sql import functions as F

    if fmt is None:
        fmt = P.NumberFormat()
    t = F.regexp_replace(t, "[\u00a0\u202f]", " ")
    if currency:
        for sym in sorted(P.CURRENCY_SYMBOLS.get(currency.upper(), ()) + (currency.upper(),),
                          key=len, reverse=True):
            t = F.replace(t, F.lit(sym), F.lit(""))
    t = F.trim(t)
    num = F.replace(t, F.lit(fmt.thousands), F.lit("")) if fmt.thousands else t
    num = F.replace(num, F.lit(","), F.lit(".")) if fmt.decimal == "," else num
    value = num.try_cast("double")
    return F.when(t.rlike(fmt.pattern()) & (F.abs(value) < F.lit(float("inf"))), value)


def typed(df, formats: tuple = (None, None), currency: str | None = None) -> Any:
    """Typed columns: customer_id (text), ts, amount (double), raw texts, other columns."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    kinds = {f.name: f.dataType for f in df.schema.fields}
    if _is_date_type(kinds["date"]):
        ts = F.col("date").cast("timestamp_ntz") if isinstance(kinds["date"], T.DateType) \
            else F.col("date")
    else:
        ts = _date_expr(_text("date"), formats[0])
    raw_amount = _text("amount")
    if isinstance(kinds["amount"], T.NumericType):
        a = F.col("amount").cast("double")
        amount = F.when(F.abs(a) < F.lit(float("inf")), a)
        raw_amount = F.when(~F.isnan(a), raw_amount)  # NaN is a missing value, as in pandas
    else:
        amount = _amount_expr(_text("amount"), formats[1], currency)
    others = [F.col(c) for c in df.columns if c not in STD and not c.startswith("_crm_")]
    extra = [F.col(c) for c in df.columns if c.startswith("_crm_")]
    return df.select(_text("customer_id").alias("customer_id"), ts.alias("ts"),
                     amount.alias("amount"), _text("date").alias("raw_date"),
                     raw_amount.alias("raw_amount"), *others, *extra)


CHECKS = {  # column: (condition on the typed frame, raw value shown)
    "customer_id": ("customer_id IS NULL", "customer_id"),
    "date": ("ts IS NULL", "raw_date"),
    "amount": ("amount IS NULL", "raw_amount"),
}


def validate(df, file: str, formats: tuple = (None, None),
             currency: str | None = None) -> tuple[int, Any, Any]:
    """Count rows and bad values in one pass; return (rows, first date, last date).

    Raises :class:`DataError` for the first unparsable or missing value, naming the row.
    """
    from pyspark.sql import functions as F

    t = typed(df, formats, currency)
    aggs = [F.count(F.lit(1))] + [F.count_if(F.expr(cond)) for cond, _ in CHECKS.values()]
    aggs += [F.min("ts"), F.max("ts")]
    n, *bad, first, last = t.agg(*aggs).first()
    if n == 0:
        raise DataError("the file has no data rows", file=file)
    for (column, (cond, raw)), k in zip(CHECKS.items(), bad):
        if k:
            row, value, where = first_bad_row(df, cond, raw, formats, currency)
            message = P.message_for(column, value, formats[column == "amount"], currency)
            raise DataError(message, file=_label(where, file), column=column, row=row,
                            value=value, more=int(k) - 1)
    return int(n), first.date(), last.date()


def first_bad_row(df, cond: str, raw: str, formats: tuple = (None, None),
                  currency: str | None = None) -> tuple[int | None, Any, str | None]:
    """Spreadsheet row (header = 1), raw value and file of the first row matching ``cond``.

    Rows are numbered from each partition's position (Spark keeps a file's splits in
    order); when one partition packs several files the row cannot be told and is None.
    """
    from pyspark.sql import functions as F

    pos = df.withColumn("_crm_pos", F.monotonically_increasing_id()) \
            .withColumn("_crm_file", F.input_file_name())
    hit = typed(pos, formats, currency).filter(F.expr(cond)) \
        .agg(F.min_by(F.struct(raw, "_crm_file"), "_crm_pos"), F.min("_crm_pos")).first()
    if hit[1] is None:
        return None, None, None
    (value, file), first = hit[0], int(hit[1])
    part, offset = first >> 33, first & _MASK
    parts = pos.groupBy(F.shiftright("_crm_pos", 33).alias("p")) \
        .agg(F.count(F.lit(1)).alias("n"), F.collect_set("_crm_file").alias("files")).collect()
    mine = [r for r in parts if r.p == part][0]
    if len(mine.files) > 1:
        return None, value, file or None
    before = sum(r.n for r in parts if r.p < part and list(r.files) == list(mine.files))
    return before + offset + 2, value, file or None
