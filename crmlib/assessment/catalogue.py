"""The capability catalogue: capabilities grouped under the four drivers of customer centricity.

The model has four stages, drawn as the bases of a baseball diamond (a base
cannot be skipped): 1 product-centric, 2 customer-aware, 3 customer-measured,
4 customer-centric. Capabilities sit under four drivers (business leadership,
organisation design, information architecture, performance measurement); the
four foundations of customer management (clear external and internal goals,
an experience strategy tied to the business strategy, a governance team, a
cross-functional customer roadmap) are capabilities flagged ``foundation``.

crmlib ships a default catalogue (``capabilities.csv`` in this package, 20
capabilities, each with what it looks like at each stage); a client can pass
its own file with the same columns.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pandas as pd

from ..io import DataError, DataQualityReport, load_capabilities
from ..io.contracts import source_row

STAGES: dict[int, str] = {1: "product-centric", 2: "customer-aware",
                          3: "customer-measured", 4: "customer-centric"}
DRIVERS: tuple[str, ...] = ("business leadership", "organisation design",
                            "information architecture", "performance measurement")
N_STAGES = len(STAGES)
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n", ""}


def default_catalogue_path() -> Path:
    """Path of the catalogue shipped with crmlib (``crmlib/assessment/capabilities.csv``)."""
    return Path(str(resources.files(__package__) / "capabilities.csv"))


def _foundation_flags(df: pd.DataFrame) -> pd.Series:
    if "foundation" not in df.columns:
        return pd.Series(False, index=df.index)
    text = df["foundation"].astype("string").str.strip().str.lower().fillna("")
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise DataError("foundation must be 1/0 (or yes/no)", file=df.attrs.get("source"),
                        column="foundation", row=source_row(df, i), value=df["foundation"].iloc[i])
    return text.isin(_TRUE)


def load_catalogue(source: str | os.PathLike | pd.DataFrame | None = None,
                   quality: DataQualityReport | None = None,
                   mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """Load and check a capability catalogue (``None``: the built-in one).

    Returns one row per capability, indexed by ``capability``, with ``name`` (what
    reports show; the ``description`` when the file has no name), ``driver`` (lower
    case), ``foundation`` (bool), ``description``, ``stage_1``..``stage_4`` and ``order``
    (position in the file, used to break ties in the roadmap).
    Drivers may be the four standard ones or a client's own; the standard ones
    are ordered as in :data:`DRIVERS`.
    """
    df = load_capabilities(default_catalogue_path() if source is None else source,
                           mapping=mapping, quality=quality)
    df = df.copy()
    df["driver"] = df["driver"].str.lower()
    df["foundation"] = _foundation_flags(df)
    for k in STAGES:
        if f"stage_{k}" not in df.columns:
            df[f"stage_{k}"] = pd.NA
    df["order"] = range(len(df))
    name = df["name"] if "name" in df.columns else pd.Series(pd.NA, index=df.index)
    df["name"] = name.astype("string").str.strip().replace("", pd.NA).fillna(
        df["description"].astype("string")).astype(str)
    cols = (["name", "driver", "foundation", "description"] + [f"stage_{k}" for k in STAGES]
            + ["order"])
    out = df.set_index("capability")[cols]
    out.attrs["source"] = df.attrs.get("source")
    return out


def driver_order(catalogue: pd.DataFrame) -> list[str]:
    """Drivers of ``catalogue``: the standard four in their order, then any others."""
    present = list(dict.fromkeys(catalogue["driver"]))
    return [d for d in DRIVERS if d in present] + [d for d in present if d not in DRIVERS]


def display_names(catalogue: pd.DataFrame) -> dict[str, dict[str, str]]:
    """What a reader sees instead of the keys, for :func:`crmlib.display.activate`: the
    catalogue's ``name`` of each capability and each driver in words (``"business
    leadership"`` → ``"Business leadership"``), by the columns that hold them
    (``capability``, ``driver``, and ``name`` in tables listing both kinds)."""
    caps = {str(k): str(v) for k, v in catalogue["name"].items()}
    drivers = {d: d[:1].upper() + d[1:] for d in driver_order(catalogue)}
    return {"capability": caps, "driver": drivers, "name": {**drivers, **caps}}


def stage_name(stage: int | float | None) -> str:
    """Name of a base (``2`` → ``"customer-aware"``); ``""`` below base 1 or when missing."""
    if stage is None or pd.isna(stage) or int(stage) not in STAGES:
        return ""
    return STAGES[int(stage)]
