"""A follow-up wave of the demo client, a year after the baseline, with planted changes.

Written as *additional* files (``assessment_responses_wave2.csv``, ``survey_wave2.csv``)
from a random stream of its own, so the baseline files and their truths stay exactly
as they are. The follow-up is drawn from the same models as the baseline
(:mod:`crmlib.demo.assessment`, :mod:`crmlib.demo.satisfaction`) with these changes:

* **Assessment**: ``customer_360`` rises by 0.8 stage on the latent scale (it moves up
  from base 1 to base 2: the first item of the baseline roadmap is achieved) and
  ``brand_promise`` falls by 0.5 (it falls back from base 3 to base 2). The same staff
  answer again (same respondent ids: the comparison is paired); customers are a fresh
  sample (new ids).
* **Satisfaction**: the reliability perception rises by 0.7 (latent scale), closing
  most of the largest gap; ``mobile_app`` shifts in Kano from attractive to
  one-dimensional. Respondents are a fresh sample (new ids: the comparison is
  independent, Welch's test); segment and value effects are those of the baseline.
  No data problems are planted in the follow-up.
* **Customer value**: the transaction log a year on, with customers planted to lapse,
  accelerate and arrive (:mod:`crmlib.demo.migration`), from a random stream of its own.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import assessment as DA
from . import migration as DM
from . import satisfaction as DS

LABELS = ("2025 baseline", "2026 follow-up")
DATES = ("2025-06-01", "2026-06-01")
LEVEL_SHIFTS = {"customer_360": 0.8, "brand_promise": -0.5}
PERCEPTION_SHIFTS = {"reliability": 0.7}
KANO_WAVE2 = DS.KANO | {"mobile_app": {"A": 0.20, "O": 0.50, "M": 0.10, "I": 0.15, "R": 0.02,
                                       "Q": 0.03}}


def levels_wave2() -> dict[str, float]:
    """Latent capability levels of the follow-up."""
    return {c: v + LEVEL_SHIFTS.get(c, 0.0) for c, v in DA.LEVELS.items()}


def dimensions_wave2() -> dict[str, tuple[float, float, float]]:
    """SERVQUAL dimensions of the follow-up: (expectation, gap, importance)."""
    return {d: (e, g + PERCEPTION_SHIFTS.get(d, 0.0), i) for d, (e, g, i) in DS.DIMENSIONS.items()}


def expected_capabilities(levels: dict[str, float]) -> pd.Series:
    """Expected company score per capability (groups weighted equally) under the planted model."""
    sd = float(np.hypot(DA.SD_RESPONDENT, DA.SD_ITEM))
    rows = [{"group": g, "capability": c, "current": DA.expected(levels[c] + DA.bias(g, c), sd)[0]}
            for g in DA.SIZES["demo"] for c in DA.rated(g)]
    return pd.DataFrame(rows).groupby("capability")["current"].mean()


def assessment_truth() -> pd.DataFrame:
    """Expected score per capability at the baseline and the follow-up, the change and bases."""
    t = pd.DataFrame({"baseline": expected_capabilities(DA.LEVELS),
                      "follow_up": expected_capabilities(levels_wave2())})
    t["change"] = t["follow_up"] - t["baseline"]
    t["base_baseline"] = np.floor(t["baseline"]).astype(int)
    t["base_follow_up"] = np.floor(t["follow_up"]).astype(int)
    return t


def _assessment(rng: np.random.Generator, size: str) -> pd.DataFrame:
    levels, rows = levels_wave2(), []
    for g, n in DA.SIZES[size].items():
        for i in range(n):
            rid = f"{g[:3].upper()}{i + 1:03d}" if g != "Customer" else f"CUS-F{i + 1:03d}"
            u = rng.normal(0, DA.SD_RESPONDENT)
            for c in DA.rated(g):
                cur = np.clip(np.round(levels[c] + DA.bias(g, c) + u + rng.normal(0, DA.SD_ITEM)),
                              1, 4)
                tgt = np.clip(np.round(DA.TARGETS[c] + rng.normal(0, DA.SD_TARGET)), 1, 4)
                rows.append((rid, g, c, int(cur), int(tgt)))
    return pd.DataFrame(rows, columns=["respondent_id", "group", "capability", "current_stage",
                                       "target_stage"])


def _survey(rng: np.random.Generator, items: pd.DataFrame, size: str, out: Path) -> pd.DataFrame:
    n, n_cust = DS.SIZES[size], DS.N_CUSTOMERS[size]
    seg = rng.choice(list(DS.SEGMENTS), size=n, p=list(DS.SEGMENTS.values()))
    ids = np.array([f"C{i:05d}" for i in rng.choice(np.arange(1, n_cust + 1), n, replace=False)],
                   dtype=object)
    top = DS.top_spenders(out, ids)  # the baseline's value effect holds in the follow-up too
    df = DS.simulate_answers(rng, items, n, seg, top, dimensions_wave2())
    df = pd.concat([df, pd.DataFrame(DS.kano_answers(rng, n, KANO_WAVE2))], axis=1)
    for it in items.itertuples():  # reverse-coded items are stored reversed, as at the baseline
        if it.reverse:
            for p in ("E_", "P_"):
                df[p + it.item] = DS.SCALE[0] + DS.SCALE[1] - df[p + it.item]
    df.insert(0, "respondent_id", [f"F{i:04d}" for i in range(1, n + 1)])
    df.insert(1, "customer_id", ids)
    df.insert(2, "segment", seg)
    return df.astype({c: "Int64" for c in df.columns if c[:2] in ("E_", "P_", "I_", "KF", "KD")
                      or c == "overall_satisfaction"})


def satisfaction_truth(items: pd.DataFrame, rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Expected dimension gaps at the baseline and the follow-up (simulated, rating scale)."""
    before = DS.expected_truths(items, np.random.default_rng(rng.integers(2 ** 32)), n)
    after = DS.expected_truths(items, np.random.default_rng(rng.integers(2 ** 32)), n,
                               dimensions_wave2())
    t = pd.DataFrame({"baseline": before["dim_gap"], "follow_up": after["dim_gap"]})
    t["change"] = t["follow_up"] - t["baseline"]
    return t


