"""CRM assessment: where a company stands on the road to customer centricity.

Four stages drawn as the bases of a baseball diamond (1 product-centric,
2 customer-aware, 3 customer-measured, 4 customer-centric), capabilities under
four drivers, scored per respondent group with bootstrap intervals; alignment
within and between groups; gaps to target; a roadmap. Methods and conventions:
``docs/assessment.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .alignment import (
        agreement_summary,
        between_group_differences,
        flag_misaligned,
        group_mean_reliability,
        icc_oneway,
        internal_disagreement,
        profile_agreement,
        rwg,
        rwg_j,
        shrout_fleiss_icc,
        staff_customer_gaps,
        within_group_agreement,
    )
    from .analysis import (
        STAGE_RULE,
        Assessment,
        assess,
        misalignment_rule,
        result_tables,
        results_payload,
    )
    from .catalogue import (
        DRIVERS,
        STAGES,
        default_catalogue_path,
        display_names,
        driver_order,
        load_catalogue,
        stage_name,
    )
    from .roadmap import build_roadmap, export_roadmap, priorities, target_gaps
    from .scoring import StageScorer, prepare_responses
    from .study import AssessmentAnalysis, run

# names imported from their modules on first use (crmlib.lazy)
_EXPORTS = {"agreement_summary": "alignment", "between_group_differences": "alignment",
            "flag_misaligned": "alignment", "group_mean_reliability": "alignment",
            "icc_oneway": "alignment", "internal_disagreement": "alignment",
            "profile_agreement": "alignment", "rwg": "alignment", "rwg_j": "alignment",
            "shrout_fleiss_icc": "alignment", "staff_customer_gaps": "alignment",
            "within_group_agreement": "alignment", "STAGE_RULE": "analysis",
            "Assessment": "analysis", "assess": "analysis", "misalignment_rule": "analysis",
            "result_tables": "analysis", "results_payload": "analysis", "DRIVERS": "catalogue",
            "STAGES": "catalogue", "default_catalogue_path": "catalogue",
            "display_names": "catalogue",
            "driver_order": "catalogue", "load_catalogue": "catalogue", "stage_name": "catalogue",
            "build_roadmap": "roadmap", "export_roadmap": "roadmap", "priorities": "roadmap",
            "target_gaps": "roadmap", "StageScorer": "scoring", "prepare_responses": "scoring",
            "AssessmentAnalysis": "study", "run": "study"}

__all__ = ["Assessment", "AssessmentAnalysis", "DRIVERS", "STAGES", "STAGE_RULE", "StageScorer", "agreement_summary",
           "assess", "between_group_differences", "build_roadmap", "default_catalogue_path",
           "display_names", "driver_order", "export_roadmap", "flag_misaligned",
           "group_mean_reliability", "icc_oneway", "internal_disagreement", "load_catalogue", "misalignment_rule",
           "prepare_responses", "priorities", "profile_agreement", "result_tables",
           "results_payload", "run", "rwg", "rwg_j", "shrout_fleiss_icc", "staff_customer_gaps",
           "stage_name", "target_gaps", "within_group_agreement"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
