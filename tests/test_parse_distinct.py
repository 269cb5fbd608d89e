"""Large columns are read once per distinct value: same values, same errors as row by row."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.io import DataError
from crmlib.io import contracts as C
from crmlib.io.options import ReadOptions

N = 12_000  # above the row count from which distinct values are read once


def _log(seed: int = 1) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(g.integers(0, 400, N), unit="D")
    cents = g.integers(100, 500_000, N)
    return pd.DataFrame({
        "customer_id": [f" C{i:04d} " for i in g.integers(0, 900, N)],
        "date": days.strftime("%d.%m.%Y"),
        "amount": [f"{c // 100:,}".replace(",", ".") + f",{c % 100:02d}" for c in cents],
    }), days, cents / 100


def test_typed_values_equal_an_independent_reading():
    raw, days, amounts = _log()
    typed = C.validate(raw, C.TRANSACTIONS, file="tx.csv", options=ReadOptions())
    assert (typed["date"].to_numpy() == days.to_numpy()).all()
    np.testing.assert_allclose(typed["amount"].to_numpy(), amounts, rtol=0, atol=1e-9)
    assert list(typed["customer_id"]) == [s.strip() for s in raw["customer_id"]]
    assert list(typed.index[:3]) == [2, 3, 4]  # spreadsheet rows survive


@pytest.mark.parametrize("column,bad", [("date", "31.02.2024"), ("amount", "12,3,4"),
                                        ("customer_id", "  ")])
def test_errors_name_the_first_bad_row_and_count_the_rest(column, bad):
    raw, _, _ = _log(2)
    rows = [7_000, 500, 9_999]  # positions; the first in the file is 500
    raw.loc[rows, column] = bad
    with pytest.raises(DataError) as big:
        C.validate(raw, C.TRANSACTIONS, file="tx.csv", options=ReadOptions())
    assert big.value.row == 502 and big.value.column == column and big.value.more == 2
    with pytest.raises(DataError) as small:  # the row-by-row reading of the same rows
        C.validate(raw.iloc[:5_000].copy(), C.TRANSACTIONS, file="tx.csv",
                   options=ReadOptions())
    assert small.value.row == 502 and small.value.more == 0
    assert big.value.message == small.value.message


@pytest.mark.parametrize("values, dtype", [
    (["b", None, "a", "b", np.nan, "c", None], object),
    ([None, "x", "y", None, "x"], "string"),
    (["x", "y", "x"], "string"),
    ([pd.Timestamp("2024-01-02").date(), None, pd.Timestamp("2024-01-01").date(), np.nan],
     object),
    (["a", "b", pd.NA], "string"),
    ([None, None], object),
])
def test_missing_values_are_numbered_as_pandas_numbers_them(values, dtype):
    s = pd.Series(values, dtype=dtype)
    want_codes, want_uniq = pd.factorize(s, use_na_sentinel=False)
    codes, uniq = C._factorize_with_missing(s)
    assert codes.tolist() == want_codes.tolist()
    assert [None if pd.isna(v) else v for v in uniq] == \
        [None if pd.isna(v) else v for v in want_uniq]
