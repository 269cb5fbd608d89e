"""Inputs read straight from the client's database (SQLAlchemy), through the same contracts.

An input parameter may name a table or a query instead of a file::

    transactions: {database: ACME_DB_URL, table: sales.orders}
    kpis: {database: ACME_DB_URL, query: "SELECT month, store, kpi, value FROM kpi_monthly"}

``database`` is the name of an **environment variable** holding the SQLAlchemy URL
(``postgresql+psycopg://user:password@host/db``), so credentials never appear in the
configuration, ``run.json``, logs or reports: only the variable's name does. A query must
be a single ``SELECT`` (or ``WITH … SELECT``) and runs in a transaction that is rolled
back. Rows are numbered as in an export with a header row (the first record is row 2),
so error messages read like those of a file.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

import pandas as pd

from .errors import DataError

KEYS = {"database", "table", "query"}
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}")
_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


@dataclass(frozen=True)
class DatabaseSource:
    """A table or query of the database whose URL is in environment variable ``env``."""

    env: str
    table: str | None = None
    query: str | None = None

    def __str__(self) -> str:
        what = f"table {self.table}" if self.table else "query"
        return f"database ${self.env} {what}"

    def to_dict(self) -> dict[str, str | None]:
        """The configuration form (no credentials: only the variable's name)."""
        key = "table" if self.table else "query"
        return {"database": self.env, key: self.table or self.query}


def is_database(value: Any) -> TypeGuard[DatabaseSource | dict]:
    """True for a :class:`DatabaseSource` or its configuration form (a dict with ``database``)."""
    return isinstance(value, DatabaseSource) or (isinstance(value, dict) and "database" in value)


def parse(value: Any, where: str = "input") -> DatabaseSource:
    """Check the configuration form of a database input and return it as a source.

    Raises
    ------
    DataError
        Unknown keys, a ``database`` that is not a variable name (a URL written into the
        configuration is refused: it would carry credentials), neither or both of
        ``table`` and ``query``, a table name that is not ``[catalog.][schema.]name``, or a
        query that is not a single SELECT.
    """
    if isinstance(value, DatabaseSource):
        return value
    unknown = sorted(set(value) - KEYS)
    if unknown:
        raise DataError(f"{where}: unknown key '{unknown[0]}'; a database input has "
                        "'database' and one of 'table' or 'query'")
    env = value.get("database")
    if not isinstance(env, str) or not _ENV.fullmatch(env):
        raise DataError(f"{where}: 'database' must name an environment variable holding the "
                        "SQLAlchemy URL (e.g. ACME_DB_URL), never the URL itself")
    table, query = value.get("table"), value.get("query")
    if (table is None) == (query is None):
        raise DataError(f"{where}: give exactly one of 'table' or 'query'")
    if table is not None and not (isinstance(table, str) and _TABLE.fullmatch(table.strip())):
        raise DataError(f"{where}: 'table' must be a table name ([schema.]name), got {table!r}")
    if query is not None:
        if not isinstance(query, str) or not _SELECT.match(query) or ";" in query.strip()[:-1]:
            raise DataError(f"{where}: 'query' must be a single SELECT statement")
        query = query.strip().rstrip(";")
    return DatabaseSource(env, table.strip() if table else None, query)


def _url(source: DatabaseSource) -> str:
    url = os.environ.get(source.env, "").strip()
    if not url:
        raise DataError(f"environment variable {source.env} is not set; set it to the "
                        "database's SQLAlchemy URL", file=str(source))
    return url


def _scrub(text: str, url: str) -> str:
    """An error text without the URL, its password or user (drivers may echo them)."""
    from sqlalchemy.engine import make_url

    secrets = [url]
    try:
        parsed = make_url(url)
        secrets += [s for s in (parsed.password, parsed.username) if s]
    except Exception:   # an unparsable URL: remove it whole
        pass
    for s in sorted(map(str, secrets), key=len, reverse=True):
        text = text.replace(s, "***")
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:200]


def _statement(engine, source: DatabaseSource):
    from sqlalchemy import text

    if source.query:
        return text(source.query)
    quote = engine.dialect.identifier_preparer.quote
    return text("SELECT * FROM " + ".".join(quote(p) for p in str(source.table).split(".")))


def read_database(source: DatabaseSource | dict) -> pd.DataFrame:
    """Read a table or query into a DataFrame (types as the database gives them).

    Raises
    ------
    DataError
        The variable is unset, the driver is missing, the connection or the query fails
        (message without credentials), or the result has no rows.
    """
    source = parse(source)
    url = _url(source)
    try:
        import sqlalchemy as sa
    except ImportError as exc:   # pragma: no cover - a core dependency
        raise DataError("reading a database needs SQLAlchemy: pip install sqlalchemy "
                        "psycopg[binary]", file=str(source)) from exc
    try:
        engine = sa.create_engine(url)
    except Exception as exc:   # unknown dialect, missing driver, malformed URL
        raise DataError(f"cannot use the URL in {source.env}: {type(exc).__name__}: "
                        f"{_scrub(str(exc), url)}", file=str(source)) from None
    try:
        with engine.connect() as con:
            try:
                df = pd.read_sql(_statement(engine, source), con)
            finally:
                con.rollback()
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
        detail = _scrub(str(getattr(cause, "orig", None) or cause or exc), url)
        raise DataError(f"cannot read from the database: {detail}", file=str(source)) from None
    finally:
        engine.dispose()
    if df.empty:
        raise DataError("the table or query returned no rows", file=str(source))
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["file"] = str(source)
    return df
