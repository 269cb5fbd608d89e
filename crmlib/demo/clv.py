"""Demo transactions and subscriptions drawn from planted BG/NBD, Gamma-Gamma and sBG truths.

Transactions follow the BG/NBD story (Fader, Hardie & Lee 2005): each customer
buys at rate λ ~ Gamma(r, α) per week while alive and, after every repeat
purchase, drops out with probability p ~ Beta(a, b). The acquisition channel
shifts the purchase rate (α divided by ``CHANNEL_RATE[channel]``). Spend per
purchase is Gamma(p, ν) with ν ~ Gamma(q, γ) (Fader, Hardie & Lee 2005, JMR;
Fader & Hardie 2013). Data problems a real extract has are planted and stated:
orders split into two rows on the same day, returns, zero-amount rows, exact
duplicate rows and a few rows dated after the extract's observation end.
Subscriptions follow the shifted-Beta-Geometric (Fader & Hardie 2007).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BGNBD = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0}          # weeks
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 90.0}              # mean spend pγ/(q−1) = 180
CHANNEL_SHARE = {"online": 0.5, "store": 0.35, "partner": 0.15}
CHANNEL_RATE = {"online": 1.0, "store": 0.7, "partner": 1.4}   # multiplies λ
SBG = {"alpha": 0.9, "beta": 2.4}                              # months
START, ACQUISITION_WEEKS = pd.Timestamp("2024-01-01"), 13
CALIBRATION_END, OBSERVATION_END = pd.Timestamp("2024-12-31"), pd.Timestamp("2025-06-30")
SIZES = {"demo": (4000, 1500), "small": (500, 300)}           # customers, subscribers
PROBLEMS = {"split": 0.03, "return": 0.02, "zero": 0.005, "duplicate": 0.005}
N_LATE = 7


def draw_customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    channel = rng.choice(list(CHANNEL_SHARE), size=n, p=list(CHANNEL_SHARE.values()))
    mult = pd.Series(channel).map(CHANNEL_RATE).to_numpy()
    lam = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], n) * mult
    p = rng.beta(BGNBD["a"], BGNBD["b"], n)
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], n)
    first = rng.uniform(0, ACQUISITION_WEEKS * 7, n).astype(int)
    ids = [f"C{i:05d}" for i in range(1, n + 1)]
    return pd.DataFrame({"customer_id": ids, "channel": channel, "lam": lam, "p": p,
                         "nu": nu, "first": first})


def purchase_days(rng: np.random.Generator, lam: float, p: float, first: int,
                   horizon: int) -> tuple[list[int], bool]:
    """Days of the first and repeat purchases up to ``horizon`` (BG/NBD generative story),
    and whether the customer is still alive at ``horizon``."""
    t, days = first / 7.0, [first]
    while True:
        t += rng.exponential(1 / lam)
        if t * 7 >= horizon:
            return days, True
        days.append(int(t * 7))
        if rng.random() < p:
            return days, False


def _transactions(rng: np.random.Generator, cust: pd.DataFrame) -> pd.DataFrame:
    """The transaction log with its planted problems; sets ``cust["alive"]`` (alive at the
    observation end)."""
    horizon = (OBSERVATION_END - START).days + 1
    rows, alive = [], []
    for c in cust.itertuples():
        days, is_alive = purchase_days(rng, c.lam, c.p, c.first, horizon)
        alive.append(is_alive)
        for d in days:
            rows.append((c.customer_id, d, rng.gamma(GAMMA_GAMMA["p"], 1 / c.nu), c.channel))
    cust["alive"] = alive
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "amount", "channel"])
    tx["date"] = START + pd.to_timedelta(tx["day"], unit="D")
    return _plant_problems(rng, tx)


def _plant_problems(rng: np.random.Generator, tx: pd.DataFrame) -> pd.DataFrame:
    n = len(tx)
    split = rng.random(n) < PROBLEMS["split"]         # an order in two rows on one day
    share = rng.uniform(0.2, 0.8, n)
    second = tx[split].assign(amount=tx["amount"][split] * (1 - share[split]))
    tx.loc[split, "amount"] *= share[split]
    ret = tx.sample(frac=PROBLEMS["return"], random_state=rng)
    ret = ret.assign(amount=-ret["amount"] * rng.uniform(0.3, 1, len(ret)),
                     date=ret["date"] + pd.to_timedelta(rng.integers(1, 15, len(ret)), unit="D"))
    zero = tx.sample(frac=PROBLEMS["zero"], random_state=rng)
    zero = zero.assign(amount=0.0, date=zero["date"] + pd.to_timedelta(
        rng.integers(0, 30, len(zero)), unit="D"))
    late = tx.sample(N_LATE, random_state=rng).assign(
        date=OBSERVATION_END + pd.to_timedelta(rng.integers(1, 10, N_LATE), unit="D"))
    out = pd.concat([tx, second, ret, zero, late], ignore_index=True)
    out = out[(out["date"] <= OBSERVATION_END) | out.index.isin(range(len(out) - N_LATE, len(out)))]
    out["amount"] = out["amount"].round(2)
    dup = out.sample(frac=PROBLEMS["duplicate"], random_state=rng)
    out = pd.concat([out, dup]).sort_values(["date", "customer_id"], kind="stable")
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out[["customer_id", "date", "amount", "channel"]].reset_index(drop=True)


def _subscriptions(rng: np.random.Generator, n: int) -> pd.DataFrame:
    theta = rng.beta(SBG["alpha"], SBG["beta"], n)
    months = rng.geometric(theta)                      # paid months before cancelling
    start_month = rng.integers(0, 18, n)
    start = pd.to_datetime([START + pd.DateOffset(months=int(m)) for m in start_month])
    end = pd.to_datetime([s + pd.DateOffset(months=int(k)) for s, k in zip(start, months)])
    active = end > OBSERVATION_END
    plan = rng.choice(["basic", "plus"], n, p=[0.7, 0.3])
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in rng.choice(np.arange(1, 10 * n), n, replace=False)],
        "start_date": start.strftime("%Y-%m-%d"),
        "end_date": pd.Series(end.strftime("%Y-%m-%d")).where(~active, ""),
        "plan": plan, "monthly_fee": np.where(plan == "basic", 19.0, 39.0)})


def simulate(rng: np.random.Generator, size: str | int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers (latent ``lam``, ``p``, ``nu``, ``alive`` at the observation end) and
    the transaction log, drawn in the order :func:`generate` draws them. ``size`` is a key
    of :data:`SIZES` or a number of customers (a large client for the benchmarks)."""
    cust = draw_customers(rng, SIZES[size][0] if isinstance(size, str) else int(size))
    return cust, _transactions(rng, cust)


