"""The whole assessment in one call, and its ``results.json`` payload and tables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from ..io import DataQualityReport
from . import alignment as AL
from . import roadmap as RM
from .catalogue import STAGES, display_names, load_catalogue
from .scoring import StageScorer, prepare_responses

STAGE_RULE = ("No-skipping rule: a driver has reached base b when its mean stage is at least b; "
              "the company (or a group) stands on the highest base that all drivers have reached.")


@dataclass
class Assessment:
    """Everything the assessment computes; tables hold shown groups only."""

    data: pd.DataFrame
    catalogue: pd.DataFrame
    scorer: StageScorer
    agreement: pd.DataFrame
    agreement_summary: pd.DataFrame
    reliability: pd.DataFrame
    profile_agreement: pd.DataFrame
    between: pd.DataFrame
    misaligned: pd.DataFrame
    gaps: pd.DataFrame
    roadmap: pd.DataFrame
    target_source: str
    settings: dict = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Sentences the report must state (stage rule, anonymity, missing statistics)."""
        return [STAGE_RULE, misalignment_rule(**self.settings_rule)] + self.scorer.notes_ + \
            self._agreement_notes() + self._reliability_notes()

    @property
    def settings_rule(self) -> dict:
        return {k: self.settings[k] for k in ("alpha", "min_difference")}

    def _agreement_notes(self) -> list[str]:
        one = self.scorer.groups_.query("n_respondents == 1")["group"].tolist()
        if not one:
            return []
        return [f"Group(s) with a single respondent ({', '.join(one)}): no within-group "
                "agreement statistic can be computed."]

    def _reliability_notes(self) -> list[str]:
        r = self.reliability.loc[self.reliability["level"] == "driver"]
        weak = r.loc[~r["reliable"], "name"].tolist()
        if r.empty:
            return []
        if not weak:
            return ["Group means are reliable for every driver (ICC(2) ≥ 0.70)."]
        return [f"Group means are less reliable (ICC(2) < 0.70) for {', '.join(weak)}: "
                "differences between groups there are small relative to differences within "
                "groups, so compare groups on these drivers with care."]

    def internal_disagreement(self) -> pd.DataFrame:
        """Capabilities the departments disagree on, widest span first (the misaligned ones)."""
        return AL.internal_disagreement(self.misaligned)

    def staff_customer_gaps(self) -> pd.DataFrame:
        """Capabilities where staff and customers differ, largest |gap| first."""
        return AL.staff_customer_gaps(self.misaligned)

    def groups_table(self) -> pd.DataFrame:
        """Groups with their size and whether they are shown (anonymity threshold)."""
        g = self.scorer.groups_.copy()
        g["shown"] = g["shown"].map({True: "yes", False: f"no (fewer than "
                                     f"{self.scorer.min_group_size}; counted in totals)"})
        return g


def misalignment_rule(alpha: float = 0.05, min_difference: float = 0.5) -> str:
    """The misalignment rule in one sentence."""
    return (f"Two separate findings, each ranked by size. A capability is misaligned when the "
            f"departments (customers excluded) differ (Kruskal–Wallis, Holm-adjusted "
            f"p < {alpha:g}) and their means span at least {min_difference:g} stage; it has a "
            f"staff-versus-customer gap when that gap is at least {min_difference:g} stage and "
            f"differs from 0 (bootstrap test, Holm-adjusted p < {alpha:g}).")


def assess(responses: pd.DataFrame, catalogue: pd.DataFrame | str | os.PathLike | None = None,
           *, target_stage: int | None = None, customer_group: str = "Customer",
           min_group_size: int = 5, n_boot: int = 2000, ci: float = 0.90, alpha: float = 0.05,
           min_difference: float = 0.5, weighting: str = "group", random_state: int | None = 0,
           quality: DataQualityReport | None = None) -> Assessment:
    """Run scoring, alignment, target gaps and the roadmap on loaded responses.

    Parameters
    ----------
    responses : frame from :func:`crmlib.io.load_assessment`.
    catalogue : frame from :func:`load_catalogue`, a raw catalogue frame, a path, or None
        (the built-in catalogue).
    target_stage : one target base for all capabilities; None = from the responses.
    customer_group, min_group_size, n_boot, ci, weighting, random_state : see
        :class:`StageScorer`.
    alpha, min_difference : the misalignment rule (:func:`alignment.flag_misaligned`).
    quality : ledger that receives exclusions (missing current or target stages).
    """
    if not (isinstance(catalogue, pd.DataFrame) and catalogue.index.name == "capability"):
        catalogue = load_catalogue(catalogue, quality=quality)  # a path, None or a raw frame
    data = prepare_responses(responses, catalogue, customer_group=customer_group,
                             target_stage=target_stage, quality=quality)
    scorer = StageScorer(customer_group=customer_group, min_group_size=min_group_size,
                         n_boot=n_boot, ci=ci, weighting=weighting,
                         random_state=random_state).fit(data, catalogue)
    shown = scorer.groups_.loc[scorer.groups_["shown"], "group"].tolist()
    agreement = AL.within_group_agreement(data, catalogue, shown)
    departments = [g for g in shown if g != customer_group]
    between = AL.between_group_differences(data, departments, alpha)
    misaligned = AL.flag_misaligned(between, scorer.staff_customer_gap_, alpha=alpha,
                                    min_difference=min_difference)
    gaps = RM.target_gaps(scorer)
    return Assessment(
        data=data, catalogue=catalogue, scorer=scorer, agreement=agreement,
        agreement_summary=AL.agreement_summary(agreement),
        reliability=AL.group_mean_reliability(data, catalogue, ci),
        profile_agreement=AL.profile_agreement(scorer.group_capability_scores_),
        between=between, misaligned=misaligned, gaps=gaps,
        roadmap=RM.build_roadmap(gaps, misaligned, catalogue),
        target_source="parameter" if target_stage is not None else "responses",
        settings={"target_stage": target_stage, "customer_group": customer_group,
                  "min_group_size": min_group_size, "ci": ci, "alpha": alpha,
                  "min_difference": min_difference, "weighting": weighting, "n_boot": n_boot})


