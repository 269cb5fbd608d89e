"""Tables formatted for people: numbers by quantity, labels in words, no index, text escaped."""
import numpy as np
import pandas as pd
import pytest

from crmlib import display as D


@pytest.mark.parametrize("value, kind, expected", [
    (3.17e-115, "p", "<0.001"), (0.0312, "p", "0.03"), (0.0042, "p", "0.004"),
    (0.5, "p", "0.50"), (363100.2, "money", "363,100"), (0.58, "share", "58.0%"),
    (6.894, "share", "689%"), (125.08, "percent", "125.1%"), (1234, "count", "1,234"),
    (2.52547, "number", "2.53"), (0.000123, "number", "0.00012"), (-1.044, "number", "-1.04"),
    (12345.6, "number", "12,346"), (True, "bool", "yes"), (np.bool_(False), "number", "no"),
    (float("nan"), "number", "–"), (None, "money", "–"), (pd.NA, "count", "–"),
])
def test_number_rules(value, kind, expected):
    assert D.number(value, kind) == expected


def test_money_carries_the_currency_and_intervals_read_as_words():
    assert D.number(567323.43, "money", "EUR") == "EUR 567,323"
    assert D.interval(540619.7, 591673.0, "money", "EUR") == "EUR 540,620 to 591,673"
    assert D.interval(0.1, None) == "–"


def test_no_scientific_notation_for_any_magnitude():
    for v in (1e-9, 3.2e-7, 4.5e-5, 1e12, -7.7e15):
        assert "e" not in D.number(v).lower(), v


@pytest.mark.parametrize("name, kind", [
    ("p_holm", "p"), ("pretrend_p", "p"), ("wilcoxon_p_adj", "p"), ("clv_total", "money"),
    ("customer_share", "share"), ("roi", "share"), ("n_respondents", "count"),
    ("estimate", "number")])
def test_kind_by_column_name(name, kind):
    assert D.column_kind(name, pd.Series([0.5, 1.5])) == kind


def test_table_drops_the_index_merges_intervals_and_writes_words():
    df = pd.DataFrame({"capability": ["customer_360", "<b>x</b>"], "estimate": [2.5254, 3.1],
                       "ci_low": [2.43, 3.0], "ci_high": [2.6, 3.2], "p_holm": [3e-115, 0.0312],
                       "clv_total": [363100.2, 1234.5], "significant": [True, False],
                       "note": [None, "A long note that must be shown whole, never cut off"]},
                      index=[7, 9])
    t = D.table(df, currency="EUR")
    assert list(t.text.columns) == ["Capability", "Estimate", "Interval", "p (Holm)",
                                    "Total CLV (EUR)", "Significant", "Note"]
    assert t.text.iloc[0].tolist() == ["customer_360", "2.53", "2.43 to 2.60", "<0.001",
                                       "363,100", "yes", "–"]
    html = t._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "never cut off" in html and "…" not in html
    assert ">7<" not in html and ">9<" not in html  # no index column


def test_wide_short_tables_are_transposed_and_long_ones_cut_with_a_note():
    wide = pd.DataFrame({"feature": ["a", "b"], **{f"x{i}": [1.0, 2.0] for i in range(12)}})
    t = D.table(wide)
    assert t.transposed and list(t.text.columns) == ["Feature", "a", "b"] and len(t) == 12
    long = pd.DataFrame({"n": range(100)})
    t = D.table(long, max_rows=10)
    assert len(t) == 10 and "First 10 of 100 rows" in t.note


def test_activate_routes_every_dataframe_through_the_table_layer():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        D.activate(currency="CHF")
        data, _ = shell.display_formatter.format(pd.DataFrame({"npv": [1234567.8]}))
        assert "CHF 1,234,568" not in data["text/html"]  # the unit is in the header
        assert "NPV (CHF)" in data["text/html"] and "1,234,568" in data["text/html"]
        assert "crm-table" in data["text/html"]
    finally:
        InteractiveShell.clear_instance()


def test_scientific_notation_in_free_text_is_written_for_people():
    text = "groups differ (Holm p = 6.25e-06, range 1.34 stages); staff p = 0.5e-2; 2.5e+06 in C1e5"
    assert D.plain_text(text) == ("groups differ (Holm p < 0.001, range 1.34 stages); staff "
                                  "p = 0.005; 2,500,000 in C1e5")


def test_transposed_tables_are_headed_by_names_not_codes_and_blank_columns_go():
    df = pd.DataFrame({"model": ["bgnbd", "pnbd"], "label": ["BG/NBD", "Pareto/NBD"],
                       **{f"stat_{i}": [1.0 * i, 2.0 * i] for i in range(9)},
                       "limit": ["", ""], "note": [None, np.nan]})
    t = D.table(df)
    assert t.transposed and list(t.text.columns) == ["Model", "BG/NBD", "Pareto/NBD"]
    assert list(t.text["Model"]) == [f"Stat {i}" for i in range(9)]  # no Limit or Note row
    kept = D.table(df.assign(note=["", "not fitted"]))
    assert "Note" in list(kept.text["Model"])


