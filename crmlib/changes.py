"""What changed since the client's last run: the changes that matter, each with its interval
where one exists and a plain sentence.

Reads this run's ``results.json`` files and those of the previous completed run (whose
``run.json`` the report runner passes as ``previous_run``; "" on a first run, which is
the baseline). Computes no statistics beyond differences of figures the analyses
reported:

* customer value: the ``since_last_run`` block of notebook 02 (:mod:`crmlib.clv.since`):
  the change in total CLV with its interval from both runs' parameter draws, the earlier
  forecast against what happened, churned and new customers and the value they moved;
* every other analysis: each headline figure reported by both runs under the same label
  and unit. When both carry an interval of the same level the change gets the
  approximate interval change ± √(h₁² + h₂²) (h = half-width), which assumes the two
  runs' estimates are independent (different respondents) and roughly symmetric; the
  wave analyses give exact paired tests.

A change *matters* when its interval excludes zero (or, for the forecast check, when the
forecast missed by more than :data:`FORECAST_TOLERANCE`); those come first.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from . import display as D
from .results import Results

CLV = "02_clv_modelling"
FORECAST_TOLERANCE = 0.10
MAX_CHANGES = 5


@dataclass(frozen=True)
class Change:
    """One change between the previous run and this one: ``before`` and ``now`` (for the
    forecast check: forecast and actual), ``change`` = now − before and ``ci`` its
    interval where one exists, ``kind`` the quantity for :func:`crmlib.display.number`,
    ``matters`` (see the module), and the ``sentence`` a board reads."""

    topic: str
    label: str
    before: float | None
    now: float | None
    change: float | None
    ci: tuple[float, float] | None
    ci_level: float | None
    kind: str
    matters: bool
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci"] = list(self.ci) if self.ci else None
        return out


def _unchanged(c: Change) -> bool:
    """A figure both runs report with the same value to the precision it is shown with (a
    refit that moves a total by cents is not a change a board hears about)."""
    if c.matters or c.change is None or not math.isfinite(c.change):
        return False
    scale = max([1.0] + [abs(v) for v in (c.before, c.now) if v is not None and _ok(v)])
    if abs(c.change) <= 1e-9 * scale:
        return True
    if c.before is None or c.now is None or not _ok(c.before, c.now):
        return False
    try:
        return D.number(c.before, c.kind) == D.number(c.now, c.kind)
    except (KeyError, ValueError, TypeError):
        return False


def _ok(*values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in values)


def _excludes_zero(ci) -> bool:
    return bool(ci) and _ok(*ci) and (ci[0] > 0 or ci[1] < 0)


def _ci_text(ci, level, kind, cur) -> str:
    if not (ci and _ok(*ci)):
        return ""
    return f" ({(level or 0.9):.0%} interval {D.interval(ci[0], ci[1], kind, cur)})"


def _signed(v: float, kind: str, cur: str | None) -> str:
    return ("+" if v >= 0 else "−") + D.number(abs(v), kind, cur)


def clv_changes(block: Mapping[str, Any] | None, currency: str | None = None) -> list[Change]:
    """The changes in customer value from notebook 02's ``since_last_run`` block."""
    if not block or block.get("baseline"):
        return []
    out = []
    since = f"since {block.get('previous_observation_end')}"
    v = block.get("clv_total") or {}
    if _ok(v.get("before"), v.get("now")):
        ci, level = v.get("ci"), v.get("ci_level")
        word = "rose" if v["change"] >= 0 else "fell"
        out.append(Change(
            "Customer value", "Total CLV", v["before"], v["now"], v["change"],
            tuple(ci) if ci and _ok(*ci) else None, level, "money", _excludes_zero(ci),
            f"Total customer value {word} by {D.number(abs(v['change']), 'money', currency)} "
            f"{since}, from {D.number(v['before'], 'money', currency)} to "
            f"{D.number(v['now'], 'money', currency)}"
            f"{_ci_text(ci, level, 'money', currency)}."))
    f = block.get("forecast") or {}
    if _ok(f.get("predicted"), f.get("actual")) and f.get("actual"):
        err = (f["predicted"] - f["actual"]) / f["actual"]
        pci: Any = f.get("predicted_ci")   # JSON: a pair of numbers when the run had draws
        known = bool(pci) and _ok(*pci)
        outside = known and not pci[0] <= f["actual"] <= pci[1]
        band = (f" ({(f.get('ci_level') or 0.9):.0%} interval of the forecast "
                f"{D.interval(round(pci[0]), round(pci[1]), 'count')})" if known else "")
        word = "over" if err > 0 else "under"
        out.append(Change(
            "Customer value", "Last run's forecast of purchases", f["predicted"], f["actual"],
            f["actual"] - f["predicted"],
            (f["actual"] - pci[1], f["actual"] - pci[0]) if known else None,
            f.get("ci_level"), "count", abs(err) > FORECAST_TOLERANCE or outside,
            f"The last run forecast {D.number(round(f['predicted']), 'count')} repeat purchases "
            f"by its customers {since}; {D.number(round(f['actual']), 'count')} happened, so "
            f"it {word}estimated by {D.number(abs(err), 'share')}{band}."))
    d = block.get("decomposition") or {}
    if _ok(d.get("lost"), d.get("new")) and (d.get("n_churned") or d.get("n_new")):
        out.append(Change(
            "Customer value", "Value lost to churn", None, None, -d["lost"], None, None,
            "money", d["lost"] > abs(d["new"]) and d["lost"] > 0,
            f"{D.number(d.get('n_churned'), 'count')} earlier customers have churned ("
            + (f"no purchase {since} and probability of being active below "
               f"{D.number(d.get('p_alive_below'), 'share')}" if d.get("p_alive_below")
               else "no longer in the data") + "), taking "
            f"{D.number(d['lost'], 'money', currency)} of expected value; "
            + (f"{_customers(d.get('n_new')).replace('customer', 'new customer')} brought "
               f"{D.number(d['new'], 'money', currency)}." if d.get("n_new")
               else "no new customers came in.")))
        if _ok(d.get("shifted")) and (d.get("n_moved_up") or d.get("n_moved_down")):
            out.append(Change(
                "Customer value", "Value shifted between tiers", None, None, d["shifted"],
                None, None, "money", False,
                f"{_customers(d.get('n_moved_up'))} moved up a value tier and "
                f"{D.number(d.get('n_moved_down'), 'count')} moved down; together they "
                f"shifted {_signed(d['shifted'], 'money', currency)}."))
    return out


