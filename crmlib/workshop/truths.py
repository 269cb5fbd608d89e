"""Planted truths of the demo client next to what each notebook recovered.

The planted values come from the demo generators (``crmlib.demo.*``): the
assessment's exact expected scores (:func:`crmlib.demo.assessment.planted_truth`),
the BG/NBD, Gamma-Gamma and sBG parameters of ``crmlib.demo.clv``, the customers
planted to migrate between value tiers a year on (``migration_planted.csv``, written by
:mod:`crmlib.demo.migration`), the
satisfaction gaps on the rating scale (:func:`crmlib.demo.satisfaction.expected_truths`,
by simulation) and Kano shares, and the ROI effects of ``crmlib.demo.roi``.
The recovered values are read from the notebook's ``results.json``. Each row
says whether the planted value lies inside the reported interval.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..clv.migration import TIERS
from ..demo import MODULES
from ..demo import satisfaction as demo_satisfaction
from ..demo.assessment import planted_truth
from ..demo.clv import BGNBD, GAMMA_GAMMA, SBG
from ..demo.migration import PLANTED_FILE, TOP_SHARE
from ..demo.roi import PHASES, planted_finance
from ..demo.satisfaction import KANO, SEGMENT_EFFECT, VALUE_EFFECT
from ..demo.waves import KANO_WAVE2, LEVEL_SHIFTS, assessment_truth, satisfaction_truth
from ..io import load_yaml

Z95 = 1.959963984540054
# The planted migration's groups are drawn exactly (a fixed share of a fixed group), so what
# separates recovered from planted is misclassification, not sampling. A lapsed customer is
# missed only when a silent year leaves P(alive) at 0.5 or more: under the planted BG/NBD,
# with the last purchase at the baseline's end and T = 117 to 130 weeks, that needs at most
# three repeat purchases (x = 3: P(alive) = 0.46 to 0.52; x = 4: 0.37 to 0.45), rare in the
# top 10% by spending rate; a customer who stayed is called churned only after a year
# without a purchase, P = exp(−52 λ), small at a top-10% rate. Either error moves the
# churned share of the top group by 1/n; 0.05 allows 11 of the 236 top customers of the demo (1 of 30 in the small
# fixture) and fails a comparison that churns only customers gone from the data (none of the
# top group: 0 against the planted half).
LAPSE_TOLERANCE = 0.05
# An accelerating customer buys 0.25 times a week for a year (13 expected purchase days;
# P(4 or fewer) = 0.004 for a Poisson count): their value now exceeds the baseline's median
# edge by far. Only one the baseline model already placed in its top tier cannot move up,
# or a very low spender: 90% leaves room for those and fails a matrix read the wrong way
# round (tiers before and now swapped: none moved up).
ACCELERATE_RECALL = 0.9
COLUMNS = ["quantity", "planted", "recovered", "ci_low", "ci_high", "within", "note"]


def _row(quantity: str, planted, recovered, ci=None, note: str = "") -> dict:
    lo, hi = (ci if ci is not None else (None, None))
    within: bool | None
    if isinstance(planted, str) or isinstance(recovered, str):
        within = str(planted) == str(recovered)
    elif lo is None or hi is None:
        exact = isinstance(planted, (int, np.integer)) and isinstance(recovered, (int, np.integer))
        within = bool(planted == recovered) if exact else None
    else:
        within = bool(lo <= planted <= hi)
    return {"quantity": quantity, "planted": planted, "recovered": recovered, "ci_low": lo,
            "ci_high": hi, "within": within, "note": note}


def _wald(est: float, se: float) -> tuple[float, float]:
    return est - Z95 * se, est + Z95 * se


def assessment_rows(res: dict) -> list[dict]:
    """Company base, mean stage, driver stages, staff − customer gap, misaligned capabilities
    (departments disagree) and the capabilities with a staff − customer gap."""
    t = planted_truth()
    rows = [_row("company base (no-skipping rule)", t["company_stage"], res["company_stage"]),
            _row("mean stage", t["mean_stage"], res["mean_stage"], res.get("mean_stage_ci"))]
    for d, v in t["driver"].items():
        rows.append(_row(f"stage: {d}", float(v), res["stage_by_driver"][d],
                         res.get("stage_by_driver_ci", {}).get(d)))
    rows.append(_row("staff − customer gap", t["gap_overall"], res["staff_vs_customer_gap"],
                     res.get("staff_vs_customer_gap_ci")))
    found = res["misaligned_capabilities"]
    row = _row("misaligned capabilities", ", ".join(sorted(t["misaligned"])),
               ", ".join(sorted(found)),
               note="departments only (Sales vs the others): a non-empty subset of the planted "
                    "set counts, as clipped ratings limit the test's power")
    row["within"] = bool(found) and set(found) <= set(t["misaligned"])
    rows.append(row)
    if "staff_customer_gap_capabilities" in res:
        rows.append(_row("capabilities with a staff − customer gap",
                         ", ".join(sorted(t["misaligned"])),
                         ", ".join(sorted(res["staff_customer_gap_capabilities"]))))
    if "over_time" in res:
        rows += assessment_wave_rows(res["over_time"])
    return rows


def assessment_wave_rows(over_time: dict) -> list[dict]:
    """The follow-up wave's planted changes (:mod:`crmlib.demo.waves`): each shifted
    capability's change with its interval, and the base it moved to."""
    t, rows = assessment_truth(), []
    for cap in LEVEL_SHIFTS:
        c = over_time["capability_change"].get(cap)
        if c is None:
            continue
        rows.append(_row(f"change since baseline: {cap}", float(t.loc[cap, "change"]),
                         c["change"], (c["ci_low"], c["ci_high"])))
        rows.append(_row(f"base now: {cap}", int(t.loc[cap, "base_follow_up"]),
                         int(c["base_latest"])))
    return rows


