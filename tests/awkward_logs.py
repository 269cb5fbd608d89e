"""Small and awkward transaction logs with planted parameters, for the CLV pipeline and notebook 02.

Customers buy at rates drawn from a gamma distribution and, after every purchase (the
first included), leave with probability ``p_leave``: the MBG/NBD process at its
one-dropout-probability limit (Batislam, Denizel & Filiztekin 2007), r = 2 and
α = 60/7 in weeks by default.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def transactions_log(n, *, rate_days=(2.0, 1 / 60), p_leave=0.3, first_span=200, end_day=530, rng=0,
         spend=lambda g, k: g.gamma(2.0, 50.0, k) * g.gamma(6.0, 1 / 5.0), weekly=False):
    """Transactions: rates Gamma(shape, scale) per day, dropout after each purchase."""
    g = np.random.default_rng(rng)
    ids, days, amounts = [], [], []
    for i in range(n):
        t0 = g.uniform(0, first_span)
        lam = 1 / 7 if weekly else g.gamma(*rate_days)
        t, mine = t0, [t0]
        while not (p_leave and g.random() < p_leave):
            t += 7.0 if weekly else g.exponential(1 / lam)
            if t > end_day:
                break
            mine.append(t)
        ids += [f"C{i:05d}"] * len(mine)
        days += mine
        amounts += list(np.round(spend(g, len(mine)), 2))
    date = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame({"customer_id": ids, "date": date.strftime("%Y-%m-%d"), "amount": amounts})


def heavy_spend(g, k):
    return g.pareto(1.2, k) * 40 + 5


def with_huge_customer(tx: pd.DataFrame) -> pd.DataFrame:
    """The log with one key account added: a purchase every other day over the whole
    period, each a hundred times the median purchase."""
    days = pd.date_range(tx["date"].min(), tx["date"].max(), freq="2D").strftime("%Y-%m-%d")
    big = pd.DataFrame({"customer_id": "KEY00001", "date": days,
                        "amount": round(100 * float(tx["amount"].median()), 2)})
    return pd.concat([tx, big], ignore_index=True)


PLANTED = {"r": 2.0, "alpha": 60 / 7}
"""The default purchase rates of ``_log``: Gamma(2, scale 1/60) per day, i.e. r = 2,
α = 60/7 in weeks."""

AWKWARD = {
    "50 customers": dict(n=50),
    "200 customers, 6-month window": dict(n=200, first_span=60, end_day=182),
    "nobody leaving": dict(n=500, p_leave=0.0),
    "same dropout for everyone": dict(n=500, p_leave=0.3),
    "almost everyone buying once": dict(n=500, p_leave=0.9),
    "weekly regular B2B": dict(n=200, weekly=True, p_leave=0.02),
    "heavy-tailed spend": dict(n=500, spend=heavy_spend),
    "one huge customer": dict(n=500),
}


def awkward_log(case: str) -> pd.DataFrame:
    """The transactions of the awkward log ``case`` (a key of :data:`AWKWARD`)."""
    tx = transactions_log(**AWKWARD[case])
    if case == "heavy-tailed spend":  # and one customer's spend a thousandfold
        tx.loc[tx["customer_id"] == "C00000", "amount"] *= 1000
    if case == "one huge customer":
        tx = with_huge_customer(tx)
    return tx
