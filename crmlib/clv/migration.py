"""Customer value between two observation ends: migration between value tiers and where
the change in total value came from.

Definitions (docs/clv.md, "Since the last run"):

* **Value** is each run's CLV (discounted expected margin over that run's horizon).
* **Value tiers** are bands of CLV fixed in money at the earlier run's percentiles
  (:data:`TIERS`: top 10%, next 10%, next 30%, lower 50%), applied to both runs, so a
  customer moves tier when their own value changes, not because others' did. The matrix
  of counts between states is the customer migration matrix of Pfeifer & Carraway
  (2000), "Modeling customer relationships as Markov chains", J. Interactive
  Marketing 14(2), here observed between two runs rather than modelled.
* **New**: in this run, not among the earlier run's customers.
* **Churned**: an earlier customer who made no purchase after the earlier observation end
  and whose P(alive) now is below ``p_alive_below`` (0.5), or who is no longer in the
  data. **Retained**: every other earlier customer.
* **Lost to churn** = Σ over churned (value before − value now): what the churned were
  expected to bring, less what the model still expects of them.
* **Shifted** = Σ over retained customers who changed tier (value now − value before);
  **within** = the same over retained customers who kept their tier.

With these, exactly: value now − value before = new + shifted + within − lost.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TIERS = ("Top 10%", "Next 10%", "Next 30%", "Lower 50%")
QUANTILES = (0.9, 0.8, 0.5)  # lower edges of the first three tiers, as CLV percentiles
NEW, CHURNED = "New", "Churned"


def tier_cuts(clv_before: pd.Series) -> np.ndarray:
    """The money edges of the value tiers: the earlier run's 90th, 80th and 50th CLV
    percentiles."""
    return np.quantile(clv_before.to_numpy(float), QUANTILES)


def value_tier(clv: pd.Series, cuts) -> pd.Series:
    """Each customer's tier for the edges ``cuts`` (a value on an edge belongs above it)."""
    c = np.asarray(cuts, float)
    idx = np.select([clv >= c[0], clv >= c[1], clv >= c[2]], [0, 1, 2], 3)
    return pd.Series(np.asarray(TIERS, dtype=object)[idx], index=clv.index, name="tier")


@dataclass
class Migration:
    """Customers between two runs, by value tier.

    Attributes
    ----------
    customers : one row per customer of either run: ``status`` (new, retained, churned),
        ``tier_before`` (``New`` for new customers), ``tier_now`` (``Churned`` for churned),
        ``value_before``, ``value_now`` (0 where a run did not have the customer).
    flows : per (tier before, tier now): customers, value before, value now, change.
    counts, value : the migration matrices (rows: tier before, columns: tier now) of
        customers and of value now.
    decomposition : value before and now, new, lost, shifted, within (see the module).
    cuts : the tier edges in money.
    """

    customers: pd.DataFrame
    flows: pd.DataFrame
    counts: pd.DataFrame
    value: pd.DataFrame
    decomposition: dict
    cuts: np.ndarray

    def decomposition_table(self) -> pd.DataFrame:
        """The decomposition as rows that add up: before, + new, + shifted, + within,
        − lost, = now."""
        d = self.decomposition
        rows = [("Value at the earlier run", d["value_before"]),
                ("+ new customers", d["new"]),
                ("+ shifted: retained customers who changed tier", d["shifted"]),
                ("+ within: retained customers who kept their tier", d["within"]),
                ("− lost to churn", -d["lost"]), ("= value now", d["value_now"])]
        return pd.DataFrame(rows, columns=["component", "value"])


def migrate(before: pd.DataFrame, now: pd.DataFrame, purchased_since: pd.Series,
            p_alive_below: float = 0.5) -> Migration:
    """Migration matrix and value decomposition between an earlier and the current run.

    Parameters
    ----------
    before : earlier run, index ``customer_id``, column ``clv``.
    now : this run, index ``customer_id``, columns ``clv`` and ``p_alive``.
    purchased_since : per customer (index ``customer_id``), True when they bought after the
        earlier observation end; a customer missing from it did not.
    p_alive_below : an earlier customer without a purchase since is churned when P(alive)
        now is below this (0: only customers no longer in the data are churned, for two
        runs with the same observation end).
    """
    before, now = before.copy(), now.copy()
    before.index, now.index = before.index.astype(str), now.index.astype(str)
    cuts = tier_cuts(before["clv"])
    ids = before.index.union(now.index, sort=False)
    df = pd.DataFrame(index=ids)
    df.index.name = "customer_id"
    df["in_before"], df["in_now"] = df.index.isin(before.index), df.index.isin(now.index)
    df["value_before"] = before["clv"].reindex(ids).fillna(0.0).astype(float)
    df["value_now"] = now["clv"].reindex(ids).fillna(0.0).astype(float)
    bought = purchased_since.copy()
    bought.index = bought.index.astype(str)
    df["purchased_since"] = bought.reindex(ids).fillna(False).astype(bool)
    df["p_alive_now"] = now["p_alive"].reindex(ids).astype(float)
    churned = df["in_before"] & ~df["purchased_since"] & (
        ~df["in_now"] | (df["p_alive_now"] < p_alive_below))
    df["status"] = np.where(~df["in_before"], "new", np.where(churned, "churned", "retained"))
    df["tier_before"] = value_tier(df["value_before"], cuts).where(df["in_before"], NEW)
    df["tier_now"] = value_tier(df["value_now"], cuts).where(~churned, CHURNED)
    df["change"] = df["value_now"] - df["value_before"]
    rows, cols = [NEW, *TIERS], [*TIERS, CHURNED]
    g = df.groupby(["tier_before", "tier_now"])
    flows = pd.DataFrame({"customers": g.size(), "value_before": g["value_before"].sum(),
                          "value_now": g["value_now"].sum(), "change": g["change"].sum()})
    counts = g.size().unstack(fill_value=0).reindex(index=rows, columns=cols, fill_value=0)
    value = g["value_now"].sum().unstack(fill_value=0.0).reindex(index=rows, columns=cols,
                                                                 fill_value=0.0)
    retained = df["status"] == "retained"
    moved = retained & (df["tier_before"] != df["tier_now"])
    dec = {"value_before": float(df["value_before"].sum()),
           "value_now": float(df["value_now"].sum()),
           "new": float(df.loc[df["status"] == "new", "value_now"].sum()),
           "lost": float(-df.loc[churned, "change"].sum()),
           "shifted": float(df.loc[moved, "change"].sum()),
           "within": float(df.loc[retained & ~moved, "change"].sum()),
           "n_new": int((df["status"] == "new").sum()), "n_churned": int(churned.sum()),
           "n_retained": int(retained.sum()), "n_moved_up": int((moved & _up(df)).sum()),
           "n_moved_down": int((moved & ~_up(df)).sum()), "p_alive_below": p_alive_below}
    return Migration(df.drop(columns=["in_before", "in_now"]).reset_index(),
                     flows.reset_index(), counts, value, dec, cuts)


def _up(df: pd.DataFrame) -> pd.Series:
    rank = {t: i for i, t in enumerate(TIERS)}
    return df["tier_now"].map(rank).fillna(99) < df["tier_before"].map(rank).fillna(-1)


__all__ = ["CHURNED", "Migration", "NEW", "TIERS", "migrate", "tier_cuts", "value_tier"]
