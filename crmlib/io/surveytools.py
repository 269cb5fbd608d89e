"""Survey-tool exports read as they come: Qualtrics, SurveyMonkey, Microsoft and Google Forms.

Survey tools do not write the one-header-row table of a data contract:

* **Qualtrics** (CSV "Data & Analysis → Export"): three header rows: the export tags
  (``ResponseId``, ``Q3_1`` …), the question text (``"How well do we … - Orders arrive
  when promised"``) and an ``{"ImportId": …}`` row; responses start on row 4.
* **SurveyMonkey** (CSV/XLSX "All responses, expanded"): two header rows: the question
  text, written once above the columns of a matrix question, and the matrix row label
  (or ``Response`` / ``Open-Ended Response``); responses start on row 3.
* **Microsoft Forms** (XLSX) and **Google Forms** (CSV/Sheets): one header row holding the
  question text; a Google grid question is ``"Question [Row]"``, a Microsoft Likert
  statement ``"Question.Statement"`` or the statement alone.

:func:`read_export` recognises the tool and returns one header row (the tool's own column
keys) with the question text of every column and the spreadsheet row of the first
response, so errors still name the row the consultant sees. :func:`match_items` matches
the question text to the catalogue: the satisfaction item list (``E_``/``P_``/``I_`` +
item, by the item's label and the question's wording) or the capability catalogue
(current/target stage per capability). A mapping in the configuration overrides any
match; a question that names an item but not whether it asks expectation, perception or
importance stops with a message naming the column, never a guess.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError
from .readers import read_table

# respondent key written by each tool (Google Forms writes none: its Timestamp stands in)
RESPONDENT_KEYS = {"qualtrics": "ResponseId", "surveymonkey": "Respondent ID",
                   "microsoft forms": "ID", "google forms": "Timestamp"}
# customer key a tool carries from the invitation list
CUSTOMER_KEYS = {"qualtrics": ("ExternalReference", "ExternalDataReference"),
                 "surveymonkey": ("Custom Data 1",)}
MS_FORMS = ("ID", "Start time", "Completion time")
# Qualtrics "Status" (Response Type) of rows that are no respondent's answers, by label and code
NOT_RESPONSES = {"survey preview", "survey test", "spam", "offline survey preview",
                 "1", "2", "8", "17"}
STATUS = "_status"
ROLE_WORDS = {
    "E": ("expect", "expectation", "should", "ideal", "excellent compan"),
    "P": ("perform", "perception", "experience", "actual", "how well", "how does", "rate us"),
    "I": ("important", "importance"),
}
STAGE_WORDS = {"current_stage": ("current", "today", "now", "as is", "where we are"),
               "target_stage": ("target", "future", "aim", "to be", "where we want")}
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)(?:\s*[-–:=(.)]\s*\D.*|\s+\D.*)?$")


@dataclass
class Export:
    """A survey-tool export flattened to one header row.

    Attributes
    ----------
    tool : ``"qualtrics"``, ``"surveymonkey"``, ``"microsoft forms"``, ``"google forms"``.
    frame : responses, one column per tool column key, values as text.
    questions : column key → question text (what :func:`match_items` reads).
    first_row : spreadsheet row of the first response.
    """

    tool: str
    frame: pd.DataFrame
    questions: dict[str, str] = field(default_factory=dict)
    first_row: int = 2


def norm(text: Any) -> str:
    """Lower case, words only: ``"Orders arrive, on time!"`` → ``"orders arrive on time"``."""
    return " ".join(re.findall(r"[^\W_]+", str(text).lower()))


def _is_import_row(row: pd.Series) -> bool:
    cells = [str(v).strip() for v in row if isinstance(v, str) and v.strip()]
    return bool(cells) and all(c.startswith("{") and "importid" in c.lower() for c in cells)


def _qualtrics(df: pd.DataFrame) -> Export:
    questions = {c: str(df.iloc[0][c]) if pd.notna(df.iloc[0][c]) else c for c in df.columns}
    for c in df.columns:   # the ImportId names the question when the text row is empty
        if not questions[c].strip():
            questions[c] = json.loads(df.iloc[1][c]).get("ImportId", c)
    frame = df.iloc[2:].reset_index(drop=True)
    return Export("qualtrics", frame, questions, first_row=4)


def _surveymonkey(df: pd.DataFrame) -> Export:
    keys, questions, current = [], {}, ""
    for c in df.columns:
        head = "" if c.startswith("Unnamed:") else c
        current = head or current
        sub = df.iloc[0][c]
        sub = "" if pd.isna(sub) else str(sub).strip()
        key = current if sub in ("", "Response", "Open-Ended Response") else f"{current} - {sub}"
        if key in questions:
            raise DataError("two columns of the export have the same question and row label",
                            column=key)
        keys.append(key)
        questions[key] = key
    frame = df.iloc[1:].reset_index(drop=True)
    frame.columns = keys
    return Export("surveymonkey", frame, questions, first_row=3)


def detect(df: pd.DataFrame) -> str | None:
    """The survey tool that wrote ``df`` (as read with its first row as header), or None."""
    cols = [str(c) for c in df.columns]
    if len(df) >= 2 and "ResponseId" in cols and _is_import_row(df.iloc[1]):
        return "qualtrics"
    if "Respondent ID" in cols and "Collector ID" in cols:
        return "surveymonkey"
    if all(k in cols for k in MS_FORMS):
        return "microsoft forms"
    if cols and cols[0] == "Timestamp":
        return "google forms"
    return None


def read_export(path: str | Path) -> Export | None:
    """Read ``path`` and flatten it when a survey tool wrote it; None for a plain table."""
    return as_export(read_table(path), path)


def as_export(df: pd.DataFrame, path: str | os.PathLike) -> Export | None:
    """Flatten ``df`` (``path`` as read by :func:`~crmlib.io.readers.read_table`) when a
    survey tool wrote it; None for a plain table."""
    tool = detect(df)
    if tool is None:
        return None
    try:
        if tool == "qualtrics":
            out = _qualtrics(df)
        elif tool == "surveymonkey":
            out = _surveymonkey(df)
        else:
            out = Export(tool, df, {c: c for c in df.columns})
    except DataError as exc:
        exc.file = path
        raise
    if out.frame.empty:
        raise DataError(f"the {tool} export has no responses", file=path)
    out.frame.attrs["first_row"] = out.first_row
    return out


def _label_index(catalogue: pd.DataFrame, key: str, text_cols: tuple[str, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for _, row in catalogue.reset_index().iterrows():
        for col in (key, *text_cols):
            if col in row and pd.notna(row[col]) and norm(row[col]):
                index[norm(row[col])] = str(row[key])
    return index


def _find(text: str, index: Mapping[str, str], column: str, file: Any) -> str | None:
    """The catalogue key whose label is the longest one contained in ``text``."""
    padded = f" {norm(text)} "
    hits = [(len(lab), key) for lab, key in index.items() if f" {lab} " in padded]
    if not hits:
        return None
    best = max(n for n, _ in hits)
    keys = {k for n, k in hits if n == best}
    if len(keys) > 1:
        raise DataError(f"the question names several catalogue entries ({sorted(keys)}); map "
                        "it under 'columns' in the configuration", file=file, column=column,
                        value=text)
    return keys.pop()


def _role(text: str, words: Mapping[str, tuple[str, ...]], label: str) -> set[str]:
    rest = f" {norm(text)} ".replace(f" {norm(label)} ", " ")
    return {role for role, ws in words.items() if any(f" {w}" in rest for w in ws)}


def _assign(out: dict[str, str], std: str, column: str, file: Any) -> None:
    if std in out:
        raise DataError(f"two columns ask the same question ({out[std]!r} and {column!r}); "
                        "map the right one under 'columns' in the configuration",
                        file=file, column=std)
    out[std] = column


def match_items(export: Export, items: pd.DataFrame, *, file: Any = None,
                skip: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """Propose ``{contract column: export column}`` for a satisfaction survey export.

    Each question whose text contains an item's label (or the item key) becomes
    ``E_``/``P_``/``I_`` + item by the words of the question ("expect…", "perform…",
    "important…"); the respondent and customer keys are the tool's own columns; a question
    on overall satisfaction becomes ``overall_satisfaction``; a question called "segment"
    becomes ``segment``. Columns in ``skip`` (mapped by hand in the configuration) are
    left out.

    Raises
    ------
    DataError
        A question names an item but not its role, names two items, or two questions
        land on the same contract column.
    """
    index = _label_index(items, "item", ("label",))
    labels = dict(zip(items["item"].astype(str), items["label"].astype(str)))
    out: dict[str, str] = {}
    rid = RESPONDENT_KEYS.get(export.tool)
    if rid is not None and rid in export.frame.columns:
        out["respondent_id"] = rid
    for key in CUSTOMER_KEYS.get(export.tool, ()):
        if key in export.frame.columns and export.frame[key].notna().any():
            out["customer_id"] = key
            break
    for column, text in export.questions.items():
        if column in out.values() or column in skip:
            continue
        item = _find(text, index, column, file)
        if item is None:
            n = norm(text)
            if "overall" in n and "satisf" in n:
                _assign(out, "overall_satisfaction", column, file)
            elif "segment" in n.split():
                _assign(out, "segment", column, file)
            continue
        roles = _role(text, ROLE_WORDS, labels.get(item, item))
        if len(roles) != 1:
            what = "no wording" if not roles else f"wording of {sorted(roles)}"
            raise DataError(f"the question names item '{item}' but has {what} saying whether "
                            "it asks expectation (E), perception (P) or importance (I); map it "
                            f"under 'columns', e.g. P_{item}: {column}", file=file,
                            column=column, value=text)
        _assign(out, f"{roles.pop()}_{item}", column, file)
    return out


def match_capabilities(export: Export, catalogue: pd.DataFrame, *,
                       file: Any = None) -> dict[tuple[str, str], str]:
    """Propose ``{(capability, current_stage|target_stage): export column}`` for an
    assessment export with one question per capability (wide)."""
    cat = catalogue.reset_index()
    index = _label_index(cat, "capability", ("description",))
    desc = dict(zip(cat["capability"].astype(str), cat["description"].astype(str)))
    out: dict[tuple[str, str], str] = {}
    for column, text in export.questions.items():
        cap = _find(text, index, column, file)
        if cap is None:
            continue
        roles = _role(text, STAGE_WORDS, desc.get(cap, cap))
        if len(roles) != 1:
            raise DataError(f"the question names capability '{cap}' but not whether it asks "
                            "the current or the target stage", file=file, column=column,
                            value=text)
        key = (cap, roles.pop())
        if key in out:
            raise DataError(f"two columns ask the {key[1]} of '{cap}' ({out[key]!r} and "
                            f"{column!r})", file=file, column=column)
        out[key] = column
    return out


def drop_non_responses(df: pd.DataFrame, quality, source: str) -> pd.DataFrame:
    """Exclude (and count) Qualtrics preview, test and spam rows, kept in column
    :data:`STATUS` by the loaders; return ``df`` without that column."""
    if STATUS not in df.columns:
        return df
    bad = df[STATUS].astype("string").str.strip().str.lower().isin(NOT_RESPONSES).fillna(False)
    if quality is not None:
        first = f"row {int(df.index[bad.to_numpy()][0])}" if bad.any() else None
        quality.exclude(source, "Qualtrics survey preview, test or spam", int(bad.sum()), first)
    return df.loc[~bad.to_numpy()].drop(columns=STATUS)


def rating_numbers(series: pd.Series) -> pd.Series:
    """``"7 - Extremely satisfied"`` → ``"7"``: a scale label with a leading number keeps the
    number (other text is left as it is, for the contract to refuse)."""
    text = series.astype("string")
    num = text.str.extract(_LEADING_NUMBER, expand=False)
    return num.where(num.notna(), text)
