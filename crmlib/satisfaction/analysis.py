"""Glue for the satisfaction notebook: load the inputs, fit the survey's PLS model, collect results.

Every function here only wires the analysis modules together, so each
notebook cell stays a single call.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..io import DataError, DataQualityReport
from .pls import PLSPathModel
from .prepare import Survey
from .priorities import RULE

SATISFACTION = "SATISFACTION"


def satisfaction_model(survey: Survey, scheme: str = "centroid", n_boot: int = 200,
                       random_state: int | None = 0, strict: bool = True) -> PLSPathModel | None:
    """ACSI-style PLS model of the survey: each quality dimension (a reflective block of its
    perception items) -> overall satisfaction (single indicator).

    This is the perceived-quality -> satisfaction part of the ACSI model (Fornell et al.
    1996); the survey has no value or loyalty blocks. Blocks are Mode A on the raw rating
    metric (``scaled=False``), so the 0–100 indices use the survey's rating scale.
    Expectations are not a block: in gap surveys they are asked next to perceptions and
    enter the analysis through the gaps. With ``strict=False`` a survey that cannot support
    the model (no overall satisfaction, too few complete respondents) gives None and a note
    in ``survey.notes`` (prefix ``"pls:"``).
    """
    try:
        return _satisfaction_model(survey, scheme, n_boot, random_state)
    except DataError as exc:
        if strict:
            raise
        survey.notes.append(f"pls: structural model not estimated: {exc.message}")
        return None


def _satisfaction_model(survey, scheme, n_boot, random_state):
    if survey.overall is None:
        raise DataError("the structural model needs an 'overall_satisfaction' column",
                        file=survey.file, column="overall_satisfaction")
    data = pd.DataFrame(index=survey.perceptions.index)
    blocks: dict[str, list[str]] = {}
    for dim, its in survey.dimensions.items():
        use = [i for i in its if i not in survey.constant_items]
        if use:
            blocks[dim] = [f"P_{i}" for i in use]
            data[blocks[dim]] = survey.perceptions[use].to_numpy()
    blocks[SATISFACTION] = ["overall_satisfaction"]
    data["overall_satisfaction"] = survey.overall
    data.attrs["source"] = survey.file
    paths = [(lv, SATISFACTION) for lv in blocks if lv != SATISFACTION]
    return PLSPathModel(paths, blocks, scheme=scheme, scaled=False, n_boot=n_boot,
                        scale_range=survey.scale, random_state=random_state).fit(data)


def _records(df: pd.DataFrame, key: str, cols: list[str]) -> dict[str, dict]:
    return {str(r[key]): {c: r[c] for c in cols if c in df.columns} for _, r in df.iterrows()}


def _priority_records(pr: pd.DataFrame) -> list[dict]:
    """Ordered priorities, each with a readable ``name`` for summaries across analyses."""
    name = pr["label"] + " (" + pr["dimension"] + "; " + pr["tier"] + ")"
    return pr.assign(name=name)[["name", *pr.columns]].to_dict(orient="records")


def _headline(dim_gaps, overall, items, pls, n, priorities, level: float) -> list[dict]:
    """Headline figures; the gaps' intervals are at ``level`` (1 − significance), the
    satisfaction index's at the PLS bootstrap's 95%."""
    h = [{"label": "Respondents analysed", "value": n, "unit": "respondents", "ci": None}]
    o = overall.iloc[0]
    h.append({"label": f"Overall SERVQUAL gap ({o['weighting']} weights)", "value": o["gap"],
              "unit": "scale points", "ci": [o["ci_low"], o["ci_high"]], "ci_level": level})
    worst = dim_gaps.sort_values("gap").iloc[0]
    h.append({"label": f"Largest dimension gap: {worst['dimension']}", "value": worst["gap"],
              "unit": "scale points", "ci": [worst["ci_low"], worst["ci_high"]],
              "ci_level": level})
    h.append({"label": "Items with a significant shortfall",
              "value": int(((items["gap"] < 0) & items["significant"]).sum()),
              "unit": f"of {len(items)} items", "ci": None})
    act = priorities[priorities["tier"] == "act"]
    if len(act):
        top = act.iloc[0]
        h.append({"label": f"Top priority: {top['label']}", "value": top["gap"],
                  "unit": "scale points (gap)", "ci": [top["ci_low"], top["ci_high"]],
                  "ci_level": level})
    if pls is not None:
        s = pls.summary().set_index(["kind", "parameter"]).loc[("index", SATISFACTION)]
        h.append({"label": "Satisfaction index", "value": s["estimate"], "unit": "0–100",
                  "ci": [s["ci_low"], s["ci_high"]], "ci_level": 0.95})
    return h


def build_results(P: Mapping[str, Any], survey: Survey, quality: DataQualityReport,
                  tables: Mapping[str, pd.DataFrame | None],
                  pls: PLSPathModel | None = None,
                  extras: Mapping[str, Any] | None = None) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Assemble ``results.json`` content and the tables to write (None tables are skipped).

    ``tables`` keys used: ``reliability``, ``dimension_gaps``, ``item_gaps``, ``overall``,
    ``ipa``, ``drivers``, ``kano``, ``value_items``, ``value_dimensions``, ``priorities``,
    ``segment_gaps``, ``segment_tests``, ``segment_pairwise``, ``item_reliability``, ``drivers_dimension``.
    ``extras`` (e.g. the drivers' R² and n) are added to the results as they are.
    """
    t = {k: v for k, v in tables.items() if v is not None}
    gap_cols = ["expectation", "perception", "gap", "ci_low", "ci_high", "p_adj", "n", "p",
                "wilcoxon_p_adj", "d_z", "significant"]
    rel = t["reliability"]
    results: dict[str, Any] = {
        "n_respondents": survey.n_respondents,
        "excluded": quality.excluded(),
        "data_quality": quality.to_dict(),
        "gaps_by_dimension": _records(t["dimension_gaps"], "dimension", gap_cols),
        "gaps_by_item": _records(t["item_gaps"], "item", gap_cols),
        "overall_gap": t["overall"].iloc[0].to_dict(),
        "reliability": _records(rel, "dimension", ["alpha", "alpha_ci_low", "alpha_ci_high",
                                                   "omega", "omega_ci_low", "omega_ci_high",
                                                   "n_items", "n", "note"]),
        "reliability_variant": "raw Cronbach's alpha (covariances), Feldt interval; "
                               "McDonald's omega total, one-factor ML model, signed loadings, "
                               "percentile bootstrap interval (not reported when it does not "
                               "contain the estimate)",
        "correction": P.get("correction", "holm"), "significance": P["significance"],
        "notes": list(survey.notes), "priority_rule": RULE,
        "priorities": _priority_records(t["priorities"]),
    }
    if "ipa" in t:
        results["ipa"] = dict(zip(t["ipa"]["item"], t["ipa"]["quadrant"]))
        results["ipa_importance"] = t["ipa"].attrs.get("importance", "stated")
    if "drivers" in t:
        d = t["drivers"]
        results["drivers"] = dict(zip(d["item"], d["share"]))
        results["drivers_detail"] = _records(d, "item", ["estimate", "ci_low", "ci_high", "share",
                                                         "share_ci_low", "share_ci_high"])
    if "kano" in t:
        results["kano"] = _records(t["kano"], "feature", [
            "category", "category_name", "better", "better_ci_low", "better_ci_high", "worse",
            "worse_ci_low", "worse_ci_high", "strength", "clear_winner", "n"])
    if "value_items" in t:
        vc = ["gap_weighted", "ci_low", "ci_high", "gap_unweighted", "value_lift", "lift_ci_low",
              "lift_ci_high", "p_adj", "n", "n_eff"]
        results["value_weighted_gaps"] = {
            "by_dimension": _records(t["value_dimensions"], "dimension", vc),
            "by_item": _records(t["value_items"], "item", vc)}
    if "segment_tests" in t:
        results["segments"] = {
            "tests": _records(t["segment_tests"], "dimension", ["p_welch_adj", "p_kruskal_adj",
                                                                "F", "H", "significant"]),
            "gaps": t["segment_gaps"].to_dict(orient="records")}
        if "segment_pairwise" in t:
            results["segments"]["pairwise"] = t["segment_pairwise"].to_dict(orient="records")
    if pls is not None:
        s = pls.summary()
        results["pls"] = {"scheme": pls.scheme, "n": pls.n_, "iterations": pls.n_iter_,
                          "summary": s.to_dict(orient="records")}
    results.update(extras or {})
    results["headline"] = _headline(t["dimension_gaps"], t["overall"], t["item_gaps"], pls,
                                    survey.n_respondents, t["priorities"],
                                    1 - P["significance"])
    if pls is not None:
        t["pls"] = pls.summary()
    t["data_quality"] = quality.to_frame()
    return results, {k: v.reset_index(drop=True) for k, v in t.items()}
