"""DuckDB engine of :func:`crmlib.clv.summary.summarise`: files read in place, out of core.

The same rules as the pandas engine (and the transactions contract of
:mod:`crmlib.io.contracts`) written as SQL: ids are trimmed text, dates ISO or
``yyyymmdd``, amounts numbers (decimal comma accepted), exact duplicate rows
dropped and counted. Designed to cost little more than one ``GROUP BY
customer, day``:

1. ``cust0``: purchase rows (positive amounts, and $0 ones when kept) grouped by
   customer × day and, in the same pipelined query, by customer: the one big
   aggregation. The customer-days themselves are never stored (on a large log they
   would not fit in memory and be written to disk and read back); the rare days
   (several rows, or no spend) keep groups of their own (``rare_days``). ``other``: the
   rare remaining rows (returns, $0 amounts, unparsable values) grouped by customer × day.
2. ``per_day``: one cheap pass grouped by day counts the purchase rows per day (and
   those without an id, and the days of customers whose first purchase is after the
   calibration end, for tracking). Validation (missing or unparsable values, row count,
   date range) reads it and ``other``; the first bad row is looked up in the file only
   when there is one.
3. Exact duplicates can only sit inside one customer-day with several rows, so only
   those rows are re-read (semi-join) and grouped on every column; the surplus copies
   are subtracted per customer (a small join).

Ids are grouped as read; if any id carries surrounding blanks (rare) the summary is
recomputed with trimmed ids. Temporary tables live in DuckDB's buffer pool and
spill to a temporary folder beyond ``memory_limit``.
"""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import duckdb
import pandas as pd

from ..io import DataError, DataQualityReport
from ..io import parse as P
from ..io.contracts import TRANSACTIONS
from ..io.encoding import utf8_path
from ..io.mapping import resolve
from ..io.options import ReadOptions, options_for
from ..io.readers import delimiter
from .summary_core import INPUT, NOTES, REASONS, CustomerSummary, check_window, finish

_DATE_TYPES = ("DATE", "TIMESTAMP")
_NUM_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT",
              "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "REAL")


