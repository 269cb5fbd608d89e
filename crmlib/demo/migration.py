"""The demo's transaction log a year on, with customers planted to migrate between value tiers.

The follow-up log (``transactions_wave2.csv``) is the baseline log up to its observation end
followed by a year drawn from the same models (:mod:`crmlib.demo.clv`: BG/NBD purchases,
Gamma-Gamma spend, the channel's rate multiplier). The baseline is drawn again from its own
seed, so each customer's latent purchase rate λ, dropout probability p, spend ν and whether
they were still alive at the baseline's end are known here. Interpurchase times are
exponential, so an alive customer's next purchase after the baseline's end is exponential
again (memoryless), and the year continues the BG/NBD story exactly. Planted on top of it,
among the customers alive at the baseline's end, ranked by their planted spending rate
λ · E[spend] = λ · p/ν:

* **lapse**: a share :data:`LAPSE_SHARE` of the top :data:`TOP_SHARE` stop buying at the
  baseline's end; the rest of that top group stay active for the whole year;
* **accelerate**: a share :data:`ACCELERATE_SHARE` of the lower half buy at
  :data:`ACCELERATE_RATE` purchases a week (or their own rate, if higher) and stay active
  for the whole year;
* **new**: :data:`NEW_SHARE` × the baseline's customers are acquired over the
  :data:`~crmlib.demo.clv.ACQUISITION_WEEKS` weeks after the baseline's end.

Every other customer follows the BG/NBD story. Who was planted where is written to
``migration_planted.csv``; no data problems are planted in the year added.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import MODULES
from . import clv as DC

FOLLOW_UP_END = pd.Timestamp("2026-06-30")          # a year after the baseline's end
FOLLOW_UP_CALIBRATION_END = pd.Timestamp("2025-12-31")
TOP_SHARE, LAPSE_SHARE = 0.10, 0.5
ACCELERATE_SHARE, ACCELERATE_RATE = 0.2, 0.25       # rate: purchases per week
NEW_SHARE = 0.10
GROUPS = ("lapse", "stay_top", "accelerate", "new")
PLANTED_FILE = "migration_planted.csv"


def _day(ts: pd.Timestamp) -> int:
    return (ts - DC.START).days


def plant_groups(rng: np.random.Generator, cust: pd.DataFrame) -> pd.Series:
    """Planted group of each baseline customer (``""`` for none), by the spending rate of
    the customers alive at the baseline's end; the shares are exact up to rounding."""
    alive = cust[cust["alive"]]
    rate = alive["lam"] * DC.GAMMA_GAMMA["p"] / alive["nu"]
    top = rate.index[rate >= rate.quantile(1 - TOP_SHARE)]
    low = rate.index[rate < rate.median()]
    group = pd.Series("", index=cust.index, dtype=object)
    group[top] = "stay_top"
    group[rng.permutation(top)[:round(LAPSE_SHARE * len(top))]] = "lapse"
    group[rng.permutation(low)[:round(ACCELERATE_SHARE * len(low))]] = "accelerate"
    return group


def _days(rng: np.random.Generator, lam: float, p: float, start: float, end: int,
          dropout: bool) -> list[int]:
    """Purchase days after ``start`` (weeks from the demo's start) up to day ``end``;
    after each purchase the customer drops out with probability ``p`` when ``dropout``."""
    days: list[int] = []
    t = start
    while True:
        t += rng.exponential(1 / lam)
        if t * 7 > end:
            return days
        days.append(int(t * 7))
        if dropout and rng.random() < p:
            return days


def _year(rng: np.random.Generator, cust: pd.DataFrame, group: pd.Series) -> list[tuple]:
    start, end = (_day(DC.OBSERVATION_END) + 1) / 7, _day(FOLLOW_UP_END)
    rows = []
    for c, g in zip(cust.itertuples(), group):
        if not c.alive or g == "lapse":
            continue
        lam = max(c.lam, ACCELERATE_RATE) if g == "accelerate" else c.lam
        for d in _days(rng, lam, c.p, start, end, dropout=g == ""):
            rows.append((c.customer_id, d, rng.gamma(DC.GAMMA_GAMMA["p"], 1 / c.nu), c.channel))
    return rows


