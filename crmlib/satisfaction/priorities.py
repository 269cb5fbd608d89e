"""One ordered action list from gap size, significance, importance and customer value.

The rule (:data:`RULE`, printed in the report):

1. **Shortfall** of an item = max(0, −gap), in scale points; when a CLV table
   is given the value-weighted gap is used, so shortfalls felt by valuable
   customers weigh more.
2. **Importance weight** = the item's derived importance (Johnson's relative
   weight, share of R²) divided by the mean share, so an average item weighs 1;
   without ``overall_satisfaction``, the stated importance rescaled to 0–1 and
   divided by its mean; without either, 1.
3. **Priority score** = shortfall × importance weight.
4. **Tiers**: *act* — a significant shortfall (multiplicity-adjusted p below
   the significance level, gap < 0); *watch* — a shortfall not (yet)
   significant; *maintain* — no shortfall. Items are listed by tier, then by
   score (largest first), then by gap (most negative first).

This follows the logic of importance-weighted gap scores (Parasuraman et al.
1988) and of the iso-priority diagonal in IPA (Bacon 2003): a large, certain
shortfall on something that drives satisfaction comes first.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

RULE = ("Priority score = shortfall (max(0, −gap), value-weighted when CLV is given) × "
        "importance weight (derived importance share ÷ mean share; else stated importance "
        "rescaled 0–1 ÷ its mean; else 1). Items are ordered by tier — act (significant "
        "shortfall after multiplicity adjustment), watch (shortfall, not significant), "
        "maintain (no shortfall) — then by score, then by gap.")
TIERS = {"act": 1, "watch": 2, "maintain": 3}


def importance_weight(items: pd.Index, derived: pd.DataFrame | None = None,
                      ipa_stated: pd.DataFrame | None = None,
                      scale: tuple[float, float] | None = None) -> tuple[pd.Series, str]:
    """Importance weight per item (mean 1) and the source used."""
    if derived is not None and len(derived):
        s = derived.set_index("item")["share"].reindex(items)
        return (s / s.mean()).fillna(0.0), "derived"
    if ipa_stated is not None and len(ipa_stated) and scale is not None:
        s = ipa_stated.set_index("item")["importance"].reindex(items)
        s = (s - scale[0]) / (scale[1] - scale[0])
        return (s / s.mean()).fillna(1.0), "stated"
    return pd.Series(1.0, index=items), "equal"


def priority_list(item_gaps: pd.DataFrame, significance: float = 0.05,
                  derived: pd.DataFrame | None = None, ipa_stated: pd.DataFrame | None = None,
                  value_gaps: pd.DataFrame | None = None,
                  scale: tuple[float, float] | None = None) -> pd.DataFrame:
    """Ordered action list (see :data:`RULE`).

    Parameters
    ----------
    item_gaps : from :func:`~crmlib.satisfaction.gaps.item_gaps`.
    derived : item-level driver summary (``item``, ``share``) or None.
    ipa_stated : IPA table on stated importance (``item``, ``importance``) or None.
    value_gaps : item table from :func:`~crmlib.satisfaction.gaps.value_weighted_gaps` or None.
    scale : rating scale, for rescaling stated importance.
    """
    g = item_gaps.set_index("item")
    weight, source = importance_weight(g.index, derived, ipa_stated, scale)
    gap = g["gap"]
    vw = None
    if value_gaps is not None:
        vw = value_gaps.set_index("item")["gap_weighted"].reindex(g.index)
        gap = vw.fillna(gap)
    shortfall = (-gap).clip(lower=0)
    sig = (g["p_adj"] < significance) & (g["gap"] < 0)
    tier = np.where(sig, "act", np.where(gap < 0, "watch", "maintain"))
    out = pd.DataFrame({
        "item": g.index, "label": g["label"].to_numpy(), "dimension": g["dimension"].to_numpy(),
        "tier": tier, "gap": g["gap"].to_numpy(), "ci_low": g["ci_low"].to_numpy(),
        "ci_high": g["ci_high"].to_numpy(), "p_adj": g["p_adj"].to_numpy(),
        "value_weighted_gap": vw.to_numpy() if vw is not None else np.nan,
        "importance_weight": weight.to_numpy(), "importance_source": source,
        "score": (shortfall * weight).to_numpy()})
    out["_t"] = out["tier"].map(TIERS)
    out = out.sort_values(["_t", "score", "gap"], ascending=[True, False, True], kind="stable")
    out = out.drop(columns="_t").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
