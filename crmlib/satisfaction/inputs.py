"""The satisfaction notebook's inputs, read and checked without the analysis: the survey
(every wave), the item catalogue and the optional CLV table.

``crm validate`` reads them through this module, so it does not import the statistics
(scipy.stats, the PLS model).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..io import DataQualityReport, load_items, load_survey, read_table
from ..io.contracts import Column, Contract, require_unique, validate
from ..io.database import is_database, read_database
from ..io.mapping import for_input
from ..io.waves import split_waves
from .prepare import Survey, prepare_survey

CLV_CONTRACT = Contract("CLV table", (Column("customer_id", "id"),
                                      Column("clv", "number", nullable=True, min=0)))
def load_clv_table(source, quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Read the CLV notebook's ``customers.csv`` (needs ``customer_id`` and ``clv`` ≥ 0)."""
    if is_database(source):
        df = read_database(source)
        file = df.attrs["file"]
    elif isinstance(source, pd.DataFrame):
        df, file = source.copy(), "CLV table (DataFrame)"
    else:
        df, file = read_table(source), str(source)
    df = validate(df, CLV_CONTRACT, file=file, quality=quality)
    require_unique(df, ["customer_id"], file)
    return df


def load_inputs(P: Mapping[str, Any]) -> tuple[Survey, pd.DataFrame | None, DataQualityReport]:
    """Load and prepare the survey (and the CLV table when given) from validated parameters.

    With several waves (:mod:`crmlib.io.waves`) the survey is the latest wave."""
    return load_inputs_waves(P)[:3]


def load_inputs_waves(P: Mapping[str, Any]) -> tuple[Survey, pd.DataFrame | None,
                                                     DataQualityReport, dict[str, Survey]]:
    """:func:`load_inputs` plus every wave's prepared survey, in time order (label -> Survey).

    The data-quality ledger counts the whole main input and the latest wave's exclusions;
    earlier waves are prepared with ledgers of their own."""
    quality = DataQualityReport()
    raw = load_survey(P["survey"], mapping=for_input(P, "survey"), quality=quality,
                      items=P["items"])
    waves = split_waves(raw, P.get("waves"), load=lambda f: load_survey(
        f, mapping=for_input(P, "survey"), items=P["items"]))
    items = load_items(P["items"], mapping=for_input(P, "items"), quality=quality)
    out = {}
    for i, w in enumerate(waves):
        out[w.label] = prepare_survey(
            w.data, items, scale_min=P["scale_min"], scale_max=P["scale_max"],
            dont_know_codes=P["dont_know_codes"], min_answered=P.get("min_answered", 0.5),
            segment_col=P["segment_col"],
            quality=quality if i == len(waves) - 1 else DataQualityReport())
    survey = out[waves[-1].label]
    clv = load_clv_table(P["clv_table"], quality=quality) if P.get("clv_table") else None
    return survey, clv, quality, out
