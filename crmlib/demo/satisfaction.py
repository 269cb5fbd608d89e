"""Demo satisfaction survey (SERVQUAL style) drawn from planted gaps, drivers and Kano categories.

Each respondent has a latent expectation and perception per SERVQUAL dimension
(Parasuraman, Zeithaml & Berry 1988); the perception latents share a general
quality factor (centred in the sample, so that one common draw does not shift
every dimension's gap), so dimensions correlate as they do in real surveys. Items are
the latent plus item noise, rounded and clipped to the 1–7 scale; the truths
stated are the expected values *on the rating scale* (computed from 100,000
simulated respondents, 20,000 for the small test fixture), so rounding and
clipping are accounted for.

Overall satisfaction is a linear function of the perception latents with the
planted driver weights. Kano answer pairs are drawn so that each feature's
category shares are the planted ones exactly (up to rounding; the answer pair
is drawn uniformly among the cells of the Berger et al. 1993 evaluation table
that give the category), so the Kano story of the demo does not hinge on luck.

Planted data problems: don't-know code 99 in some cells, two reverse-coded
items stored reversed, respondents who answered (almost) nothing, survey
customers missing from the CLV customer base and respondents without a
customer id. When the CLV demo's ``transactions.csv`` is already in the output
folder, respondents among the top quarter of spenders get an extra empathy
shortfall, which the value-weighted gaps should reveal.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..satisfaction.drivers import relative_weights
from ..satisfaction.kano import EVALUATION

SCALE = (1, 7)
DONT_KNOW = 99
SIZES = {"demo": 600, "small": 150}
N_CUSTOMERS = {"demo": 4000, "small": 500}  # the CLV demo's customer base (C00001…)
# dimension: (expectation mean, planted gap P − E on the latent scale, stated importance)
DIMENSIONS = {
    "tangibles": (5.0, 0.4, 4.3),
    "reliability": (6.0, -1.1, 6.3),
    "responsiveness": (5.7, -0.7, 5.8),
    "assurance": (5.4, 0.0, 5.5),
    "empathy": (5.2, -0.4, 5.0),
}
DRIVER_WEIGHTS = {"tangibles": 0.05, "reliability": 0.55, "responsiveness": 0.35,
                  "assurance": 0.20, "empathy": 0.10}
ITEMS = {
    "tangibles": [("tan_equipment", "Up-to-date stores and website", 0),
                  ("tan_facilities", "Visually appealing shops", 0),
                  ("tan_staff", "Neat, professional staff", 0),
                  ("tan_materials", "Clear catalogues and receipts", 0)],
    "reliability": [("rel_promise", "Does what it promises by when it promises", 0),
                    ("rel_problem", "Sincere interest in solving problems", 0),
                    ("rel_first", "Gets it right the first time", 0),
                    ("rel_ontime", "Delivers on time", 0),
                    ("rel_errors", "Orders and bills are often wrong", 1)],
    "responsiveness": [("res_inform", "Tells when services will be performed", 0),
                       ("res_prompt", "Prompt service", 0),
                       ("res_willing", "Always willing to help", 0),
                       ("res_busy", "Staff too busy to respond to requests", 1)],
    "assurance": [("ass_confidence", "Staff instil confidence", 0),
                  ("ass_safe", "Customers feel safe in transactions", 0),
                  ("ass_courteous", "Staff are consistently courteous", 0),
                  ("ass_knowledge", "Staff have the knowledge to answer questions", 0)],
    "empathy": [("emp_individual", "Individual attention", 0),
                ("emp_hours", "Convenient opening hours", 0),
                ("emp_personal", "Personal attention from staff", 0),
                ("emp_interest", "Has customers' best interests at heart", 0),
                ("emp_needs", "Understands specific needs", 0)],
}
ITEM_SHIFT = {"E": 0.2, "P": 0.4}  # item means deviate from their dimension by up to ± this
SEGMENTS = {"Retail": 0.5, "Business": 0.3, "Premium": 0.2}
SEGMENT_EFFECT = ("Business", "responsiveness", -0.6)  # extra perception shift
VALUE_EFFECT = ("empathy", -1.0, 0.25)  # perception shift for the top quarter of spenders
KANO = {  # feature: category probabilities A, O, M, I, R, Q
    "mobile_app": {"A": 0.55, "O": 0.15, "M": 0.05, "I": 0.20, "R": 0.02, "Q": 0.03},
    "free_delivery": {"A": 0.15, "O": 0.55, "M": 0.15, "I": 0.12, "R": 0.0, "Q": 0.03},
    "accurate_invoice": {"A": 0.05, "O": 0.15, "M": 0.62, "I": 0.15, "R": 0.0, "Q": 0.03},
    "loyalty_points": {"A": 0.35, "O": 0.10, "M": 0.05, "I": 0.34, "R": 0.13, "Q": 0.03},
    "chatbot": {"A": 0.10, "O": 0.03, "M": 0.02, "I": 0.30, "R": 0.52, "Q": 0.03},
}
NOISE = {"item": 0.7, "expectation": 0.6, "perception_general": 0.7, "perception_specific": 0.6,
         "overall": 0.6}


def item_table(rng: np.random.Generator) -> pd.DataFrame:
    """The survey items with their planted expectation and perception shifts."""
    rows = []
    for dim, items in ITEMS.items():
        se, sp = (rng.uniform(-ITEM_SHIFT[k], ITEM_SHIFT[k], len(items)) for k in "EP")
        se, sp = se - se.mean(), sp - sp.mean()
        for (name, label, rev), a, b in zip(items, se, sp):
            rows.append({"item": name, "dimension": dim, "label": label, "reverse": rev,
                         "shift_e": a, "shift_p": b})
    return pd.DataFrame(rows)


def _rate(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), *SCALE)


def _latents(rng: np.random.Generator, n: int, seg: np.ndarray, top: np.ndarray,
             dimensions: dict = DIMENSIONS):
    dims = list(dimensions)
    g = rng.normal(0, NOISE["perception_general"], n)
    g -= g.mean()  # centred: one common draw would otherwise shift every dimension's gap
    lat_e, lat_p = {}, {}
    for d in dims:
        mu_e, gap, _ = dimensions[d]
        lat_e[d] = mu_e + rng.normal(0, NOISE["expectation"], n)
        lat_p[d] = mu_e + gap + g + rng.normal(0, NOISE["perception_specific"], n)
    s_name, s_dim, s_shift = SEGMENT_EFFECT
    lat_p[s_dim] = lat_p[s_dim] + s_shift * (seg == s_name)
    v_dim, v_shift, _ = VALUE_EFFECT
    lat_p[v_dim] = lat_p[v_dim] + v_shift * top
    return lat_e, lat_p


def simulate_answers(rng: np.random.Generator, items: pd.DataFrame, n: int, seg: np.ndarray,
                     top: np.ndarray, dimensions: dict = DIMENSIONS) -> pd.DataFrame:
    lat_e, lat_p = _latents(rng, n, seg, top, dimensions)
    cols: dict[str, np.ndarray] = {}
    for it in items.itertuples():
        e = _rate(lat_e[it.dimension] + it.shift_e + rng.normal(0, NOISE["item"], n))
        p = _rate(lat_p[it.dimension] + it.shift_p + rng.normal(0, NOISE["item"], n))
        cols[f"E_{it.item}"], cols[f"P_{it.item}"] = e, p
        cols[f"I_{it.item}"] = _rate(DIMENSIONS[it.dimension][2] + rng.normal(0, 0.9, n))
    centre = sum(DRIVER_WEIGHTS[d] * (DIMENSIONS[d][0] + DIMENSIONS[d][1]) for d in DIMENSIONS)
    overall = (4.5 + sum(DRIVER_WEIGHTS[d] * lat_p[d] for d in DIMENSIONS) - centre
               + rng.normal(0, NOISE["overall"], n))
    cols["overall_satisfaction"] = _rate(overall)
    return pd.DataFrame(cols)


def kano_answers(rng: np.random.Generator, n: int, kano: dict = KANO) -> dict[str, np.ndarray]:
    cells = {c: np.argwhere(EVALUATION == c) for c in "AOMIRQ"}
    out = {}
    for feat, probs in kano.items():
        share = np.array(list(probs.values())) / sum(probs.values())
        counts = np.floor(share * n).astype(int)  # planted composition, exact up to rounding
        counts[np.argsort(share * n - counts)[::-1][:n - counts.sum()]] += 1
        cats = rng.permutation(np.repeat(list(probs), counts))
        pairs = np.array([cells[c][rng.integers(len(cells[c]))] for c in cats]) + 1
        out[f"KF_{feat}"], out[f"KD_{feat}"] = pairs[:, 0], pairs[:, 1]
    return out


def top_spenders(out: Path, ids: np.ndarray) -> np.ndarray:
    tx_path = out / "transactions.csv"
    if not tx_path.exists():
        return np.zeros(len(ids), dtype=bool)
    tx = pd.read_csv(tx_path, usecols=["customer_id", "amount"])
    spend = tx.groupby("customer_id")["amount"].sum()
    cut = spend.quantile(1 - VALUE_EFFECT[2])
    return pd.Series(ids).map(spend).fillna(0).to_numpy() >= cut


def _plant_problems(rng: np.random.Generator, df: pd.DataFrame, items: pd.DataFrame) -> dict:
    ep = [c for c in df.columns if c[:2] in ("E_", "P_")]
    for it in items.itertuples():  # reverse-coded items are stored reversed
        if it.reverse:
            for p in ("E_", "P_"):
                df[p + it.item] = SCALE[0] + SCALE[1] - df[p + it.item]
    vals = df[ep].to_numpy(float)
    dk = rng.random(vals.shape) < 0.01
    vals[dk] = DONT_KNOW
    rows = rng.choice(len(df), 5, replace=False)
    vals[rows[:2]] = DONT_KNOW  # answered nothing but don't know
    for r in rows[2:]:  # answered under a third of the items
        vals[r, rng.random(vals.shape[1]) < 0.75] = np.nan
    df[ep] = vals
    return {"dont_know_cells": int((vals == DONT_KNOW).sum()), "all_dont_know": 2, "thin": 3}


def generate(out: Path, rng: np.random.Generator, size: str) -> str:
    """Write ``survey.csv`` and ``survey_items.csv`` into ``out``; return the planted truths."""
    n, n_cust = SIZES[size], N_CUSTOMERS[size]
    items = item_table(rng)
    ids = np.array([f"C{i:05d}" for i in rng.choice(np.arange(1, n_cust + 1), n, replace=False)],
                   dtype=object)
    n_unmatched, n_noid = max(2, n // 50), max(2, n // 40)
    ids[:n_unmatched] = [f"C9{i:04d}" for i in range(n_unmatched)]  # not in the CLV base
    ids[n_unmatched:n_unmatched + n_noid] = None
    seg = rng.choice(list(SEGMENTS), size=n, p=list(SEGMENTS.values()))
    top = top_spenders(out, ids)
    df = simulate_answers(rng, items, n, seg, top)
    df = pd.concat([df, pd.DataFrame(kano_answers(rng, n))], axis=1)
    problems = _plant_problems(rng, df, items)
    df.insert(0, "respondent_id", [f"R{i:04d}" for i in range(1, n + 1)])
    df.insert(1, "customer_id", ids)
    df.insert(2, "segment", seg)
    order = rng.permutation(n)
    df = df.iloc[order].reset_index(drop=True)
    for c in df.columns:
        if c[:2] in ("E_", "P_", "I_", "KF", "KD") or c == "overall_satisfaction":
            df[c] = df[c].astype("Int64")
    df.to_csv(out / "survey.csv", index=False)
    items[["item", "dimension", "label", "reverse"]].to_csv(out / "survey_items.csv", index=False)
    return _truth(items, n, problems, int(top.sum()), n_unmatched, n_noid, rng,
                  100_000 if size == "demo" else 20_000)


def expected_truths(items: pd.DataFrame, rng: np.random.Generator, n: int = 100_000,
                    dimensions: dict = DIMENSIONS) -> dict:
    """Expected ratings, gaps and relative weights on the 1–7 scale, by simulation."""
    seg = np.full(n, "Retail")
    df = simulate_answers(rng, items, n, seg, np.zeros(n, dtype=bool), dimensions)
    e = {d: df[[f"E_{i}" for i in items.item[items.dimension == d]]].mean(axis=1) for d in DIMENSIONS}
    p = {d: df[[f"P_{i}" for i in items.item[items.dimension == d]]].mean(axis=1) for d in DIMENSIONS}
    rw = relative_weights(np.column_stack([p[d] for d in DIMENSIONS]),
                           df["overall_satisfaction"].to_numpy(float))
    item_gap = {i: (df[f"P_{i}"] - df[f"E_{i}"]).mean() for i in items.item}
    return {"dim_gap": {d: (p[d] - e[d]).mean() for d in DIMENSIONS},
            "dim_e": {d: e[d].mean() for d in DIMENSIONS},
            "dim_p": {d: p[d].mean() for d in DIMENSIONS},
            "rw_share": dict(zip(DIMENSIONS, rw / rw.sum())), "item_gap": item_gap}


def _kano_truth() -> str:
    lines = ["| feature | planted category | P(A, O, M, I, R, Q) | Better | Worse |", "|---|---|---|---|---|"]
    for f, pr in KANO.items():
        aomi = pr["A"] + pr["O"] + pr["M"] + pr["I"]
        lines.append(f"| {f} | {max(pr, key=lambda c: pr[c])} | "
                     f"{', '.join(f'{v:.2f}' for v in pr.values())} | "
                     f"{(pr['A'] + pr['O']) / aomi:.2f} | {-(pr['O'] + pr['M']) / aomi:.2f} |")
    return "\n".join(lines)


def _truth(items, n, problems, n_top, n_unmatched, n_noid, rng, n_sim) -> str:
    t = expected_truths(items, np.random.default_rng(rng.integers(2 ** 32)), n_sim)
    dim_rows = "\n".join(
        f"| {d} | {t['dim_e'][d]:.2f} | {t['dim_p'][d]:.2f} | {t['dim_gap'][d]:+.2f} | "
        f"{DIMENSIONS[d][2]:.1f} | {DRIVER_WEIGHTS[d]:.2f} | {t['rw_share'][d]:.2f} |"
        for d in DIMENSIONS)
    item_rows = "\n".join(f"| {r.item} | {r.dimension} | {'yes' if r.reverse else ''} | "
                          f"{t['item_gap'][r.item]:+.2f} |" for r in items.itertuples())
    value = (f"{n_top} respondents are among the top {VALUE_EFFECT[2]:.0%} of spenders in "
             f"`transactions.csv`; their {VALUE_EFFECT[0]} perceptions are {VALUE_EFFECT[1]:+.1f} "
             "lower (latent scale), so the CLV-weighted empathy gap is more negative than the "
             "unweighted one." if n_top else
             "No `transactions.csv` was present when the survey was drawn: no value effect planted.")
    return f"""## Satisfaction survey (`survey.csv`, `survey_items.csv`)
{n} respondents, 22 SERVQUAL items in 5 dimensions rated 1–7 (expectation `E_`, perception
`P_`, stated importance `I_`), `overall_satisfaction` 1–7, five Kano features (`KF_`/`KD_`),
segments {', '.join(f'{k} {v:.0%}' for k, v in SEGMENTS.items())}. Expected values on the
rating scale ({n_sim:,} simulated respondents, no segment or value effects):

