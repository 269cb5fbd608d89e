"""The KPI panel, checked against the phase plan and summarised by month.

The panel is loaded by :func:`crmlib.io.load_kpi_panel` (contract in
``crmlib/io/contracts.py``). This module cross-checks it with the plan
(every planned KPI present, each unit in one group), excludes and counts rows
that cannot be used (KPIs outside the plan, missing values, dates after the
as-of date) and averages finer-than-monthly data to calendar months.
"""
from __future__ import annotations

import pandas as pd

from ..io import DataError, DataQualityReport
from ..io.contracts import source_row
from .plan import PhasePlan

INPUT = "KPI panel"


def _exclude(df: pd.DataFrame, bad: pd.Series, reason: str,
             quality: DataQualityReport | None) -> pd.DataFrame:
    if quality is not None:
        ex = None
        if bad.any():
            i = int(bad.to_numpy().argmax())
            ex = f"row {source_row(df, i)}: {df['kpi'].iloc[i]} {df['unit_id'].iloc[i]}"
        quality.exclude(INPUT, reason, int(bad.sum()), ex)
    return df.loc[~bad]


def _check_groups(df: pd.DataFrame, file: str) -> None:
    n = df.groupby("unit_id")["group"].nunique()
    both = n[n > 1]
    if len(both):
        unit = both.index[0]
        rows = df[df["unit_id"] == unit]
        first = rows["group"].iloc[0]
        i = int((rows["group"] != first).to_numpy().argmax())
        raise DataError(f"unit '{unit}' is both pilot and control; a unit belongs to one group "
                        f"({len(both)} unit(s) affected)", file=file, column="group",
                        row=source_row(rows, i), value=rows["group"].iloc[i])


def _check_kpis(df: pd.DataFrame, plan: PhasePlan, file: str) -> None:
    found = set(df["kpi"].unique())
    for phase in plan.phases:
        for goal in phase.goals:
            for k in goal.kpis:
                if k.name not in found:
                    raise DataError(f"phase '{phase.name}', goal '{goal.name}', KPI '{k.name}': "
                                    f"not in the KPI panel (its KPIs are {sorted(found)})",
                                    file=file, column="kpi", value=k.name)
        units = set(df.loc[df["group"] == "pilot", "unit_id"])
        for u in phase.unit_starts:
            if u not in units:
                raise DataError(f"phase '{phase.name}': unit_starts names unit '{u}', which is "
                                "not a pilot unit of the KPI panel", file=plan.source,
                                column="unit_starts", value=u)


def prepare_panel(panel: pd.DataFrame, plan: PhasePlan, as_of=None,
                  quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Check the panel against the plan and return monthly means per unit and KPI.

    Parameters
    ----------
    panel : frame from :func:`crmlib.io.load_kpi_panel`.
    plan : the validated phase plan.
    as_of : last date of evidence (default: the last date in the panel); later rows are
        excluded and counted.
    quality : ledger receiving the excluded-row counts.

    Returns
    -------
    DataFrame with ``unit_id``, ``group``, ``kpi``, ``period`` (first day of the month),
    ``value`` (mean of the month) and ``n_obs``; ``attrs["as_of"]`` holds the as-of date.
    """
    file = panel.attrs.get("source", INPUT)
    _check_groups(panel, file)
    _check_kpis(panel, plan, file)
    df = _exclude(panel, ~panel["kpi"].isin(plan.kpi_names), "KPI not in the phase plan", quality)
    df = _exclude(df, df["value"].isna(), "missing value", quality)
    as_of = pd.Timestamp(as_of) if as_of is not None else df["date"].max()
    df = _exclude(df, df["date"] > as_of, "after the as-of date", quality)
    if df.empty:
        raise DataError(f"no usable rows on or before the as-of date {as_of.date()}", file=file)
    df = df.assign(period=df["date"].dt.to_period("M").dt.to_timestamp())
    out = (df.groupby(["unit_id", "group", "kpi", "period"], observed=True)["value"]
           .agg(value="mean", n_obs="size").reset_index())
    out["unit_id"] = out["unit_id"].astype(str)
    out["group"] = out["group"].astype(str)
    out["kpi"] = out["kpi"].astype(str)
    out.attrs.update(source=str(file), as_of=as_of)
    return out
