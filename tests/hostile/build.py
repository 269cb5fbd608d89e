"""Write the hostile-input corpus and its manifest (run from the project root).

    python tests/hostile/build.py

Each case is a file as a client's tool exports it, with the outcome written by hand
next to it: accepted with the values it must be read as, or refused naming column,
row and value. ``tests/test_hostile_inputs.py`` checks every case of
``manifest.yaml``. Binary cases (UTF-16, cp1252, Excel) are why the files are
generated rather than typed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent
TX = "customer_id,date,amount\n"
CASES: list[dict] = []


def write(rel: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def case(rel: str, text, *, contract: str = "transactions", encoding: str = "utf-8",
         **outcome) -> None:
    write(rel, text, encoding)
    CASES.append({"file": rel, "contract": contract, **outcome})


def accepted(column: str, values: list, **kw) -> dict:
    return {"outcome": "accepted", "expect": {column: values}, **kw}


def refused(column: str | None, row: int | None, value, message: str, **kw) -> dict:
    return {"outcome": "refused", "error": {"column": column, "row": row, "value": value,
                                            "message": message}, **kw}


def dates() -> None:
    case("dates/iso.csv", TX + "A,2024-01-05,10\nB,2024-02-29,12\n",
         **accepted("date", ["2024-01-05", "2024-02-29"]))
    case("dates/iso_datetime_zulu.csv",
         TX + "A,2024-01-05T23:30:00.000Z,10\nB,2024-01-06T08:15:00+01:00,12\n",
         **accepted("date", ["2024-01-05 23:30:00", "2024-01-06 08:15:00"]))
    case("dates/dd_mm_yyyy_dots.csv", TX + "A,10.04.2023,10\nB,01.12.2023,12\n",
         **accepted("date", ["2023-04-10", "2023-12-01"]))
    case("dates/dd_mm_yyyy_slashes.csv", TX + "A,03/04/2024,10\nB,13/04/2024,12\n",
         **accepted("date", ["2024-04-03", "2024-04-13"]))
    case("dates/mm_dd_yyyy_slashes.csv", TX + "A,04/03/2024,10\nB,04/13/2024,12\n",
         **accepted("date", ["2024-04-03", "2024-04-13"]))
    case("dates/ambiguous_day_month.csv", TX + "A,03/04/2024,10\nB,05/06/2024,12\n",
         **refused("date", 2, "03/04/2024", "declare the input's date_format"))
    case("dates/ambiguous_declared.csv", TX + "A,03/04/2024,10\nB,05/06/2024,12\n",
         options={"date_format": "%m/%d/%Y"}, **accepted("date", ["2024-03-04", "2024-05-06"]))
    case("dates/yyyymmdd.csv", TX + "A,20240105,10\nB,20241231,12\n",
         **accepted("date", ["2024-01-05", "2024-12-31"]))
    case("dates/dots_with_time.csv", TX + "A,13.04.2024 14:30,10\nB,14.04.2024 09:05:59,12\n",
         **accepted("date", ["2024-04-13 14:30:00", "2024-04-14 09:05:59"]))
    case("dates/relative_today.csv", TX + "A,2024-01-05,10\nB,today,12\nC,now,3\n",
         **refused("date", 3, "today", "words and relative dates are not accepted"))
    case("dates/declared_format_today.csv", TX + "A,05/01/2024,10\nB,today,12\n",
         options={"date_format": "%d/%m/%Y"},
         **refused("date", 3, "today", "words and relative dates are not accepted"))
    case("dates/month_name.csv", TX + "A,May 7 2024,10\n",
         **refused("date", 2, "May 7 2024", "not a date"))
    case("dates/yyyy_dots.csv", TX + "A,2024.05.06,10\n",
         **refused("date", 2, "2024.05.06", "not a date"))
    case("dates/mixed_formats.csv", TX + "A,2024-01-05,10\nB,2024-01-06,1\nC,06.01.2024,12\n",
         **refused("date", 4, "06.01.2024", "not a date in the column's format yyyy-mm-dd: "
                                            "one format per column"))
    case("dates/impossible_day.csv", TX + "A,28.02.2024,10\nB,31.02.2024,12\n",
         **refused("date", 3, "31.02.2024", "not a date in the column's format dd.mm.yyyy"))
    case("dates/hour_25.csv", TX + "A,2024-01-05 25:00,10\n",
         **refused("date", 2, "2024-01-05 25:00", "not a date"))
    case("dates/excel_serial_days.xlsx", _xlsx([["customer_id", "date", "amount"],
                                                ["A", 45296, 10], ["B", 45351.5, 12]]),
         **accepted("date", ["2024-01-05", "2024-02-29 12:00:00"]))


def numbers() -> None:
    case("numbers/dot_decimal.csv", TX + "A,2024-01-05,12.50\nB,2024-01-06,-3.25\n",
         **accepted("amount", [12.5, -3.25]))
    case("numbers/comma_decimal_semicolon.csv",
         "customer_id;date;amount\nA;2024-01-05;12,50\nB;2024-01-06;3,99\n",
         **accepted("amount", [12.5, 3.99]))
    case("numbers/german_thousands.csv",
         "customer_id;date;amount\nA;2024-01-05;1.249,00\nB;2024-01-06;12,5\n",
         **accepted("amount", [1249.0, 12.5]))
    case("numbers/us_thousands_quoted.csv", TX + 'A,2024-01-05,"1,234.50"\nB,2024-01-06,12.5\n',
         **accepted("amount", [1234.5, 12.5]))
    case("numbers/ambiguous_thousands.csv", TX + 'A,2024-01-05,"1,234"\nB,2024-01-06,"5,678"\n',
         **refused("amount", 2, "1,234", "declare the input's decimal"))
    case("numbers/ambiguous_declared.csv", TX + 'A,2024-01-05,"1,234"\nB,2024-01-06,"5,678"\n',
         options={"decimal": ".", "thousands": ","}, **accepted("amount", [1234.0, 5678.0]))
    case("numbers/infinity.csv", TX + "A,2024-01-05,10\nB,2024-01-06,inf\n",
         **refused("amount", 3, "inf", "not a number"))
    case("numbers/nan.csv", TX + "A,2024-01-05,NaN\n",
         **refused("amount", 2, "NaN", "not a number"))
    case("numbers/overflow_1e400.csv", TX + "A,2024-01-05,10\nB,2024-01-06,1e400\n",
         **refused("amount", 3, "1e400", "not a finite number"))
    case("numbers/currency_undeclared.csv", TX + "A,2024-01-05,€12.50\n",
         **refused("amount", 2, "€12.50", "declares its currency"))
    case("numbers/currency_declared.csv",
         "customer_id;date;amount\nA;2024-01-05;€1.249,00\nB;2024-01-06;12,00 EUR\n",
         options={"currency": "EUR"}, **accepted("amount", [1249.0, 12.0]))
    case("numbers/nbsp_thousands.csv",
         "customer_id;date;amount\nA;2024-01-05;1\u00a0234,50\nB;2024-01-06;7,25\n",
         **accepted("amount", [1234.5, 7.25]))
    case("numbers/swiss_apostrophe.csv", TX + "A,2024-01-05,1'234.50\nB,2024-01-06,7.25\n",
         **accepted("amount", [1234.5, 7.25]))
    case("numbers/text_in_amount.csv", TX + "A,2024-01-05,10\nB,2024-01-06,ten\n",
         **refused("amount", 3, "ten", "not a number"))
    case("numbers/scientific.csv", TX + "A,2024-01-05,1.5e2\nB,2024-01-06,12\n",
         **accepted("amount", [150.0, 12.0]))


def encodings() -> None:
    text = (TX.replace("amount", "amount,channel")
            + "A,2024-01-05,10,Zürich Café\nB,2024-01-06,12,Ålesund\n")
    expect = accepted("channel", ["Zürich Café", "Ålesund"])
    case("encodings/utf8.csv", text, **expect)
    case("encodings/utf8_bom.csv", "\ufeff" + text, **expect)
    case("encodings/utf16_le_bom.csv", text, encoding="utf-16", **expect)
    case("encodings/utf16_le_no_bom.csv", text, encoding="utf-16-le", **expect)
    case("encodings/utf16_be_bom.csv", "\ufeff" + text, encoding="utf-16-be", **expect)
    case("encodings/utf16_be_no_bom.csv", text, encoding="utf-16-be", **expect)
    case("encodings/cp1252.csv", text.replace("Ålesund", "€-Shop"), encoding="cp1252",
         **accepted("channel", ["Zürich Café", "€-Shop"]))
    case("encodings/latin1.csv", text, encoding="latin-1", **expect)
    case("encodings/cp1252_semicolon_decimal_comma.csv",
         "customer_id;date;amount;channel\nA;05.01.2024;12,50;Café\nB;06.01.2024;3,99;Müller\n",
         encoding="cp1252", **accepted("amount", [12.5, 3.99]))
    case("encodings/binary_not_csv.csv", b"PK\x03\x04\x00\x00\x08\x00customer_id\x00\x00",
         **refused(None, None, None, "NUL characters"))


def flags() -> None:
    head = "item,dimension,label,reverse\n"

    def items(a, b):
        return head + f"rel_1,reliability,Orders arrive,{a}\nrel_2,reliability,Orders right,{b}\n"

    for name, (a, b) in {"zero_one": ("1", "0"), "true_false": ("True", "False"),
                         "upper_true_false": ("TRUE", "FALSE"), "yes_no": ("yes", "No"),
                         "y_n": ("Y", "n")}.items():
        case(f"flags/{name}.csv", items(a, b), contract="items",
             **accepted("reverse", [1, 0]))
    case("flags/empty_is_missing.csv", items("", "1"), contract="items",
         **accepted("reverse", [None, 1]))
    case("flags/maybe.csv", items("maybe", "0"), contract="items",
         **refused("reverse", 2, "maybe", "not a flag"))
    case("flags/two.csv", items("1", "2"), contract="items",
         **refused("reverse", 3, "2", "not a flag"))


def transactions() -> None:
    """Counting cases: expected summary per customer, computed by hand (time unit days)."""
    def count(rel, text, customers, notes=None, excluded=None, **kw):
        case(rel, text, contract="summary",
             **{"outcome": "accepted", "customers": customers, "notes": notes or {},
                "excluded": excluded or {}, **kw})

    count("transactions/identical_rows.csv",
          TX + "A,2024-01-01,10\nA,2024-01-08,5\nA,2024-01-08,5\nA,2024-01-15,20\n",
          {"A": {"frequency": 2, "recency": 14.0, "T": 14.0, "monetary_value": 15.0,
                 "total_spend": 40.0}},
          notes={"identical rows, counted as separate purchases": 1})
    count("transactions/identical_rows_with_order_id.csv",
          "customer_id,date,amount,order_id\nA,2024-01-01,10,o1\nA,2024-01-08,5,o2\n"
          "A,2024-01-08,5,o2\nA,2024-01-15,20,o3\n",
          {"A": {"frequency": 2, "recency": 14.0, "T": 14.0, "monetary_value": 12.5,
                 "total_spend": 35.0}},
          excluded={"exact duplicate row": 1}, summary_options={"transaction_col": "order_id"})
    count("transactions/zero_first_row.csv",
          TX + "A,2024-01-01,0\nA,2024-02-26,30\nA,2024-03-04,10\nB,2024-03-04,5\n",
          {"A": {"frequency": 2, "recency": 63.0, "T": 63.0, "monetary_value": 20.0,
                 "total_spend": 40.0},
           "B": {"frequency": 0, "recency": 0.0, "T": 0.0, "monetary_value": 0.0,
                 "total_spend": 5.0}},
          notes={"zero amount: a purchase day, left out of the spend model": 1})
    count("transactions/zero_repeat_day.csv",
          TX + "A,2024-01-01,10\nA,2024-01-11,0\nA,2024-01-21,30\n",
          {"A": {"frequency": 2, "recency": 20.0, "T": 20.0, "monetary_value": 30.0,
                 "frequency_spend": 1, "total_spend": 40.0}},
          notes={"zero amount: a purchase day, left out of the spend model": 1})
    count("transactions/returns_and_late_rows.csv",
          TX + "A,2024-01-01,10\nA,2024-01-05,-10\nA,2024-01-09,20\nA,2024-02-01,50\n",
          {"A": {"frequency": 1, "recency": 8.0, "T": 30.0, "monetary_value": 20.0,
                 "total_spend": 30.0}},
          excluded={"return (negative amount)": 1, "after observation end": 1},
          summary_options={"observation_end": "2024-01-31"})
    count("transactions/same_day_rows_one_purchase.csv",
          TX + "A,2024-01-01,10\nA,2024-01-01,4\nA,2024-01-03,6\nA,2024-01-03,6\n",
          {"A": {"frequency": 1, "recency": 2.0, "T": 2.0, "monetary_value": 12.0,
                 "total_spend": 26.0}},
          notes={"identical rows, counted as separate purchases": 1})
    case("transactions/only_returns.csv", TX + "A,2024-01-01,-10\nB,2024-01-02,-5\n",
         contract="summary", **refused("amount", None, None, "no purchases left"))


def _xlsx(rows: list[list]) -> bytes:
    import io

    from openpyxl import Workbook
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def main() -> None:
    dates()
    numbers()
    encodings()
    flags()
    transactions()
    sys.path.insert(0, str(HERE))
    from configs import build_configs  # tests/hostile/configs.py
    data_cases, config_cases = CASES, build_configs(write)
    manifest = {"data": data_cases, "configs": config_cases}
    (HERE / "manifest.yaml").write_text(
        "# Hostile inputs and their expected outcomes; written by tests/hostile/build.py\n"
        + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"{len(data_cases)} data cases, {len(config_cases)} configuration cases")


if __name__ == "__main__":
    main()
