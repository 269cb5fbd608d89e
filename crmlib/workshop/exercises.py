"""Workshop exercises: a prompt, a starter code cell and a check function each.

The starter cell runs as it is (the answer is ``...``), so an unexecuted
exercise never stops the notebook; the check cell then says "not answered
yet". A check recomputes the expected answer with the library from the
notebook's own objects and says what is right or wrong. Worked solutions live
in the tests (``tests/test_workshop_exercises.py``), not in the notebooks.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..clv.models import BGNBD
from ..demo.clv import BGNBD as PLANTED_BGNBD
from ..demo.clv import GAMMA_GAMMA as PLANTED_GG
from ..satisfaction.ipa import QUADRANTS


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a check: ``ok``, a Markdown ``message`` and an optional ``table``."""

    ok: bool
    message: str
    table: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#9a6700"
        head = "Correct." if self.ok else "Not yet."
        body = (f'<p class="ws-check"><strong style="color:{colour}">{head}</strong> '
                f"{html.escape(self.message)}</p>")
        if self.table is not None:
            body += self.table.to_html(float_format=lambda v: f"{v:.4g}")
        return body

    def __str__(self) -> str:
        return ("Correct. " if self.ok else "Not yet. ") + self.message


@dataclass(frozen=True)
class Exercise:
    """One exercise: Markdown ``prompt``, ``starter`` code, ``check_call`` code for the check."""

    key: str
    notebook: str
    title: str
    prompt: str
    starter: str
    check_call: str


def _unanswered(answer: Any) -> bool:
    return answer is ... or answer is None


NOT_ANSWERED = CheckResult(False, "Not answered yet: replace `...` in the cell above and run "
                                  "both cells again.")


def check_company_base(answer: Any, driver_scores: pd.DataFrame) -> CheckResult:
    """The no-skipping rule by hand: the base is the floor of the lowest driver score."""
    if _unanswered(answer):
        return NOT_ANSWERED
    lowest = driver_scores.loc[driver_scores["estimate"].idxmin()]
    expected = int(np.floor(lowest["estimate"]))
    if int(answer) == expected:
        return CheckResult(True, f"The lowest driver, {lowest['driver']}, scores "
                                 f"{lowest['estimate']:.2f}: every driver has reached base "
                                 f"{expected}, not all have reached base {expected + 1}.")
    return CheckResult(False, f"Base {answer} is not what the rule gives: look at the lowest "
                              "driver score, not the mean stage.")


def _bgnbd_table(half, full) -> pd.DataFrame:
    h, f = half.summary(), full.summary()
    t = pd.DataFrame({"planted": pd.Series(PLANTED_BGNBD), "half": h["estimate"],
                      "half_ci_low": h["ci_low"], "half_ci_high": h["ci_high"],
                      "full": f["estimate"], "se_ratio": h["se"] / f["se"]})
    t["planted_in_half_ci"] = ((t["half_ci_low"] <= t["planted"])
                               & (t["planted"] <= t["half_ci_high"]))
    return t


def check_half_refit(answer: Any, customers: pd.DataFrame) -> CheckResult:
    """A BG/NBD fitted on about half the calibration customers, compared with the full fit.

    Halving the sample should widen the standard errors by about √2 (Fader, Hardie &
    Lee 2005 estimate by maximum likelihood, so se ∝ 1/√n).
    """
    if _unanswered(answer):
        return NOT_ANSWERED
    if not isinstance(answer, BGNBD) or not hasattr(answer, "params_"):
        return CheckResult(False, "Expected a fitted `BGNBD` model (`BGNBD().fit(half)`).")
    share = answer.n_ / len(customers)
    if not 0.4 <= share <= 0.6:
        return CheckResult(False, f"The model saw {share:.0%} of the customers, not about half.")
    table = _bgnbd_table(answer, BGNBD().fit(customers))
    grow = table.loc[["r", "alpha"], "se_ratio"].mean()
    return CheckResult(True, f"Fitted on {answer.n_:,.0f} customers ({share:.0%}). The standard "
                             f"errors of r and α grew by ×{grow:.2f} (√2 ≈ 1.41 expected for "
                             "maximum likelihood); those of a and b rest on the few repeat "
                             "buyers and move with the estimates themselves. α is a mixture "
                             "over the planted channels, so only r, a, b are expected inside "
                             "the intervals.", table)


