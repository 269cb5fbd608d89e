"""Customer summary: hand-checked fixture, both engines identical, CDNOW reproduction, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib import paths
from crmlib.clv import summarise
from crmlib.io import DataError, DataQualityReport

ENGINES = ("pandas", "duckdb")

# A: first purchase 2024-01-01 (two rows that day), repeat 01-08 (+ a return), 01-15 (+ a zero row
#    and two identical rows of 30); holdout purchase 02-05; a row after the observation end.
# B: one purchase 2024-01-03 only.  C: first seen in the holdout (excluded and counted).
# D: a zero-amount-only day 01-02 (its first purchase day), purchase 01-10, two purchases on
#    01-20 (one day).
ROWS = [
    ("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0), ("A", "2024-01-08", 20.0),
    ("A", "2024-01-09", -20.0), ("A", "2024-01-15", 30.0), ("A", "2024-01-15", 0.0),
    ("A", "2024-01-15", 30.0), ("A", "2024-02-05", 40.0), ("A", "2024-03-05", 99.0),
    ("B", "2024-01-03", 12.0),
    ("C", "2024-02-10", 50.0), ("C", "2024-02-20", 50.0),
    ("D", "2024-01-02", 0.0), ("D", "2024-01-10", 7.0), ("D", "2024-01-20", 3.0),
    ("D", "2024-01-20", 4.0),
]
OBS, CAL = "2024-02-29", "2024-01-31"


def _frame() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["customer_id", "date", "amount"])


@pytest.fixture(params=ENGINES)
def fixture_summary(request, tmp_path):
    path = tmp_path / "tx.csv"
    _frame().to_csv(path, index=False)
    src = _frame() if request.param == "pandas" else path
    return summarise(src, engine=request.param, time_unit="D", observation_end=OBS,
                     calibration_end=CAL)


def test_hand_checked_values(fixture_summary):
    """Every row is a transaction (Lifetimes, BTYD, CLVTools): identical rows are two purchases,
    a $0 row is a purchase day that stays out of the spend model."""
    c = fixture_summary.customers
    assert list(c.index) == ["A", "B", "D"]
    a, b, d = c.loc["A"], c.loc["B"], c.loc["D"]
    # A: days 01-01 (10 + 5), 01-08 (20), 01-15 (30 + 0 + 30: the identical rows both count)
    assert (a.frequency, a.recency, a["T"]) == (2, 14.0, 30.0)
    assert a.monetary_value == pytest.approx((20 + 60) / 2)
    assert a.total_spend == pytest.approx(95.0) and a.frequency_spend == 2
    assert (a.frequency_holdout, a.spend_holdout) == (1, 40.0)
    assert (b.frequency, b.recency, b["T"], b.monetary_value) == (0, 0.0, 28.0, 0.0)
    # D: the $0 day 01-02 is the first purchase (birth, T from it); 01-20 is one purchase of 7
    assert (d.frequency, d.recency, d["T"]) == (2, 18.0, 29.0)
    assert d.monetary_value == pytest.approx((7 + 7) / 2) and d.frequency_spend == 2
    assert c["duration_holdout"].iloc[0] == 29.0
    q = fixture_summary.quality
    assert q.excluded("transactions") == {"after observation end": 1,
                                          "return (negative amount)": 1,
                                          "customer first seen after calibration end": 2}
    assert q.noted("transactions") == {"identical rows, counted as separate purchases": 1,
                                       "zero amount: a purchase day, left out of the spend "
                                       "model": 2}
    assert q.read["transactions"] == len(ROWS)
    assert fixture_summary.n_transactions == len(ROWS) - 4
    daily = fixture_summary.daily
    assert daily["first"].sum() == 3 and daily["repeat"].sum() == 5
    assert daily.loc["2024-01-20", "repeat"] == 1 and daily.loc["2024-01-02", "first"] == 1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("how", ["duplicates", "transaction_col"])
def test_identical_rows_dropped_when_declared(engine, how, tmp_path):
    frame = _frame().assign(order_id=[f"o{i}" for i in range(len(ROWS))])
    frame.loc[6, "order_id"] = frame.loc[4, "order_id"]       # the 01-15 copy: same order
    kw = {"duplicates": "drop"} if how == "duplicates" else {"transaction_col": "order_id"}
    path = tmp_path / "tx.csv"
    frame.to_csv(path, index=False)
    s = summarise(frame if engine == "pandas" else path, engine=engine, time_unit="D",
                  observation_end=OBS, calibration_end=CAL, **kw)
    a = s.customers.loc["A"]
    assert a.monetary_value == pytest.approx((20 + 30) / 2) and a.total_spend == 65.0
    assert s.quality.excluded()["exact duplicate row"] == 1
    assert "identical rows, counted as separate purchases" not in s.quality.noted()
    assert s.n_transactions == len(ROWS) - 5


def test_exclude_zero_amounts_on_request():
    s = summarise(_frame(), engine="pandas", time_unit="D", observation_end=OBS,
                  calibration_end=CAL, zero_amounts="exclude")
    d = s.customers.loc["D"]
    assert (d.frequency, d["T"]) == (1, 21.0)               # born 01-10 without the $0 day
    assert s.quality.excluded()["zero amount"] == 2


def test_time_units_scale_durations():
    w = summarise(_frame(), engine="pandas", time_unit="W", observation_end=OBS,
                  calibration_end=CAL).customers
    m = summarise(_frame(), engine="pandas", time_unit="M", observation_end=OBS,
                  calibration_end=CAL).customers
    assert w.loc["A", "T"] == pytest.approx(30 / 7)
    assert m.loc["A", "recency"] == pytest.approx(14 / 30.4375)
    assert (w["frequency"] == m["frequency"]).all()


def test_no_holdout_by_default():
    s = summarise(_frame(), engine="pandas", time_unit="D")
    assert not s.has_holdout and "frequency_holdout" not in s.customers
    assert s.observation_end.isoformat() == "2024-03-05"
    assert len(s.customers) == 4


def _assert_same(p, d):
    pd.testing.assert_frame_equal(p.customers, d.customers, check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(p.daily, d.daily, check_dtype=False, check_freq=False)
    assert p.quality.excluded() == d.quality.excluded()
    assert p.quality.noted() == d.quality.noted()
    assert p.quality.read == d.quality.read
    assert (p.n_transactions, p.observation_end, p.calibration_end) == \
        (d.n_transactions, d.observation_end, d.calibration_end)


@pytest.mark.parametrize("duplicates", ["keep", "drop"])
def test_several_rows_a_day_of_late_customers_and_after_the_end(duplicates, tmp_path):
    """Days with several rows where the DuckDB engine keeps no customer-day table: a customer
    first seen in the holdout buying twice on one day (one row identical to an earlier one),
    identical rows and a $0 row after the observation end; the daily counts leave C out."""
    extra = [("C", "2024-02-20", 50.0), ("C", "2024-02-20", 8.0), ("A", "2024-03-05", 99.0),
             ("B", "2024-03-07", 0.0), ("B", "2024-03-01", 5.0), ("B", "2024-03-07", 1.0),
             ("B", "2024-03-07", 2.0)]
    frame = pd.DataFrame(ROWS + extra, columns=["customer_id", "date", "amount"])
    frame.to_csv(tmp_path / "tx.csv", index=False)
    kw = dict(time_unit="D", observation_end=OBS, calibration_end=CAL, duplicates=duplicates)
    p = summarise(frame, engine="pandas", **kw)
    d = summarise(tmp_path / "tx.csv", engine="duckdb", **kw)
    _assert_same(p, d)
    # the cohort's days are the hand-checked fixture's: C's four rows on two days (two of them
    # identical) and the six rows after 02-29 are counted out, identical pairs once when dropped
    assert d.daily["first"].sum() == 3 and d.daily["repeat"].sum() == 5
    excluded = d.quality.excluded("transactions")
    assert excluded["customer first seen after calibration end"] == (
        4 if duplicates == "keep" else 3)
    assert excluded["after observation end"] == (6 if duplicates == "keep" else 5)
    # the first customer after the end and its first day then (B bought earlier after it)
    q = d.quality.to_frame()
    example = dict(zip(q["reason"].str.replace(r" \(\d+ rows\)$", "", regex=True), q["example"]))
    assert example["after observation end"] == "customer A on 2024-03-05"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_engines_identical_on_demo_data(clv_small, fmt, tmp_path):
    tx = pd.read_csv(clv_small / "transactions.csv", dtype=str)
    path = tmp_path / f"tx.{fmt}"
    tx.to_csv(path, index=False) if fmt == "csv" else tx.to_parquet(path)
    kw = dict(time_unit="W", calibration_end="2024-12-31", covariates=("channel",))
    p = summarise(tx, engine="pandas", **kw)
    d = summarise(path, **kw)  # DuckDB is the default for a path
    _assert_same(p, d)
    assert p.quality.excluded()["return (negative amount)"] > 0
    assert all(n > 0 for n in p.quality.noted().values()) and len(p.quality.noted()) == 2
    dropped = summarise(path, duplicates="drop", **kw)
    _assert_same(summarise(tx, engine="pandas", duplicates="drop", **kw), dropped)
    assert dropped.quality.excluded()["exact duplicate row"] == \
        p.quality.noted()["identical rows, counted as separate purchases"]


def test_ids_with_blanks_are_trimmed_like_the_contract(tmp_path):
    f = _frame()
    f.loc[1, "customer_id"] = " A "
    f.loc[9, "customer_id"] = "B  "
    f.to_csv(tmp_path / "tx.csv", index=False)
    kw = dict(time_unit="D", observation_end=OBS, calibration_end=CAL)
    _assert_same(summarise(f, engine="pandas", **kw), summarise(tmp_path / "tx.csv", **kw))
    assert list(summarise(tmp_path / "tx.csv", **kw).customers.index) == ["A", "B", "D"]


def test_an_id_of_blanks_is_reported_before_a_later_bad_date(tmp_path):
    """Both engines name the first problem the contract finds: an id of blanks is missing
    (the DuckDB engine reported the bad date of a later row while it grouped untrimmed ids)."""
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-01,10\n"
                                     "   ,2024-01-02,5\nB,2024-13-45,3\nB,2024-01-05,4\n")
    for engine in ENGINES:
        with pytest.raises(DataError, match=r"column 'customer_id', row 3: a value is required"):
            summarise(tmp_path / "tx.csv", engine=engine, time_unit="D")


def test_duckdb_memory_limit_and_threads(clv_small):
    kw = dict(time_unit="W", calibration_end="2024-12-31")
    p = summarise(clv_small / "transactions.csv", engine="pandas", **kw)
    d = summarise(clv_small / "transactions.csv", engine="duckdb", memory_limit="256MB",
                  threads=1, **kw)
    _assert_same(p, d)


def _cdnow() -> pd.DataFrame:
    raw = pd.read_csv(paths.REFERENCE / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["id", "id2", "date", "cds", "amount"], dtype=str)
    # each line is one transaction (Fader & Hardie): the line number makes rows distinct
    return pd.DataFrame({"customer_id": raw["id2"].astype(int).astype(str), "date": raw["date"],
                         "amount": raw["amount"], "order_id": np.arange(len(raw)).astype(str)})


@pytest.mark.parametrize("engine", ENGINES)
def test_cdnow_reproduces_fader_hardie_summary(engine, tmp_path):
    """39-week calibration 1997-01-01..1997-09-30 in weeks; $0 transactions count."""
    src = _cdnow()
    if engine == "duckdb":
        src.to_parquet(tmp_path / "cdnow.parquet")
        src = tmp_path / "cdnow.parquet"
    s = summarise(src, engine=engine, time_unit="W", observation_end="1998-06-30",
                  calibration_end="1997-09-30")
    ref = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary_with_transactions.csv",
                      dtype={"ID": str}).set_index("ID")
    ref2 = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary.csv",
                       dtype={"ID": str}).set_index("ID")
    c = s.customers.reindex(ref.index)
    assert len(s.customers) == 2357 and c["frequency"].notna().all()
    assert (c["frequency"] == ref["x"]).all() and (ref2["frequency"] == ref["x"]).all()
    np.testing.assert_allclose(c["recency"], ref["t_x"], atol=0.005)   # file rounds to 0.01
    np.testing.assert_allclose(c["T"], ref["T"], atol=0.005)
    # zbar averages every repeat transaction; a $0 day leaves the spend model here, so the
    # repeat spend is the same and only the count behind the mean differs
    np.testing.assert_allclose(c["monetary_value"] * c["frequency_spend"],
                               ref["zbar"] * ref["x"], atol=0.005 * ref["x"].max())
    same = c["frequency_spend"] == c["frequency"]
    np.testing.assert_allclose(c.loc[same, "monetary_value"], ref.loc[same, "zbar"], atol=0.005)
    raw = _cdnow().astype({"amount": float, "date": "datetime64[ns]"})
    day = raw[raw["date"] <= "1997-09-30"].groupby(["customer_id", "date"])["amount"].sum()
    first = day.groupby(level=0).head(1).index
    zero_repeat = day[(day == 0) & ~day.index.isin(first)].index.get_level_values(0).unique()
    assert set(c.index[~same]) == set(zero_repeat)
    assert (c["frequency"] > 0).sum() == 946
    assert c.loc["1", "T"] == pytest.approx(272 / 7)


def test_cdnow_zero_amounts_kept_by_default():
    kw = dict(engine="pandas", time_unit="W", observation_end="1998-06-30",
              calibration_end="1997-09-30")
    s = summarise(_cdnow(), **kw)
    assert s.quality.noted()["zero amount: a purchase day, left out of the spend model"] == 8
    out = summarise(_cdnow(), zero_amounts="exclude", **kw)
    assert out.quality.excluded()["zero amount"] == 8
    assert len(out.customers) < 2357   # customers whose first purchase was $0 start later


@pytest.mark.parametrize("engine", ENGINES)
class TestBadInput:
    def _run(self, engine, tmp_path, frame, **kw):
        path = tmp_path / "tx.csv"
        frame.to_csv(path, index=False)
        return summarise(path, engine=engine, **kw)

    def test_unknown_column(self, engine, tmp_path):
        with pytest.raises(DataError, match="column 'date'.*required column missing"):
            self._run(engine, tmp_path, _frame().rename(columns={"date": "day"}))

    def test_mapping(self, engine, tmp_path):
        s = self._run(engine, tmp_path, _frame().rename(columns={"date": "day"}),
                      mapping={"date": "day"})
        assert len(s.customers) == 4

    def test_unparsable_date_names_row_and_value(self, engine, tmp_path):
        f = _frame()
        f.loc[3, "date"] = "31/02/2024"
        with pytest.raises(DataError, match=r"column 'date', row 5, value '31/02/2024'"):
            self._run(engine, tmp_path, f)

    def test_bad_amount(self, engine, tmp_path):
        f = _frame().astype({"amount": object})
        f.loc[0, "amount"] = "ten"
        with pytest.raises(DataError, match=r"column 'amount', row 2, value 'ten'"):
            self._run(engine, tmp_path, f)

    @pytest.mark.parametrize("fmt", ["csv", "parquet"])
    def test_missing_ids_counted_by_row(self, engine, fmt, tmp_path):
        """Two rows without an id on one day (one group of the DuckDB engine's day table)
        and one in a return: the message names the first row and counts the other two."""
        f = _frame()
        f.loc[[2, 4], "customer_id"] = ""
        f.loc[3, "customer_id"] = None
        f.loc[4, "date"] = f.loc[2, "date"]
        path = tmp_path / f"tx.{fmt}"
        f.to_csv(path, index=False) if fmt == "csv" else f.to_parquet(path)
        src = path if engine == "duckdb" else (
            pd.read_csv(path) if fmt == "csv" else pd.read_parquet(path))
        with pytest.raises(DataError, match=r"column 'customer_id', row 4\b.*"
                                            r"\(2 more row\(s\) with the same problem\)"):
            summarise(src, engine=engine, time_unit="D")

    @pytest.mark.parametrize("bad, message", [
        (np.nan, r"row 5: a value is required"),
        (np.inf, r"row 5, value '?inf'?: not a finite number"),
        (-np.inf, r"row 5, value '?-inf'?: not a finite number")])
    def test_nan_and_infinite_amounts_in_parquet(self, engine, bad, message, tmp_path):
        """A float column as Arrow writes it: NaN is a missing value, not a purchase of NaN
        (Arrow's statistics leave NaN out, and DuckDB folds isnan() by them)."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        f = _frame()
        f.loc[3, "amount"] = bad
        path = tmp_path / "tx.parquet"
        pq.write_table(pa.table({"customer_id": f["customer_id"], "date": f["date"],
                                 "amount": pa.array(f["amount"].to_numpy(), from_pandas=False)}),
                       path)
        src = path if engine == "duckdb" else pd.read_parquet(path)
        with pytest.raises(DataError, match=r"column 'amount', " + message):
            summarise(src, engine=engine, time_unit="D")

    @pytest.mark.parametrize("bad, message", [(float("nan"), r"row 5: a value is required"),
                                              (float("inf"), r"row 5, .*not a finite number"),
                                              (float("-inf"), r"row 5, .*not a finite number")])
    def test_nan_and_infinite_amounts_in_a_dataframe(self, engine, bad, message):
        """A DataFrame whose amount column holds floats (and ids as text): each engine reads
        the numbers as numbers, so both give the same message."""
        f = _frame()
        f.loc[3, "amount"] = bad
        with pytest.raises(DataError, match=r"column 'amount', " + message):
            summarise(f, engine=engine, time_unit="D")

    def test_observation_end_before_first_purchase(self, engine, tmp_path):
        with pytest.raises(DataError, match="observation_end 2023-12-01 is before"):
            self._run(engine, tmp_path, _frame(), observation_end="2023-12-01")

    def test_calibration_end_outside_data(self, engine, tmp_path):
        with pytest.raises(DataError, match="calibration_end 2024-06-01 is outside"):
            self._run(engine, tmp_path, _frame(), calibration_end="2024-06-01")

    def test_all_rows_excluded(self, engine, tmp_path):
        f = _frame().assign(amount=-1.0)
        with pytest.raises(DataError, match="no purchases left"):
            self._run(engine, tmp_path, f)

    def test_missing_file(self, engine, tmp_path):
        with pytest.raises(DataError, match="file not found"):
            summarise(tmp_path / "nope.csv", engine=engine)


def test_quality_ledger_is_shared():
    q = DataQualityReport()
    summarise(_frame(), engine="pandas", time_unit="D", quality=q)
    assert q.to_frame()["rows excluded"].sum() == 1     # the return; $0 and identical rows stay


@pytest.mark.parametrize("duplicates", ["keep", "drop"])
def test_engines_identical_on_a_messy_random_log(duplicates, tmp_path):
    """Thousands of rows with identical copies, returns, zero rows, rows after the
    observation end, customers first seen in the holdout and a covariate: the pandas
    engine's array code and DuckDB's SQL agree on every number and count."""
    g = np.random.default_rng(11)
    n = 20_000
    tx = pd.DataFrame({
        "customer_id": [f"K{i}" for i in g.integers(0, 1_500, n)],
        "date": (pd.Timestamp("2023-01-01")
                 + pd.to_timedelta(g.integers(0, 800, n), unit="D")
                 + pd.to_timedelta(g.choice([0, 9, 15], n), unit="h")).astype(str),
        "amount": np.round(g.choice([-1, 0, 1, 1, 1, 1, 1, 1], n) * g.gamma(2, 20, n), 2),
        "channel": g.choice(["web", "shop", "phone"], n)})
    tx = pd.concat([tx, tx.sample(700, random_state=3)], ignore_index=True)  # exported twice
    tx.to_csv(tmp_path / "tx.csv", index=False)
    kw = dict(time_unit="W", observation_end="2025-01-31", calibration_end="2024-06-30",
              covariates=("channel",), duplicates=duplicates)
    p = summarise(tx, engine="pandas", **kw)
    _assert_same(p, summarise(tmp_path / "tx.csv", **kw))
    excluded = p.quality.excluded()
    assert excluded["after observation end"] > 0 and excluded["return (negative amount)"] > 0
    copies = (excluded.get("exact duplicate row") if duplicates == "drop"
              else p.quality.noted()["identical rows, counted as separate purchases"])
    assert copies == tx.duplicated().sum() >= 700  # re-exported rows, and any drawn twice


def test_pandas_engine_names_the_source_row_of_each_first_example():
    q = summarise(_frame(), engine="pandas", time_unit="D").quality.to_frame()
    example = dict(zip(q["reason"].str.replace(r" \(\d+ rows\)$", "", regex=True), q["example"]))
    assert example["return (negative amount)"] == "row 5"     # index 3, after the header
    assert example["identical rows, counted as separate purchases"] == "row 8"
    assert example["zero amount: a purchase day, left out of the spend model"] == "row 7"
    assert not example["after observation end"]               # nothing excluded, no example


@pytest.mark.parametrize("engine", ENGINES)
def test_a_first_purchase_on_the_calibration_end_is_kept(engine, tmp_path):
    f = pd.concat([_frame(), pd.DataFrame({"customer_id": ["E", "F"],
                                           "date": ["2024-02-15", "2024-02-16"],
                                           "amount": [8.0, 9.0]})], ignore_index=True)
    f.to_csv(tmp_path / "tx.csv", index=False)
    src = f if engine == "pandas" else tmp_path / "tx.csv"
    s = summarise(src, engine=engine, time_unit="D", observation_end="2024-03-31",
                  calibration_end="2024-02-15")
    e = s.customers.loc["E"]
    assert e["frequency"] == 0 and e["T"] == 0 and e["total_spend"] == 8.0
    assert "F" not in s.customers.index                        # first seen the day after
    assert s.quality.excluded()["customer first seen after calibration end"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_window_errors_name_the_file(engine, tmp_path):
    path = tmp_path / "tx.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        summarise(path, engine=engine, observation_end="2023-12-01")
    assert str(path) in str(err.value.file)


def test_engine_chosen_by_source_and_settings_passed_whole(tmp_path, monkeypatch):
    import crmlib.clv.spark.summary as SP
    import crmlib.clv.summary as S
    calls = []
    monkeypatch.setattr(S, "summarise_duckdb", lambda src, **kw: calls.append(("duckdb", kw)))
    monkeypatch.setattr(S, "_summarise_pandas", lambda src, **kw: calls.append(("pandas", kw)))
    # imported from its module when the Spark engine is asked for
    monkeypatch.setattr(SP, "summarise_spark", lambda src, **kw: calls.append(("spark", kw)))
    for name in ("a.csv", "b.TXT", "c.PARQUET", "d.pq"):
        summarise(tmp_path / name, memory_limit="1GB", threads=1)
        assert calls[-1][0] == "duckdb", name
        assert (calls[-1][1]["memory_limit"], calls[-1][1]["threads"]) == ("1GB", 1)
    summarise(tmp_path / "e.xlsx")
    summarise(_frame())
    assert [c[0] for c in calls[-2:]] == ["pandas", "pandas"]
    summarise(_frame(), engine="spark", time_unit="D", observation_end=OBS, calibration_end=CAL,
              mapping={"date": "day"}, covariates=("channel",), zero_amounts="exclude",
              transaction_col="order")
    kw = calls[-1][1]
    assert calls[-1][0] == "spark"
    assert (kw["time_unit"], str(kw["observation_end"]), str(kw["calibration_end"])) == (
        "D", OBS, CAL)
    assert kw["mapping"] == {"date": "day", "order_id": "order"}
    assert tuple(kw["covariates"]) == ("channel",) and kw["zero_amounts"] == "exclude"
    assert kw["duplicates"] == "drop" and kw["quality"] is not None
    summarise(_frame(), engine="pandas", mapping={"date": "day"}, transaction_col="order")
    assert calls[-1][1]["mapping"] == {"date": "day", "order_id": "order"}
    assert calls[-1][1]["drop_dups"] is True


@pytest.mark.parametrize("name", ["observation_end", "calibration_end"])
def test_a_window_date_that_is_not_a_date_is_named(name):
    with pytest.raises(DataError, match=f"{name} is not a date"):
        summarise(_frame(), engine="pandas", **{name: "soon"})