DEFAULT_MEMORY_LIMIT = "3GB"
"""DuckDB's memory limit unless the caller sets one: keeps the whole process under about
4 GB on a laptop; beyond it temporary tables and hash tables spill to disk."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: object) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _one(con, sql: str) -> tuple:
    """The one row of an aggregate query, its result fetched to the end: DuckDB runs a
    relation query (:meth:`duckdb.DuckDBPyConnection.sql`) only when no result of the
    connection is left unfinished."""
    return con.execute(sql).fetchall()[0]


def _connect(workdir: str, memory_limit: str | None, threads: int | None):
    con = duckdb.connect(":memory:")
    con.execute(f"SET temp_directory = {_lit(workdir)}")
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:   # inside Jupyter without ipywidgets the bar is off anyway
        pass
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = {_lit(memory_limit or DEFAULT_MEMORY_LIMIT)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _source_sql(con, source, workdir: str) -> tuple[str, str]:
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        words = [c for c, t in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        con.register("input_frame", frame.astype(dict.fromkeys(words, "string")))
        return "input_frame", f"{INPUT} (DataFrame)"
    path = Path(source)
    if not path.exists():
        raise DataError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return f"read_parquet({_lit(path)})", str(path)
    if suffix in (".csv", ".txt"):
        # the same text and delimiter as crmlib.io.read_table: other encodings are transcoded
        text = utf8_path(path, workdir)
        with open(text, encoding="utf-8", errors="ignore") as fh:
            delim = delimiter(fh.read(1 << 16))
        return (f"read_csv({_lit(text)}, header = true, all_varchar = true, "
                f"null_padding = true, delim = {_lit(delim)}, quote = '\"')"), str(path)
    raise DataError(f"the DuckDB engine reads CSV or Parquet, not {suffix!r}; use "
                    "engine='pandas' for Excel", file=path)


def _columns(con, src: str, file: str, mapping: dict | None) -> dict[str, tuple[str, str]]:
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except duckdb.Error as exc:
        raise DataError(f"cannot read the file: {exc}", file=file) from exc
    renames = resolve([name for name, *_ in desc], mapping, contract=TRANSACTIONS, file=file)
    return {renames[name]: (name, typ) for name, typ, *_ in desc}


def _text(col: str) -> str:
    return f"nullif(trim(CAST({_q(col)} AS VARCHAR)), '')"


_SHAPE = "translate({v}, '0123456789', '9999999999')"
"""A value's shape: its ASCII digits as 9 (as ``regexp_replace(v, '\\d', '9', 'g')``, in about
half the time)."""
_DATE_PART = "split_part(split_part({v}, ' ', 1), 'T', 1)"
"""The text before the first space or ``T`` (a time's separator), as
``regexp_extract(v, '^[^ T]+')``."""


def _representatives(con, src: str, expr: str, keys: list[str]) -> pd.Series:
    """One value per group of ``keys`` (shape, date part): all that inference looks at."""
    groups = ", ".join(k.format(v="v") for k in keys)
    rows = con.execute(f"SELECT min(v) FROM (SELECT {expr} AS v FROM {src}) "
                       f"WHERE v IS NOT NULL GROUP BY {groups}").fetchall()
    return pd.Series(sorted(r[0] for r in rows), dtype="string")


def _row_of(con, src: str, expr: str, value) -> int | None:
    con.execute("SET threads = 1")
    row = con.execute(f"SELECT rn FROM (SELECT row_number() OVER () AS rn, {expr} AS v "
                      f"FROM {src}) WHERE v = ? ORDER BY rn LIMIT 1", [value]).fetchone()
    return int(row[0]) + 1 if row else None


def _formats(con, src: str, cols, file: str, options: ReadOptions):
    """The date and number formats of the columns, inferred as :mod:`crmlib.io.parse` does."""
    (date, dtype), (amt, atype) = cols["date"], cols["amount"]
    dfmt = nfmt = None
    try:
        if not dtype.startswith(_DATE_TYPES):
            reps = _representatives(con, src, _text(date), [_DATE_PART, _SHAPE])
            dfmt = P.infer_date_format(reps, file=file, column=date,
                                       declared=options.date_format_of("date"), strict=False)
        if not atype.startswith(_NUM_TYPES):
            reps = _representatives(con, src, _text(amt), [_SHAPE])
            nfmt = P.infer_number_format(reps, file=file, column=amt, decimal=options.decimal,
                                         thousands=options.thousands, currency=options.currency,
                                         strict=False)
    except DataError as exc:   # name the value's first row in the file, not the sample's
        expr = _text(str(exc.column) if exc.column in (date, amt) else date)
        raise DataError(exc.message, file=file, column=exc.column,
                        row=_row_of(con, src, expr, exc.value) if exc.value else None,
                        value=exc.value) from None
    return dfmt, nfmt


def _date_sql(t: str, fmt: str) -> str:
    shape = next((k for k, (_, fmts) in P.DATE_SHAPES.items() if fmt in fmts), None)
    if shape is None or shape == "serial":        # a declared format: read as declared
        return f"try_strptime({t}, {_lit(fmt)})"
    clock = f"replace(regexp_extract({t}, '[ T]({P.CLOCK})', 1), ',', '.')"
    clock = (f"CASE WHEN {clock} = '' THEN INTERVAL 0 SECOND WHEN length({clock}) - "
             f"length(replace({clock}, ':', '')) = 1 THEN try_cast({clock} || ':00' AS INTERVAL)"
             f" ELSE try_cast({clock} AS INTERVAL) END")
    return (f"CASE WHEN regexp_full_match({t}, {_lit(P.DATE_RE[shape].pattern)}) THEN "
            f"try_strptime(regexp_extract({t}, '^([^ T]+)', 1), {_lit(fmt)}) + {clock} END")


def _number_sql(t: str, fmt: P.NumberFormat, currency: str | None) -> str:
    t = f"replace(replace({t}, chr(160), ' '), chr(8239), ' ')"
    if currency:
        for sym in sorted(P.CURRENCY_SYMBOLS.get(currency.upper(), ()) + (currency.upper(),),
                          key=len, reverse=True):
            t = f"replace({t}, {_lit(sym)}, '')"
    t = f"trim({t})"
    num = f"replace({t}, {_lit(fmt.thousands)}, '')" if fmt.thousands else t
    num = f"replace({num}, ',', '.')" if fmt.decimal == "," else num
    return (f"CASE WHEN regexp_full_match({t}, {_lit(fmt.pattern())}) AND NOT "
            f"isinf(try_cast({num} AS DOUBLE)) THEN try_cast({num} AS DOUBLE) END")


def _typed_sql(src: str, cols: dict[str, tuple[str, str]], trim_ids: bool, formats,
               currency: str | None) -> str:
    cust, ctype = cols["customer_id"]
    date, dtype = cols["date"]
    amt, atype = cols["amount"]
    dfmt, nfmt = formats
    ts = _q(date) if dtype.startswith(_DATE_TYPES) else _date_sql(_text(date), dfmt)
    raw_amount = f"CAST({_q(amt)} AS VARCHAR)"
    if atype.startswith(_NUM_TYPES):
        number = f"CAST({_q(amt)} AS DOUBLE)"
        amount = f"CASE WHEN isfinite({number}) THEN {number} END"
        # NaN is a missing value, as in pandas. Tested on the text: DuckDB folds isnan() of
        # a Parquet column to false when the file's statistics leave NaN out, as Arrow's do
        # (duckdb/duckdb#25521); raw_amount is read only to report the first bad row
        raw_amount = f"CASE WHEN lower({raw_amount}) NOT IN ('nan', '-nan') THEN {raw_amount} END"
    else:
        amount = _number_sql(_text(amt), nfmt, currency)
    cid = _q(cust) if ctype == "VARCHAR" else f"CAST({_q(cust)} AS VARCHAR)"
    cid = f"nullif(trim({cid}), '')" if trim_ids else f"nullif({cid}, '')"
    others = [f"{_q(raw)} AS {_q(std)}" for std, (raw, _) in cols.items()
              if std not in ("customer_id", "date", "amount")]
    return (f"SELECT {cid} AS customer_id, {ts} AS ts, CAST({ts} AS DATE) AS day, "
            f"{amount} AS amount, CAST({_q(date)} AS VARCHAR) AS raw_date, "
            f"{raw_amount} AS raw_amount"
            + "".join(", " + o for o in others) + f" FROM {src}")


def _first_bad_row(con, typed: str, cond: str, column: str, std: str, file: str, n: int,
                   value: str, formats, currency):
    con.execute("SET threads = 1")
    row = con.execute(f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, {value} AS v, "
                      f"{cond} AS bad FROM ({typed})) WHERE bad ORDER BY rn LIMIT 1").fetchone()
    message = P.message_for(std, row[1], formats[std == "amount"], currency)
    raise DataError(message, file=file, column=column,
                    row=int(row[0]) + 1, value=row[1], more=n - 1)


def _only_here(keep_zero: bool) -> str:
    """The rows of a row of ``other`` that ``cust0`` does not count too (kept $0 rows are
    in both)."""
    return "n - zero" if keep_zero else "n"


def _validate(con, typed: str, cols, file: str, formats, currency,
              keep_zero: bool) -> tuple[int, dt.date, dt.date]:
    """Missing or unparsable values, the row count and the date range, from the table of
    days and the rare rows (the purchase rows are not read again)."""
    own = _only_here(keep_zero)
    n, bad_c, bad_d, bad_a, first, last = _one(con, f"""
        SELECT sum(n), sum(no_id), sum(n) FILTER (day IS NULL), sum(bad), min(day), max(day)
        FROM (SELECT day, n, no_id, 0 AS bad FROM per_day
              UNION ALL SELECT day, {own}, CASE WHEN customer_id IS NULL THEN {own} END, bad
              FROM other)""")
    if not n:
        raise DataError("the file has no data rows", file=file)
    checks = (("customer_id", "customer_id IS NULL OR trim(customer_id) = ''", "customer_id",
               bad_c), ("date", "ts IS NULL", "raw_date", bad_d),
              ("amount", "amount IS NULL", "raw_amount", bad_a))
    for column, cond, value, k in checks:
        if k:
            _first_bad_row(con, typed, cond, cols[column][0], column, file, int(k), value,
                           formats, currency)
    return int(n), first, last


def summarise_duckdb(source, *, time_unit, obs, cal, mapping, covariates, keep_zero, drop_dups,
                     quality, memory_limit=None, threads=None) -> CustomerSummary:
    """DuckDB engine; arguments as :func:`crmlib.clv.summary.summarise`."""
    with tempfile.TemporaryDirectory(prefix="crmlib-duckdb-") as workdir:
        con = _connect(workdir, memory_limit, threads)
        try:
            src, file = _source_sql(con, source, workdir)
            cols = _columns(con, src, file, mapping)
            options = options_for(None if isinstance(source, pd.DataFrame) else source)
            formats = _formats(con, src, cols, file, options)
            for c in covariates:
                if c not in cols:
                    raise DataError(f"covariate column not found; columns are {list(cols)}",
                                    file=file, column=c)
            args = (con, src, file, cols, time_unit, obs, cal, covariates, keep_zero, drop_dups,
                    formats, options.currency)
            out = _run(*args, trim_ids=False)
            if out is None:   # some ids carry blanks: group on trimmed ids instead
                out = _run(*args, trim_ids=True)
            quality.merge(out.quality)
            out.quality = quality
            return out
        finally:
            con.close()


def _ends(obs: dt.date | None, cal: dt.date | None) -> tuple[str, str]:
    """The observation and calibration ends as SQL dates before the data's range is known:
    an unset end is later than every date (it becomes the last date, so nothing lies after
    it), an unset calibration end is the observation end (as in :func:`check_window`)."""
    never = "DATE '9999-12-31'"
    c_obs = f"DATE {_lit(obs)}" if obs else never
    return c_obs, f"DATE {_lit(cal)}" if cal else c_obs


def _converted(con, typed: str, cols) -> str:
    """The typed rows, read with their dates and amounts converted once, when the file holds
    them as text (CSV): every pass below would otherwise parse each value again. The rows'
    order is not kept: row numbers in errors come from ``typed`` itself."""
    (_, dtype), (_, atype) = cols["date"], cols["amount"]
    if dtype.startswith(_DATE_TYPES) and atype.startswith(_NUM_TYPES):
        return typed
    con.execute(f"CREATE TEMP TABLE typed_rows AS SELECT * EXCLUDE (raw_date, raw_amount) "
                f"FROM ({typed})")
    return "SELECT * FROM typed_rows"


def _run(con, src, file, cols, time_unit, obs, cal, covariates, keep_zero, drop_dups, formats,
         currency, trim_ids):
    for t in ("typed_rows", "cust_days", "cust0", "rare_days", "other", "per_day", "dups", "cust"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    typed = _typed_sql(src, cols, trim_ids, formats, currency)
    rows = _converted(con, typed, cols)
    kept = f"amount {'>=' if keep_zero else '>'} 0"
    ends = _ends(obs, cal)
    _customers(con, rows, kept, covariates, *ends)
    # $0 rows are counted here even when kept (they are then in cust0 as well): one count
    # fewer in the big aggregation (see _only_here)
    con.execute(f"""CREATE TEMP TABLE other AS
                    SELECT customer_id, day, count(*) AS n,
                           count(*) FILTER (amount < 0) AS ret,
                           count(*) FILTER (amount = 0) AS zero,
                           count(*) FILTER (amount IS NULL) AS bad
                    FROM ({rows}) WHERE NOT (amount > 0) OR amount IS NULL GROUP BY ALL""")
    if not trim_ids and _one(
            con, "SELECT count(*) FROM (SELECT customer_id FROM cust0 UNION ALL "
            "SELECT customer_id FROM other) WHERE customer_id <> trim(customer_id)")[0]:
        return None
    _per_day(con, rows, kept, *ends)
    n_read, first, last = _validate(con, typed, cols, file, formats, currency, keep_zero)
    obs, cal = check_window(first, last, obs, cal, file)
    quality = DataQualityReport()
    quality.add_read(INPUT, n_read)
    _duplicates(con, rows, cols, kept)
    con.execute("DROP TABLE IF EXISTS typed_rows")
    return _aggregate(con, file, cols, time_unit, obs, cal, covariates, keep_zero, drop_dups,
                      quality)


def _customers(con, typed: str, kept: str, covariates, c_obs: str, c_cal: str) -> None:
    """``cust0``: per customer, from its purchase days, and ``rare_days``: the few
    customer-days with several purchase rows or no spend.

    The purchase rows are grouped by customer × day and, in the same pipelined query, by
    customer and rare day (null for the others): one group per customer plus one per rare
    day, each with fixed-size aggregates (a list per customer is slow when DuckDB has to
    write the groups to disk). The rare days' own groups are then folded into their
    customer's (a small aggregation)."""
    in_cal, in_obs = f"day <= {c_cal}", f"day <= {c_obs}"
    in_hold = f"day > {c_cal} AND {in_obs}"
    covs = "".join(f", min({_q(c)}) AS {_q(c)}" for c in covariates)
    ccovs = "".join(f", arg_min({_q(c)}, day) FILTER ({in_obs}) AS {_q(c)}" for c in covariates)
    fcovs = "".join(f", arg_min({_q(c)}, first_purchase) AS {_q(c)}" for c in covariates)
    con.execute(f"""
        CREATE TEMP TABLE cust_days AS
        SELECT customer_id, CASE WHEN n > 1 OR spend = 0 THEN day END AS rare_day,
               count(*) FILTER ({in_cal}) AS n_cal,
               min(day) FILTER ({in_obs}) AS first_purchase,
               max(day) FILTER ({in_cal}) AS last_purchase,
               sum(spend) FILTER ({in_cal}) AS total_spend,
               arg_min(spend, day) FILTER ({in_obs}) AS first_spend {ccovs},
               count(*) FILTER ({in_hold}) AS frequency_holdout,
               coalesce(sum(spend) FILTER ({in_hold}), 0) AS spend_holdout,
               sum(n) FILTER ({in_obs}) AS rows
        FROM (SELECT customer_id, day, count(*) AS n, sum(amount) AS spend {covs}
              FROM ({typed}) WHERE {kept} GROUP BY ALL)
        GROUP BY ALL""")
    con.execute(f"""
        CREATE TEMP TABLE cust0 AS
        SELECT customer_id, sum(n_cal) AS n_cal, min(first_purchase) AS first_purchase,
               max(last_purchase) AS last_purchase, sum(total_spend) AS total_spend,
               arg_min(first_spend, first_purchase) AS first_spend {fcovs},
               sum(frequency_holdout) AS frequency_holdout, sum(spend_holdout) AS spend_holdout,
               sum(rows) AS rows
        FROM cust_days GROUP BY customer_id""")
    # a rare day after the observation end has no values here (rows, spend): only its key
    # is used, to look for identical rows
    con.execute(f"""CREATE TEMP TABLE rare_days AS
                    SELECT customer_id, rare_day AS day, rows AS n,
                           CASE WHEN rare_day <= {c_cal} THEN total_spend ELSE spend_holdout
                           END AS spend
                    FROM cust_days WHERE rare_day IS NOT NULL""")
    con.execute("DROP TABLE cust_days")


def _per_day(con, typed: str, kept: str, c_obs: str, c_cal: str) -> None:
    """Per day: purchase rows, those without an id, the first customer id after the
    observation end and, if any customer's first purchase is after the calibration end,
    those customers' purchase days."""
    late = "SELECT customer_id FROM cust0 WHERE first_purchase > " + c_cal
    some = _one(con, f"SELECT count(*) FROM ({late})")[0]
    late_days = ("count(DISTINCT t.customer_id) FILTER (l.customer_id IS NOT NULL "
                 f"AND t.day <= {c_obs})" if some else "0")
    join = f"LEFT JOIN ({late}) l ON t.customer_id = l.customer_id" if some else ""
    con.execute(f"""CREATE TEMP TABLE per_day AS
                    SELECT t.day, count(*) AS n, count(*) - count(t.customer_id) AS no_id,
                           min(t.customer_id) FILTER (t.day > {c_obs}) AS first_after,
                           {late_days} AS late
                    FROM ({typed}) t {join} WHERE {kept} GROUP BY t.day""")


def _duplicates(con, typed: str, cols, kept: str) -> None:
    """Exact duplicate rows, looked for only among customer-days with several rows."""
    keys = ", ".join(["t.customer_id", "t.ts", "t.day", "t.amount"] + [
        f"t.{_q(s)}" for s in cols if s not in ("customer_id", "date", "amount")])
    con.execute(f"""
        CREATE TEMP TABLE dups AS
        SELECT customer_id, day, sum(extra) AS dup, sum(extra) FILTER ({kept}) AS dup_kept,
               sum(extra * amount) FILTER ({kept}) AS dup_spend,
               sum(extra) FILTER (amount < 0) AS dup_ret,
               sum(extra) FILTER (amount = 0) AS dup_zero
        FROM (SELECT {keys}, count(*) - 1 AS extra
              FROM ({typed}) t SEMI JOIN (SELECT customer_id, day FROM rare_days
                                          UNION ALL
                                          SELECT customer_id, day FROM other WHERE n > 1) m
                ON t.customer_id = m.customer_id AND t.day = m.day
              GROUP BY ALL HAVING count(*) > 1)
        GROUP BY customer_id, day""")


def _aggregate(con, file, cols, time_unit, obs, cal, covariates, keep_zero, drop_dups,
               quality) -> CustomerSummary:
    c_cal, c_obs = f"DATE {_lit(cal)}", f"DATE {_lit(obs)}"
    in_cal, in_hold = f"day <= {c_cal}", f"day > {c_cal}"
    bcovs = "".join(f", b.{_q(c)}" for c in covariates)
    # one pass over the customer-days was made (cust0); duplicate copies and kept $0 rows
    # (few customer-days) are subtracted or added here
    con.execute(f"""
        CREATE TEMP TABLE cust AS
        WITH z AS (SELECT customer_id, sum(zero) AS zero_rows, min(day) AS zero_day FROM other
                   WHERE {str(keep_zero).upper()} AND zero > 0 AND day <= {c_obs}
                   GROUP BY customer_id),
        u AS (SELECT customer_id, count(*) FILTER ({in_cal}) AS unpaid_cal,
                     count(*) FILTER ({in_hold}) AS unpaid_holdout
              FROM rare_days WHERE day <= {c_obs} AND spend = 0 GROUP BY customer_id),
        dk AS (SELECT * FROM dups WHERE {str(drop_dups).upper()} AND dup_kept > 0
               AND day <= {c_obs}),
        corr AS (SELECT customer_id, sum(dup_spend) FILTER ({in_cal}) AS cs,
                        sum(dup_spend) FILTER ({in_hold}) AS hs, sum(dup_kept) AS dk
                 FROM dk GROUP BY customer_id)
        SELECT b.customer_id, b.n_cal, b.first_purchase, b.last_purchase,
               b.total_spend - coalesce(c.cs, 0) AS total_spend,
               b.first_spend - coalesce(fc.dup_spend, 0) AS first_spend {bcovs},
               b.frequency_holdout, b.spend_holdout - coalesce(c.hs, 0) AS spend_holdout,
               b.rows - coalesce(c.dk, 0) AS rows,
               b.n_cal - coalesce(u.unpaid_cal, 0) AS paid_cal,
               b.frequency_holdout - coalesce(u.unpaid_holdout, 0) AS paid_holdout,
               coalesce(z.zero_rows, 0) AS zero_rows, z.zero_day
        FROM cust0 b LEFT JOIN corr c USING (customer_id)
             LEFT JOIN dk fc ON fc.customer_id = b.customer_id AND fc.day = b.first_purchase
             LEFT JOIN z ON z.customer_id = b.customer_id
             LEFT JOIN u ON u.customer_id = b.customer_id
        WHERE b.first_purchase IS NOT NULL""")
    _record_exclusions(con, obs, cal, keep_zero, drop_dups, quality)
    # sorted here, not by pandas (twice as fast for millions of ids); a relation's df() skips
    # the copy a DB-API result makes (see _one)
    agg = con.sql(f"SELECT * EXCLUDE (zero_rows, zero_day) FROM cust "
                  f"WHERE first_purchase <= {c_cal} ORDER BY customer_id").df()
    if agg.empty:
        raise DataError("no purchases left after the exclusions (see the data-quality table)",
                        file=file, column=cols["amount"][0])
    daily = _daily(con, c_cal, c_obs)
    n_tx = int(agg.pop("rows").sum())
    return finish(agg.set_index("customer_id"), daily, time_unit, obs, cal, covariates, n_tx,
                  quality)


def _daily(con, c_cal: str, c_obs: str) -> pd.DataFrame:
    """Per day: first purchases and repeat purchase days of the calibration cohort (purchase
    rows, less the surplus rows of a customer's day, less the days of later customers)."""
    extra = "SELECT day, sum(n - 1) AS extra FROM rare_days GROUP BY day"
    days = con.execute(f"""SELECT p.day, p.n - coalesce(m.extra, 0) - p.late AS days
                           FROM per_day p LEFT JOIN ({extra}) m USING (day)
                           WHERE p.day <= {c_obs}""").df().set_index("day")["days"]
    firsts = con.execute(f"""SELECT first_purchase AS day, count(*) AS n FROM cust
                             WHERE first_purchase <= {c_cal}
                             GROUP BY ALL""").df().set_index("day")["n"]
    out = pd.DataFrame({"first": firsts}).reindex(days.index.union(firsts.index)).fillna(0)
    out["repeat"] = days.reindex(out.index, fill_value=0) - out["first"]
    return out


def _record_exclusions(con, obs: dt.date, cal: dt.date, keep_zero: bool, drop_dups: bool,
                       quality) -> None:
    """Count excluded rows by reason (in the order of :data:`REASONS`) with an example each,
    and the kept rows worth noting (:data:`NOTES`)."""
    c_obs, c_cal = f"DATE {_lit(obs)}", f"DATE {_lit(cal)}"
    ex = "min(struct_pack(c := customer_id, d := day)) FILTER"
    dup = _one(con, f"""SELECT sum(dup), {ex} (dup > 0),
                                 sum(dup) FILTER (day > {c_obs}),
                                 sum(dup_ret) FILTER (day <= {c_obs}),
                                 sum(dup_zero) FILTER (day <= {c_obs}) FROM dups""")
    oth = _one(con, f"""SELECT sum({_only_here(keep_zero)}) FILTER (day > {c_obs}), {ex} (day > {c_obs}),
                                 sum(ret) FILTER (day <= {c_obs}), {ex} (ret > 0 AND day <= {c_obs}),
                                 sum(zero) FILTER (day <= {c_obs}), {ex} (zero > 0 AND day <= {c_obs})
                          FROM other""")
    # the first customer after the end and its first day then: that day's first customer too
    late_buy = _one(con, "SELECT sum(n), min(struct_pack(c := first_after, d := day)) "
                         f"FROM per_day WHERE day > {c_obs}")
    zero_kept = _one(con, "SELECT sum(zero_rows), min(struct_pack(c := customer_id, "
                          "d := zero_day)) FILTER (zero_day IS NOT NULL) FROM cust")
    late_cust = _one(con, f"""SELECT sum(rows), min(struct_pack(c := customer_id,
                                                                  d := first_purchase))
                                FROM cust WHERE first_purchase > {c_cal}""")
    z = lambda v: int(v or 0)  # noqa: E731
    d = z if drop_dups else (lambda v: 0)  # duplicates counted once, under their own reason
    after_ex = min([e for e in (oth[1], late_buy[1]) if e], default=None,
                   key=lambda e: (e["c"], e["d"]))
    zeros = (z(zero_kept[0]) - d(dup[4]), zero_kept[1]) if keep_zero else (0, None)
    counts = [(d(dup[0]), dup[1]),
              (z(oth[0]) + z(late_buy[0]) - d(dup[2]), after_ex),
              (z(oth[2]) - d(dup[3]), oth[3]),
              (0, None) if keep_zero else (z(oth[4]) - d(dup[4]), oth[5]),
              (z(late_cust[0]), late_cust[1])]
    text = lambda n, e: f"customer {e['c']} on {e['d']}" if n and e else None  # noqa: E731
    for i, (reason, (n, example)) in enumerate(zip(REASONS, counts)):
        if (i == 0 and not drop_dups) or (i == 3 and keep_zero):
            continue
        quality.exclude(INPUT, reason, n, text(n, example))
    if not drop_dups:
        quality.note(INPUT, NOTES[0], z(dup[0]), text(z(dup[0]), dup[1]))
    if keep_zero:
        quality.note(INPUT, NOTES[1], zeros[0], text(*zeros))
