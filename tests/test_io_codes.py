"""Codes of text columns kept for reuse: always what pd.factorize gives for the column."""
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from crmlib.io import load_transactions
from crmlib.io.codes import factorize


def _log(ids):
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="str"),
                         "date": pd.date_range("2024-01-01", periods=len(ids), freq="D"),
                         "amount": np.arange(1.0, len(ids) + 1)})


def _same_as_pandas(series):
    codes, uniques = factorize(series)
    want_codes, want_uniques = pd.factorize(series)
    np.testing.assert_array_equal(codes, want_codes)
    pd.testing.assert_index_equal(uniques, want_uniques)
    return codes, uniques


@pytest.mark.parametrize("ids", [
    [f"C{i % 7:03d}" for i in range(6_000)],                       # clean ids: reused
    [f" C{i % 7:03d}" if i % 2 else f"C{i % 7:03d}" for i in range(6_000)],  # trimmed: new
])
def test_codes_after_the_contract_are_those_of_pandas(ids):
    tx = load_transactions(_log(ids))
    codes, uniques = _same_as_pandas(tx["customer_id"])
    assert len(uniques) == 7 and list(uniques) == [f"C{i:03d}" for i in range(7)]


def test_a_column_that_passed_the_contract_unchanged_is_not_factorized_again(monkeypatch):
    tx = load_transactions(_log([f"C{i % 7:03d}" for i in range(6_000)]))
    monkeypatch.setattr(pd, "factorize", lambda *a, **k: pytest.fail("factorized again"))
    codes, uniques = factorize(tx["customer_id"])
    assert not codes.flags.writeable          # shared: nobody may change them in place
    with pytest.raises(ValueError):
        codes[0] = 5


def test_a_changed_column_gets_its_own_codes():
    s = pd.Series(["b", "a", "b", "c"], dtype="str")
    first, _ = factorize(s)
    s.iloc[0] = "z"                           # a new Arrow array behind the same Series
    codes, uniques = _same_as_pandas(s)
    assert list(uniques) == ["z", "a", "b", "c"] and list(first) == [0, 1, 0, 2]
    np.testing.assert_array_equal(factorize(s.iloc[1:])[0], [0, 1, 2])  # a slice: its own


def test_columns_with_missing_values_or_numpy_storage_are_factorized_as_usual():
    for s in (pd.Series(["b", None, "b"], dtype="str"), pd.Series([3, 1, 3]),
              pd.Series(["b", "a"], dtype=object)):
        _same_as_pandas(s)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
def test_text_read_in_chunks_is_coded_as_pandas_codes_it(kind):
    chunks = [["b", "a", "b"], [], ["c", "a", "d", "b"], ["d", "e"]]
    arr = pa.chunked_array([pa.array(c, type=kind) for c in chunks])
    series = pd.Series(pd.array(arr, dtype=pd.ArrowDtype(kind)))
    text = pd.Series(pd.array(arr, dtype="string[pyarrow]"))
    for s in (series, text):
        codes, uniques = factorize(s)
        want_codes, want_uniques = pd.factorize(s)
        assert list(codes) == [0, 1, 0, 2, 1, 3, 0, 3, 4] == list(want_codes)
        pd.testing.assert_index_equal(uniques, want_uniques)