def _new_customers(rng: np.random.Generator, n_baseline: int) -> tuple[pd.DataFrame, list]:
    new = DC.draw_customers(rng, round(NEW_SHARE * n_baseline))
    new["customer_id"] = [f"C{i:05d}" for i in range(n_baseline + 1, n_baseline + len(new) + 1)]
    new["first"] += _day(DC.OBSERVATION_END) + 1
    rows = []
    for c in new.itertuples():
        days, _ = DC.purchase_days(rng, c.lam, c.p, c.first, _day(FOLLOW_UP_END) + 1)
        rows += [(c.customer_id, d, rng.gamma(DC.GAMMA_GAMMA["p"], 1 / c.nu), c.channel)
                 for d in days]
    return new, rows


def follow_up(rng: np.random.Generator, baseline_rng: np.random.Generator,
              size: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The follow-up log, the planted groups (``customer_id``, ``group``) and the baseline
    customers; ``baseline_rng`` is the stream :func:`crmlib.demo.clv.generate` drew from."""
    cust, tx = DC.simulate(baseline_rng, size)
    group = plant_groups(rng, cust)
    new, new_rows = _new_customers(rng, len(cust))
    year = pd.DataFrame(_year(rng, cust, group) + new_rows,
                        columns=["customer_id", "day", "amount", "channel"])
    year["date"] = (DC.START + pd.to_timedelta(year["day"], unit="D")).dt.strftime("%Y-%m-%d")
    year["amount"] = year["amount"].round(2)
    kept = tx[pd.to_datetime(tx["date"]) <= DC.OBSERVATION_END]  # the late rows were the extract's
    log = pd.concat([kept, year[kept.columns]], ignore_index=True).sort_values(
        ["date", "customer_id"], kind="stable").reset_index(drop=True)
    planted = pd.concat([pd.DataFrame({"customer_id": cust["customer_id"], "group": group}),
                         pd.DataFrame({"customer_id": new["customer_id"], "group": "new"})])
    return log, planted[planted["group"] != ""].reset_index(drop=True), cust


def generate(out: Path, size: str = "demo", seed: int = 7) -> str:
    """Write ``transactions_wave2.csv`` and ``migration_planted.csv`` for the demo drawn with
    ``seed``; return the planted migration (Markdown). The year is drawn from a random
    stream of its own; the baseline from the stream :mod:`crmlib.demo.clv` drew it from."""
    log, planted, cust = follow_up(np.random.default_rng([seed, MODULES.index("waves"), 1]),
                                   np.random.default_rng([seed, MODULES.index("clv")]), size)
    log.to_csv(Path(out) / "transactions_wave2.csv", index=False)
    planted.to_csv(Path(out) / PLANTED_FILE, index=False)
    n = planted["group"].value_counts().reindex(GROUPS, fill_value=0)
    n_top, n_alive = n["lapse"] + n["stay_top"], int(cust["alive"].sum())
    return f"""### Customer value a year on (`transactions_wave2.csv`, `{PLANTED_FILE}`)
The baseline log up to {DC.OBSERVATION_END.date()} (without its {DC.N_LATE} rows dated after
it) followed by a year to {FOLLOW_UP_END.date()}, drawn from the same models (the
notebook's calibration period ends {FOLLOW_UP_CALIBRATION_END.date()}). Of the
{len(cust):,} baseline customers, {n_alive:,} were still alive at the baseline's end; ranked by
their planted spending rate λ · p/ν:

| group | planted | customers |
|---|---|---|
| lapse | {LAPSE_SHARE:.0%} of the top {TOP_SHARE:.0%} stop buying at the baseline's end | {n['lapse']} of {n_top} |
| stay_top | the rest of the top {TOP_SHARE:.0%} stay active all year at their rate | {n['stay_top']} |
| accelerate | {ACCELERATE_SHARE:.0%} of the lower half buy {ACCELERATE_RATE} times a week (or their own rate, if higher) and stay active all year | {n['accelerate']} |
| new | {NEW_SHARE:.0%} × the baseline's customers, first purchase within {DC.ACQUISITION_WEEKS} weeks of the baseline's end | {n['new']} |

Every other customer follows the BG/NBD story; no data problems are planted in the year
added. `{PLANTED_FILE}` lists each planted customer's group. Run the baseline, then the
follow-up, as two runs of one client (`clients/demo-waves/baseline.yaml`, then
`clients/demo-waves.yaml`): the follow-up's comparison with the baseline should find the
lapsed customers churned, the accelerating customers moved up a value tier, and exactly
{n['new']} new customers; the baseline's forecast for the year should miss high in its top
decile and low where the accelerating customers are.
"""