def check_mean_spend(answer: Any, spend_model) -> CheckResult:
    """Population mean spend per purchase of the Gamma-Gamma model, pγ/(q − 1)."""
    if _unanswered(answer):
        return NOT_ANSWERED
    p, q, g = (float(spend_model.params_[k]) for k in ("p", "q", "v"))
    expected = p * g / (q - 1)
    planted = PLANTED_GG["p"] * PLANTED_GG["gamma"] / (PLANTED_GG["q"] - 1)
    if np.isclose(float(answer), expected, rtol=1e-6):
        return CheckResult(True, f"pγ/(q − 1) = {expected:,.2f}; the demo planted "
                                 f"{planted:,.2f}.")
    return CheckResult(False, f"{float(answer):,.2f} is not pγ/(q − 1) of the fitted model "
                              "(γ is called `v` in the summary).")


def check_ipa_quadrant(answer: Any, ipa: pd.DataFrame, item: str) -> CheckResult:
    """The quadrant of ``item``, read from its performance and importance against the crosshair
    (Martilla & James 1977)."""
    if _unanswered(answer):
        return NOT_ANSWERED
    row = ipa.set_index("item").loc[item]
    p_c, i_c = ipa.attrs["performance_center"], ipa.attrs["importance_center"]
    high_i, high_p = row["importance"] >= i_c, row["performance"] >= p_c
    expected = QUADRANTS[(bool(high_i), bool(high_p))]
    why = (f"importance {row['importance']:.2f} {'≥' if high_i else '<'} {i_c:.2f} and "
           f"performance {row['performance']:.2f} {'≥' if high_p else '<'} {p_c:.2f}")
    sure = "" if row["quadrant_certain"] else " Its intervals cross the crosshair: say so."
    if str(answer).strip().lower() == expected.lower():
        return CheckResult(True, f"{item}: {why}, so “{expected}”.{sure}")
    return CheckResult(False, f"Compare the item's importance with the importance centre and "
                              f"its performance with the performance centre ({why}).")


def check_rollout(answer: Any, ev, phase: str, units: int) -> CheckResult:
    """KPI values after changing one phase's rollout units: proportional, the others unchanged.

    Monthly value = sign · effect · value per unit · rollout units, so it scales linearly.
    """
    if _unanswered(answer):
        return NOT_ANSWERED
    if not isinstance(answer, pd.DataFrame) or "monthly_value" not in answer:
        return CheckResult(False, "Expected the table of `roi.kpi_values(ev.effects, new_plan)`.")
    old = ev.kpi_values.set_index(["phase", "kpi"])
    new = answer.set_index(["phase", "kpi"]).loc[old.index]
    mine = old.index.get_level_values("phase") == phase
    if not mine.any():
        return CheckResult(False, f"No phase named {phase!r} in the plan.")
    if not (new.loc[mine, "rollout_units"] == units).all():
        return CheckResult(False, f"The phase {phase!r} does not roll out to {units} units in "
                                  "your plan.")
    ratio = units / old.loc[mine, "rollout_units"].iloc[0]
    prop = np.allclose(new.loc[mine, "monthly_value"], ratio * old.loc[mine, "monthly_value"])
    same = np.allclose(new.loc[~mine, "monthly_value"], old.loc[~mine, "monthly_value"])
    if not (prop and same):
        return CheckResult(False, "Only the changed phase's values should move, in proportion "
                                  "to the rollout units.")
    table = pd.DataFrame({"before": old.loc[mine, "monthly_value"],
                          "after": new.loc[mine, "monthly_value"]}).droplevel("phase")
    return CheckResult(True, f"Every KPI value of {phase!r} scaled by ×{ratio:.3g}: the money "
                             "is linear in the rollout units, the effect estimate is unchanged.",
                       table)


CHECKS: dict[str, Callable[..., CheckResult]] = {
    "company_base": check_company_base, "half_refit": check_half_refit,
    "mean_spend": check_mean_spend, "ipa_quadrant": check_ipa_quadrant,
    "rollout": check_rollout}


