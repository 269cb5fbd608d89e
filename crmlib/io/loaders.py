"""One loader per input: read the file (or take a DataFrame), enforce its contract.

Every loader accepts a path (CSV, Excel, Parquet) or a DataFrame, an optional
column mapping (contract name → client name) and a :class:`DataQualityReport`
that receives the row counts. The returned frame's index is the source row
number (``source_row``), so later checks can still name the row.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import yaml

from . import contracts as C
from .database import is_database, read_database
from .errors import DataError
from .quality import DataQualityReport
from .readers import read_table
from .surveyframes import DEFAULT_CAPABILITIES, assessment_frame, survey_frame
from .surveytools import Export, as_export, drop_non_responses

Source: TypeAlias = str | os.PathLike | pd.DataFrame


def _read_survey(source: Source) -> tuple[Any, Export | None]:
    """A file read once: as a survey-tool export when a tool wrote it, else as the plain
    table (frames and database inputs are taken as they are)."""
    if isinstance(source, pd.DataFrame) or is_database(source):
        return source, None
    df = read_table(source)
    df.attrs["file"] = str(source)
    return df, as_export(df, source)


def _load(source: Source, contract: C.Contract, mapping, quality, name=None) -> pd.DataFrame:
    if is_database(source):
        df = read_database(source)
        file = df.attrs["file"]
    elif isinstance(source, pd.DataFrame):
        df = source.copy(deep=False)  # validate builds a new frame; the caller's is not written
        file = name or source.attrs.get("file") or f"{contract.name} (DataFrame)"
    else:
        file = Path(source)
        df = read_table(file)
    return C.validate(df, contract, file=file, mapping=mapping, quality=quality)


def _wave_keys(df: pd.DataFrame, keys: list[str]) -> list[str]:
    """Row keys of a survey input; a ``wave`` column lets a respondent answer once per wave."""
    return keys + ["wave"] if "wave" in df.columns else keys


def load_transactions(source: Source, mapping: dict[str, str] | None = None,
                      quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Transactions: ``customer_id``, ``date``, ``amount`` (negative = return)."""
    return _load(source, C.TRANSACTIONS, mapping, quality)


def load_subscriptions(source: Source, mapping: dict[str, str] | None = None,
                       quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Subscriptions: ``customer_id``, ``start_date``, ``end_date`` (empty while active)."""
    df = _load(source, C.SUBSCRIPTIONS, mapping, quality)
    bad = df["end_date"].notna() & (df["end_date"] < df["start_date"])
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise DataError("end_date is before start_date", file=df.attrs.get("source"),
                        column="end_date", row=C.source_row(df, i),
                        value=str(df["end_date"].iloc[i].date()), more=int(bad.sum()) - 1)
    return df


def load_survey(source: Source, mapping: dict[str, str] | None = None,
                quality: DataQualityReport | None = None, items: Source | None = None
                ) -> pd.DataFrame:
    """Satisfaction survey (wide): ``respondent_id``, ``E_``/``P_``/``I_`` items, Kano pairs.

    A Qualtrics, SurveyMonkey or Forms export is read as the tool wrote it; its questions
    are matched to the item catalogue ``items`` (path or frame) unless ``mapping`` names
    the column (see :mod:`crmlib.io.surveytools`).
    """
    source, export = _read_survey(source)
    if export is not None:
        catalogue = None if items is None else load_items(items)
        source, mapping = survey_frame(export, catalogue, mapping, Path(source.attrs["file"]))
    df = _load(source, C.SURVEY, mapping, quality, name=getattr(source, "attrs", {}).get("file"))
    df = drop_non_responses(df, quality, C.SURVEY.name)
    C.require_unique(df, _wave_keys(df, ["respondent_id"]), df.attrs.get("source"))
    return df


def load_items(source: Source, mapping: dict[str, str] | None = None,
               quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Item catalogue: ``item``, ``dimension``, ``label``, optional ``reverse`` (0/1)."""
    df = _load(source, C.ITEMS, mapping, quality)
    C.require_unique(df, ["item"], df.attrs.get("source"))
    return df


def load_assessment(source: Source, mapping: dict[str, str] | None = None,
                    quality: DataQualityReport | None = None,
                    capabilities: Source | None = None) -> pd.DataFrame:
    """Assessment responses (long): respondent, group, capability, current/target stage 1–4.

    A survey-tool export with one question per capability (wide) is matched to the
    capability catalogue (``capabilities``, default the built-in one) and made long.
    """
    source, export = _read_survey(source)
    if export is not None:
        catalogue = load_capabilities(capabilities if capabilities is not None
                                      else DEFAULT_CAPABILITIES)
        source, mapping = assessment_frame(export, catalogue, mapping,
                                           Path(source.attrs["file"]))
    df = _load(source, C.ASSESSMENT, mapping, quality,
               name=getattr(source, "attrs", {}).get("file"))
    df = drop_non_responses(df, quality, C.ASSESSMENT.name)
    C.require_unique(df, _wave_keys(df, ["respondent_id", "capability"]), df.attrs.get("source"))
    return df


def load_capabilities(source: Source, mapping: dict[str, str] | None = None,
                      quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Capability catalogue: ``capability``, ``driver``, ``description``."""
    df = _load(source, C.CAPABILITIES, mapping, quality)
    C.require_unique(df, ["capability"], df.attrs.get("source"))
    return df


def load_kpi_panel(source: Source, mapping: dict[str, str] | None = None,
                   quality: DataQualityReport | None = None) -> pd.DataFrame:
    """KPI panel (long): ``date``, ``unit_id``, ``group`` pilot/control, ``kpi``, ``value``."""
    df = _load(source, C.KPI_PANEL, mapping, quality)
    C.require_unique(df, ["date", "unit_id", "kpi"], df.attrs.get("source"))
    return df


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping (phase plan, client config); errors name the file and line."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=path,
                        row=mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict):
        raise DataError("expected a mapping of keys to values at the top level", file=path)
    return data