def clv_rows(res: dict, results_dir: Path | None = None,
             data_dir: Path | None = None) -> list[dict]:
    """BG/NBD (weeks), Gamma-Gamma and sBG parameters; mean spend per purchase; with a
    previous run and the planted groups at hand, the planted migration
    (:func:`clv_migration_rows`)."""
    rows = []
    if res.get("model") == "bgnbd" and res.get("time_unit") == "W":
        for k, v in BGNBD.items():
            note = ("λ is a mixture over the channels, not exactly Gamma(r, α): α is not "
                    "expected inside, r may miss narrowly" if k in ("r", "alpha") else "")
            rows.append(_row(f"BG/NBD {k} (weeks)", v, res["params"][k], res["params_ci"][k],
                             note))
    gg, se = res.get("gamma_gamma", {}), res.get("gamma_gamma_se", {})
    for k, name in (("p", "p"), ("q", "q"), ("gamma", "v")):
        if name in gg:
            rows.append(_row(f"Gamma-Gamma {k}", GAMMA_GAMMA[k], gg[name],
                             _wald(gg[name], se[name])))
    if gg:
        planted = GAMMA_GAMMA["p"] * GAMMA_GAMMA["gamma"] / (GAMMA_GAMMA["q"] - 1)
        rows.append(_row("mean spend per purchase pγ/(q − 1)", planted,
                         gg["p"] * gg["v"] / (gg["q"] - 1), note="no interval in results.json"))
    sub = res.get("subscriptions") or {}
    for k, v in SBG.items():
        if k in sub.get("params", {}):
            est, s = sub["params"][k], sub["params_se"][k]
            rows.append(_row(f"sBG {k} (months)", v, est, _wald(est, s)))
    return rows + _migration_rows(res, results_dir, data_dir)


