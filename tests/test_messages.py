"""A value shown in an error message is cut to about 80 characters, its length stated."""
from __future__ import annotations

import pytest

from crmlib import io
from crmlib.io.errors import VALUE_LIMIT, DataError, ParameterError, shorten
from crmlib.params import Number, validate
from crmlib.report.worker import _one_line

HUGE = "9" * 100_000 + "x" * 100_000  # 200 000 characters


def test_shorten_keeps_short_values_and_states_the_length_of_long_ones():
    assert shorten("abc") == "'abc'" and shorten(12.5) == "12.5"
    text = shorten(HUGE)
    assert text == "'" + "9" * (VALUE_LIMIT - 2) + "… (200000 characters)"
    assert len(text) < 120
    assert shorten(list(range(10_000))).endswith("… (list of 10000 items)")
    assert shorten(b"\0" * 500).endswith("… (500 bytes)")
    exactly = "a" * (VALUE_LIMIT - 2)  # its repr is exactly the limit: shown whole
    assert shorten(exactly) == repr(exactly)
    assert shorten(exactly + "a").endswith("… (79 characters)")


def test_a_200_kb_bad_value_in_a_data_file_gives_a_short_one_line_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nC1,2024-01-02,10\nC2,2024-01-03," + HUGE + "\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as err:
        io.load_transactions(path)
    text = str(err.value)
    assert len(text) < 400 and "\n" not in text, text
    assert f"{path}, column 'amount', row 3, value '999" in text
    assert "… (200000 characters)" in text


def test_long_column_names_and_parameter_values_are_shortened():
    err = DataError("required column missing", file="f.csv", column="c" * 5000)
    assert "column 'ccc" in str(err) and "… (5000 characters)" in str(err)
    assert len(str(err)) < 200
    with pytest.raises(ParameterError) as perr:
        validate({"margin": Number(0, 1)}, {"margin": HUGE})
    assert str(perr.value).startswith("parameter 'margin': expected a number, got '999")
    assert str(perr.value).endswith("… (200000 characters)")


def test_a_notebook_error_line_states_how_long_it_was():
    line = _one_line("ValueError: " + HUGE)
    assert len(line) < 450 and line.endswith(f"… ({len('ValueError: ') + len(HUGE)} characters)")
