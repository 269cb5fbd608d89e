"""Where the value sits: CLV deciles, concentration, RFM segments, valuable-but-slipping.

* Deciles rank customers by CLV (decile 1 = the top 10%).
* Concentration: the Lorenz curve of CLV, the Gini coefficient and the share of the
  top 10% / 20% of customers.
* RFM: recency (time since the last purchase, in the summary's unit), frequency
  (purchase days) and monetary value (total spend) are scored 1–5 by quintile of
  their percentile rank (ties share the lowest score of their group, so the many
  one-purchase customers score F = 1; recent = 5). Segment names follow the
  widely used recency × frequency grid (Champions, Loyal Customers, Potential
  Loyalists, New Customers, Promising, Need Attention, About to Sleep, At Risk,
  Can't Lose Them, Hibernating); see Hughes (1994), *Strategic Database Marketing*,
  for RFM scoring, and Fader, Hardie & Lee (2005, JMR) on why BTYD models supersede it
  for forecasting. Here RFM serves only to name groups a CRM team recognises.
* "Valuable but slipping": customers in the top share of past spend whose
  P(alive) has fallen below a threshold: the win-back list.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

# (R score pattern, F score pattern) → name; first match wins
RFM_SEGMENTS = (
    ("[1-2]", "[1-2]", "Hibernating"),
    ("[1-2]", "[3-4]", "At Risk"),
    ("[1-2]", "5", "Can't Lose Them"),
    ("3", "[1-2]", "About to Sleep"),
    ("3", "3", "Need Attention"),
    ("[3-4]", "[4-5]", "Loyal Customers"),
    ("4", "1", "Promising"),
    ("5", "1", "New Customers"),
    ("[4-5]", "[2-3]", "Potential Loyalists"),
    ("5", "[4-5]", "Champions"),
)


def deciles(clv: pd.Series) -> pd.DataFrame:
    """CLV by decile (1 = top 10% of customers): customers, total, mean, share, cumulative share."""
    v = clv.sort_values(ascending=False, kind="stable")
    dec = np.floor(np.arange(len(v)) * 10 / len(v)).astype(int) + 1
    g = pd.DataFrame({"decile": dec, "clv": v.to_numpy()}).groupby("decile")["clv"]
    out = pd.DataFrame({"customers": g.size(), "clv_total": g.sum(), "clv_mean": g.mean(),
                        "clv_min": g.min(), "clv_max": g.max()})
    total = v.sum()
    out["share"] = out["clv_total"] / total if total else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    return out.reset_index()


def decile_of(clv: pd.Series) -> pd.Series:
    """Each customer's CLV decile (1 = top)."""
    rank = clv.rank(ascending=False, method="first").to_numpy()
    return pd.Series(np.floor((rank - 1) * 10 / len(clv)).astype(int) + 1, index=clv.index,
                     name="clv_decile")


def lorenz(values: pd.Series) -> pd.DataFrame:
    """Lorenz curve: cumulative share of customers (lowest first) vs cumulative share of value."""
    v = np.sort(np.clip(values.to_numpy(dtype=float), 0, None))
    cum = np.concatenate([[0.0], np.cumsum(v)])
    share = cum / cum[-1] if cum[-1] > 0 else cum
    return pd.DataFrame({"customer_share": np.linspace(0, 1, len(v) + 1), "value_share": share})


def gini(values: pd.Series) -> float:
    """Gini coefficient of value concentration (0 = equal, 1 = one customer holds all)."""
    curve = lorenz(values)
    return float(1 - 2 * np.trapezoid(curve["value_share"], curve["customer_share"]))


def top_share(values: pd.Series, top: float = 0.1) -> float:
    """Share of total value held by the top ``top`` fraction of customers."""
    v = np.sort(values.to_numpy(dtype=float))[::-1]
    k = max(1, int(np.ceil(top * len(v))))
    total = v.sum()
    return float(v[:k].sum() / total) if total else float("nan")


def _score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    pct = values.rank(method="min", pct=True, ascending=higher_is_better)
    return np.ceil(pct * 5).clip(1, 5).astype(int)


def rfm(customers: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and segment names from a summary (frequency, recency, T, total_spend).

    Recency for RFM is the time since the last purchase, T − recency (smaller = better).
    """
    since = customers["T"] - customers["recency"]
    out = pd.DataFrame({"R": _score(since, higher_is_better=False),
                        "F": _score(customers["frequency"]),
                        "M": _score(customers["total_spend"])}, index=customers.index)
    out["rfm"] = out["R"].astype(str) + out["F"].astype(str) + out["M"].astype(str)
    out["segment"] = _segment_grid()[out["R"].to_numpy() - 1, out["F"].to_numpy() - 1]
    return out


def segment_name(r: int, f: int) -> str:
    """The RFM segment of a recency score ``r`` and a frequency score ``f`` (1-5 each)."""
    for rp, fp, name in RFM_SEGMENTS:
        if re.fullmatch(rp, str(r)) and re.fullmatch(fp, str(f)):
            return name
    return "Other"


@lru_cache(maxsize=1)
def _segment_grid() -> np.ndarray:
    """:func:`segment_name` of every (R, F) pair, rows R = 1..5, columns F = 1..5."""
    return np.array([[segment_name(r, f) for f in range(1, 6)] for r in range(1, 6)],
                    dtype=object)


def segment_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, share, mean P(alive), CLV total, mean and share.

    ``customers`` needs ``segment``, ``clv`` and ``p_alive`` columns.
    """
    total = customers["clv"].sum()
    g = customers.groupby("segment")
    out = pd.DataFrame({"customers": g.size(), "p_alive_mean": g["p_alive"].mean(),
                        "clv_total": g["clv"].sum(), "clv_mean": g["clv"].mean(),
                        "past_spend_mean": g["total_spend"].mean()})
    out["customer_share"] = out["customers"] / len(customers)
    out["clv_share"] = out["clv_total"] / total if total else np.nan
    return out.sort_values("clv_total", ascending=False).reset_index()


def valuable_but_slipping(customers: pd.DataFrame, value_share: float = 0.2,
                          p_alive_below: float = 0.5) -> pd.DataFrame:
    """Top ``value_share`` of customers by past spend whose P(alive) < ``p_alive_below``.

    Sorted by past spend, most valuable first.
    """
    cut = customers["total_spend"].quantile(1 - value_share)
    keep = (customers["total_spend"] >= cut) & (customers["p_alive"] < p_alive_below)
    cols = [c for c in ("frequency", "recency", "T", "total_spend", "p_alive", "clv",
                        "segment") if c in customers]
    return customers.loc[keep, cols].sort_values("total_spend", ascending=False)
