"""Satisfaction-gap analysis: SERVQUAL gaps, reliability, IPA, Kano, drivers, PLS path model.

Gap convention: gap = perception − expectation (negative = shortfall).
Methods and papers are listed in ``docs/satisfaction.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .analysis import build_results, satisfaction_model
    from .drivers import RelativeWeights, derived_importance
    from .gaps import (
        adjust,
        dimension_gaps,
        item_gaps,
        overall_score,
        paired_gap,
        segment_gaps,
        segment_pairwise,
        value_weighted_gaps,
    )
    from .inputs import load_clv_table, load_inputs, load_inputs_waves
    from .ipa import ipa_auto, ipa_table
    from .kano import classify, fong_test, kano_categories, kano_table
    from .pls import PLSPathModel
    from .prepare import Survey, prepare_survey
    from .priorities import RULE, priority_list
    from .reliability import (
        cronbach_alpha,
        item_reliability,
        item_statistics,
        omega_total,
        reliability_table,
    )
    from .study import SatisfactionAnalysis, run

# names imported from their modules on first use (crmlib.lazy)
_EXPORTS = {"build_results": "analysis", "load_inputs": "inputs", "load_inputs_waves": "inputs",
            "satisfaction_model": "analysis", "RelativeWeights": "drivers",
            "derived_importance": "drivers", "adjust": "gaps", "dimension_gaps": "gaps",
            "item_gaps": "gaps", "load_clv_table": "inputs", "overall_score": "gaps",
            "paired_gap": "gaps", "segment_gaps": "gaps", "segment_pairwise": "gaps",
            "value_weighted_gaps": "gaps", "ipa_auto": "ipa", "ipa_table": "ipa",
            "classify": "kano", "fong_test": "kano", "kano_categories": "kano",
            "kano_table": "kano", "PLSPathModel": "pls", "Survey": "prepare",
            "prepare_survey": "prepare", "RULE": "priorities", "priority_list": "priorities",
            "cronbach_alpha": "reliability", "item_reliability": "reliability",
            "item_statistics": "reliability", "omega_total": "reliability",
            "reliability_table": "reliability", "SatisfactionAnalysis": "study", "run": "study"}

__all__ = ["PLSPathModel", "RULE", "RelativeWeights", "SatisfactionAnalysis", "Survey", "adjust",
           "build_results",
           "classify", "cronbach_alpha", "derived_importance", "dimension_gaps", "fong_test",
           "ipa_auto", "ipa_table", "item_gaps", "item_reliability", "item_statistics",
           "kano_categories", "kano_table", "load_clv_table", "load_inputs", "load_inputs_waves",
           "omega_total", "overall_score", "paired_gap", "prepare_survey", "priority_list",
           "reliability_table", "run", "satisfaction_model", "segment_gaps", "segment_pairwise",
           "value_weighted_gaps"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
