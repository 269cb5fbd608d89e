"""One-paragraph readings of the result tables, in Markdown, for the notebook and report.

Each function takes a result table and states what it shows with the numbers
and their intervals, so the sentence under a chart always matches the data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .kano import NAMES

CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "fdr_bh": "Benjamini–Hochberg",
                    "bonferroni": "Bonferroni", "none": "no"}


def _ci(row, est="gap", lo="ci_low", hi="ci_high", fmt="+.2f") -> str:
    return f"{row[est]:{fmt}} [{row[lo]:{fmt}}, {row[hi]:{fmt}}]"


def reliability(rel: pd.DataFrame) -> str:
    """Which dimensions reach alpha 0.7 (and which are undefined)."""
    ok = rel[rel["alpha"] >= 0.7]["dimension"].tolist()
    low = rel[rel["alpha"] < 0.7]
    undefined = rel[rel["alpha"].isna()]["dimension"].tolist()
    parts = [f"{len(ok)} of {len(rel)} dimensions reach Cronbach's alpha ≥ 0.7"
             + (f" (lowest: {rel.loc[rel['alpha'].idxmin(), 'dimension']}, "
                f"{rel['alpha'].min():.2f})" if rel["alpha"].notna().any() else "") + "."]
    if len(low):
        parts.append("Below 0.7: " + ", ".join(f"{r.dimension} ({r.alpha:.2f})"
                                                for r in low.itertuples())
                     + " — read their gaps with care.")
    if undefined:
        parts.append(f"Undefined (one item or no variance): {', '.join(undefined)}.")
    incoherent = rel[rel["omega"] < 0.5]
    if len(incoherent):
        parts.append("**Warning:** omega below 0.5 in " + ", ".join(
            f"{r.dimension} ({r.omega:.2f})" for r in incoherent.itertuples())
                     + ": these items do not measure one thing, so their dimension gap is not "
                       "a meaningful summary.")
    noted = rel[rel["note"].astype(bool)]
    if len(noted):
        parts.append("Notes: " + "; ".join(f"{r.dimension}: {r.note}" for r in noted.itertuples())
                     + ".")
    return " ".join(parts)


def gaps(table: pd.DataFrame, name: str = "dimension", correction: str = "holm") -> str:
    """Significant shortfalls and surpluses, largest first, with intervals."""
    sig = table[table["significant"]]
    short = sig[sig["gap"] < 0].sort_values("gap")
    over = sig[sig["gap"] > 0].sort_values("gap", ascending=False)
    adj = CORRECTION_NAMES.get(correction, correction)
    text = (f"{len(short)} of {len(table)} {name}s show a significant shortfall "
            f"({adj} adjustment)")
    if len(short):
        text += ": " + "; ".join(f"{getattr(r, name)} {_ci(r._asdict())}"
                                 for r in short.head(5).itertuples())
    text += "."
    if len(over):
        text += (" Perceptions exceed expectations for "
                 + "; ".join(f"{getattr(r, name)} {_ci(r._asdict())}" for r in over.head(3).itertuples())
                 + ".")
    return text


def skipped(notes: list[str], prefix: str) -> str:
    """Why an analysis was skipped (notes recorded with ``prefix``), or an empty string."""
    return " ".join(n.split(": ", 1)[1] for n in notes if n.startswith(prefix + ":"))


def drivers(table: pd.DataFrame | None, r2: float, name: str = "item", top: int = 3,
            notes: list[str] | None = None) -> str:
    """R² and the top drivers' shares with intervals (or why they were not estimated)."""
    if table is None:
        return skipped(notes or [], "drivers") or "Key drivers were not estimated."
    d = table.sort_values("share", ascending=False).head(top)
    label = "label" if "label" in d else name
    items = "; ".join(f"{r[label]} {r['share']:.0%} " + (
        f"[{r['share_ci_low']:.0%}, {r['share_ci_high']:.0%}]"
        if np.isfinite([r["share_ci_low"], r["share_ci_high"]]).all()
        else "(interval not reported: see the table's note)") for _, r in d.iterrows())
    return (f"Perceptions explain R² = {r2:.2f} of overall satisfaction. The top {len(d)} "
            f"drivers carry {d['share'].sum():.0%} of it: {items}.")


def ipa(table: pd.DataFrame) -> str:
    """Items in 'Concentrate here', and those above the diagonal."""
    conc = table[table["quadrant"] == "Concentrate here"].sort_values("priority_index",
                                                                      ascending=False)
    unsure = int((~table["quadrant_certain"]).sum())
    text = (f"{len(conc)} item(s) are important but under-performing (Concentrate here)"
            + (": " + ", ".join(conc["label"].head(6)) if len(conc) else "") + ".")
    if unsure:
        text += (f" {unsure} item(s) sit so close to the crosshair that their quadrant is "
                 "uncertain (interval crosses it).")
    return text


def kano(table: pd.DataFrame) -> str:
    """Features by dominant category; ties flagged by Fong's test."""
    groups: dict[str, list[str]] = {}
    for r in table.itertuples():
        key = NAMES.get(r.category, "no answers") if r.clear_winner else "no clear winner"
        groups.setdefault(key, []).append(r.feature)
    return " ".join(f"**{k.capitalize()}:** {', '.join(v)}." for k, v in groups.items())


def segments(tests: pd.DataFrame, pairs: pd.DataFrame | None = None) -> str:
    """Dimensions whose gap differs across segments, with the pairs that differ."""
    sig = tests[tests["significant"]]
    if not len(sig):
        return "No dimension's gap differs significantly across segments."
    text = "Gaps differ across segments in " + ", ".join(sig["dimension"]) + "."
    if pairs is not None and len(pairs):
        p = pairs[(pairs["p_adj"] < 0.05) & pairs["dimension"].isin(sig["dimension"])]
        if len(p):
            text += " Pairs: " + "; ".join(
                f"{r.dimension}: {r.A} − {r.B} = {r.diff:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}]"
                for r in p.itertuples()) + "."
    return text


def value(table: pd.DataFrame, name: str = "dimension") -> str:
    """Dimensions where valuable customers feel a larger shortfall (lift interval below 0)."""
    worse = table[table["lift_ci_high"] < 0] if "lift_ci_high" in table else table.iloc[:0]
    if not len(worse):
        return ("Weighting by customer value does not change the picture: no lift interval "
                "lies entirely below zero.")
    return ("The most valuable customers feel a larger shortfall in "
            + "; ".join(f"{getattr(r, name)} (lift {r.value_lift:+.2f} "
                        f"[{r.lift_ci_low:+.2f}, {r.lift_ci_high:+.2f}])" for r in worse.itertuples())
            + " (intervals not adjusted for multiplicity).")


def priorities(table: pd.DataFrame, top: int = 5) -> str:
    """The first actions of the list."""
    act = table[table["tier"] == "act"].head(top)
    if not len(act):
        return "No significant shortfall: nothing to act on now; see the watch list."
    return (f"{int((table['tier'] == 'act').sum())} item(s) call for action. First: "
            + "; ".join(f"{r.rank}. {r.label} (gap {r.gap:+.2f})" for r in act.itertuples())
            + ".")


__all__ = ["drivers", "gaps", "ipa", "kano", "priorities", "reliability", "segments", "skipped",
           "value"]
