"""The CLV notebook's inputs, read and checked without the models: which summary engine
reads the log, its optional covariate columns, and subscription durations.

``crm validate`` reads the inputs through this module and :mod:`crmlib.clv.summary`, so it
does not import the model code (scipy.stats and statsmodels: a second of its three).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import DataQualityReport, load_subscriptions
from ..io.contracts import TRANSACTIONS
from ..io.mapping import resolve
from ..io.readers import read_columns
from .spark.reader import is_spark_frame
from .spark.sources import is_cluster_source

COVARIATE_COLUMNS = ("channel", "segment")


def covariate_columns(path, mapping: dict | None = None) -> tuple[str, ...]:
    """Optional covariate columns (``channel``, ``segment``) present in the transactions file
    (or DataFrame)."""
    cols = list(path.columns) if isinstance(path, pd.DataFrame) else read_columns(path)
    names = resolve(cols, mapping, contract=TRANSACTIONS, file="transactions"
                    if isinstance(path, pd.DataFrame) else path, required=())
    return tuple(c for c in COVARIATE_COLUMNS if c in names.values())


def engine_for(source: Any, engine: str = "auto") -> str:
    """The summary engine to use: ``engine`` itself, or for ``"auto"`` Spark for a Spark
    DataFrame, a cluster URI, a table name or a Parquet folder, pandas for Excel and
    DataFrames, DuckDB for a local CSV/Parquet file."""
    if engine not in ("auto", "pandas", "duckdb", "spark"):
        raise ValueError(f"engine must be 'auto', 'pandas', 'duckdb' or 'spark', got {engine!r}")
    if engine != "auto":
        return engine
    if is_spark_frame(source) or is_cluster_source(source):
        return "spark"
    if isinstance(source, (str, Path)) and Path(str(source)).is_dir():
        return "spark"            # a Parquet dataset folder (the file engines read one file)
    if isinstance(source, pd.DataFrame):
        return "pandas"
    return "pandas" if Path(str(source)).suffix.lower() in (".xlsx", ".xls") else "duckdb"


def subscription_durations(subs: pd.DataFrame, observation_end: dt.date) -> pd.DataFrame:
    """Monthly periods per subscriber and whether still active (right-censored).

    Periods are calendar months from the start date. A subscription that ended lasted
    the period in which it ended (ending on a monthly anniversary closes that month:
    start 15 Jan, end 15 Mar = 2 periods; end 20 Mar = 3). One still active at
    ``observation_end`` has completed the whole months up to it (Fader & Hardie 2007).
    """
    end = pd.Timestamp(observation_end)
    s, e = subs["start_date"], subs["end_date"]
    censored = (e.isna() | (e > end)).to_numpy()
    stop = e.where(~censored, end)
    months = ((stop.dt.year - s.dt.year) * 12 + (stop.dt.month - s.dt.month)).to_numpy()
    ended_dur = np.maximum(months + (stop.dt.day > s.dt.day).to_numpy(), 1)
    active_dur = np.maximum(months - (stop.dt.day < s.dt.day).to_numpy(), 0)
    return pd.DataFrame({"customer_id": subs["customer_id"].to_numpy(),
                         "duration": np.where(censored, active_dur, ended_dur).astype(int),
                         "censored": censored})


def load_subscription_durations(path, observation_end: dt.date, quality: DataQualityReport,
                                mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """Read subscriptions and convert them to monthly durations, counting dropped rows."""
    subs = load_subscriptions(path, mapping=mapping, quality=quality)
    late = subs["start_date"] > pd.Timestamp(observation_end)
    first = f"row {int(subs.index[late.to_numpy()][0])}" if late.any() else None
    quality.exclude("subscriptions", "starts after observation end", int(late.sum()), first)
    return subscription_durations(subs[~late], observation_end)