def _customers(n) -> str:
    return f"{D.number(n, 'count')} customer{'' if n == 1 else 's'}"


def _headline_kind(h) -> str:
    k = h.kind()
    return "number" if k == "count" and isinstance(h.value, float) else k


def headline_changes(before: Mapping[str, Results], now: Mapping[str, Results],
                     names: Mapping[str, str], currency: str | None = None) -> list[Change]:
    """Changes of the headline figures both runs report under the same label (notebook 02
    excluded: :func:`clv_changes` covers it)."""
    out = []
    for stem, res in now.items():
        if stem == CLV or stem not in before:
            continue
        earlier = {h.label: h for h in before[stem].headline}
        for h in res.headline:
            b = earlier.get(h.label)
            if b is None or b.unit != h.unit or not _ok(b.value, h.value):
                continue
            kind, cur = _headline_kind(h), h.currency(res.currency or currency)
            diff = cast(float, h.value) - cast(float, b.value)   # both numbers (_ok above)
            ci = None
            if h.ci and b.ci and h.ci_level == b.ci_level:
                half = math.hypot((h.ci[1] - h.ci[0]) / 2, (b.ci[1] - b.ci[0]) / 2)
                ci = (diff - half, diff + half)
            text = (f"{names.get(stem, stem)}: {h.label.rstrip('.')} moved from "
                    f"{b.value_text(cur)} to {h.value_text(cur)} "
                    f"({_signed(diff, kind, cur if kind == 'money' else None)}"
                    + (f"; approximate {(h.ci_level or 0.9):.0%} interval of the change "
                       f"{D.interval(ci[0], ci[1], kind, cur)}" if ci else "") + ").")
            out.append(Change(names.get(stem, stem), h.label, cast(float, b.value),
                              cast(float, h.value), diff, ci,
                              h.ci_level if ci else None, kind, _excludes_zero(ci), text))
    return out