def clv_migration_rows(customers: pd.DataFrame, decomposition: dict,
                       planted: pd.DataFrame) -> list[dict]:
    """The planted migration a year on (:mod:`crmlib.demo.migration`) next to the one the
    comparison with the baseline run found.

    Parameters
    ----------
    customers : the migration's per-customer table (``migration_customers``: ``customer_id``,
        ``status``, ``tier_before``, ``tier_now``).
    decomposition : ``since_last_run["decomposition"]`` of ``results.json`` (``n_new``).
    planted : ``migration_planted.csv`` (``customer_id``, ``group``).
    """
    c = customers.assign(customer_id=customers["customer_id"].astype(str)).set_index(
        "customer_id")
    group = planted.assign(customer_id=planted["customer_id"].astype(str)).set_index(
        "customer_id")["group"]
    top = group.index[group.isin(["lapse", "stay_top"])]
    lapsed = float((group == "lapse").sum() / len(top)) if len(top) else float("nan")
    churned = float((c["status"].reindex(top) == "churned").mean())
    row = _row(f"top {TOP_SHARE:.0%} by planted spending rate: share lapsed, found churned",
               lapsed, churned, note=f"tolerance ±{LAPSE_TOLERANCE} (misclassified "
               f"customers, not sampling); {len(top)} customers")
    row["within"] = bool(abs(churned - lapsed) <= LAPSE_TOLERANCE)
    rank = {t: i for i, t in enumerate(TIERS)}
    acc = c.reindex(group.index[group == "accelerate"])
    up = acc["tier_now"].map(rank) < acc["tier_before"].map(rank)  # Churned/New: no rank
    row_up = _row("accelerating customers: share moved up a value tier", 1.0, float(up.mean()),
                  note=f"tolerance: at least {ACCELERATE_RECALL:.0%}; {len(acc)} customers")
    row_up["within"] = bool(up.mean() >= ACCELERATE_RECALL)
    new = _row("new customers since the baseline", int((group == "new").sum()),
               int(decomposition["n_new"]))
    return [row, row_up, new]


def _migration_rows(res: dict, results_dir: Path | None, data_dir: Path | None) -> list[dict]:
    """:func:`clv_migration_rows` when the run compared itself with a previous one and the
    planted groups are at hand."""
    since = res.get("since_last_run") or {}
    if not since.get("decomposition") or results_dir is None or data_dir is None:
        return []
    table, planted = Path(results_dir) / "migration_customers.csv", Path(data_dir) / PLANTED_FILE
    if not (table.exists() and planted.exists()):
        return []
    return clv_migration_rows(pd.read_csv(table, dtype={"customer_id": str}),
                              since["decomposition"], pd.read_csv(planted, dtype=str))


def _satisfaction_expected(seed: int, n_sim: int = 20_000) -> dict:
    """Expected gaps on the rating scale for the demo drawn with ``seed`` (no segment or
    value effects), recomputed from the generator."""
    items = demo_satisfaction.item_table(
        np.random.default_rng([seed, MODULES.index("satisfaction")]))
    return demo_satisfaction.expected_truths(items, np.random.default_rng(0), n_sim)


def satisfaction_rows(res: dict, seed: int = 7) -> list[dict]:
    """Dimension gaps (rating scale) and Kano categories with Better/Worse."""
    expected = _satisfaction_expected(seed)
    shifted = {SEGMENT_EFFECT[1]: f"{SEGMENT_EFFECT[0]} segment planted {SEGMENT_EFFECT[2]:+.1f}",
               VALUE_EFFECT[0]: f"top spenders planted {VALUE_EFFECT[1]:+.1f}"}
    rows = []
    for d, g in res["gaps_by_dimension"].items():
        note = (f"{shifted[d]} (latent): more negative than the planted average"
                if d in shifted else "")
        rows.append(_row(f"gap P − E: {d}", expected["dim_gap"][d], g["gap"],
                         (g["ci_low"], g["ci_high"]), note))
    for f, probs in KANO.items():
        k = res.get("kano", {}).get(f)
        if k is None:
            continue
        aomi = probs["A"] + probs["O"] + probs["M"] + probs["I"]
        rows.append(_row(f"Kano category: {f}", max(probs, key=lambda c: probs[c]), k["category"],
                         note="'?' = no clear winner (Fong)" if k["category"] == "?" else ""))
        rows.append(_row(f"Kano Better: {f}", (probs["A"] + probs["O"]) / aomi, k["better"],
                         (k.get("better_ci_low"), k.get("better_ci_high"))))
        rows.append(_row(f"Kano Worse: {f}", -(probs["O"] + probs["M"]) / aomi, k["worse"],
                         (k.get("worse_ci_low"), k.get("worse_ci_high"))))
    if "over_time" in res:
        rows += satisfaction_wave_rows(res["over_time"], seed)
    return rows


