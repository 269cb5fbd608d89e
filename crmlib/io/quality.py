"""Data-quality ledger: every excluded row is counted by input and reason."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class DataQualityReport:
    """Counts of rows read, kept and excluded (by reason) per input.

    Every loader and analysis step that drops rows records them here, so a
    report can show that nothing disappeared silently.
    """

    rows: list[dict] = field(default_factory=list)
    read: dict[str, int] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)

    def add_read(self, source: str, n: int) -> None:
        """Record that ``n`` rows were read from ``source``."""
        self.read[source] = self.read.get(source, 0) + int(n)

    def exclude(self, source: str, reason: str, n: int, example: object = None) -> None:
        """Record ``n`` rows of ``source`` excluded for ``reason`` (zero counts are kept)."""
        _add(self.rows, source, reason, n, example)

    def note(self, source: str, what: str, n: int, example: object = None) -> None:
        """Record ``n`` rows of ``source`` that are kept but worth showing (e.g. identical
        rows counted as separate purchases); they appear in the table with 0 excluded.
        A count of 0 is not recorded."""
        if not n:
            return
        _add(self.notes, source, what, n, example)

    def noted(self, source: str | None = None) -> dict[str, int]:
        """Return note → row count (kept rows, for one input or all)."""
        return {r["reason"]: r["rows"] for r in self.notes
                if source is None or r["input"] == source}

    def excluded(self, source: str | None = None) -> dict[str, int]:
        """Return reason → excluded row count (for one input or all)."""
        out: dict[str, int] = {}
        for r in self.rows:
            if source is None or r["input"] == source:
                out[r["reason"]] = out.get(r["reason"], 0) + r["rows"]
        return out

    def merge(self, other: DataQualityReport) -> DataQualityReport:
        """Add another report's counts into this one and return self."""
        for s, n in other.read.items():
            self.add_read(s, n)
        for r in other.rows:
            self.exclude(r["input"], r["reason"], r["rows"], r["example"] or None)
        for r in other.notes:
            self.note(r["input"], r["reason"], r["rows"], r["example"] or None)
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per input and reason, with rows read and kept per input."""
        cols = ["input", "rows read", "reason", "rows excluded", "example", "rows kept"]
        out = []
        for source, n in self.read.items():
            mine = [r for r in self.rows if r["input"] == source]
            dropped = sum(r["rows"] for r in mine)
            for r in mine or [{"reason": "(none)", "rows": 0, "example": ""}]:
                out.append([source, n, r["reason"], r["rows"], r["example"], n - dropped])
            for r in self.notes:
                if r["input"] == source:
                    out.append([source, n, f"{r['reason']} ({r['rows']:,} rows)", 0,
                                r["example"], n - dropped])
        for r in self.rows:
            if r["input"] not in self.read:
                out.append([r["input"], None, r["reason"], r["rows"], r["example"], None])
        return pd.DataFrame(out, columns=cols)

    def to_dict(self) -> dict:
        """JSON-ready form: read counts and reason → count per input."""
        return {"read": dict(self.read),
                "excluded": {s: self.excluded(s) for s in _inputs(self.rows)},
                "kept_and_noted": {s: self.noted(s) for s in _inputs(self.notes)}}


def _inputs(rows: list[dict]) -> list[str]:
    """The inputs of ``rows`` in the order they were first recorded (a run's results.json
    lists them the same way every time)."""
    return list(dict.fromkeys(r["input"] for r in rows))


def _add(rows: list[dict], source: str, reason: str, n: int, example: object) -> None:
    """Add ``n`` to the row of (``source``, ``reason``), or append that row."""
    for r in rows:
        if r["input"] == source and r["reason"] == reason:
            r["rows"] += int(n)
            return
    rows.append({"input": source, "reason": reason, "rows": int(n),
                 "example": "" if example is None else str(example)})