| dimension | E | P | gap P − E | stated importance | planted driver weight | relative-weight share |
|---|---|---|---|---|---|---|
{dim_rows}

Assurance has a true gap of zero: a test that flags it is a false positive.
Segment effect: `{SEGMENT_EFFECT[0]}` respondents' {SEGMENT_EFFECT[1]} perceptions are
{SEGMENT_EFFECT[2]:+.1f} lower (so their gap is about that much more negative).
Value effect: {value}

Item gaps (expected, after reverse items are flipped back):

| item | dimension | reverse-coded | gap |
|---|---|---|---|
{item_rows}

Kano (planted category shares, exact in the file up to rounding; Better/Worse follow from them;
`loyalty_points` is a close call between A and I, so Fong's test should find no clear winner):

{_kano_truth()}

Planted problems: {problems['dont_know_cells']} E/P cells hold the don't-know code {DONT_KNOW}
(about 1% at random plus every cell of two respondents);
{problems['all_dont_know']} respondents answered don't know to everything and
{problems['thin']} answered under a third of the items (both excluded with `min_answered` 0.5);
{n_unmatched} respondents have a `customer_id` not in the CLV customer base and {n_noid} have
none. Items `rel_errors` and `res_busy` are reverse-coded (`reverse` = 1) and stored reversed.
"""
