"""Gap to target per capability, and the roadmap that orders the work.

**Target.** Either one target base for every capability (a parameter) or the
respondents' own ``target_stage`` answers, averaged with the same weighting
as the current stage. The gap is ``target − current`` in stages; its
interval comes from the same bootstrap replicates as the scores, so the
uncertainty of a response-based target is included.

**Roadmap order.** Bases cannot be skipped, so work on an earlier base comes
first: capabilities are sorted by the base they are working towards
(``floor(current) + 1``), then by a priority score ``gap + w · misaligned``
(misalignment counts as ``w`` = half a stage by default: a capability on which
groups disagree needs a shared view before investment), foundations before
other capabilities at equal score, then catalogue order. Capabilities at or
beyond their target (gap ≤ 0) close the list and are marked ``maintain``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..results import write_excel
from .catalogue import N_STAGES, stage_name
from .scoring import StageScorer, bootstrap_summary


def target_gaps(scorer: StageScorer) -> pd.DataFrame:
    """Current stage, target and gap (target − current) per capability with intervals."""
    cur = scorer.capability_scores_
    tgt = bootstrap_summary(scorer.point_["target"][0], scorer.replicates_["target"], scorer.ci)
    gap = bootstrap_summary(scorer.point_["target_gap"][0], scorer.replicates_["target_gap"],
                            scorer.ci)
    df = pd.DataFrame({
        "capability": cur["capability"], "driver": cur["driver"],
        "current": cur["estimate"], "current_low": cur["ci_low"], "current_high": cur["ci_high"],
        "target": tgt["estimate"], "target_low": tgt["ci_low"], "target_high": tgt["ci_high"],
        "gap": gap["estimate"], "gap_se": gap["se"], "gap_low": gap["ci_low"],
        "gap_high": gap["ci_high"]})
    missing = df["target"].isna()
    if missing.any():
        names = ", ".join(df.loc[missing, "capability"])
        scorer.notes_.append(f"No respondent gave a target stage for {names}: no gap is "
                             "computed for it (set the target_stage parameter to use one target).")
    return df


def build_roadmap(gaps: pd.DataFrame, misaligned: pd.DataFrame, catalogue: pd.DataFrame,
                  misalignment_weight: float = 0.5) -> pd.DataFrame:
    """Order the capabilities into a roadmap (rule in the module docstring).

    Parameters
    ----------
    gaps : :func:`target_gaps` output.
    misaligned : :func:`crmlib.assessment.alignment.flag_misaligned` output.
    catalogue : the capability catalogue (foundation flags, stage descriptions).
    misalignment_weight : stages added to the gap of a misaligned capability.

    Returns one row per capability with ``rank`` (1 = first; empty for ``maintain``),
    ``next_base``, gap and interval, ``misaligned``, ``priority_score`` and ``action``.
    """
    df = gaps.copy()
    flags = misaligned.set_index("capability")
    df["misaligned"] = df["capability"].map(flags["misaligned"]).fillna(False).astype(bool)
    why = flags["reason"].where(flags["misaligned"], "")
    df["why_misaligned"] = df["capability"].map(why).fillna("")
    df["foundation"] = df["capability"].map(catalogue["foundation"]).astype(bool)
    base = np.floor(df["current"] + 1e-9)
    df["next_base"] = (base + 1).where(base < N_STAGES).astype("Int64")
    df["priority_score"] = df["gap"] + misalignment_weight * df["misaligned"]
    df["order"] = df["capability"].map(catalogue["order"])
    df["status"] = np.where(df["gap"] > 0, "work", "maintain")
    df = df.sort_values(["status", "next_base", "priority_score", "foundation", "order"],
                        ascending=[False, True, False, False, True], na_position="last")
    df = df.drop(columns="order").reset_index(drop=True)
    work = df["status"] == "work"
    df["rank"] = pd.array(np.where(work, np.cumsum(work), 0), dtype="Int64")
    df.loc[~work, "rank"] = pd.NA
    df["action"] = [_action(r, catalogue) for r in df.itertuples()]
    first = ["rank", "capability", "driver", "foundation", "status", "next_base", "current",
             "current_low", "current_high", "target", "gap", "gap_low", "gap_high", "misaligned",
             "priority_score", "action", "why_misaligned"]
    return df[first + [c for c in df.columns if c not in first]]


def _action(row, catalogue: pd.DataFrame) -> str:
    if row.status != "work":
        return "maintain: at or beyond target"
    b = row.next_base
    if pd.isna(b):
        return "maintain: on the last base"
    what = catalogue.loc[row.capability, f"stage_{int(b)}"]
    text = f"reach base {int(b)} ({stage_name(b)})"
    return f"{text}: {what}" if isinstance(what, str) and what else text


def priorities(roadmap: pd.DataFrame) -> list[str]:
    """Capabilities to work on, in roadmap order."""
    return roadmap.loc[roadmap["status"] == "work", "capability"].tolist()


def export_roadmap(roadmap: pd.DataFrame, path: str | os.PathLike,
                   extra: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the roadmap (and any ``extra`` tables) to an Excel workbook."""
    return write_excel({"roadmap": roadmap, **(extra or {})}, path)
