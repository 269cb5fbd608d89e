"""Parameter specifications for the notebooks, checked before any analysis runs.

Each analysis declares a ``SPEC`` (parameter name → rule) in its package
(``crmlib.<analysis>.params``). A notebook's second cell calls
:func:`validate` on its parameters; the report runner calls the same function
before any kernel starts. A failing rule raises :class:`ParameterError`
naming the parameter.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .io.database import parse
from .io.errors import DataError, ParameterError, shorten


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Base rule: ``optional`` allows None."""

    optional: bool = False
    help: str = ""

    def check(self, name: str, value: Any) -> Any:
        if value is None:
            if self.optional:
                return None
            raise ParameterError(name, "a value is required (got None)")
        return self._check(name, value)

    def _check(self, name: str, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class InputFile(Rule):
    """A path to an existing input file (relative paths are anchored at the project root)."""

    suffixes: tuple[str, ...] = (".csv", ".txt", ".xlsx", ".xls", ".parquet", ".pq")

    def _check(self, name, value):
        if isinstance(value, dict) and "database" in value:
            if ".csv" not in self.suffixes:
                raise ParameterError(name, f"must be a {'/'.join(self.suffixes)} file, not a "
                                           "database table")
            try:
                return parse(value, where=name)
            except DataError as exc:
                raise ParameterError(name, exc.message.removeprefix(f"{name}: ")) from None
        if not isinstance(value, (str, Path)):
            raise ParameterError(name, f"expected a file path or a database table or query "
                                       f"({{database: ENV_VAR, table: name}}), got "
                                       f"{type(value).__name__}")
        p = paths.resolve(value)
        if not p.exists():
            raise ParameterError(name, f"file not found: {p}")
        if self.suffixes and p.suffix.lower() not in self.suffixes:
            raise ParameterError(name, f"unsupported file type {p.suffix!r}; use one of "
                                       f"{', '.join(self.suffixes)}")
        return p


@dataclass(frozen=True)
class OutputDir(Rule):
    """A folder for results; created if missing."""

    def _check(self, name, value):
        if not isinstance(value, (str, Path)):
            raise ParameterError(name, f"expected a folder path, got {type(value).__name__}")
        p = paths.resolve(value)
        if p.exists() and not p.is_dir():
            raise ParameterError(name, f"{p} exists and is not a folder")
        return p


@dataclass(frozen=True)
class Number(Rule):
    """A number in [lo, hi]; ``integer`` requires a whole number."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False

    def _check(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(name, f"expected a number, got {shorten(value)}")
        if self.integer and int(value) != value:
            raise ParameterError(name, f"expected a whole number, got {shorten(value)}")
        if self.lo is not None and value < self.lo:
            raise ParameterError(name, f"must be at least {self.lo}, got {shorten(value)}")
        if self.hi is not None and value > self.hi:
            raise ParameterError(name, f"must be at most {self.hi}, got {shorten(value)}")
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Choice(Rule):
    """One of a fixed set of values."""

    choices: tuple = ()

    def _check(self, name, value):
        if value not in self.choices:
            raise ParameterError(name, f"must be one of {list(self.choices)}, got {shorten(value)}")
        return value


@dataclass(frozen=True)
class Date(Rule):
    """An ISO date string (yyyy-mm-dd) or date."""

    def _check(self, name, value):
        if isinstance(value, dt.date):
            return dt.date(value.year, value.month, value.day)
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ParameterError(
                name, f"expected an ISO date yyyy-mm-dd, got {shorten(value)}") from None


@dataclass(frozen=True)
class Text(Rule):
    """A non-empty string."""

    def _check(self, name, value):
        if not isinstance(value, str) or not value.strip():
            raise ParameterError(name, f"expected non-empty text, got {shorten(value)}")
        return value


@dataclass(frozen=True)
class Currency(Rule):
    """A currency code of three capital letters (ISO 4217), e.g. ``EUR``."""

    def _check(self, name, value):
        if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value.strip()):
            raise ParameterError(name, f"expected a three-letter currency code such as EUR, "
                                       f"got {value!r}")
        return value.strip()


@dataclass(frozen=True)
class Mapping_(Rule):
    """A dict; ``values`` (optional rule) checks each value."""

    values: Rule | None = None

    def _check(self, name, value):
        if not isinstance(value, dict):
            raise ParameterError(name, f"expected a mapping (dict), got {type(value).__name__}")
        if self.values is not None:
            return {k: self.values.check(f"{name}[{k!r}]", v) for k, v in value.items()}
        return value


@dataclass(frozen=True)
class ColumnMapping(Rule):
    """Input name → {contract column: client column} (see :mod:`crmlib.io.mapping`).

    ``inputs`` are the input parameters of the notebook that may be mapped.
    """

    inputs: tuple[str, ...] = ()

    def _check(self, name, value):
        if not isinstance(value, dict):
            raise ParameterError(name, "expected a mapping of input name to {contract column: "
                                       f"client column}}, got {type(value).__name__}")
        out = {}
        for key, cols in value.items():
            if key not in self.inputs:
                raise ParameterError(f"{name}.{key}", f"no input of that name; the inputs are "
                                                      f"{list(self.inputs)}")
            if cols is None:
                continue
            if not isinstance(cols, dict) or not all(
                    isinstance(v, str) and v.strip() for v in cols.values()):
                raise ParameterError(f"{name}.{key}", "expected contract column: client column "
                                                      f"(both text), got {cols!r}")
            out[str(key)] = {str(k): v.strip() for k, v in cols.items()}
        return out


@dataclass(frozen=True)
class List(Rule):
    """A list; ``items`` (optional rule) checks each element."""

    items: Rule | None = None

    def _check(self, name, value):
        if not isinstance(value, (list, tuple)):
            raise ParameterError(name, f"expected a list, got {type(value).__name__}")
        if self.items is not None:
            return [self.items.check(f"{name}[{i}]", v) for i, v in enumerate(value)]
        return list(value)


@dataclass(frozen=True)
class PreviousRun(Rule):
    """The ``run.json`` of the client's previous completed run, or "" (this is the first
    run: the baseline). Set by the report runner."""

    def _check(self, name, value):
        if not isinstance(value, (str, Path)):
            raise ParameterError(name, f"expected the path of a run.json or \"\", got "
                                       f"{type(value).__name__}")
        if not str(value).strip():
            return ""
        p = paths.resolve(value)
        if p.name != "run.json" or not p.is_file():
            raise ParameterError(name, f"not the run.json of a completed run: {p}")
        if p.parent.name.endswith(".partial"):
            raise ParameterError(name, f"{p.parent.name} is an unfinished run")
        return p


def validate(spec: Mapping[str, Rule], values: Mapping[str, Any],
             known: set[str] | None = None) -> dict[str, Any]:
    """Check ``values`` against ``spec`` and return the normalised parameters.

    ``values`` may be a notebook's ``globals()``: only the names in ``spec`` are
    read. Pass ``known`` (names the caller is setting) to reject unknown names.
    """
    if known is not None:
        unknown = sorted(set(known) - set(spec))
        if unknown:
            raise ParameterError(unknown[0], f"unknown parameter; known are {sorted(spec)}")
    out: dict[str, Any] = {}
    for name, rule in spec.items():
        if name not in values and getattr(rule, "absent_is_none", False):
            out[name] = None  # a parameter added after callers were written: absent = not used
            continue
        if name not in values:
            raise ParameterError(name, "missing")
        out[name] = rule.check(name, values[name])
    return out


@dataclass(frozen=True)
class Waves(Rule):
    """Survey waves: a list of ``{label, date, file}`` mappings (``date``, ``file`` optional).

    ``file`` is checked as an :class:`InputFile`, ``date`` as a :class:`Date`; labels must
    be unique (rules of :mod:`crmlib.io.waves`). Optional and absent-means-None, so
    callers written before waves existed validate as before.
    """

    optional: bool = True
    absent_is_none: bool = True

    def _check(self, name, value):
        if not isinstance(value, (list, tuple)):
            raise ParameterError(name, f"expected a list of {{label, date, file}}, got "
                                       f"{type(value).__name__}")
        out, seen = [], set()
        for i, entry in enumerate(value):
            where = f"{name}[{i}]"
            if not isinstance(entry, dict) or "label" not in entry:
                raise ParameterError(where, f"expected a mapping with a 'label', got "
                                            f"{shorten(entry)}")
            extra = sorted(set(entry) - {"label", "date", "file"})
            if extra:
                raise ParameterError(where, f"unknown key '{extra[0]}'; keys are label, date, "
                                            "file")
            label = Text().check(f"{where}.label", str(entry["label"]))
            if label in seen:
                raise ParameterError(where, f"wave label '{label}' appears twice")
            seen.add(label)
            out.append({"label": label,
                        "date": Date(optional=True).check(f"{where}.date", entry.get("date")),
                        "file": InputFile(optional=True).check(f"{where}.file",
                                                                entry.get("file"))})
        return out
