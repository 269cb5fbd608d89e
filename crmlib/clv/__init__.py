"""Customer lifetime value: summaries, Buy-Till-You-Die models, value, diagnostics, segments.

Public API (see ``docs/clv.md``): :func:`summarise` / :class:`CustomerSummary` (pandas and
DuckDB engines), :func:`customer_value` / :class:`CLVResult` / :func:`monthly_rate`, the
modules :mod:`~crmlib.clv.diagnostics`, :mod:`~crmlib.clv.segments`,
:mod:`~crmlib.clv.pipeline` (the notebook's steps) and :mod:`~crmlib.clv.models`.
"""
from .summary import UNIT_DAYS, UNIT_NAMES, CustomerSummary, summarise
from .value import CLVResult, customer_value, monthly_rate

__all__ = ["CLVResult", "UNIT_DAYS", "UNIT_NAMES", "CustomerSummary", "customer_value",
           "monthly_rate", "summarise"]