def _ci(row) -> list[float]:
    return [float(row["ci_low"]), float(row["ci_high"])]


def results_payload(a: Assessment, quality: DataQualityReport | None = None) -> dict:
    """The ``results.json`` content: headline, stages, groups, alignment, priorities, notes."""
    s = a.scorer
    drivers = s.driver_scores_.set_index("driver")
    groups = s.group_stages_.set_index("group")
    gap = s.staff_customer_gap_
    overall = gap.iloc[-1] if len(gap) else None
    internal, sc = a.internal_disagreement(), a.staff_customer_gaps()
    misaligned = internal["capability"].tolist()
    headline = [
        {"label": "Company stage (no-skipping rule)", "value": s.company_stage_,
         "unit": f"base ({STAGES.get(s.company_stage_, '')}; same base in "
                 f"{s.company_stage_support_:.0%} of bootstrap replicates)", "ci": None},
        {"label": "Mean stage", "value": s.mean_stage_, "unit": "stage (1–4)",
         "ci": list(s.mean_stage_ci_), "ci_level": s.ci},
        {"label": "Staff − customer perception gap",
         "value": None if overall is None else float(overall["estimate"]), "unit": "stages",
         "ci": None if overall is None else _ci(overall), "ci_level": s.ci},
        {"label": "Misaligned capabilities (departments disagree)", "value": len(misaligned),
         "unit": f"of {len(s.capabilities_)}", "ci": None},
        {"label": "Capabilities with a staff − customer gap", "value": len(sc),
         "unit": f"of {int((a.misaligned['gap'].notna()).sum())} rated by both", "ci": None},
        {"label": "Respondents", "value": s.n_respondents_, "unit": "people", "ci": None},
    ]
    return {
        "headline": headline,
        "n_respondents": s.n_respondents_,
        "groups": dict(zip(s.groups_["group"], s.groups_["n_respondents"].astype(int))),
        "hidden_groups": s.groups_.loc[~s.groups_["shown"], "group"].tolist(),
        "min_group_size": s.min_group_size,
        "company_stage": s.company_stage_,
        "company_stage_name": STAGES.get(s.company_stage_, ""),
        "company_stage_support": s.company_stage_support_,
        "mean_stage": s.mean_stage_, "mean_stage_ci": list(s.mean_stage_ci_),
        "stage_by_driver": drivers["estimate"].to_dict(),
        "stage_by_driver_ci": {d: _ci(r) for d, r in drivers.iterrows()},
        "base_by_driver": drivers["base"].astype(int).to_dict(),
        "stage_by_group": groups["estimate"].to_dict(),
        "stage_by_group_ci": {g: _ci(r) for g, r in groups.iterrows()},
        "base_by_group": groups["base"].to_dict(),
        "capability_names": display_names(a.catalogue)["capability"],
        "misaligned_capabilities": misaligned,
        "internal_disagreement": internal[["capability", "range", "p_holm"]].to_dict("records"),
        "staff_customer_gap_capabilities": sc["capability"].tolist(),
        "staff_customer_gaps": sc[["capability", "gap", "gap_p_holm"]].to_dict("records"),
        "staff_vs_customer_gap": None if overall is None else float(overall["estimate"]),
        "staff_vs_customer_gap_ci": None if overall is None else _ci(overall),
        "target_source": a.target_source,
        "priorities": RM.priorities(a.roadmap),
        "ci_level": s.ci, "weighting": s.weighting,
        "notes": a.notes,
        "excluded": quality.to_dict()["excluded"] if quality is not None else {},
    }


def result_tables(a: Assessment) -> dict[str, pd.DataFrame]:
    """Tables written next to ``results.json`` (shown groups only)."""
    s = a.scorer
    return {"groups": a.groups_table(), "capability_scores": s.capability_scores_,
            "driver_scores": s.driver_scores_, "group_stages": s.group_stages_,
            "group_driver_scores": s.group_driver_scores_,
            "group_capability_scores": s.group_capability_scores_,
            "staff_customer_gap": s.staff_customer_gap_, "agreement": a.agreement,
            "agreement_summary": a.agreement_summary, "reliability": a.reliability,
            "between_groups": a.between.astype({"effect": "string"}),
            "misalignment": a.misaligned, "internal_disagreement": a.internal_disagreement(),
            "staff_customer_gaps": a.staff_customer_gaps(), "target_gaps": a.gaps,
            "roadmap": a.roadmap}
