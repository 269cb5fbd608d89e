"""Customer lifetime value: summaries, Buy-Till-You-Die models, value, diagnostics, segments.

Public API (see ``docs/clv.md``): :func:`summarise` / :class:`CustomerSummary` (pandas and
DuckDB engines), :func:`customer_value` / :class:`CLVResult` / :func:`monthly_rate`, the
modules :mod:`~crmlib.clv.diagnostics`, :mod:`~crmlib.clv.segments`,
:mod:`~crmlib.clv.pipeline` (the notebook's steps) and :mod:`~crmlib.clv.models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .summary import UNIT_DAYS, UNIT_NAMES, CustomerSummary, summarise
    from .value import CLVResult, customer_value, monthly_rate

# names imported from their modules on first use (crmlib.lazy)
_EXPORTS = {"UNIT_DAYS": "summary", "UNIT_NAMES": "summary", "CustomerSummary": "summary",
            "summarise": "summary", "CLVResult": "value", "customer_value": "value",
            "monthly_rate": "value"}

__all__ = ["CLVResult", "UNIT_DAYS", "UNIT_NAMES", "CustomerSummary", "customer_value",
           "monthly_rate", "summarise"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