def check(key: str, answer: Any, **context: Any) -> CheckResult:
    """Run the check of exercise ``key`` on ``answer`` with the notebook objects in ``context``."""
    if key not in CHECKS:
        raise KeyError(f"unknown exercise {key!r}; exercises are {sorted(CHECKS)}")
    return CHECKS[key](answer, **context)


EXERCISES: dict[str, tuple[Exercise, ...]] = {
    "01_crm_assessment": (
        Exercise("company_base", "01_crm_assessment", "Apply the no-skipping rule by hand",
                 "`S.driver_scores_` holds each driver's mean stage (`estimate`). Which base has "
                 "the company reached? Work it out from the driver scores (not from "
                 "`S.company_stage_`) and say which driver holds the company back.",
                 "base = ...  # an integer from 1 to 4\n"
                 "S.driver_scores_[[\"driver\", \"estimate\", \"ci_low\", \"ci_high\"]]",
                 "check(\"company_base\", base, driver_scores=S.driver_scores_)"),),
    "02_clv_modelling": (
        Exercise("half_refit", "02_clv_modelling", "Refit BG/NBD on half the customers",
                 "Draw a random half of the calibration customers (`summary.customers`), fit "
                 "`BGNBD` to it and compare its estimates, intervals and standard errors with the "
                 "fit on all customers and with the planted values (r = 0.6, α = 6, a = 0.8, "
                 "b = 3, in weeks). By how much should the standard errors grow, and why is α "
                 "the one parameter not expected inside its interval?",
                 "from crmlib.clv.models import BGNBD\n\n"
                 "half = ...  # a random half of summary.customers\n"
                 "half_model = ...  # BGNBD() fitted on it",
                 "check(\"half_refit\", half_model, customers=summary.customers)"),
        Exercise("mean_spend", "02_clv_modelling", "Mean spend per purchase",
                 "The Gamma-Gamma model's population mean spend per purchase is pγ/(q − 1). "
                 "Compute it from `spend.summary()` (γ is named `v` there) and compare it with "
                 "the planted value.",
                 "mean_spend = ...  # from spend.summary()[\"estimate\"]\nspend.summary()",
                 "check(\"mean_spend\", mean_spend, spend_model=spend)"),),
    "03_satisfaction_gaps": (
        Exercise("ipa_quadrant", "03_satisfaction_gaps", "Read an IPA quadrant",
                 "In the importance-performance grid, which quadrant holds `rel_problem` "
                 "(“Sincere interest in solving problems”)? Read its `importance` and "
                 "`performance` in `A.ipa` and the crosshair in `A.ipa.attrs`. Is the placement "
                 "certain (`quadrant_certain`), and what would you tell the client?",
                 "quadrant = ...  # \"Concentrate here\", \"Keep up the good work\", "
                 "\"Low priority\" or \"Possible overkill\"\n"
                 "print(A.ipa.attrs)\n"
                 "A.ipa.set_index(\"item\").loc[\"rel_problem\", [\"performance\", \"importance\", "
                 "\"quadrant_certain\"]]",
                 "check(\"ipa_quadrant\", quadrant, ipa=A.ipa, item=\"rel_problem\")"),),
    "04_phase_roi": (
        Exercise("rollout", "04_phase_roi", "Change a phase's rollout units",
                 "Suppose *Loyalty and customer data* is rolled out to only 20 stores. Build that "
                 "plan with `dataclasses.replace` (the plan and its phases are frozen "
                 "dataclasses), recompute the KPI values with `roi.kpi_values(ev.effects, "
                 "new_plan)` and compare them with `ev.kpi_values`. What changes, what does not, "
                 "and why?",
                 "import dataclasses\n\n"
                 "new_plan = ...  # plan_ with that phase's rollout_units set to 20\n"
                 "new_values = ...  # roi.kpi_values(ev.effects, new_plan)",
                 "check(\"rollout\", new_values, ev=ev, phase=\"Loyalty and customer data\", "
                 "units=20)"),),
}
"""Notebook stem → its exercises, in the order they appear at the end of the page."""
