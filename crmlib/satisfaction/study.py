"""One face for the satisfaction-gap analysis: ``run(P)`` and its sections.

:func:`run` loads the survey once from validated parameters and returns a
:class:`SatisfactionAnalysis`; each section (reliability, gaps, segments, key drivers,
IPA, Kano, PLS, value-weighted gaps, priorities, the comparison of waves) is computed on
first use and kept, so a notebook cell is one attribute and a chart one call on it, as
:class:`crmlib.roi.ProgrammeEvaluation` works for the ROI analysis. Sections that may
fail on thin data are computed through :func:`crmlib.sections.optional`: they become
``None`` and a visible note, never a failed report. :meth:`results` and :meth:`tables`
give ``results.json`` and the tables (:func:`crmlib.satisfaction.analysis.build_results`).

>>> A = run(P)                      # doctest: +SKIP
>>> A.dimension_gaps                # doctest: +SKIP
>>> charts.ipa_grid(A.ipa)          # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pandas as pd

from ..results import Study
from ..sections import optional
from . import drivers as D
from . import gaps as G
from . import ipa as I
from . import kano as K
from . import priorities as PR
from . import reliability as R
from . import waves as W
from .analysis import build_results, satisfaction_model
from .inputs import load_inputs_waves

RELIABILITY_BOOT = 200
"""Bootstrap resamples for the omega interval (fewer than ``n_boot``: omega refits a factor
model per resample)."""


class SatisfactionAnalysis(Study):
    """The satisfaction-gap analysis of one survey (SERVQUAL P − E; Parasuraman, Zeithaml &
    Berry 1988), section by section.

    Parameters
    ----------
    P : validated parameters of notebook 03 (:data:`crmlib.satisfaction.params.SPEC`).

    Attributes
    ----------
    survey_ : the prepared survey of the latest wave.
    clv_ : the CLV table for value-weighted gaps, or None.
    quality_ : the data-quality ledger (rows excluded, by reason).
    waves_ : every wave's prepared survey, in time order (label → Survey).
    """

    def __init__(self, P: Mapping[str, Any]):
        self.P = dict(P)
        self.level = 1 - self.P["significance"]

    def fit(self) -> SatisfactionAnalysis:
        """Load and prepare the survey (and the CLV table when given)."""
        self.survey_, self.clv_, self.quality_, self.waves_ = load_inputs_waves(self.P)
        return self

    # sections, in the order a reader meets them
    @cached_property
    def reliability(self) -> pd.DataFrame:
        return R.reliability_table(self.survey_, ci=self.level,
                                   n_boot=min(self.P["n_boot"], RELIABILITY_BOOT),
                                   random_state=self.P["seed"])

    @cached_property
    def item_reliability(self) -> pd.DataFrame | None:
        return optional("item reliability", R.item_reliability, self.survey_)

    @cached_property
    def dimension_gaps(self) -> pd.DataFrame:
        return G.dimension_gaps(self.survey_, self.P["significance"], self.P["correction"])

    @cached_property
    def overall(self) -> pd.DataFrame:
        return G.overall_score(self.survey_, self.P["dimension_weights"], self.P["significance"])

    @cached_property
    def item_gaps(self) -> pd.DataFrame:
        return G.item_gaps(self.survey_, self.P["significance"], self.P["correction"])

    @cached_property
    def _segments(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        if self.survey_.segment is None:
            return None, None
        return optional("segment comparison", G.segment_gaps, self.survey_,
                        self.P["significance"], self.P["correction"]) or (None, None)

    @property
    def segment_gaps(self) -> pd.DataFrame | None:
        """Gaps per segment and dimension (None without a segment column)."""
        return self._segments[0]

    @property
    def segment_tests(self) -> pd.DataFrame | None:
        """Welch and Kruskal–Wallis tests of the segments' gaps per dimension."""
        return self._segments[1]

    @cached_property
    def segment_pairwise(self) -> pd.DataFrame | None:
        if self.survey_.segment is None:
            return None
        return optional("pairwise segment tests", G.segment_pairwise, self.survey_,
                        self.P["significance"])

    @cached_property
    def _drivers(self) -> tuple[pd.DataFrame | None, float | None, int | None]:
        return optional("key drivers", D.derived_importance, self.survey_, "item",
                        self.P["n_boot"], self.level, self.P["seed"],
                        strict=False) or (None, None, None)

    @property
    def drivers(self) -> pd.DataFrame | None:
        """Key drivers of overall satisfaction by item (relative weights, Johnson 2000)."""
        return self._drivers[0]

    @property
    def drivers_r2(self) -> float | None:
        return self._drivers[1]

    @property
    def drivers_n(self) -> int | None:
        return self._drivers[2]

    @cached_property
    def drivers_dimension(self) -> pd.DataFrame | None:
        return (optional("key drivers by dimension", D.derived_importance, self.survey_,
                         "dimension", self.P["n_boot"], self.level, self.P["seed"],
                         strict=False) or (None,))[0]

    @cached_property
    def ipa(self) -> pd.DataFrame | None:
        return optional("importance-performance analysis", I.ipa_auto, self.survey_,
                        self.drivers, self.P["crosshair"], self.level)

    @cached_property
    def kano(self) -> pd.DataFrame | None:
        if not self.survey_.kano_features:
            return None
        return optional("Kano classification", K.kano_table, self.survey_,
                        alpha=self.P["significance"], level=self.level)

    @cached_property
    def pls(self):
        """The ACSI-style PLS path model (:func:`satisfaction_model`), or None."""
        return optional("PLS satisfaction model", satisfaction_model, self.survey_,
                        self.P["inner_scheme"], self.P["n_boot"], self.P["seed"], strict=False)

    @cached_property
    def _value(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        if self.clv_ is None:
            return None, None
        return optional("value-weighted gaps", G.value_weighted_gaps, self.survey_, self.clv_,
                        self.P["significance"], self.P["correction"], self.quality_,
                        self.P["n_boot"], self.P["seed"]) or (None, None)

    @property
    def value_items(self) -> pd.DataFrame | None:
        """Gaps weighted by customer value, by item (None without a CLV table)."""
        return self._value[0]

    @property
    def value_dimensions(self) -> pd.DataFrame | None:
        return self._value[1]

    @cached_property
    def priorities(self) -> pd.DataFrame:
        stated = self.ipa if self.ipa is not None and self.ipa.attrs.get(
            "importance") == "stated" else None
        return PR.priority_list(self.item_gaps, self.P["significance"], self.drivers, stated,
                                self.value_items, self.survey_.scale)

    @cached_property
    def over_time(self) -> W.SurveyWaves | None:
        """The comparison of the waves (None with one wave or when it cannot be computed)."""
        if len(self.waves_) < 2:
            return None
        return optional("comparison with earlier waves", W.compare_waves, self.waves_,
                        self.P["significance"], self.P["correction"], self.P["crosshair"])

    def _build(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        ot = self.over_time
        tables = {"reliability": self.reliability, "item_reliability": self.item_reliability,
                  "dimension_gaps": self.dimension_gaps, "item_gaps": self.item_gaps,
                  "overall": self.overall, "segment_gaps": self.segment_gaps,
                  "segment_tests": self.segment_tests,
                  "segment_pairwise": self.segment_pairwise, "drivers": self.drivers,
                  "drivers_dimension": self.drivers_dimension, "ipa": self.ipa,
                  "kano": self.kano, "value_items": self.value_items,
                  "value_dimensions": self.value_dimensions, "priorities": self.priorities,
                  **(ot.tables() if ot is not None else {})}
        extras = {"drivers_r2": self.drivers_r2, "drivers_n": self.drivers_n,
                  **({"over_time": ot.payload()} if ot is not None else {})}
        return build_results(self.P, self.survey_, self.quality_, tables, self.pls,
                             extras=extras)


def run(P: Mapping[str, Any]) -> SatisfactionAnalysis:
    """The satisfaction-gap analysis of notebook 03's parameters, inputs loaded."""
    return SatisfactionAnalysis(P).fit()
