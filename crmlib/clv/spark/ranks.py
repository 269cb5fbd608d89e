"""Exact order statistics of a Spark column without sorting the whole table.

RFM scores (quintiles of percentile ranks) and CLV deciles (rank with ties
broken by customer id) each need a few order statistics. An approximate
quantile pass brackets each wanted rank; one count pass and the collection of
the bracketed values (about ``4 / accuracy`` of the rows per rank) then give
the exact value, and the result is checked: if a bracket misses its rank it is
widened until it holds it.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SMALL = 200_000  # below this many rows the column is simply collected


def order_statistics(df, col: str, ranks: Sequence[int], n: int, *, descending: bool = False,
                     tiebreak: str | None = None, accuracy: int = 10_000) -> list[tuple]:
    """The rows at 1-based ``ranks`` of ``df`` ordered by ``col`` (then ``tiebreak`` ascending).

    Returns ``(value, tiebreak value)`` tuples (the second is None without ``tiebreak``).
    """
    from pyspark.sql import functions as F

    ranks = [int(r) for r in ranks]
    cols = [col] + ([tiebreak] if tiebreak else [])
    if n <= SMALL:
        rows = _pick(df.select(*cols).collect(), ranks, 0, descending, tiebreak)
        return rows  # type: ignore[return-value]  # every rank lies in 1..n: all found
    out: list[tuple | None] = [None] * len(ranks)
    width = 2.0 / accuracy
    while any(o is None for o in out):
        todo = [i for i, o in enumerate(out) if o is None]
        probs = [(ranks[i] - 0.5) / n for i in todo]
        if descending:
            probs = [1 - p for p in probs]
        lo = F.percentile_approx(col, [max(p - width, 0.0) for p in probs], accuracy)
        hi = F.percentile_approx(col, [min(p + width, 1.0) for p in probs], accuracy)
        bounds = df.agg(lo, hi).first()
        for j, i in enumerate(todo):
            a, b = bounds[0][j], bounds[1][j]
            before = (F.col(col) > b) if descending else (F.col(col) < a)
            inside = F.col(col).between(a, b)
            below, rows = df.agg(F.count_if(before)).first()[0], \
                df.filter(inside).select(*cols).collect()
            got = _pick(rows, [ranks[i]], below, descending, tiebreak)[0]
            out[i] = got
        width *= 4
    return out  # type: ignore[return-value]


def _pick(rows: list[Any], ranks: list[int], before: int, descending: bool,
          tiebreak: str | None) -> list[tuple | None]:
    """Sort the collected rows and return those at ``ranks`` (None when outside them)."""
    def key(r):
        v = r[0]
        return ((-v if descending else v), r[1] if tiebreak else 0)

    rows = sorted(rows, key=key)
    out = []
    for r in ranks:
        k = r - before - 1
        out.append((rows[k][0], rows[k][1] if tiebreak else None) if 0 <= k < len(rows)
                   else None)
    return out
