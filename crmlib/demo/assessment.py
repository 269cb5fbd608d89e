"""Demo assessment survey: six departments and customers rate the built-in catalogue.

Planted truths (stated in ``TRUTH.md``, computed exactly from the generating model):

* Each capability has a staff-consensus level; each group adds its own bias.
  A respondent's rating is ``round(level + bias + u + e)`` clipped to 1–4, with
  a respondent leniency ``u ~ N(0, 0.3²)`` and an item error ``e ~ N(0, 0.6²)``.
  Expected ratings (and so every planted score) follow from the normal CDF.
* **Sales disagrees with customers**: Sales rates four customer-facing
  capabilities (brand promise, life-cycle management, 360° view, touchpoints)
  1.2 stages above the consensus, while customers rate them 0.6 below it
  (0.15 below on the other capabilities they see).
* **Executive** has fewer than 5 respondents (hidden on its own, counted in totals)
  and is 0.5 stage more optimistic than the consensus.
* Customers rate only the eight capabilities a customer can observe.
* About 3% of target stages and 1% of current stages are left empty.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..assessment.catalogue import load_catalogue

LEVELS = {  # staff-consensus level of each capability (latent scale)
    "goals": 2.6, "cx_strategy": 2.9, "customer_roadmap": 2.3, "brand_promise": 3.1,
    "segmentation": 2.8, "lifecycle_management": 2.4,
    "org_structure": 2.2, "culture": 2.9, "rewards": 2.3, "decision_rights": 2.6,
    "governance_team": 2.4,
    "customer_data": 2.3, "customer_360": 1.5, "crm_technology": 2.8, "touchpoints": 2.1,
    "voice_of_customer": 2.5,
    "customer_metrics": 2.6, "customer_value": 2.0, "closed_loop": 2.3, "balanced_scorecard": 2.4,
}
TARGETS = {c: 3.0 for c in LEVELS} | {"customer_360": 3.6, "customer_metrics": 3.4,
                                       "touchpoints": 3.4, "customer_data": 3.4}
CUSTOMER_VISIBLE = ("cx_strategy", "brand_promise", "segmentation", "lifecycle_management",
                    "customer_360", "touchpoints", "voice_of_customer", "closed_loop")
DISPUTED = ("brand_promise", "lifecycle_management", "customer_360", "touchpoints")
SIZES = {"demo": {"Sales": 14, "Marketing": 10, "Service": 16, "IT": 9, "Finance": 7,
                  "Executive": 4, "Customer": 60},
         "small": {"Sales": 8, "Marketing": 6, "Service": 8, "IT": 6, "Finance": 5,
                   "Executive": 3, "Customer": 24}}
SD_RESPONDENT, SD_ITEM, SD_TARGET = 0.3, 0.6, 0.5
P_MISSING_TARGET, P_MISSING_CURRENT = 0.03, 0.01


def bias(group: str, capability: str) -> float:
    """Planted bias of ``group`` on ``capability`` (stages, latent scale)."""
    if group == "Sales":
        return 1.2 if capability in DISPUTED else 0.0
    if group == "Executive":
        return 0.5
    if group == "Customer":
        return -0.6 if capability in DISPUTED else -0.15
    return 0.0


def rated(group: str) -> tuple[str, ...]:
    """Capabilities a group rates."""
    return CUSTOMER_VISIBLE if group == "Customer" else tuple(LEVELS)


def _pmf(m: float, sd: float) -> np.ndarray:
    """P(rating = 1..4) for ``clip(round(m + N(0, sd²)), 1, 4)``."""
    cuts = stats.norm.cdf((np.array([1.5, 2.5, 3.5]) - m) / sd)
    return np.diff(np.concatenate([[0.0], cuts, [1.0]]))


def expected(m: float, sd: float) -> tuple[float, float]:
    """Expected value and variance of the rounded, clipped rating."""
    p, k = _pmf(m, sd), np.arange(1, 5)
    mean = float(p @ k)
    return mean, float(p @ k ** 2 - mean ** 2)


def expected_scores() -> pd.DataFrame:
    """Expected group × capability mean stage and variance under the planted model."""
    sd = float(np.hypot(SD_RESPONDENT, SD_ITEM))
    rows = []
    for g in SIZES["demo"]:
        for c in rated(g):
            mean, var = expected(LEVELS[c] + bias(g, c), sd)
            rows.append({"group": g, "capability": c, "current": mean, "variance": var,
                         "target": expected(TARGETS[c], SD_TARGET)[0]})
    return pd.DataFrame(rows)


def _simulate(rng: np.random.Generator, size: str) -> pd.DataFrame:
    rows = []
    for g, n in SIZES[size].items():
        caps = rated(g)
        for i in range(n):
            rid = f"{g[:3].upper()}{i + 1:03d}"
            u = rng.normal(0, SD_RESPONDENT)
            for c in caps:
                cur = np.clip(np.round(LEVELS[c] + bias(g, c) + u + rng.normal(0, SD_ITEM)), 1, 4)
                tgt = np.clip(np.round(TARGETS[c] + rng.normal(0, SD_TARGET)), 1, 4)
                rows.append((rid, g, c, int(cur), int(tgt)))
    df = pd.DataFrame(rows, columns=["respondent_id", "group", "capability", "current_stage",
                                     "target_stage"]).astype({"current_stage": "Int64",
                                                              "target_stage": "Int64"})
    df.loc[rng.random(len(df)) < P_MISSING_TARGET, "target_stage"] = pd.NA
    df.loc[rng.random(len(df)) < P_MISSING_CURRENT, "current_stage"] = pd.NA
    return df


def planted_truth() -> dict:
    """Company, driver, group and gap values implied by the planted model (group weighting)."""
    e = expected_scores()
    cat = load_catalogue()
    company = e.groupby("capability")[["current", "target"]].mean()
    company["driver"] = company.index.map(cat["driver"])
    drivers = company.groupby("driver")["current"].mean()
    common = e.loc[e["capability"].isin(CUSTOMER_VISIBLE)]
    staff = common.loc[common["group"] != "Customer"].groupby("capability")["current"].mean()
    cust = common.loc[common["group"] == "Customer"].set_index("capability")["current"]
    gap = staff - cust
    e["rwg"] = np.clip(1 - e["variance"] / 1.25, 0, None)
    return {"capability": company, "driver": drivers,
            "company_stage": int(np.floor(drivers).min()), "mean_stage": float(drivers.mean()),
            "gap": gap, "gap_overall": float(gap.mean()),
            "group_means": e.groupby("group")["current"].mean(),
            "rwg": e.groupby("group")["rwg"].mean(),
            "misaligned": sorted(DISPUTED)}


def _truth_markdown(t: dict, df: pd.DataFrame, size: str) -> str:
    drv = "\n".join(f"| {d} | {v:.2f} | {int(np.floor(v))} |" for d, v in t["driver"].items())
    gap = "\n".join(f"| {c} | {v:+.2f} |" for c, v in t["gap"].items())
    n_resp = df.groupby("group")["respondent_id"].nunique().to_dict()
    return f"""## CRM assessment (`assessment_responses.csv`)

