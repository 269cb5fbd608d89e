"""What an input declares about how to read it: date format, separators, currency.

A client configuration declares them per input file under ``inputs:``::

    inputs:
      data/acme/orders.csv: {date_format: "%d/%m/%Y", decimal: ",", thousands: ".",
                             currency: EUR}

``crm validate`` and ``crm report`` register the declarations with :func:`declare`;
the report runner hands them to each notebook's kernel in the environment variable
``CRMLIB_INPUT_OPTIONS`` (JSON), so every loader and engine finds them with
:func:`options_for` by the file's path. Without a declaration everything is inferred.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .errors import DataError

ENV = "CRMLIB_INPUT_OPTIONS"


@dataclass(frozen=True)
class ReadOptions:
    """How to read one input; ``None`` = infer from the values.

    date_format : strptime format of every date column (``"%d/%m/%Y"``), or a mapping
        column → format.
    decimal, thousands : separators of every number column (``thousands=""``: none).
    currency : ISO code whose symbols (``€``, ``EUR``) may prefix or follow amounts.
    """

    date_format: str | dict | None = None
    decimal: str | None = None
    thousands: str | None = None
    currency: str | None = None

    def date_format_of(self, column: str) -> str | None:
        if isinstance(self.date_format, dict):
            return self.date_format.get(column)
        return self.date_format


KEYS = tuple(f.name for f in fields(ReadOptions))
_registry: dict[str, ReadOptions] = {}


def _key(path: str | os.PathLike) -> str:
    return str(Path(path).expanduser().resolve())


def parse_options(raw: Any, file=None, where: str = "inputs") -> ReadOptions:
    """Check one input's declaration (a mapping of :data:`KEYS`)."""
    if not isinstance(raw, dict):
        raise DataError(f"{where}: expected a mapping of {list(KEYS)}", file=file)
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise DataError(f"{where}: unknown key '{unknown[0]}'; known keys are {list(KEYS)}",
                        file=file)
    if raw.get("decimal") not in (None, ".", ","):
        raise DataError(f"{where}.decimal: '.' or ',', got {raw['decimal']!r}", file=file)
    if raw.get("thousands") not in (None, "", ".", ",", " ", "'"):
        raise DataError(f"{where}.thousands: one of '', '.', ',', ' ', \"'\", got "
                        f"{raw['thousands']!r}", file=file)
    if raw.get("decimal") and raw.get("decimal") == raw.get("thousands"):
        raise DataError(f"{where}: decimal and thousands separators must differ", file=file)
    fmt = raw.get("date_format")
    for f in (fmt.values() if isinstance(fmt, dict) else [fmt]):
        if f is not None and (not isinstance(f, str) or "%" not in f):
            raise DataError(f"{where}.date_format: a strptime format such as '%d/%m/%Y', "
                            f"got {f!r}", file=file)
    return ReadOptions(**raw)


def declarations(inputs: dict[str, Any] | None, file=None,
                 base: Path | None = None) -> dict[str, dict]:
    """Check a configuration's ``inputs:`` (path → options); return absolute path → options."""
    if inputs is None:
        return {}
    if not isinstance(inputs, dict):
        raise DataError("key 'inputs': expected a mapping of input file to how to read it "
                        f"({', '.join(KEYS)})", file=file)
    out = {}
    for path, raw in inputs.items():
        full = Path(path) if Path(path).is_absolute() or base is None else base / path
        out[_key(full)] = asdict(parse_options(raw, file, f"inputs.{path}"))
    return out


def declare(inputs: dict[str, Any] | None, file=None, base: Path | None = None) -> None:
    """Register the declarations of a configuration's ``inputs:`` (path → options)."""
    for key, opts in declarations(inputs, file, base).items():
        _registry[key] = ReadOptions(**opts)


@contextmanager
def declared(inputs: dict[str, Any] | None, file=None,
             base: Path | None = None) -> Iterator[None]:
    """Within the block, the declarations of ``inputs`` hold (then the previous ones)."""
    saved = dict(_registry)
    declare(inputs, file, base)
    try:
        yield
    finally:
        _registry.clear()
        _registry.update(saved)


def clear() -> None:
    """Forget every declaration (tests; a new configuration)."""
    _registry.clear()


def to_env() -> str:
    """The declarations as JSON, for :data:`ENV` in a notebook kernel's environment."""
    return json.dumps({k: asdict(v) for k, v in _registry.items()})


def options_for(path: str | os.PathLike | None) -> ReadOptions:
    """The declared options of the input at ``path`` (all ``None`` when undeclared)."""
    if path is None:
        return ReadOptions()
    if not _registry and os.environ.get(ENV):
        for k, v in json.loads(os.environ[ENV]).items():
            _registry[k] = ReadOptions(**v)
    return _registry.get(_key(path), ReadOptions())
