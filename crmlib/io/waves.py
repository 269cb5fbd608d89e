"""Survey waves: one input with a ``wave`` column, or one file per wave, in time order.

A wave is one round of a survey (the baseline, a follow-up six months later...).
Responses arrive in one of two shapes, or both:

* a ``wave`` column (the wave's label) in the responses, optionally with a
  ``wave_date`` column (ISO date, the same on every row of a wave);
* a ``waves`` parameter listing waves as ``{label, date, file}`` mappings: an entry
  with ``file`` is read from that file; an entry without ``file`` describes the main
  input (its label and date), or a label of the main input's ``wave`` column.

Waves are ordered by date when every wave has one, else in the order given (the
``waves`` list, then the main input's labels in order of first appearance). A main
input without a ``wave`` column and no entry describing it is the last wave, labelled
``current``. An input with one wave and no ``waves`` parameter is returned untouched,
so a single snapshot is analysed exactly as before.

Respondents repeat across waves when the same ``respondent_id`` appears in two waves;
:func:`shared_respondents` counts them, and the analyses pair the waves on them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import DataError

CURRENT = "current"


@dataclass(frozen=True)
class Wave:
    """One wave: its label, date (or None) and rows."""

    label: str
    date: dt.date | None
    data: pd.DataFrame


def _date(value: Any, file: Any, label: str) -> dt.date | None:
    if value is None or (not isinstance(value, (dt.date, str)) and pd.isna(value)):
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise DataError(f"wave '{label}': expected an ISO date yyyy-mm-dd, got {value!r}",
                        file=file, column="wave_date") from None


def _by_column(data: pd.DataFrame) -> list[Wave]:
    file = data.attrs.get("source")
    labels = data["wave"].astype("string")
    if labels.isna().any():
        i = int(labels.isna().to_numpy().argmax())
        raise DataError("empty wave label", file=file, column="wave", row=int(data.index[i]))
    out = []
    for label in dict.fromkeys(labels):
        rows = data.loc[(labels == label).to_numpy()]
        dates = rows["wave_date"].dropna().unique() if "wave_date" in rows else []
        if len(dates) > 1:
            raise DataError(f"wave '{label}' has {len(dates)} different dates", file=file,
                            column="wave_date")
        rows = rows.copy()
        rows.attrs.update(data.attrs)
        out.append(Wave(str(label), _date(dates[0], file, label) if len(dates) else None, rows))
    return out


def split_waves(data: pd.DataFrame, waves: Sequence[dict] | None = None,
                load: Callable[[Any], pd.DataFrame] | None = None) -> list[Wave]:
    """The waves of an input, in time order (rules in the module docstring).

    Parameters
    ----------
    data : the main input as loaded (may carry ``wave`` and ``wave_date`` columns).
    waves : ``[{"label": ..., "date": ..., "file": ...}, ...]``; ``date`` and ``file``
        optional.
    load : reads an entry's ``file`` with the input's loader (needed when an entry has one).
    """
    spec = list(waves or [])
    file = data.attrs.get("source")
    found = _by_column(data) if "wave" in data.columns else None
    if found is None:
        main = [e for e in spec if not e.get("file")]
        if len(main) > 1:
            raise DataError("more than one wave without a file, and the input has no 'wave' "
                            "column to tell them apart", file=file, column="wave")
        label = str(main[0]["label"]) if main else CURRENT
        found = [Wave(label, None, data)]
        if not main:
            spec = spec + [{"label": label}]
    by_label = {w.label: w for w in found}
    for e in spec:
        label = str(e["label"])
        if e.get("file"):
            if label in by_label:
                raise DataError(f"wave '{label}' is given twice", file=e["file"])
            if load is None:
                raise ValueError("a wave with a file needs the input's loader")
            by_label[label] = Wave(label, _date(e.get("date"), e["file"], label), load(e["file"]))
        elif label not in by_label:
            raise DataError(f"wave '{label}' (no file given) is not a label of the input's "
                            f"'wave' column; labels are {sorted(by_label)}", file=file,
                            column="wave")
        else:
            w = by_label[label]
            by_label[label] = Wave(label, _date(e.get("date"), file, label) or w.date, w.data)
    given = [str(e["label"]) for e in spec]
    order = given + [w.label for w in found if w.label not in given]
    out = [by_label[k] for k in order]
    if all(w.date is not None for w in out):
        out.sort(key=lambda w: w.date or dt.date.min)  # every date is known here
    return out


def shared_respondents(a: pd.DataFrame, b: pd.DataFrame) -> set[str]:
    """Respondent ids present in both waves."""
    return set(a["respondent_id"].astype(str)) & set(b["respondent_id"].astype(str))


def waves_table(waves: Sequence[Wave]) -> pd.DataFrame:
    """One row per wave: order, label, date, respondents, and how many answered the wave before."""
    rows, prev = [], None
    for i, w in enumerate(waves):
        ids = set(w.data["respondent_id"].astype(str))
        rows.append({"wave": w.label, "order": i + 1, "date": w.date, "respondents": len(ids),
                     "also_in_previous": len(ids & prev) if prev is not None else pd.NA})
        prev = ids
    return pd.DataFrame(rows).astype({"also_in_previous": "Int64"})
