"""The ROI notebook's inputs, read and checked without the evaluation: the phase plan and
the monthly KPI panel.

``crm validate`` reads them through this module, so it does not import the effect
estimators (statsmodels, scipy.stats).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..io import DataQualityReport, load_kpi_panel
from ..io.mapping import for_input
from .panel import prepare_panel
from .plan import PhasePlan, load_plan


def load_inputs(P: Mapping[str, Any]) -> tuple[PhasePlan, pd.DataFrame, DataQualityReport]:
    """Validated plan, monthly KPI panel and the data-quality ledger."""
    quality = DataQualityReport()
    plan = load_plan(P["plan"])
    panel = load_kpi_panel(P["kpis"], mapping=for_input(P, "kpis"), quality=quality)
    monthly = prepare_panel(panel, plan, as_of=P.get("as_of"), quality=quality)
    return plan, monthly, quality
