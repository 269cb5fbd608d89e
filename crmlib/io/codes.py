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
    codes, uniques = pd.factorize(series)
    remember(series, codes, uniques)
    return codes, uniques


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
