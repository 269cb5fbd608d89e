"""Integer codes of a text column, computed once per column however often they are asked for.

Reading a transaction log factorizes the customer ids twice: the contract parses each
distinct id once (:mod:`crmlib.io.contracts`), then the CLV summary groups by customer.
On a log of ten million rows each factorization of Arrow-backed text costs seconds (the
hashing of every string), the largest single step of the pandas engine. A column that
passes the contract unchanged keeps its Arrow array, which is immutable, so the codes
computed for it once stay true for as long as it lives: :func:`factorize` keeps them
beside the array (dropped with it) and hands them out read-only.

pandas offers no such reuse (``pd.factorize`` recomputes every time), hence this module.
"""
from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_CACHE: dict[int, tuple[weakref.ref, np.ndarray, pd.Index | pd.api.extensions.ExtensionArray]] = {}


def _arrow_array(series: pd.Series):
    """The immutable pyarrow array behind ``series``, or None."""
    arr = getattr(series.array, "_pa_array", None)
    return arr if arr is not None and arr.null_count == 0 else None


def factorize(series: pd.Series):
    """``pd.factorize(series)``: codes in order of first appearance and the distinct values.

    For a column backed by an Arrow array without missing values the result is kept with
    the array and returned again, codes read-only, for the same array; any other column
    is factorized as usual.
    """
    arr = _arrow_array(series)
    if arr is None:
        return pd.factorize(series)
    key = id(arr)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is arr:
        return hit[1], hit[2]
    codes, uniques = _factorize_text(series, arr)
    remember(series, codes, uniques)
    return codes, uniques


def _factorize_text(series: pd.Series, arr):
    """``pd.factorize`` of the Arrow text ``arr`` behind ``series``, without joining its chunks.

    Arrow encodes the chunks of a column against one dictionary, in order of first
    appearance; pandas then joins the encoded chunks, which unifies their dictionaries
    again (a second hashing, about a third of the factorization on a file read in 80
    chunks). Here the chunks' codes are joined directly when every chunk holds that one
    dictionary; otherwise, or for other types, pandas factorizes.
    """
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return pd.factorize(series)
    chunks = pc.dictionary_encode(arr).chunks
    if not chunks or len({tuple(b.address for b in c.dictionary.buffers() if b is not None)
                          for c in chunks}) != 1:
        return pd.factorize(series)
    codes = np.concatenate([c.indices.to_numpy() for c in chunks]).astype(np.intp)
    return codes, pd.Index(pd.array(chunks[0].dictionary, dtype=series.dtype))


def remember(series: pd.Series, codes: np.ndarray, uniques) -> None:
    """Keep ``codes, uniques`` (``pd.factorize`` of the same values in the same order, e.g.
    of the text ``series`` was converted from) as the factorization of ``series``."""
    arr = _arrow_array(series)
    if arr is None:
        return
    codes.flags.writeable = False
    key = id(arr)

    def forget(_ref: weakref.ref) -> None:
        _CACHE.pop(key, None)

    _CACHE[key] = (weakref.ref(arr, forget), codes, uniques)
