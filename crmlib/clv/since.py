"""Notebook 02's "since the last run" section: the earlier run's forecast checked, customers'
migration between value tiers, the change in total value with its interval, the two fits'
parameters side by side.

Uses the earlier run's saved model (:mod:`crmlib.clv.over_time`) and this run's analysis
(:class:`~crmlib.clv.pipeline.LocalAnalysis`). Definitions: :mod:`crmlib.clv.migration`
and docs/clv.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport
from . import over_time as OT
from .migration import Migration, migrate
from .summary import summarise


def purchases_since(analysis, since) -> pd.DataFrame:
    """Per customer first seen by ``since``: repeat purchase days after ``since`` up to this
    run's observation end (``purchases``) and their spend (``spend``), counted as the
    holdout of a summary whose calibration ends on ``since``."""
    opts = {**analysis.options.summary_kwargs(), "calibration_end": since,
            "observation_end": analysis.full.observation_end}
    s = summarise(analysis.source, engine=analysis.engine, quality=DataQualityReport(), **opts)
    c = s.customers
    return pd.DataFrame({"purchases": c["frequency_holdout"], "spend": c["spend_holdout"]})


@dataclass
class SinceLastRun:
    """What changed between the earlier run (``previous``) and this one (``analysis``).

    ``previous`` None means this is the first run: :attr:`baseline` is True and every
    section is empty.
    """

    analysis: Any
    previous: OT.RunModel | None
    p_alive_below: float = 0.5
    level: float = 0.9
    notes: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> bool:
        return self.previous is None

    @property
    def last_run(self) -> OT.RunModel:
        """The previous run's model (read only when this run is not the baseline)."""
        if self.previous is None:
            raise ValueError("the baseline run has no previous run to compare with")
        return self.previous

    @cached_property
    def actual(self) -> pd.DataFrame | None:
        if self.baseline or OT.elapsed(self.last_run, self.analysis.full.observation_end) <= 0:
            return None
        try:
            return purchases_since(self.analysis, self.last_run.observation_end)
        except DataError as exc:
            self.notes.append(f"Purchases since the earlier run could not be counted: {exc}")
            return None

    @cached_property
    def forecast(self) -> OT.ForecastCheck | None:
        if self.actual is None:
            return None
        return OT.forecast_check(self.last_run, self.actual, self.analysis.full.observation_end,
                                 level=self.level)

    @cached_property
    def migration(self) -> Migration | None:
        if self.baseline:
            return None
        before = self.last_run.predictions.set_index("customer_id")[["clv"]]
        now = self.analysis.customers.set_index("customer_id")[["clv", "p_alive"]]
        if self.actual is None:  # no time passed: only customers gone from the data churned
            self.notes.append("No purchases since the earlier run could be counted (no time "
                              "has passed since its observation end, or the count failed): "
                              "only customers no longer in the data count as churned.")
            return migrate(before, now, pd.Series(dtype=bool), p_alive_below=0.0)
        return migrate(before, now, self.actual["purchases"] > 0, self.p_alive_below)

    @cached_property
    def parameters(self) -> pd.DataFrame | None:
        if self.baseline:
            return None
        return OT.compare_parameters(self.last_run, self.analysis.final_model,
                                     self.analysis.fit.name)

    def value_change(self) -> dict[str, Any] | None:
        """Total CLV before and now, the change and its interval (:func:`change_interval`)."""
        if self.baseline:
            return None
        v = self.analysis.value
        before = self.last_run.meta["totals"]
        lo, hi = OT.change_interval(before.get("clv_total_draws") or [], v.draws_total,
                                    self.level)
        return {"before": before["clv_total"], "now": v.total,
                "change": v.total - before["clv_total"], "ci": [lo, hi],
                "ci_level": self.level}

    def convention_notes(self) -> list[str]:
        if self.baseline:
            return []
        now = OT.run_model(self.analysis)["conventions"]
        now["currency"] = self.last_run.conventions.get("currency")  # shown, not modelled
        return OT.convention_changes(self.last_run, now)

    def results(self) -> dict[str, Any]:
        """The ``since_last_run`` block of ``results.json`` (``baseline`` True on a first
        run)."""
        if self.baseline:
            return {"baseline": True, "notes": list(self.notes)}
        out: dict[str, Any] = {
            "baseline": False, "previous_run": self.last_run.run_id,
            "previous_observation_end": self.last_run.observation_end.isoformat(),
            "observation_end": self.analysis.full.observation_end.isoformat(),
            "months_elapsed": (pd.Timestamp(self.analysis.full.observation_end)
                               - pd.Timestamp(self.last_run.observation_end)).days
            / OT.MONTH_DAYS,
            "clv_total": self.value_change(),
            "forecast": self.forecast.summary() if self.forecast is not None else None}
        m = self.migration
        out["decomposition"] = m.decomposition if m is not None else None
        p = self.parameters
        if p is not None:
            out["parameters"] = {"same_model": bool(p.attrs["same_model"]),
                                 "models": list(p.attrs["models"]),
                                 "moved": [r.parameter for r in p.itertuples()
                                           if np.isfinite(r.z) and abs(r.z) > 1.96]}
        out["notes"] = self.convention_notes() + self.notes
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for the workbook (empty on a first run)."""
        out: dict[str, pd.DataFrame] = {}
        if self.migration is not None:
            out["migration_counts"] = self.migration.counts.rename_axis("tier_before") \
                .reset_index()
            out["migration_value"] = self.migration.value.rename_axis("tier_before") \
                .reset_index()
            out["value_change"] = self.migration.decomposition_table()
            out["migration_customers"] = self.migration.customers
        if self.forecast is not None:
            out["forecast_check"] = self.forecast.totals
            out["forecast_by_decile"] = self.forecast.by_decile
            out["forecast_by_segment"] = self.forecast.by_segment
        if self.parameters is not None:
            out["parameters_then_and_now"] = self.parameters
        return out


def since_last_run(analysis, previous_run: str | None, **options) -> SinceLastRun:
    """:class:`SinceLastRun` for notebook 02: the previous run's saved model read from the
    run whose ``run.json`` is ``previous_run`` ("" = first run). An earlier run without a
    saved model, or this run on the Spark engine (whose customer rows stay in Spark), gives
    the baseline with a note saying why."""
    from .pipeline import LocalAnalysis
    notes = []
    previous = None
    if previous_run:
        try:
            previous = OT.previous_run_model(previous_run)
        except (OSError, ValueError, KeyError) as exc:
            notes.append(f"The previous run's saved model could not be read: {exc}")
        if previous is None and not notes:
            notes.append("The previous run saved no CLV model (it predates saved models or "
                         "did not run this analysis).")
        if previous is not None and not isinstance(analysis, LocalAnalysis):
            notes.append("The comparison with the previous run needs the pandas or DuckDB "
                         "engine.")
            previous = None
    return SinceLastRun(analysis, previous, notes=notes, **options)


__all__ = ["SinceLastRun", "purchases_since", "since_last_run"]
