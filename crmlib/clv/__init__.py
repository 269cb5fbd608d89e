"""Customer lifetime value: summaries, Buy-Till-You-Die models, value, diagnostics, segments.

Public API (see ``docs/clv.md``): :func:`summarise` / :class:`CustomerSummary` (pandas and
DuckDB engines), :func:`customer_value` / :class:`CLVResult` / :func:`monthly_rate`, the
modules :mod:`~crmlib.clv.diagnostics`, :mod:`~crmlib.clv.segments`,
:mod:`~crmlib.clv.pipeline` (the notebook's steps) and :mod:`~crmlib.clv.models`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .summary import UNIT_DAYS, UNIT_NAMES, CustomerSummary, summarise
    from .value import CLVResult, customer_value, monthly_rate

# each name is imported from its module on first use: `import crmlib.clv.params`
# (what the report runner reads to check parameters) then loads no scientific library
_EXPORTS = {"UNIT_DAYS": "summary", "UNIT_NAMES": "summary", "CustomerSummary": "summary",
            "summarise": "summary", "CLVResult": "value", "customer_value": "value",
            "monthly_rate": "value"}

__all__ = ["CLVResult", "UNIT_DAYS", "UNIT_NAMES", "CustomerSummary", "customer_value",
           "monthly_rate", "summarise"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
