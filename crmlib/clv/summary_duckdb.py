"""DuckDB engine of :func:`crmlib.clv.summary.summarise`: files read in place, out of core.

The same rules as the pandas engine (and the transactions contract of
:mod:`crmlib.io.contracts`) written as SQL: ids are trimmed text, dates ISO or
``yyyymmdd``, amounts numbers (decimal comma accepted), exact duplicate rows
dropped and counted. The work happens in three aggregations — distinct rows,
customer × day, customer — inside an on-disk temporary database, so a
``memory_limit`` makes DuckDB spill to disk instead of failing.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from ..io import DataError
from .summary import INPUT, REASONS, CustomerSummary, _check_window, finish

_DATE_TYPES = ("DATE", "TIMESTAMP")
_NUM_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT",
              "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "REAL")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _connect(workdir: str, memory_limit: str | None, threads: int | None):
    con = duckdb.connect(str(Path(workdir) / "summary.duckdb"))
    con.execute(f"SET temp_directory = {_lit(workdir)}")
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _source_sql(con, source) -> tuple[str, str]:
    if isinstance(source, pd.DataFrame):
        con.register("input_frame", source.reset_index(drop=True).astype("string")
                     if not all(source.dtypes.map(pd.api.types.is_numeric_dtype)) else source)
        return "input_frame", f"{INPUT} (DataFrame)"
    path = Path(source)
    if not path.exists():
        raise DataError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return f"read_parquet({_lit(path)})", str(path)
    if suffix in (".csv", ".txt"):
        return (f"read_csv({_lit(path)}, header = true, all_varchar = true, "
                f"null_padding = true)"), str(path)
    raise DataError(f"the DuckDB engine reads CSV or Parquet, not {suffix!r}; use "
                    "engine='pandas' for Excel", file=path)


def _columns(con, src: str, file: str, mapping: dict | None) -> dict[str, tuple[str, str]]:
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except duckdb.Error as exc:
        raise DataError(f"cannot read the file: {exc}", file=file) from exc
    cols = {name.strip(): (name, typ) for name, typ, *_ in desc}
    for std, own in (mapping or {}).items():
        if own not in cols:
            raise DataError(f"mapped column '{own}' (for '{std}') not found; columns are "
                            f"{list(cols)}", file=file, column=own)
        cols[std] = cols.pop(own)
    for req in ("customer_id", "date", "amount"):
        if req not in cols:
            raise DataError(f"required column missing; the file has columns {list(cols)}",
                            file=file, column=req)
    return cols


def _typed_sql(src: str, cols: dict[str, tuple[str, str]]) -> str:
    cust, ctype = cols["customer_id"]
    date, dtype = cols["date"]
    amt, atype = cols["amount"]
    if dtype.startswith(_DATE_TYPES):
        ts = f"CAST({_q(date)} AS TIMESTAMP)"
    else:
        t = f"nullif(trim(CAST({_q(date)} AS VARCHAR)), '')"
        ts = f"coalesce(try_cast({t} AS TIMESTAMP), try_strptime({t}, '%Y%m%d'))"
    if atype.startswith(_NUM_TYPES):
        amount = f"CAST({_q(amt)} AS DOUBLE)"
    else:
        t = f"nullif(replace(trim(CAST({_q(amt)} AS VARCHAR)), chr(160), ''), '')"
        t = f"CASE WHEN regexp_full_match({t}, '-?\\d+,\\d+') THEN replace({t}, ',', '.') ELSE {t} END"
        amount = f"try_cast({t} AS DOUBLE)"
    others = [f"{_q(raw)} AS {_q(std)}" for std, (raw, _) in cols.items()
              if std not in ("customer_id", "date", "amount")]
    return (f"SELECT nullif(trim(CAST({_q(cust)} AS VARCHAR)), '') AS customer_id, "
            f"{ts} AS ts, {amount} AS amount, CAST({_q(date)} AS VARCHAR) AS raw_date, "
            f"CAST({_q(amt)} AS VARCHAR) AS raw_amount"
            + "".join(", " + o for o in others) + f" FROM {src}")


def _first_bad_row(con, typed: str, cond: str, column: str, file: str, n: int, value: str):
    con.execute("SET threads = 1")
    row = con.execute(f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {value} AS v, "
                      f"{cond} AS bad FROM ({typed})) WHERE bad ORDER BY rn LIMIT 1").fetchone()
    raise DataError({"customer_id": "a value is required",
                     "date": "not a date (use ISO yyyy-mm-dd)",
                     "amount": "not a number"}.get(column, "invalid value") if row[1] is not None
                    else "a value is required", file=file, column=column, row=int(row[0]) + 1,
                    value=row[1], more=n - 1)


def _validate(con, typed: str, cols, file: str) -> tuple[int, dt.date, dt.date]:
    checks = {
        "customer_id": ("customer_id IS NULL", "customer_id"),
        "date": ("ts IS NULL", "raw_date"),
        "amount": ("amount IS NULL", "raw_amount"),
    }
    sel = ", ".join(f"count(*) FILTER ({c})" for c, _ in checks.values())
    n, *bad, first, last = con.execute(
        f"SELECT count(*), {sel}, min(ts), max(ts) FROM ({typed})").fetchone()
    if n == 0:
        raise DataError("the file has no data rows", file=file)
    for (column, (cond, value)), k in zip(checks.items(), bad):
        if k:
            _first_bad_row(con, typed, cond, cols[column][0], file, k, value)
    return n, first.date(), last.date()


def summarise_duckdb(source, *, time_unit, obs, cal, mapping, covariates, keep_zero, quality,
                     memory_limit=None, threads=None) -> CustomerSummary:
    """DuckDB engine; arguments as :func:`crmlib.clv.summary.summarise`."""
    with tempfile.TemporaryDirectory(prefix="crmlib-duckdb-") as workdir:
        con = _connect(workdir, memory_limit, threads)
        try:
            return _run(con, source, time_unit, obs, cal, mapping, covariates, keep_zero,
                        quality)
        finally:
            con.close()


def _run(con, source, time_unit, obs, cal, mapping, covariates, keep_zero, quality):
    src, file = _source_sql(con, source)
    cols = _columns(con, src, file, mapping)
    for c in covariates:
        if c not in cols:
            raise DataError(f"covariate column not found; columns are {list(cols)}",
                            file=file, column=c)
    typed = _typed_sql(src, cols)
    n_read, first, last = _validate(con, typed, cols, file)
    obs, cal = _check_window(first, last, obs, cal, file)
    quality.add_read(INPUT, n_read)
    keys = ["customer_id", "ts", "amount"] + [_q(s) for s in cols
                                              if s not in ("customer_id", "date", "amount")]
    after = f"CAST(ts AS DATE) > DATE {_lit(obs)}"
    ret = f"NOT ({after}) AND amount < 0"
    zero = "false" if keep_zero else f"NOT ({after}) AND amount = 0"
    kept = f"NOT ({after}) AND amount {'>=' if keep_zero else '>'} 0"
    covs = "".join(f", min({_q(c)}) FILTER ({kept}) AS {_q(c)}" for c in covariates)
    con.execute(f"""
        CREATE TABLE days AS
        SELECT customer_id, CAST(ts AS DATE) AS day,
               sum(amount) FILTER ({kept}) AS spend, count(*) FILTER ({kept}) AS kept,
               sum(n - 1) AS dup, count(*) FILTER ({after}) AS after,
               count(*) FILTER ({ret}) AS ret, count(*) FILTER ({zero}) AS zero {covs}
        FROM (SELECT {', '.join(keys)}, count(*) AS n FROM ({typed}) GROUP BY ALL)
        GROUP BY ALL""")
    con.execute(f"""
        CREATE TABLE cust AS
        SELECT customer_id, min(day) FILTER (kept > 0) AS first_day,
               sum(kept) AS kept, sum(dup) AS dup, sum(after) AS after, sum(ret) AS ret,
               sum(zero) AS zero
        FROM days GROUP BY customer_id""")
    _record_exclusions(con, cal, quality)
    return _aggregate(con, file, cols, time_unit, obs, cal, covariates, quality)


def _aggregate(con, file, cols, time_unit, obs, cal, covariates, quality) -> CustomerSummary:
    c_cal = f"DATE {_lit(cal)}"
    covs = "".join(f", arg_min({_q(c)}, day) AS {_q(c)}" for c in covariates)
    agg = con.execute(f"""
        SELECT customer_id, count(*) FILTER (day <= {c_cal}) AS n_cal,
               min(day) AS first_purchase, max(day) FILTER (day <= {c_cal}) AS last_purchase,
               sum(spend) FILTER (day <= {c_cal}) AS total_spend,
               arg_min(spend, day) AS first_spend {covs},
               count(*) FILTER (day > {c_cal}) AS frequency_holdout,
               coalesce(sum(spend) FILTER (day > {c_cal}), 0) AS spend_holdout,
               sum(kept) AS rows
        FROM days WHERE kept > 0
        GROUP BY customer_id HAVING min(day) <= {c_cal}""").df()
    if agg.empty:
        raise DataError("no purchases left after the exclusions (see the data-quality table)",
                        file=file, column=cols["amount"][0])
    daily = con.execute(f"""
        SELECT d.day, count(*) FILTER (d.day = c.first_day) AS first,
               count(*) FILTER (d.day > c.first_day) AS repeat
        FROM days d JOIN cust c USING (customer_id)
        WHERE d.kept > 0 AND c.first_day <= {c_cal} GROUP BY d.day""").df()
    n_tx = int(agg.pop("rows").sum())
    return finish(agg.set_index("customer_id"), daily.set_index("day"), time_unit, obs, cal,
                  covariates, n_tx, quality)


def _record_exclusions(con, cal: dt.date, quality) -> None:
    late = f"first_day > DATE {_lit(cal)}"
    row = con.execute(f"""SELECT sum(dup), sum(after), sum(ret), sum(zero),
                          sum(kept) FILTER ({late}) FROM cust""").fetchone()
    columns = ("dup", "after", "ret", "zero", None)
    for reason, n, col in zip(REASONS, row, columns):
        n = int(n or 0)
        example = None
        if n and col:
            ex = con.execute(f"SELECT customer_id, day FROM days WHERE {col} > 0 "
                             "ORDER BY customer_id, day LIMIT 1").fetchone()
            example = f"customer {ex[0]} on {ex[1]}"
        elif n:
            ex = con.execute(f"SELECT customer_id, first_day FROM cust WHERE {late} "
                             "ORDER BY customer_id LIMIT 1").fetchone()
            example = f"customer {ex[0]} on {ex[1]}"
        quality.exclude(INPUT, reason, n, example)
