"""Hostile column mappings, survey-tool exports and database inputs (tests/hostile/*/cases.yaml).

Each case names a file (or a database table), the input it is read as, an optional
mapping, and the outcome expected: accepted with values read by hand from the file, or
refused with a one-line :class:`DataError` naming file, column, row and value.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from crmlib.io import DataError, loaders

HOSTILE = Path(__file__).parent / "hostile"
ITEMS = HOSTILE / "surveys" / "survey_items.csv"
LOADERS = {"transactions": loaders.load_transactions, "kpis": loaders.load_kpi_panel,
           "responses": loaders.load_assessment, "survey": loaders.load_survey,
           "subscriptions": loaders.load_subscriptions}


def cases(folder: str) -> list:
    raw = yaml.safe_load((HOSTILE / folder / "cases.yaml").read_text(encoding="utf-8"))
    return [pytest.param(folder, c, id=c["name"]) for c in raw]


def load(folder: str, case: dict) -> pd.DataFrame:
    kwargs = {"mapping": case.get("mapping")}
    if case["input"] == "survey":
        kwargs["items"] = ITEMS
    return LOADERS[case["input"]](HOSTILE / folder / case["file"], **kwargs)


def check_accepted(df: pd.DataFrame, expect: dict) -> None:
    assert len(df) == expect["rows"]
    for column, total in expect.get("sum", {}).items():
        assert float(df[column].astype(float).sum()) == pytest.approx(total), column
    for column, values in expect.get("values", {}).items():
        got = [None if pd.isna(v) else str(v) for v in df[column]]
        assert got == values, column
    if "first_row" in expect:
        assert int(df.index[0]) == expect["first_row"]
    if "first_date" in expect:
        assert df["date"].min() == pd.Timestamp(expect["first_date"])


def check_refused(exc: DataError, expect: dict, file: str) -> None:
    text = str(exc)
    assert expect["error"] in text
    assert "\n" not in text and len(text) < 400
    assert Path(file).name in text
    for key in ("column", "row"):
        if key in expect:
            assert getattr(exc, key) == expect[key], (key, text)
    if "value" in expect:
        assert str(exc.value) == str(expect["value"])


@pytest.mark.parametrize("folder, case", cases("mappings") + cases("surveys"))
def test_hostile_case(folder, case):
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(DataError) as info:
            load(folder, case)
        check_refused(info.value, expect, case["file"])
    else:
        check_accepted(load(folder, case), expect)


def test_corpus_size():
    n = sum(len(yaml.safe_load((HOSTILE / f / "cases.yaml").read_text()))
            for f in ("mappings", "surveys", "database") if (HOSTILE / f / "cases.yaml").exists())
    assert n >= 20
