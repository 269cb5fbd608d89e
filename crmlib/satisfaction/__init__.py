"""Satisfaction-gap analysis: SERVQUAL gaps, reliability, IPA, Kano, drivers, PLS path model.

Gap convention: gap = perception − expectation (negative = shortfall).
Methods and papers are listed in ``docs/satisfaction.md``.
"""
from .analysis import build_results, load_inputs, load_inputs_waves, satisfaction_model
from .drivers import RelativeWeights, derived_importance
from .gaps import (
                   adjust,
                   dimension_gaps,
                   item_gaps,
                   load_clv_table,
                   overall_score,
                   paired_gap,
                   segment_gaps,
                   segment_pairwise,
                   value_weighted_gaps,
)
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

__all__ = ["PLSPathModel", "RULE", "RelativeWeights", "Survey", "adjust", "build_results",
           "classify", "cronbach_alpha", "derived_importance", "dimension_gaps", "fong_test",
           "ipa_auto", "ipa_table", "item_gaps", "item_reliability", "item_statistics", "kano_categories",
           "kano_table", "load_clv_table", "load_inputs", "load_inputs_waves", "omega_total", "overall_score",
           "paired_gap", "prepare_survey", "priority_list", "reliability_table",
           "satisfaction_model", "segment_gaps", "segment_pairwise", "value_weighted_gaps"]
