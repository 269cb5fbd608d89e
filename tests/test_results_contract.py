"""The typed results contract, its JSON schema, and a finished, formula-safe Excel workbook."""
import json
import re
import zipfile

import jsonschema
import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.escape import unescape

from crmlib import paths
from crmlib.results import (
    Action,
    Headline,
    Results,
    ResultsError,
    json_schema,
    write_excel,
    write_results,
)

SCHEMA_FILE = paths.ROOT / "docs" / "results.schema.json"
HOSTILE = ['=HYPERLINK("http://evil.example","click")', "=1+1", "+SUM(A1)", "-2+3",
           "@SUM(A1)", "\t=1+1", "\r=1+1", "= 156.5 weeks (1 month = 30.4375 days)"]


def test_headline_reads_formats_and_round_trips():
    h = Headline.from_dict({"label": "Total CLV", "value": 567323.4, "unit": "currency",
                            "ci": [540619.7, 591673.0], "ci_level": 0.9})
    assert h.value_text("EUR") == "EUR 567,323"
    assert h.ci_text("EUR") == "90% interval EUR 540,620 to 591,673"
    assert Headline.from_dict({"label": "s", "value": 0.58, "unit": "share"}).value_text() == "58.0%"
    roi = Headline.from_dict({"label": "ROI", "value": 125.08, "unit": "%", "ci": [96.2, 155.7],
                              "ci_level": 0.8})
    assert (roi.value_text(), roi.ci_text()) == ("125.1%", "80% interval 96.2% to 155.7%")
    assert Headline.from_dict(h.to_dict()) == h


@pytest.mark.parametrize("bad", [
    {"value": 1}, {"label": "x", "value": [1]}, {"label": "x", "value": 1, "ci": [1]},
    {"label": "x", "value": 1, "ci": [1, "a"]}, {"label": "x", "value": 1, "ci_level": 95}])
def test_malformed_headlines_are_refused(bad):
    with pytest.raises(ResultsError):
        Headline.from_dict(bad)


def test_results_keep_every_other_key_and_validate_against_the_schema():
    data = {"n_customers": 4000, "priorities": ["customer_360"],
            "headline": [{"label": "Respondents", "value": 120, "unit": "people", "ci": None}],
            "findings": ["The company stands on base 2."],
            "actions": [{"rank": 1, "action": "Customer 360", "why": "1.81 stages below"}]}
    res = Results.from_json(data)
    assert res.actions == [Action(1, "Customer 360", "1.81 stages below")]
    out = res.to_json()
    assert out["n_customers"] == 4000 and out["priorities"] == ["customer_360"]
    jsonschema.validate(out, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**out, "findings": [1]}, json_schema())
    with pytest.raises(ResultsError):
        Results.from_json({**data, "actions": [{"rank": "1", "action": "x"}]})


def test_the_documented_schema_is_the_generated_one():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "regenerate: python -c 'import json; from crmlib.results import json_schema; "
        "print(json.dumps(json_schema(), indent=2))' > docs/results.schema.json")


def test_write_results_checks_the_typed_parts(tmp_path):
    with pytest.raises(ResultsError):
        write_results(tmp_path, {"headline": [{"value": 1}]})


