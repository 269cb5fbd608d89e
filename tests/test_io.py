"""crmlib.io against a corpus of good and bad inputs."""
import json

import pandas as pd
import pytest

from crmlib import io
from crmlib.io import DataError, DataQualityReport

GOOD = "customer_id,date,amount\nA,2024-01-05,10.5\nB,2024-01-06,-3\nA,2024-02-01,7\n"


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_reads_plain_csv_with_types(tmp_path):
    q = DataQualityReport()
    df = io.load_transactions(write(tmp_path, "t.csv", GOOD), quality=q)
    assert list(df.columns) == ["customer_id", "date", "amount"]
    assert df["amount"].tolist() == [10.5, -3.0, 7.0]
    assert str(df["date"].dtype).startswith("datetime64")
    assert q.read == {"transactions": 3}
    assert q.excluded("transactions") == {}


@pytest.mark.parametrize("encoding,prefix", [("utf-8", "\ufeff"), ("utf-16", ""), ("cp1252", "")])
def test_encodings_and_bom(tmp_path, encoding, prefix):
    text = prefix + GOOD.replace("A,", "Zoë,")
    df = io.load_transactions(write(tmp_path, "t.csv", text, encoding))
    assert df.columns[0] == "customer_id"
    assert df["customer_id"].iloc[0] == "Zoë"


def test_semicolon_and_decimal_comma(tmp_path):
    text = "customer_id;date;amount\nA;2024-01-05;10,50\nB;2024-01-06;3\n"
    df = io.load_transactions(write(tmp_path, "t.csv", text))
    assert df["amount"].tolist() == [10.5, 3.0]


def test_excel_and_parquet(tmp_path):
    frame = pd.DataFrame({"customer_id": ["A", "B"], "date": ["2024-01-05", "2024-01-06"],
                          "amount": [1.0, 2.0]})
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    frame.assign(date=pd.to_datetime(frame["date"])).to_parquet(tmp_path / "t.parquet")
    for name in ("t.xlsx", "t.parquet"):
        df = io.load_transactions(tmp_path / name)
        assert df["amount"].sum() == 3.0
        assert df["date"].iloc[1] == pd.Timestamp("2024-01-06")


def test_missing_column_names_file_and_column(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id,amount\nA,1\n")
    with pytest.raises(DataError) as e:
        io.load_transactions(p)
    assert "t.csv" in str(e.value) and "'date'" in str(e.value)
    assert e.value.column == "date"


def test_unparsable_date_names_row_and_value(tmp_path):
    p = write(tmp_path, "t.csv", GOOD + "C,31/02/2024,5\nD,not a date,1\n")
    with pytest.raises(DataError) as e:
        io.load_transactions(p)
    err = e.value
    assert (err.column, err.row, err.value, err.more) == ("date", 5, "31/02/2024", 1)
    assert "row 5" in str(err) and "'31/02/2024'" in str(err)


def test_text_in_number_column(tmp_path):
    p = write(tmp_path, "t.csv", GOOD + "C,2024-03-01,ten\n")
    with pytest.raises(DataError, match=r"column 'amount', row 5, value 'ten': not a number"):
        io.load_transactions(p)


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="empty"):
        io.load_transactions(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match="no data rows"):
        io.load_transactions(write(tmp_path, "h.csv", "customer_id,date,amount\n"))


def test_missing_file():
    with pytest.raises(DataError, match="file not found"):
        io.load_transactions("/nonexistent/t.csv")


def test_duplicate_rows_are_excluded_and_counted(tmp_path):
    q = DataQualityReport()
    kpi = ("date,unit_id,group,kpi,value\n2024-01-31,S1,pilot,nps,30\n"
           "2024-02-29,S1,pilot,nps,31\n2024-02-29,S1,pilot,nps,31\n")
    df = io.load_kpi_panel(write(tmp_path, "k.csv", kpi), quality=q)
    assert len(df) == 2
    assert q.excluded("KPI panel") == {"exact duplicate row": 1}
    table = q.to_frame()
    assert table.loc[0, "rows read"] == 3 and table.loc[0, "rows kept"] == 2
    assert table.loc[0, "example"] == "row 4"


def test_identical_transaction_rows_are_kept_by_the_loader(tmp_path):
    # identical rows are separate purchases (Lifetimes, BTYD and CLVTools count each row);
    # the summary decides with duplicates= / transaction_col=
    df = io.load_transactions(write(tmp_path, "t.csv", GOOD + "A,2024-02-01,7\n"))
    assert len(df) == 4


def test_required_value_missing(tmp_path):
    p = write(tmp_path, "t.csv", "customer_id,date,amount\n,2024-01-01,3\n")
    with pytest.raises(DataError, match="column 'customer_id', row 2: a value is required"):
        io.load_transactions(p)


