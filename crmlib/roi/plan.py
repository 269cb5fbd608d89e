"""The phase plan: YAML validated into dataclasses.

A CRM programme is rolled out in short phases. Each phase has one focus
(its goals), at most three KPIs per goal, costs, the number of units the
effect applies to when rolled out, and planned (and actual) dates. The
contract is documented for users in ``data/README.md`` ("Phase plan").
Every error names the file, the phase, the goal and the KPI concerned.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..io import DataError, load_yaml

MAX_KPIS_PER_GOAL = 3
DIRECTIONS = ("up", "down")
BENEFIT_KINDS = ("direct", "indirect")


@dataclass(frozen=True)
class KPI:
    """A key performance indicator with its money value.

    ``value_per_unit`` is the money per month that one unit of KPI change is
    worth in one unit (store, agent, customer). ``benefit`` says whether the
    value is a direct (cash) or indirect (productivity) benefit; ``role`` names
    the role whose productivity an indirect benefit measures.
    """

    name: str
    direction: str
    value_per_unit: float
    benefit: str = "direct"
    role: str | None = None

    @property
    def sign(self) -> int:
        """+1 when an increase is good (``up``), −1 when a decrease is good."""
        return 1 if self.direction == "up" else -1


@dataclass(frozen=True)
class Goal:
    name: str
    kpis: tuple[KPI, ...]


@dataclass(frozen=True)
class Costs:
    """``one_off`` at the phase start (t = 0), ``monthly`` while the phase runs,
    ``run_monthly`` after it ends (licences, support of the rolled-out change)."""

    one_off: float = 0.0
    monthly: float = 0.0
    run_monthly: float = 0.0


@dataclass(frozen=True)
class Phase:
    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    costs: Costs
    rollout_units: int
    goals: tuple[Goal, ...]
    actual_end: pd.Timestamp | None = None
    unit_starts: Mapping[str, pd.Timestamp] = field(default_factory=dict)

    @property
    def kpis(self) -> tuple[KPI, ...]:
        return tuple(k for g in self.goals for k in g.kpis)

    @property
    def effective_end(self) -> pd.Timestamp:
        """The actual end when known, else the planned end."""
        return self.actual_end if self.actual_end is not None else self.end

    def goal_of(self, kpi: str) -> str:
        return next(g.name for g in self.goals if any(k.name == kpi for k in g.kpis))


@dataclass(frozen=True)
class PhasePlan:
    currency: str
    discount_rate_annual: float
    phases: tuple[Phase, ...]
    source: str = "phase plan"

    @property
    def kpi_names(self) -> list[str]:
        return sorted({k.name for p in self.phases for k in p.kpis})

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)


def _where(phase: str | None = None, goal: str | None = None, kpi: str | None = None,
           key: str | None = None, value: Any = None) -> str:
    parts = [f"{k} '{v}'" for k, v in (("phase", phase), ("goal", goal), ("KPI", kpi),
                                       ("key", key)) if v]
    if value is not None:
        parts.append(f"value {value!r}")
    return ", ".join(parts) + ": " if parts else ""


class _Reader:
    """Typed access to YAML values; errors carry the file and the phase/goal/KPI."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, msg: str, key: str | None = None, value: Any = None, **where) -> None:
        raise DataError(_where(key=key, value=value, **where) + msg, file=self.file)

    def get(self, d: Mapping, key: str, kind: str, default: Any = ..., **where) -> Any:
        if not isinstance(d, Mapping):
            self.fail("expected a mapping of keys to values", value=d, **where)
        if key not in d or d[key] is None:
            if default is ...:
                self.fail("required key missing", key=key, **where)
            return default
        v = d[key]
        if kind == "text":
            if not isinstance(v, (str, int, float)) or not str(v).strip():
                self.fail("expected non-empty text", key=key, value=v, **where)
            return str(v).strip()
        if kind == "date":
            try:
                ts = pd.Timestamp(v if isinstance(v, (dt.date, dt.datetime)) else str(v))
            except (ValueError, TypeError):
                ts = pd.NaT
            if pd.isna(ts):
                self.fail("not a date (use ISO yyyy-mm-dd)", key=key, value=v, **where)
            return ts.normalize()
        if kind in ("number", "int"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                try:
                    v = float(str(v).replace(",", ""))
                except ValueError:
                    self.fail("not a number", key=key, value=d[key], **where)
            if kind == "int" and float(v) != int(v):
                self.fail("not a whole number", key=key, value=v, **where)
            return int(v) if kind == "int" else float(v)
        if kind == "list":
            if not isinstance(v, list) or not v:
                self.fail("expected a non-empty list", key=key, value=v, **where)
            return v
        return v


def _kpi(r: _Reader, raw: Any, phase: str, goal: str) -> KPI:
    name = r.get(raw, "name", "text", phase=phase, goal=goal)
    w = dict(phase=phase, goal=goal, kpi=name)
    direction = str(r.get(raw, "direction", "text", **w)).lower()
    if direction not in DIRECTIONS:
        r.fail(f"direction must be one of {list(DIRECTIONS)}", "direction", direction, **w)
    value = r.get(raw, "value_per_unit", "number", **w)
    benefit = str(r.get(raw, "benefit", "text", "direct", **w)).lower()
    if benefit not in BENEFIT_KINDS:
        r.fail(f"benefit must be one of {list(BENEFIT_KINDS)}", "benefit", benefit, **w)
    role = r.get(raw, "role", "text", None, **w)
    return KPI(name, direction, value, benefit, role)


def _goal(r: _Reader, raw: Any, phase: str) -> Goal:
    name = r.get(raw, "name", "text", phase=phase)
    kpis = r.get(raw, "kpis", "list", phase=phase, goal=name)
    if len(kpis) > MAX_KPIS_PER_GOAL:
        r.fail(f"a goal has at most {MAX_KPIS_PER_GOAL} KPIs, found {len(kpis)}", "kpis",
               phase=phase, goal=name)
    return Goal(name, tuple(_kpi(r, k, phase, name) for k in kpis))


def _costs(r: _Reader, raw: Any, phase: str) -> Costs:
    raw = {} if raw is None else raw
    vals = {k: r.get(raw, k, "number", 0.0, phase=phase) for k in ("one_off", "monthly",
                                                                 "run_monthly")}
    for k, v in vals.items():
        if v < 0:
            r.fail("costs must not be negative", f"costs.{k}", v, phase=phase)
    return Costs(**vals)


def _phase(r: _Reader, raw: Any, i: int) -> Phase:
    if not isinstance(raw, Mapping):
        r.fail(f"phase {i + 1}: expected a mapping", value=raw)
    name = r.get(raw, "name", "text", phase=f"#{i + 1}")
    start = r.get(raw, "start", "date", phase=name)
    end = r.get(raw, "end", "date", phase=name)
    actual_end = r.get(raw, "actual_end", "date", None, phase=name)
    for key, e in (("end", end), ("actual_end", actual_end)):
        if e is not None and e < start:
            r.fail(f"ends before it starts ({start.date()})", key, str(e.date()), phase=name)
    units = r.get(raw, "rollout_units", "int", phase=name)
    if units < 1:
        r.fail("must be at least 1", "rollout_units", units, phase=name)
    goals = tuple(_goal(r, g, name) for g in r.get(raw, "goals", "list", phase=name))
    seen: dict[str, str] = {}
    for g in goals:
        for k in g.kpis:
            if k.name in seen:
                r.fail(f"KPI appears in goals '{seen[k.name]}' and '{g.name}': its benefit "
                       "would be counted twice", "kpis", phase=name, goal=g.name, kpi=k.name)
            seen[k.name] = g.name
    starts = r.get(raw, "unit_starts", "any", {}, phase=name)
    if not isinstance(starts, Mapping):
        r.fail("expected a mapping of unit_id to start date", "unit_starts", phase=name)
    unit_starts = {str(u): r.get(starts, u, "date", phase=name) for u in starts}
    for u, s in unit_starts.items():
        if s < start:
            r.fail(f"unit '{u}' starts before the phase start {start.date()}", "unit_starts",
                   str(s.date()), phase=name)
    return Phase(name, start, end, _costs(r, raw.get("costs"), name), units, goals,
                 actual_end, unit_starts)


def _check_order(r: _Reader, phases: tuple[Phase, ...]) -> None:
    names = [p.name for p in phases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        r.fail("phase names must be unique", "name", sorted(dup)[0], phase=sorted(dup)[0])
    for prev, cur in zip(phases, phases[1:]):
        if cur.start <= prev.start:
            r.fail(f"starts on or before the previous phase '{prev.name}' "
                   f"({prev.start.date()}); list phases in start order", "start",
                   str(cur.start.date()), phase=cur.name)
        if cur.start <= prev.end:
            r.fail(f"starts before the previous phase '{prev.name}' is planned to end "
                   f"({prev.end.date()}): planned phases must not overlap", "start",
                   str(cur.start.date()), phase=cur.name)


def validate_plan(data: Mapping[str, Any], file: str | os.PathLike = "phase plan") -> PhasePlan:
    """Validate a phase-plan mapping (as read from YAML) into a :class:`PhasePlan`.

    Raises
    ------
    DataError
        Naming the file, phase, goal, KPI, key and value of the first problem.
    """
    r = _Reader(str(file))
    currency = r.get(data, "currency", "text")
    rate = r.get(data, "discount_rate_annual", "number")
    if not 0 <= rate < 1:
        r.fail("must be a fraction in [0, 1), e.g. 0.1 for 10%", "discount_rate_annual", rate)
    phases = tuple(_phase(r, p, i) for i, p in enumerate(r.get(data, "phases", "list")))
    _check_order(r, phases)
    return PhasePlan(currency, rate, phases, str(file))


def load_plan(path: str | os.PathLike) -> PhasePlan:
    """Read and validate a phase-plan YAML file (see ``data/README.md``)."""
    return validate_plan(load_yaml(path), path)
