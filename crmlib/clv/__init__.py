"""Customer lifetime value: summaries, Buy-Till-You-Die models, value, diagnostics, segments.

See ``docs/clv.md`` for the methods, conventions and papers.
"""
from .summary import UNIT_DAYS, UNIT_NAMES, CustomerSummary, summarise

__all__ = ["UNIT_DAYS", "UNIT_NAMES", "CustomerSummary", "summarise"]
