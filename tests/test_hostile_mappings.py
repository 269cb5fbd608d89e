"""Hostile column mappings, survey-tool exports and database inputs (tests/hostile/*/cases.yaml).

Each case names a file (or a database table), the input it is read as, an optional
mapping, and the outcome expected: accepted with values read by hand from the file, or
refused with a one-line :class:`DataError` naming file, column, row and value.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from postgres_server import PASSWORD, postgres_server

from crmlib.io import DataError, DataQualityReport, loaders

HOSTILE = Path(__file__).parent / "hostile"
ITEMS = HOSTILE / "surveys" / "survey_items.csv"
LOADERS = {"transactions": loaders.load_transactions, "kpis": loaders.load_kpi_panel,
           "responses": loaders.load_assessment, "survey": loaders.load_survey,
           "subscriptions": loaders.load_subscriptions}


def cases(folder: str) -> list:
    raw = yaml.safe_load((HOSTILE / folder / "cases.yaml").read_text(encoding="utf-8"))
    return [pytest.param(folder, c, id=c["name"]) for c in raw]


def load(folder: str, case: dict, quality: DataQualityReport | None = None) -> pd.DataFrame:
    kwargs = {"mapping": case.get("mapping"), "quality": quality}
    if case["input"] == "survey":
        kwargs["items"] = ITEMS
    return LOADERS[case["input"]](HOSTILE / folder / case["file"], **kwargs)


def check_accepted(df: pd.DataFrame, expect: dict, quality: DataQualityReport) -> None:
    assert len(df) == expect["rows"]
    for reason, n in expect.get("excluded", {}).items():
        assert quality.excluded()[reason] == n
    for column, total in expect.get("sum", {}).items():
        assert float(df[column].astype(float).sum()) == pytest.approx(total), column
    for column, values in expect.get("values", {}).items():
        got = [None if pd.isna(v) else str(v) for v in df[column]]
        assert got == values, column
    if "first_row" in expect:
        assert int(df.index[0]) == expect["first_row"]
    if "first_date" in expect:
        assert df["date"].min() == pd.Timestamp(expect["first_date"])


def check_refused(exc: DataError, expect: dict, file: str | None) -> None:
    text = str(exc)
    assert expect["error"] in text
    assert "\n" not in text and len(text) < 400
    if file is not None:
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
        quality = DataQualityReport()
        check_accepted(load(folder, case, quality), expect, quality)


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL server with the tables of tests/hostile/database/setup.sql; the URL in
    CRM_TEST_DB, one with a wrong password in CRM_TEST_DB_BADPW."""
    import sqlalchemy as sa

    with postgres_server() as url:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            con.exec_driver_sql((HOSTILE / "database" / "setup.sql").read_text())
        engine.dispose()
        env = {"CRM_TEST_DB": url, "CRM_TEST_DB_BADPW": url.replace(PASSWORD, "wrong-pw-991")}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield url
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.mark.parametrize("folder, case", cases("database"))
def test_hostile_database_case(database, folder, case):
    expect = case["expect"]
    kwargs = {"mapping": case.get("mapping")}
    load = LOADERS[case["input"]]
    if "error" in expect:
        with pytest.raises(DataError) as info:
            load(loaders_source(case["source"]), **kwargs)
        check_refused(info.value, expect, None)
        text = str(info.value)
        assert PASSWORD not in text and "wrong-pw-991" not in text and database not in text
        if "file" in expect:
            assert text.startswith(expect["file"])
    else:
        quality = DataQualityReport()
        check_accepted(load(loaders_source(case["source"]), quality=quality, **kwargs), expect,
                       quality)


def loaders_source(value: dict):
    """The configuration form is checked like a notebook parameter, then read."""
    from crmlib.io.database import parse
    return parse(value)


def test_corpus_size():
    n = sum(len(yaml.safe_load((HOSTILE / f / "cases.yaml").read_text()))
            for f in ("mappings", "surveys", "database") if (HOSTILE / f / "cases.yaml").exists())
    assert n >= 20