Respondents per group ({size}): {', '.join(f'{g} {n}' for g, n in n_resp.items())}.
Ratings: `clip(round(level + group bias + u + e), 1, 4)`, u ~ N(0, {SD_RESPONDENT}²) per
respondent, e ~ N(0, {SD_ITEM}²) per answer; expected values below are exact under that model
(company scores weight each group equally).

| driver | expected mean stage | base |
|---|---|---|
{drv}

* Company stage by the no-skipping rule: **base {t['company_stage']}**; mean stage
  {t['mean_stage']:.2f}. Weakest driver: {t['driver'].idxmin()}; `customer_360` is the only
  capability below base 2 (expected {t['capability'].loc['customer_360', 'current']:.2f}) and
  should head the roadmap.
* **Sales disagrees with customers** on {', '.join(sorted(DISPUTED))}: Sales +1.2 stages
  above the consensus, customers −0.6 below. Two separate findings follow on these four:
  the departments disagree (Sales against the others: the planted misaligned capabilities;
  ratings clipped at stage 4 weaken the test, so a subset may be found) and the staff −
  customer gap exceeds half a stage.
* Staff − customer perception gap (staff groups weighted equally, on the
  {len(CUSTOMER_VISIBLE)} capabilities customers rate): expected **{t['gap_overall']:+.2f}**
  stages; per capability:

| capability | expected staff − customer gap |
|---|---|
{gap}

* **Executive** has fewer than 5 respondents: not shown on its own, counted in the totals.
* Within-group agreement: expected mean r_wg about
  {', '.join(f'{g} {v:.2f}' for g, v in t['rwg'].items())} (same noise in every group).
* Missing values: {int(df['target_stage'].isna().sum())} empty target stages and
  {int(df['current_stage'].isna().sum())} empty current stages (excluded and counted).
"""


def generate(out: Path, rng: np.random.Generator, size: str = "demo") -> str:
    """Write ``assessment_responses.csv`` into ``out``; return the truths as Markdown."""
    df = _simulate(rng, size)
    df.to_csv(Path(out) / "assessment_responses.csv", index=False)
    return _truth_markdown(planted_truth(), df, size)
