"""One face for the CRM assessment: ``run(P)`` loads, scores and compares waves.

:func:`run` reads the responses (every wave) and the capability catalogue from
validated parameters, assesses the latest wave (:func:`~crmlib.assessment.assess`) and
returns an :class:`AssessmentAnalysis`: the assessment itself, the comparison with
earlier waves computed on first use (an optional section: ``None`` and a visible note
when it cannot be computed), and :meth:`~AssessmentAnalysis.results` /
:meth:`~AssessmentAnalysis.tables` for ``results.json`` and the tables.

>>> R = run(P)                 # doctest: +SKIP
>>> R.assessment_.roadmap      # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pandas as pd

from ..io import DataQualityReport, load_assessment
from ..io.mapping import for_input
from ..io.waves import Wave, split_waves
from ..results import Study
from ..sections import optional
from . import waves as W
from .analysis import Assessment, assess, result_tables, results_payload
from .catalogue import load_catalogue


class AssessmentAnalysis(Study):
    """The CRM assessment of one client (Peelen et al.'s four stages on the diamond).

    Parameters
    ----------
    P : validated parameters of notebook 01 (:data:`crmlib.assessment.params.SPEC`).

    Attributes
    ----------
    assessment_ : :class:`~crmlib.assessment.analysis.Assessment` of the latest wave.
    survey_ : the latest wave's responses.
    catalogue_ : the capability catalogue.
    waves_ : every wave, in time order.
    quality_ : the data-quality ledger (the whole input; earlier waves keep their own).
    """

    def __init__(self, P: Mapping[str, Any]):
        self.P = dict(P)

    def fit(self) -> AssessmentAnalysis:
        """Load the responses and catalogue and assess the latest wave."""
        P, self.quality_ = self.P, DataQualityReport()
        mapping = for_input(P, "responses")
        survey = load_assessment(P["responses"], mapping=mapping, quality=self.quality_,
                                 capabilities=P["capabilities"])
        self.waves_: list[Wave] = split_waves(survey, P["waves"], load=lambda f: load_assessment(
            f, mapping=mapping, capabilities=P["capabilities"]))
        self.survey_ = self.waves_[-1].data
        self.catalogue_ = load_catalogue(P["capabilities"], quality=self.quality_,
                                         mapping=for_input(P, "capabilities"))
        self.assessment_: Assessment = assess(
            self.survey_, self.catalogue_, quality=self.quality_, **self._assess_kw())
        return self

    def _assess_kw(self) -> dict[str, Any]:
        return {k: self.P[k] for k in ("target_stage", "customer_group", "min_group_size")}

    def describe(self) -> str:
        """One sentence on what was read."""
        c = self.catalogue_
        return (f"{self.survey_['respondent_id'].nunique():,} respondents, "
                f"{len(self.survey_):,} answers; catalogue of {len(c)} capabilities under "
                f"{c['driver'].nunique()} drivers.")

    @cached_property
    def over_time(self) -> W.WaveComparison | None:
        """The comparison of the first and the latest wave (None with one wave, or when it
        cannot be computed)."""
        if len(self.waves_) < 2:
            return None
        return optional("comparison with earlier waves", W.compare_waves, self.waves_,
                        self.catalogue_, self.assessment_, **self._assess_kw())

    def _build(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        tables = result_tables(self.assessment_)
        payload = results_payload(self.assessment_, self.quality_)
        if self.over_time is not None:
            payload["over_time"] = self.over_time.payload()
            tables.update(self.over_time.tables())
        return payload, tables


def run(P: Mapping[str, Any]) -> AssessmentAnalysis:
    """The CRM assessment of notebook 01's parameters, inputs loaded and the latest wave assessed."""
    return AssessmentAnalysis(P).fit()