@pytest.mark.parametrize("low, high, kind, expected", [
    (-0.1834, 0.0069, "number", "-0.18 to 0.01"),  # not "-0.18 to 0.0069"
    (0.0069, -0.1834, "number", "0.01 to -0.18"),
    (0.00412, 0.0078, "number", "0.0041 to 0.0078"),  # both small: two significant digits
    (0.7274, 1.7506, "share", "73% to 175%"),  # not "72.7% to 175%"
    (0.962, 1.557, "share", "96% to 156%"),
    (0.12, 0.345, "share", "12.0% to 34.5%"),
    (950.0, 1040.4, "percent", "950% to 1,040%"),
    (-0.004, 0.2, "number", "0.00 to 0.20"),  # a rounded zero has no sign
])
def test_an_interval_writes_both_ends_with_the_same_decimals(low, high, kind, expected):
    assert D.interval(low, high, kind) == expected


def test_a_share_that_shows_as_100_percent_is_written_as_one_that_is():
    """A cumulative share summed to 1 − 1e-16 (the order of a sum) is written as one summed
    to exactly 1: no decimals, "100%"; 99.94% still gets its decimal."""
    exact = D.table(pd.DataFrame({"cumulative_share": [0.581, 0.746, 1.0]}))
    summed = D.table(pd.DataFrame({"cumulative_share": [0.581, 0.746, 1 - 1e-16]}))
    assert list(summed.text["Cumulative share"]) == list(exact.text["Cumulative share"]) \
        == ["58%", "75%", "100%"]
    assert D.number(0.99996, "share") == "100%" and D.number(0.9994, "share") == "99.9%"
    assert D.number(999.96, "percent") == "1,000%" and D.number(999.94, "percent") == "999.9%"


def test_decimals_are_chosen_per_quantity_not_per_cell():
    df = pd.DataFrame({"item": ["a", "b", "c"], "gap": [0.41, -1.04, -0.0017],
                       "estimate": [0.0213, 0.0054, 0.0471], "ci_low": [0.012, 0.0031, 0.031],
                       "ci_high": [0.033, 0.0078, 0.062], "roi": [6.894, 0.25, -0.0923]})
    t = D.table(df)
    assert list(t.text["Gap"]) == ["0.41", "-1.04", "0.00"]  # not "-0.0017"
    # an estimate and its interval: one quantity, three decimals (0.0471 has two digits)
    assert list(t.text["Estimate"]) == ["0.021", "0.005", "0.047"]
    assert list(t.text["Interval"]) == ["0.012 to 0.033", "0.003 to 0.008", "0.031 to 0.062"]
    assert list(t.text["ROI"]) == ["689%", "25%", "-9%"]  # not "25.0%" beside "689%"


def test_keys_are_shown_by_their_names_on_the_page_and_in_the_workbook(tmp_path):
    import openpyxl

    from crmlib.assessment import display_names, load_catalogue
    from crmlib.results import write_results
    names = display_names(load_catalogue())
    assert names["capability"]["customer_360"] == "Customer 360° view"
    assert names["driver"]["information architecture"] == "Information architecture"
    df = pd.DataFrame({"capability": ["customer_360", "not_in_catalogue"],
                       "driver": ["information architecture", "information architecture"],
                       "estimate": [1.73, 2.1]})
    t = D.table(df, names=names)
    assert list(t.text["Capability"]) == ["Customer 360° view", "not_in_catalogue"]
    assert list(t.text["Driver"]) == ["Information architecture"] * 2
    try:
        D.activate(names=names)  # what a notebook does once it has its catalogue
        assert D.table(df).text["Capability"].iloc[0] == "Customer 360° view"
        write_results(tmp_path, {"headline": []}, {"scores": df})
    finally:
        D.activate()
    assert D.table(df).text["Capability"].iloc[0] == "customer_360"
    ws = openpyxl.load_workbook(tmp_path / "tables.xlsx")["scores"]
    assert [c.value for c in ws["A"]] == ["Capability", "Customer 360° view", "not_in_catalogue"]
    assert list(pd.read_csv(tmp_path / "scores.csv")["capability"]) == ["customer_360",
                                                                       "not_in_catalogue"]


def test_a_catalogue_without_names_shows_its_descriptions():
    from crmlib.assessment import display_names, load_catalogue
    cat = pd.DataFrame({"capability": ["c1", "c2"], "name": ["", "Second"],
                        "driver": ["Business Leadership", "business leadership"],
                        "description": ["The first capability", "The second one"]})
    names = display_names(load_catalogue(cat))
    assert names["capability"] == {"c1": "The first capability", "c2": "Second"}
    no_column = display_names(load_catalogue(cat.drop(columns="name")))
    assert no_column["capability"]["c2"] == "The second one"