def generate(out: Path, rng: np.random.Generator, size: str) -> str:
    """Write ``transactions.csv`` and ``subscriptions.csv``; return the planted truths (Markdown)."""
    n_sub = SIZES[size][1]
    cust, tx = simulate(rng, size)
    tx.to_csv(Path(out) / "transactions.csv", index=False)
    subs = _subscriptions(rng, n_sub)
    subs.to_csv(Path(out) / "subscriptions.csv", index=False)
    return _truth(tx, cust, subs)


def _truth(tx: pd.DataFrame, cust: pd.DataFrame, subs: pd.DataFrame) -> str:
    b, g, s = BGNBD, GAMMA_GAMMA, SBG
    rates = ", ".join(f"{k} ×{v}" for k, v in CHANNEL_RATE.items())
    shares = ", ".join(f"{k} {v:.0%}" for k, v in CHANNEL_SHARE.items())
    return f"""
## CLV (`transactions.csv`, `subscriptions.csv`)
- {len(cust):,} customers (`C00001`…), first purchases spread over the {ACQUISITION_WEEKS}
  weeks from {START.date()}; observation end {OBSERVATION_END.date()}; the notebook's
  calibration period ends {CALIBRATION_END.date()} (holdout {(OBSERVATION_END - CALIBRATION_END).days} days).
- Purchases: BG/NBD in **weeks**, r = {b['r']}, α = {b['alpha']}, a = {b['a']}, b = {b['b']};
  acquisition channel ({shares}) multiplies the purchase rate λ: {rates}
  (equivalently α_channel = α / multiplier; online is the reference level). The BG/NBD with
  the channel as covariate recovers r, α, a, b and the purchase coefficients
  log 1.4 = 0.34 (partner) and log 0.7 = −0.36 (store), with no effect on dropout. A BG/NBD
  without covariates fits the channel mixture, so its r comes out a little lower and its α
  between the channel values.
- Spend per purchase: Gamma-Gamma p = {g['p']}, q = {g['q']}, γ = {g['gamma']}
  (mean spend pγ/(q−1) = {g['p'] * g['gamma'] / (g['q'] - 1):.0f}), independent of frequency.
- Planted data problems in {len(tx):,} rows: {PROBLEMS['split']:.0%} of orders split into two
  rows on the same day (one purchase), returns (negative amounts, ~{PROBLEMS['return']:.0%}),
  zero amounts (~{PROBLEMS['zero']:.1%}), exact duplicate rows (~{PROBLEMS['duplicate']:.1%}),
  {N_LATE} rows dated after the observation end.
- Subscriptions: {len(subs):,} subscribers starting monthly over 18 months; monthly churn
  probability θ ~ Beta(α = {s['alpha']}, β = {s['beta']}) (shifted-Beta-Geometric, months);
  {int((subs['end_date'] == '').sum())} still active at the observation end (right-censored).
"""