def generate(out: Path, rng: np.random.Generator, size: str = "demo", seed: int = 7) -> str:
    """Write the follow-up files into ``out``; return the planted changes as Markdown."""
    from . import MODULES
    out = Path(out)
    _assessment(rng, size).to_csv(out / "assessment_responses_wave2.csv", index=False)
    items = DS.item_table(np.random.default_rng([seed, MODULES.index("satisfaction")]))
    _survey(rng, items, size, out).to_csv(out / "survey_wave2.csv", index=False)
    a = assessment_truth()
    s = satisfaction_truth(items, rng, 100_000 if size == "demo" else 20_000)
    value = DM.generate(out, size, seed)
    cap = "\n".join(f"| {c} | {r.baseline:.2f} | {r.follow_up:.2f} | {r.change:+.2f} | "
                    f"{int(r.base_baseline)} → {int(r.base_follow_up)} |"
                    for c, r in a.loc[list(LEVEL_SHIFTS)].iterrows())
    dim = "\n".join(f"| {d} | {r.baseline:+.2f} | {r.follow_up:+.2f} | {r.change:+.2f} |"
                    for d, r in s.iterrows())
    return f"""## Follow-up wave (`assessment_responses_wave2.csv`, `survey_wave2.csv`, `transactions_wave2.csv`)
Waves: `{LABELS[0]}` ({DATES[0]}, the files above) and `{LABELS[1]}` ({DATES[1]}); run both
with `clients/demo-waves.yaml`. Drawn from the same models with these planted changes
(expected company scores, groups weighted equally; every other capability is unchanged):

| capability | expected baseline | expected follow-up | change | base |
|---|---|---|---|---|
{cap}

The same staff answer again (paired comparison by respondent id); customers are new.

Satisfaction: fresh respondents (independent samples, Welch's test). The reliability
perception rises by {PERCEPTION_SHIFTS['reliability']:+.1f} (latent scale): its gap closes
by most of its size; no other dimension changes. Expected dimension gaps (P − E):

| dimension | baseline | follow-up | change |
|---|---|---|---|
{dim}

Kano: `mobile_app` shifts from A (attractive) to O (one-dimensional): planted shares
{', '.join(f'{k} {v:.2f}' for k, v in KANO_WAVE2['mobile_app'].items())}.

{value}"""
