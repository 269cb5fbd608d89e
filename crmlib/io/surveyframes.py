"""Survey-tool exports turned into the survey and assessment contracts' tables.

:mod:`crmlib.io.surveytools` reads an export and matches its questions to a catalogue;
this module merges that match with the configuration's mapping (the configuration wins)
and shapes the table the loader validates: wide for the satisfaction survey, long
(respondent × capability) for the assessment. Row numbers stay those of the export.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .contracts import SURVEY
from .errors import DataError
from .mapping import shown
from .surveytools import (
    RESPONDENT_KEYS,
    STATUS,
    Export,
    match_capabilities,
    match_items,
    norm,
    rating_numbers,
)

DEFAULT_CAPABILITIES = Path(__file__).resolve().parents[1] / "assessment" / "capabilities.csv"
GROUP_QUESTIONS = ("group", "department", "business unit", "team", "function",
                   "which department do you work in", "your department")
RATED = ("E_", "P_", "I_", "K", "overall_satisfaction")


def _merge(auto: Mapping[str, str], user: Mapping[str, str] | None) -> dict[str, str]:
    user = dict(user or {})
    taken = set(user.values())
    out = {std: col for std, col in auto.items() if std not in user and col not in taken}
    out.update(user)
    return out


def _frame(export: Export, columns: list[str], file: Path) -> pd.DataFrame:
    df = export.frame[columns].copy()
    df.attrs.update(first_row=export.first_row, file=str(file), tool=export.tool)
    return df


def survey_frame(export: Export, items: pd.DataFrame | None, mapping: Mapping[str, str] | None,
                 file: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """The export as a wide survey table and the mapping to validate it with.

    Without an item catalogue only the configuration's mapping and the tool's respondent
    key apply.
    """
    taken = set((mapping or {}).values())
    auto = match_items(export, items, file=file, skip=taken) if items is not None else {}
    rid = RESPONDENT_KEYS.get(export.tool)
    if rid is not None and rid in export.frame.columns:
        auto.setdefault("respondent_id", rid)
    merged = _merge(auto, mapping)
    for col in export.frame.columns:   # export tags already named as the contract's columns
        if col not in merged and col not in merged.values() and SURVEY.column(col):
            merged[col] = col
    for std, col in merged.items():
        if col not in export.frame.columns:
            raise DataError(f"mapped column '{col}' (for '{std}') not found; the {export.tool} "
                            f"export has columns {shown(export.frame.columns)}", file=file,
                            column=col)
    df = _frame(export, list(dict.fromkeys(merged.values())), file)
    for std, col in merged.items():
        if std.startswith(RATED):
            df[col] = rating_numbers(df[col])
    if export.tool == "qualtrics" and "Status" in export.frame.columns:
        df[STATUS] = export.frame["Status"].to_numpy()
    return df, merged


def _group_column(export: Export, mapping: Mapping[str, str]) -> str | None:
    if "group" in mapping:
        return mapping["group"]
    for col, text in export.questions.items():
        if norm(text) in GROUP_QUESTIONS:
            return col
    return None


def assessment_frame(export: Export, catalogue: pd.DataFrame, mapping: Mapping[str, str] | None,
                     file: Path) -> tuple[pd.DataFrame, None]:
    """The export (one question per capability and stage) as the long assessment table.

    ``mapping`` may name ``respondent_id`` and ``group``; each long row keeps the
    spreadsheet row of its respondent.
    """
    mapping = dict(mapping or {})
    rid = mapping.get("respondent_id", RESPONDENT_KEYS.get(export.tool))
    group = _group_column(export, mapping)
    for std, col in (("respondent_id", rid), ("group", group)):
        if col is None or col not in export.frame.columns:
            raise DataError(f"no column for '{std}' in the {export.tool} export; map it under "
                            "'columns' in the configuration", file=file, column=std)
    stages = match_capabilities(export, catalogue, file=file)
    if not stages:
        raise DataError(f"no question of the {export.tool} export names a capability of the "
                        "catalogue", file=file)
    rows = []
    frame = export.frame.reset_index(drop=True)
    for cap in dict.fromkeys(c for c, _ in stages):
        part = pd.DataFrame({"respondent_id": frame[rid], "group": frame[group],
                             "capability": cap})
        for role in ("current_stage", "target_stage"):
            if (cap, role) in stages:
                part[role] = rating_numbers(frame[stages[(cap, role)]])
        if export.tool == "qualtrics" and "Status" in frame.columns:
            part[STATUS] = frame["Status"]
        part["_row"] = range(export.first_row, export.first_row + len(frame))
        rows.append(part)
    long = pd.concat(rows, ignore_index=True).sort_values(["_row"], kind="stable")
    if "current_stage" not in long.columns:
        raise DataError("no question asks the current stage", file=file, column="current_stage")
    out = long.drop(columns="_row").reset_index(drop=True)
    out.attrs.update(source_rows=long["_row"].tolist(), file=str(file), tool=export.tool)
    return out, None
