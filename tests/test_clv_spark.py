"""Spark engine of the CLV summary: identical to the pandas and DuckDB engines; clear errors.

Runs Spark with ``local[2]`` when pyspark and Java are installed (``.ci/run`` installs
both); otherwise the Spark tests are skipped with the reason, and only the messages
for the missing pieces are checked.
"""
from __future__ import annotations

import builtins
import importlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_clv_summary import CAL, OBS, _cdnow, _frame

from crmlib import paths
from crmlib.clv import summarise
from crmlib.clv.spark import session as spark_session
from crmlib.io import DataError

AVAILABLE, REASON = spark_session.spark_available()
pytestmark = pytest.mark.filterwarnings(  # pyspark's own notices about pandas 3
    "ignore:PySpark does not yet fully support pandas", "ignore:The copy keyword is deprecated")


@pytest.fixture(scope="module")
def spark():
    if not AVAILABLE:
        pytest.skip(f"Spark tests need pyspark and Java: {REASON}")
    session = spark_session.get_session(
        "local[2]", app_name="crmlib-tests",
        conf={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
    yield session
    session.stop()


def _spark(source, spark, **kw):
    from crmlib.clv.spark import summarise_spark
    return summarise_spark(source, spark=spark, **kw).to_pandas()


def _assert_same(a, b):
    pd.testing.assert_frame_equal(a.customers, b.customers, check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(a.daily, b.daily, check_dtype=False, check_freq=False)
    assert a.quality.excluded() == b.quality.excluded()
    assert a.quality.noted() == b.quality.noted()
    assert a.quality.read == b.quality.read
    assert (a.n_transactions, a.observation_end, a.calibration_end, a.first_date) == \
        (b.n_transactions, b.observation_end, b.calibration_end, b.first_date)


# ----------------------------------------------------------------- identical results
@pytest.mark.parametrize("kind", ["pandas", "spark", "csv", "parquet", "table"])
def test_fixture_identical_to_pandas_and_duckdb(spark, kind, tmp_path):
    """Returns, zero amounts, identical rows, several purchases on one day, a late customer."""
    kw = dict(time_unit="D", observation_end=OBS, calibration_end=CAL)
    csv = tmp_path / "tx.csv"
    _frame().to_csv(csv, index=False)
    p = summarise(_frame(), engine="pandas", **kw)
    _assert_same(p, summarise(csv, engine="duckdb", **kw))
    if kind == "csv":
        source = str(csv)
    elif kind == "parquet":
        source = tmp_path / "tx.parquet"
        _frame().to_parquet(source)
    elif kind == "spark":
        source = spark.createDataFrame(_frame())
    elif kind == "table":
        spark.createDataFrame(_frame()).createOrReplaceTempView("tx_fixture")
        source = "tx_fixture"
    else:
        source = _frame()
    s = _spark(source, spark, **kw)
    _assert_same(s, p)
    assert s.quality.excluded("transactions") == {
        "after observation end": 1, "return (negative amount)": 1,
        "customer first seen after calibration end": 2}
    assert s.quality.noted("transactions") == {
        "identical rows, counted as separate purchases": 1,
        "zero amount: a purchase day, left out of the spend model": 2}
    d = s.customers.loc["D"]   # the $0 day 01-02 is its birth; 01-20 is one purchase day of 7
    assert (d.frequency, d.recency, d["T"], d.monetary_value) == (2, 18.0, 29.0, 7.0)
    assert s.customers.loc["A", "monetary_value"] == (20 + 60) / 2
    assert s.daily.loc["2024-01-20", "repeat"] == 1


def test_exclusion_examples_name_customer_and_day(spark):
    from crmlib.clv.spark import summarise_spark
    s = summarise_spark(_frame(), spark=spark, time_unit="D", observation_end=OBS,
                        calibration_end=CAL)
    examples = dict(zip(s.quality.to_frame()["reason"], s.quality.to_frame()["example"]))
    assert examples["return (negative amount)"] == "customer A on 2024-01-09"
    assert examples["customer first seen after calibration end"] == "customer C on 2024-02-10"
    assert s.n_customers == 3 and s.customers.count() == 3
    s.unpersist()


def test_time_units_and_no_holdout(spark):
    for unit, kw in (("M", dict(observation_end=OBS, calibration_end=CAL)), ("W", {})):
        p = summarise(_frame(), engine="pandas", time_unit=unit, **kw)
        s = _spark(_frame(), spark, time_unit=unit, **kw)
        _assert_same(s, p)
    assert "frequency_holdout" not in s.customers and len(s.customers) == 4


@pytest.mark.parametrize("kw", [dict(zero_amounts="exclude"), dict(duplicates="drop")])
def test_excluding_zero_amounts_or_identical_rows(spark, kw):
    kw = dict(time_unit="D", observation_end=OBS, calibration_end=CAL, **kw)
    s = _spark(_frame(), spark, **kw)
    _assert_same(s, summarise(_frame(), engine="pandas", **kw))
    if "zero_amounts" in kw:
        assert s.customers.loc["D", "frequency"] == 1 and s.quality.excluded()["zero amount"] == 2
    else:
        assert s.customers.loc["A", "monetary_value"] == (20 + 30) / 2


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_demo_data_identical_with_covariate(spark, clv_small, fmt, tmp_path):  # noqa: F811
    tx = pd.read_csv(clv_small / "transactions.csv", dtype=str)
    path = tmp_path / f"tx.{fmt}"
    tx.to_csv(path, index=False) if fmt == "csv" else tx.to_parquet(path)
    kw = dict(time_unit="W", calibration_end="2024-12-31", covariates=("channel",))
    p = summarise(tx, engine="pandas", **kw)
    s = _spark(str(path), spark, **kw)
    _assert_same(s, p)
    assert p.quality.excluded()["return (negative amount)"] > 0
    assert len(p.quality.noted()) == 2 and all(n > 0 for n in p.quality.noted().values())


def test_typed_parquet_columns(spark, clv_small, tmp_path):  # noqa: F811
    """Dates as timestamps and amounts as doubles (as a lakehouse stores them)."""
    tx = pd.read_csv(clv_small / "transactions.csv", parse_dates=["date"])
    tx.to_parquet(tmp_path / "typed.parquet")
    kw = dict(time_unit="D", calibration_end="2024-12-31")
    _assert_same(_spark(tmp_path / "typed.parquet", spark, **kw),
                 summarise(tmp_path / "typed.parquet", engine="duckdb", **kw))


def test_cdnow_identical(spark, tmp_path):
    src = _cdnow()
    src.to_parquet(tmp_path / "cdnow.parquet")
    kw = dict(time_unit="W", observation_end="1998-06-30", calibration_end="1997-09-30")
    s = _spark(tmp_path / "cdnow.parquet", spark, **kw)
    _assert_same(s, summarise(src, engine="pandas", **kw))
    ref = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary_with_transactions.csv",
                      dtype={"ID": str}).set_index("ID")
    c = s.customers.reindex(ref.index)
    assert len(s.customers) == 2357 and (c["frequency"] == ref["x"]).all()
    np.testing.assert_allclose(c["T"], ref["T"], atol=0.005)


def test_mapped_columns_and_mapping_errors(spark, tmp_path):
    renamed = _frame().rename(columns={"customer_id": "cust", "date": " day "})
    kw = dict(time_unit="D", observation_end=OBS, calibration_end=CAL)
    s = _spark(renamed, spark, mapping={"customer_id": "cust", "date": "day"}, **kw)
    _assert_same(s, summarise(_frame(), engine="pandas", **kw))
    with pytest.raises(DataError, match="mapped column 'client'"):
        _spark(renamed, spark, mapping={"customer_id": "client"})


HOSTILE = paths.ROOT / "tests" / "hostile"


@pytest.mark.parametrize("name", [
    "encodings/cp1252_semicolon_decimal_comma.csv", "encodings/utf16_le_no_bom.csv",
    "numbers/german_thousands.csv", "numbers/us_thousands_quoted.csv",
    "dates/dd_mm_yyyy_slashes.csv", "dates/iso_datetime_zulu.csv",
    "dates/ambiguous_day_month.csv", "dates/relative_today.csv", "numbers/overflow_1e400.csv",
    "numbers/currency_undeclared.csv"])
def test_hostile_files_read_as_the_pandas_reader_reads_them(spark, name):
    """One reading contract: the same values, or the same refusal with row and value."""
    def outcome(run):
        try:
            s = run()
            return ("ok", s.customers, s.quality.read)
        except DataError as exc:
            return ("refused", exc.column, exc.row, str(exc.value), exc.message)
    p = outcome(lambda: summarise(HOSTILE / name, engine="pandas", time_unit="D"))
    s = outcome(lambda: _spark(str(HOSTILE / name), spark, time_unit="D"))
    if p[0] == "ok":
        pd.testing.assert_frame_equal(p[1], s[1], check_dtype=False, rtol=1e-12)
        assert p[2] == s[2]
    else:
        assert p == s


# ----------------------------------------------------------------------- bad input
class TestBadInput:
    def _run(self, spark, tmp_path, frame, **kw):
        path = tmp_path / "tx.csv"
        frame.to_csv(path, index=False)
        return _spark(path, spark, **kw)

    def test_unknown_column(self, spark, tmp_path):
        with pytest.raises(DataError, match="column 'date'.*required column missing"):
            self._run(spark, tmp_path, _frame().rename(columns={"date": "day"}))

    def test_unparsable_date_names_row_and_value(self, spark, tmp_path):
        f = _frame()
        f.loc[3, "date"] = "31/02/2024"
        with pytest.raises(DataError, match=r"column 'date', row 5, value '31/02/2024'"):
            self._run(spark, tmp_path, f)

    def test_bad_amount(self, spark, tmp_path):
        f = _frame().astype({"amount": object})
        f.loc[0, "amount"] = "ten"
        f.loc[6, "amount"] = "eleven"
        with pytest.raises(DataError, match=r"column 'amount', row 2, value 'ten'.*1 more"):
            self._run(spark, tmp_path, f)

    def test_missing_customer(self, spark, tmp_path):
        f = _frame().astype({"customer_id": object})
        f.loc[4, "customer_id"] = "  "
        with pytest.raises(DataError, match=r"column 'customer_id', row 6.*value is required"):
            self._run(spark, tmp_path, f)

    @pytest.mark.parametrize("bad, message", [
        (float("nan"), r"row 5: a value is required"),
        (float("inf"), r"row 5, value '?\w*'?: not a finite number"),
        (float("-inf"), r"row 5, value '?-\w*'?: not a finite number")])
    def test_nan_and_infinite_amounts_in_parquet(self, spark, bad, message, tmp_path):
        """As the pandas and DuckDB engines: NaN in a float column is a missing value,
        an infinite amount is not a finite number."""
        f = _frame()
        f.loc[3, "amount"] = bad
        f.to_parquet(tmp_path / "tx.parquet")
        with pytest.raises(DataError, match=r"column 'amount', " + message):
            _spark(tmp_path / "tx.parquet", spark)

    def test_window_errors(self, spark, tmp_path):
        with pytest.raises(DataError, match="observation_end 2023-12-01 is before"):
            self._run(spark, tmp_path, _frame(), observation_end="2023-12-01")
        with pytest.raises(DataError, match="calibration_end 2024-06-01 is outside"):
            self._run(spark, tmp_path, _frame(), calibration_end="2024-06-01")

    def test_all_rows_excluded(self, spark, tmp_path):
        with pytest.raises(DataError, match="no purchases left"):
            self._run(spark, tmp_path, _frame().assign(amount=-1.0))

    def test_missing_file_and_table(self, spark, tmp_path):
        with pytest.raises(DataError, match="file not found"):
            _spark(tmp_path / "nope.csv", spark)
        with pytest.raises(DataError, match="neither a file nor a table"):
            _spark("no_such_table", spark)

    def test_bad_options(self, spark):
        with pytest.raises(ValueError, match="time_unit"):
            _spark(_frame(), spark, time_unit="Y")
        with pytest.raises(ValueError, match="zero_amounts"):
            _spark(_frame(), spark, zero_amounts="drop")


# -------------------------------------------------- missing pyspark or Java (no Spark needed)
def test_missing_java_names_the_package(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark_session.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="default-jre-headless"):
        spark_session.require_java()
    ok, reason = spark_session.spark_available()
    assert not ok and ("Java" in reason or "pyspark" in reason)


def test_missing_pyspark_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("No module named 'pyspark'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    monkeypatch.delitem(sys.modules, "pyspark", raising=False)
    with pytest.raises(ImportError, match=r"pip install -e \.\[spark\]"):
        spark_session.require_pyspark()
    with pytest.raises(ImportError, match=r"pip install -e \.\[spark\]"):
        spark_session.get_session("local[2]")


def test_package_imports_without_pyspark():
    """pyspark is imported lazily: crmlib.clv and its Spark subpackage import without it."""
    code = ("import sys; sys.modules['pyspark'] = None\n"
            "import crmlib.clv, crmlib.clv.spark as s\n"
            "assert 'pyspark' not in [m for m in sys.modules if sys.modules[m]]\n"
            "try:\n    s.get_session()\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=paths.ROOT, check=True).stdout
    assert "pip install -e .[spark]" in out
    with pytest.raises(AttributeError):
        importlib.import_module("crmlib.clv.spark").no_such_name  # noqa: B018


def test_full_period_from_the_same_cache_equals_a_second_summary(spark, clv_small):  # noqa: F811
    from crmlib.clv.spark import summarise_spark
    tx = pd.read_csv(clv_small / "transactions.csv", dtype=str)
    kw = dict(time_unit="W", covariates=("channel",))
    s = summarise_spark(tx, spark=spark, calibration_end="2024-12-31", **kw)
    full = s.full_period()
    p = summarise(tx, engine="pandas", calibration_end=None, **kw)
    _assert_same(full.to_pandas(), p)
    assert full.n_customers == len(p.customers)
    s.unpersist()
    s = summarise_spark(_frame(), spark=spark, time_unit="D", observation_end=OBS,
                        calibration_end=CAL)
    p = summarise(_frame(), engine="pandas", time_unit="D", observation_end=OBS)
    _assert_same(s.full_period().to_pandas(), p)
    assert s.full_period().n_customers == 4 > s.n_customers   # C, first seen in the holdout
    s.unpersist()


def test_engine_choice(tmp_path):
    from crmlib.clv.spark import engine_for, is_cluster_source
    assert engine_for("s3://bucket/tx/") == "spark" == engine_for("dbfs:/mnt/tx.parquet")
    assert engine_for("main.sales.transactions") == "spark" and is_cluster_source("tx_table")
    assert engine_for(str(tmp_path / "tx.parquet")) == "duckdb"
    assert engine_for("data/demo/transactions.csv") == "duckdb"
    assert engine_for("clients.xlsx") == "pandas" == engine_for(_frame())
    assert engine_for("s3://bucket/tx/", "duckdb") == "duckdb"
    (tmp_path / "folder").mkdir()
    assert not is_cluster_source(str(tmp_path / "folder"))
    assert engine_for(tmp_path / "folder") == "spark"          # a Parquet dataset folder
    with pytest.raises(ValueError, match="engine must be"):
        engine_for("x.csv", "polars")