@dataclass
class SinceLastRun:
    """The comparison with the previous run: ``baseline`` on a first run."""

    baseline: bool
    previous_run: str | None
    previous_finished: str | None
    changes: list[Change]

    def sentences(self, limit: int = MAX_CHANGES) -> list[str]:
        """The opening of the executive summary: the changes that matter first."""
        if self.baseline:
            return ["Baseline: this is the client's first run, so there is nothing to compare "
                    "with yet; the next run will report what changed since this one."]
        if not self.changes:
            return [f"Compared with the run of {self.previous_finished or self.previous_run}: "
                    "no figure is reported by both runs."]
        moved = [c for c in self.ordered() if not _unchanged(c)]
        out = [c.sentence for c in moved[:limit]]
        same = [f"{c.label} ({c.topic})" for c in self.changes if _unchanged(c)]
        when = self.previous_finished or self.previous_run
        if same and not moved:
            out.append(f"Nothing changed since the run of {when}: " + (
                f"the {len(same)} figures both runs report are the same." if len(same) > 1
                else f"the one figure both runs report, {same[0]}, is the same."))
        elif len(same) > 3:
            out.append(f"The other {len(same)} figures both runs report are unchanged.")
        elif same:
            out.append(f"Unchanged since the run of {when}: {', '.join(same)}.")
        return out

    def ordered(self) -> list[Change]:
        return sorted(self.changes, key=lambda c: not c.matters)

    def table(self) -> pd.DataFrame:
        """One row per change (for the workbook and the deck)."""
        cols = ["topic", "label", "before", "now", "change", "ci_low", "ci_high", "matters",
                "sentence"]
        rows = [{**c.to_dict(), "ci_low": c.ci[0] if c.ci else None,
                 "ci_high": c.ci[1] if c.ci else None} for c in self.ordered()]
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "previous_run": self.previous_run,
                "previous_finished": self.previous_finished,
                "changes": [c.to_dict() for c in self.ordered()],
                "sentences": self.sentences()}


def _results_of(results_dir: Path, names: Mapping[str, str]) -> dict[str, dict]:
    out = {}
    for stem in names:
        path = results_dir / stem / "results.json"
        if path.is_file():
            out[stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


def since_last_run(results_dir, previous_run: str | Path | None, names: Mapping[str, str],
                   currency: str | None = None) -> SinceLastRun:
    """Compare this run's results (``results_dir``) with the previous run's
    (``previous_run`` = its ``run.json``; empty for a first run)."""
    if not previous_run:
        return SinceLastRun(True, None, None, [])
    run_json = Path(previous_run)
    record = json.loads(run_json.read_text(encoding="utf-8"))
    now_raw = _results_of(Path(results_dir), names)
    before_raw = _results_of(run_json.parent / "results", names)
    now = {s: Results.from_json(r) for s, r in now_raw.items()}
    before = {s: Results.from_json(r) for s, r in before_raw.items()}
    changes = clv_changes((now_raw.get(CLV) or {}).get("since_last_run"), currency)
    changes += headline_changes(before, now, names, currency)
    finished = str(record.get("finished") or "")[:10] or None
    return SinceLastRun(False, record.get("run_id") or run_json.parent.name, finished, changes)


__all__ = ["Change", "SinceLastRun", "clv_changes", "headline_changes", "since_last_run"]