def satisfaction_wave_rows(over_time: dict, seed: int = 7) -> list[dict]:
    """The follow-up wave's planted changes: each dimension's gap change with its interval
    (no change planted except where the perception shifts) and the Kano shift."""
    items = demo_satisfaction.item_table(
        np.random.default_rng([seed, MODULES.index("satisfaction")]))
    t, rows = satisfaction_truth(items, np.random.default_rng(0), 20_000), []
    for d, c in over_time["gap_change_by_dimension"].items():
        rows.append(_row(f"gap change since baseline: {d}", float(t.loc[d, "change"]),
                         c["change"], (c["ci_low"], c["ci_high"])))
    shifts = over_time.get("kano_shifts", {})
    for f, probs in KANO_WAVE2.items():
        if probs != KANO[f]:
            rows.append(_row(f"Kano category now: {f}", max(probs, key=lambda c: probs[c]),
                             shifts.get(f, {}).get("to", "(no shift found)")))
    return rows


def _planted_npv(plan_path: Path, n_pilot: int) -> dict[str, float]:
    """24-month NPV per phase with the planted effects (no sampling error) and the plan's
    costs, written out from the plan (:func:`crmlib.demo.roi.planted_finance`), not by the
    ROI code whose result it is compared with."""
    return {k: v["npv"] for k, v in planted_finance(load_yaml(plan_path), n_pilot).items()}


def roi_rows(res: dict, data_dir: Path | None = None) -> list[dict]:
    """Effects and monthly values per KPI; 24-month NPV per phase when the inputs are at hand."""
    planted = {(p["name"], k[0]): k for p in PHASES for _, ks in p["goals"] for k in ks}
    npv = {}
    if data_dir is not None and (Path(data_dir) / "phase_plan.yaml").exists():
        panel = pd.read_csv(Path(data_dir) / "kpi_panel.csv", usecols=["unit_id", "group"])
        npv = _planted_npv(Path(data_dir) / "phase_plan.yaml",
                           int(panel.loc[panel["group"] == "pilot", "unit_id"].nunique()))
    rows = []
    for ph in res["phases"]:
        for kpi, r in ph["kpis"].items():
            k = planted.get((ph["name"], kpi))
            if k is None:
                continue
            rows.append(_row(f"effect: {kpi} ({ph['name']})", k[5], r["effect"],
                             (r["ci_low"], r["ci_high"]),
                             "planted zero effect" if k[5] == 0 else ""))
        if ph["name"] in npv:
            rows.append(_row(f"NPV 24 months: {ph['name']}", npv[ph["name"]], ph["npv"]["24"],
                             ph.get("npv_p10_p90", {}).get("24"),
                             "range is the risk-adjusted P10–P90"))
    return rows


def comparison(stem: str, results_dir: str | Path, data_dir: str | Path | None = None,
               seed: int = 7) -> pd.DataFrame:
    """Planted vs recovered for one notebook.

    Parameters
    ----------
    stem : notebook stem, e.g. ``"02_clv_modelling"``.
    results_dir : the notebook's output folder holding ``results.json``.
    data_dir : folder of the demo inputs (needed for the ROI phase NPVs, and for the planted
        migration: ``migration_planted.csv``).
    seed : seed the demo data were generated with (satisfaction expected gaps).

    Returns
    -------
    DataFrame with ``quantity``, ``planted``, ``recovered``, ``ci_low``, ``ci_high``,
    ``within`` (planted inside the interval, or equal for categories) and ``note``.
    """
    res = json.loads((Path(results_dir) / "results.json").read_text(encoding="utf-8"))
    if stem.startswith("01"):
        rows = assessment_rows(res)
    elif stem.startswith("02"):
        rows = clv_rows(res, Path(results_dir), Path(data_dir) if data_dir is not None else None)
    elif stem.startswith("03"):
        rows = satisfaction_rows(res, seed)
    elif stem.startswith("04"):
        rows = roi_rows(res, Path(data_dir) if data_dir is not None else None)
    else:
        raise ValueError(f"no planted truths for notebook {stem!r}")
    return pd.DataFrame(rows, columns=COLUMNS)