def test_column_mapping(tmp_path):
    p = write(tmp_path, "t.csv", "Kunde,Datum,Umsatz\nA,2024-01-05,1\n")
    df = io.load_transactions(p, mapping={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"})
    assert list(df.columns) == ["customer_id", "date", "amount"]
    with pytest.raises(DataError, match="mapped column 'Client'"):
        io.load_transactions(p, mapping={"customer_id": "Client"})


def test_choices_and_ranges(tmp_path):
    p = write(tmp_path, "a.csv", "respondent_id,group,capability,current_stage\nr1,Sales,c1,5\n")
    with pytest.raises(DataError, match=r"current_stage', row 2, value '5': allowed values are \[1, 2, 3, 4\]"):
        io.load_assessment(p)
    p = write(tmp_path, "k.csv", "date,unit_id,group,kpi,value\n2024-01-01,u1,treated,sales,1\n")
    with pytest.raises(DataError, match="allowed values are"):
        io.load_kpi_panel(p)


def test_survey_prefix_columns_and_uniqueness(tmp_path):
    p = write(tmp_path, "s.csv", "respondent_id,E_speed,P_speed,KF_app,KD_app\nr1,5,4,1,5\nr2,6,x,2,3\n")
    with pytest.raises(DataError, match="P_speed', row 3, value 'x'"):
        io.load_survey(p)
    p = write(tmp_path, "s.csv", "respondent_id,E_speed,P_speed,KF_app,KD_app\nr1,5,4,1,7\n")
    with pytest.raises(DataError, match="KD_app', row 2, value '7'"):
        io.load_survey(p)
    p = write(tmp_path, "s.csv", "respondent_id,E_speed\nr1,5\nr1,4\n")
    with pytest.raises(DataError, match="row 3.*respondent_id must be unique"):
        io.load_survey(p)


def test_subscription_end_before_start(tmp_path):
    p = write(tmp_path, "s.csv", "customer_id,start_date,end_date\nA,2024-01-01,\nB,2024-03-01,2024-02-01\n")
    with pytest.raises(DataError, match="end_date', row 3, value '2024-02-01'"):
        io.load_subscriptions(p)
    df = io.load_subscriptions(write(tmp_path, "ok.csv", "customer_id,start_date,end_date\nA,2024-01-01,\n"))
    assert df["end_date"].isna().all()


def test_yaml_errors_name_file_and_line(tmp_path):
    p = write(tmp_path, "plan.yaml", "currency: EUR\nphases:\n  - name: [unclosed\n")
    with pytest.raises(DataError, match="plan.yaml.*row"):
        io.load_yaml(p)
    p = write(tmp_path, "list.yaml", "- a\n- b\n")
    with pytest.raises(DataError, match="mapping"):
        io.load_yaml(p)


def test_quality_report_merge_and_dict():
    a, b = DataQualityReport(), DataQualityReport()
    a.add_read("t", 10)
    a.exclude("t", "return", 2)
    b.add_read("t", 5)
    b.exclude("t", "return", 1)
    b.exclude("t", "zero amount", 3)
    b.note("t", "identical rows", 2)
    a.merge(b)
    assert a.to_dict() == {"read": {"t": 15}, "excluded": {"t": {"return": 3, "zero amount": 3}},
                           "kept_and_noted": {"t": {"identical rows": 2}}}
    table = a.to_frame()
    assert (table["rows kept"] == 9).all() and table["rows excluded"].sum() == 6
    assert "identical rows (2 rows)" in set(table["reason"])


def test_declared_read_options_reach_a_kernel_through_the_environment(tmp_path, monkeypatch):
    """The runner hands a configuration's ``inputs:`` to each notebook kernel as JSON."""
    from crmlib.io import options
    p = write(tmp_path, "t.csv", "customer_id,date,amount\nA,03/04/2024,10\nB,05/06/2024,2\n")
    with pytest.raises(DataError, match="declare the input's date_format"):
        io.load_transactions(p)
    env = options.declarations({str(p): {"date_format": "%d/%m/%Y"}})
    monkeypatch.setenv(options.ENV, json.dumps(env))
    options.clear()
    try:
        df = io.load_transactions(p)
        assert list(df["date"].dt.month) == [4, 6]
    finally:
        options.clear()
    with pytest.raises(DataError, match="unknown key 'datefmt'"):
        options.declarations({"x.csv": {"datefmt": "%d"}})


def test_quality_dict_lists_inputs_in_the_order_recorded():
    from crmlib.io import DataQualityReport

    q = DataQualityReport()
    names = ["survey", "CLV table", "items", "assessment target stages", "responses", "plan"]
    for name in names:
        q.add_read(name, 10)
        q.exclude(name, "bad row", 1)
        q.note(name, "kept", 2)
    d = q.to_dict()
    assert list(d["excluded"]) == names and list(d["kept_and_noted"]) == names


def test_a_frame_handed_in_is_left_as_it_was():
    client = pd.DataFrame({"cust": [" A", "B "], "date": ["2024-01-05", "2024-01-06"],
                           "amount": [10.5, -3.0], "note": ["x", "y"]}, index=[7, 9])
    before = client.copy()
    df = io.load_transactions(client, mapping={"customer_id": "cust"})
    df["amount"] = df["amount"] * 2
    df.loc[df.index[0], "note"] = "changed"
    pd.testing.assert_frame_equal(client, before)
    assert df["customer_id"].tolist() == ["A", "B"] and list(df.index) == [2, 3]