def _sheet_xml(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")}


def test_excel_never_turns_data_into_formulas(tmp_path):
    tables = {"customers": pd.DataFrame({"customer_id": HOSTILE, "segment": HOSTILE[::-1],
                                         "clv": range(len(HOSTILE))}),
              "labels": pd.DataFrame({"=cmd|' /C calc'!A0": ["x"], "label": ["@evil"]})}
    path = write_excel(tables, tmp_path / "t.xlsx")
    for name, xml in _sheet_xml(path).items():
        assert "<f>" not in xml and "<f " not in xml, name  # no formula element anywhere
    wb = openpyxl.load_workbook(path)
    ws = wb["customers"]
    # a CR is stored as the OOXML escape _x000D_, which Excel decodes
    got = [unescape(c.value) for c in ws["A"][1:]]
    assert got == [re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", h) for h in HOSTILE]
    assert all(c.data_type == "s" and c.quotePrefix for c in ws["A"][1:])
    assert wb["labels"]["A1"].data_type == "s" and wb["labels"]["A1"].quotePrefix


def test_excel_is_finished_formats_filter_frozen_header_numbers_as_numbers(tmp_path):
    tables = {"segments": pd.DataFrame({
        "segment": ["Champions", "At Risk"], "customers": [629, 235], "clv_total": [363100.2, 1405.0],
        "customer_share": [0.157, 0.059], "p_holm": [3e-115, 0.03], "estimate": [2.5254, 3.1],
        "when": pd.to_datetime(["2025-06-30", "2024-12-31"])}),
        "assumptions": pd.DataFrame({"assumption": ["margin", "total", "horizon", "id"],
                                     "value": ["30.0%", "567,323", "6", "007"]})}
    path = write_excel(tables, tmp_path / "t.xlsx", currency="EUR")
    wb = openpyxl.load_workbook(path)
    ws = wb["segments"]
    assert [c.value for c in ws[1]] == ["Segment", "Customers", "Total CLV (EUR)",
                                        "Customer share", "p (Holm)", "Estimate", "When"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:G3"
    fmt = {c.column_letter: c.number_format for c in ws[2]}
    assert fmt["B"] == "#,##0" and fmt["C"] == '"EUR "#,##0' and fmt["D"] == "0.0%"
    assert fmt["E"] == "0.000" and fmt["F"] == "#,##0.00" and fmt["G"] == "yyyy-mm-dd"
    assert ws["C2"].value == pytest.approx(363100.2) and ws["G2"].is_date
    values = [c.value for c in wb["assumptions"]["B"][1:]]
    assert values[:3] == [pytest.approx(0.30), 567323, 6] and values[3] == "007"


def test_numeric_columns_written_as_each_cell_would_be(tmp_path, monkeypatch):
    """The workbook's fast path for numeric columns writes the same cells as the
    value-by-value path: numbers, blanks for missing and infinite values, the formats."""
    import crmlib.results as R

    tables = {"t": pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "clv": [1.5, np.nan, np.inf, -2.25],
        "orders": [3, 0, 12, 7], "share": [0.1, 0.2, np.nan, 0.4],
        "visits": pd.array([1, None, 3, 4], dtype="Int64"),
        "rate": pd.array([0.5, None, 1.25, -np.inf], dtype="Float64"),
        "p_value": [1e-9, 0.5, 0.04, np.nan]})}
    fast = _sheet_xml(write_excel(tables, tmp_path / "fast.xlsx", currency="EUR"))
    monkeypatch.setattr(R, "_plain_numbers", lambda values: False)
    slow = _sheet_xml(write_excel(tables, tmp_path / "slow.xlsx", currency="EUR"))
    assert fast == slow
    ws = openpyxl.load_workbook(tmp_path / "fast.xlsx")["t"]
    assert [c.value for c in ws["B"][1:]] == [1.5, None, None, -2.25]
    assert [c.value for c in ws["E"][1:]] == [1, None, 3, 4]


def test_a_table_longer_than_a_sheet_points_to_its_csv(tmp_path, monkeypatch):
    """XlsxWriter drops rows past Excel's limit without a word; the workbook says so
    instead and names the CSV holding the whole table."""
    import crmlib.results as R

    monkeypatch.setattr(R, "EXCEL_MAX_ROWS", 5)
    tables = {"customers": pd.DataFrame({"customer_id": list("abcde"), "clv": range(5)}),
              "segments": pd.DataFrame({"segment": ["A", "B"], "customers": [3, 2]})}
    wb = openpyxl.load_workbook(write_excel(tables, tmp_path / "t.xlsx"))
    assert wb["customers"]["A1"].value.startswith("5 rows: more than an Excel sheet holds")
    assert "customers.csv" in wb["customers"]["A1"].value and wb["customers"].max_row == 1
    assert [c.value for c in wb["segments"]["A"]] == ["Segment", "A", "B"]


def test_a_table_longer_than_the_workbook_lists_points_to_its_csv(tmp_path, monkeypatch):
    """Past EXCEL_SHEET_ROWS a sheet names the CSV instead of listing the rows; the page's
    table says where every row is."""
    import crmlib.results as R
    from crmlib import display

    monkeypatch.setattr(R, "EXCEL_SHEET_ROWS", 3)
    tables = {"customers": pd.DataFrame({"customer_id": list("abcd"), "clv": range(4)}),
              "segments": pd.DataFrame({"segment": ["A", "B", "C"], "customers": [3, 2, 1]})}
    wb = openpyxl.load_workbook(write_excel(tables, tmp_path / "t.xlsx"))
    assert wb["customers"]["A1"].value == ("4 rows: more than this workbook lists in one sheet "
                                           "(3); the whole table is customers.csv next to "
                                           "this workbook.")
    assert wb["customers"].max_row == 1
    assert [c.value for c in wb["segments"]["A"]] == ["Segment", "A", "B", "C"]
    note = display.table(tables["customers"], max_rows=2).note
    assert note.startswith("First 2 of 4 rows; every row is in the table's CSV file (the Excel "
                           "workbook lists tables of up to 3 rows)")
    note = display.table(tables["segments"], max_rows=2).note
    assert note == "First 2 of 3 rows; every row is in the Excel workbook."
