"""Worked solutions of the workshop exercises, checked against the library on small demo data.

The notebooks carry only the prompts, starter cells and checks
(crmlib/workshop/exercises.py); the solutions a trainer needs are here.
"""
import dataclasses

import numpy as np
import pytest

import crmlib.roi as roi
import crmlib.satisfaction as S
from crmlib.assessment import assess, load_catalogue
from crmlib.clv import pipeline as PL
from crmlib.clv.models import BGNBD
from crmlib.demo import generate
from crmlib.io import load_assessment
from crmlib.satisfaction.ipa import QUADRANTS
from crmlib.workshop import EXERCISES, check


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("workshop-demo")
    generate(out, seed=7, size="small")
    return out


# -- 01: the no-skipping rule ---------------------------------------------------------------

@pytest.fixture(scope="module")
def scorer(demo):
    survey = load_assessment(demo / "assessment_responses.csv")
    return assess(survey, load_catalogue(None), n_boot=100).scorer


def test_company_base_solution(scorer):
    base = int(np.floor(scorer.driver_scores_["estimate"].min()))  # the solution
    result = check("company_base", base, driver_scores=scorer.driver_scores_)
    assert result.ok and base == scorer.company_stage_
    assert not check("company_base", base + 1, driver_scores=scorer.driver_scores_).ok
    mean_base = int(np.floor(scorer.driver_scores_["estimate"].mean()))
    assert check("company_base", mean_base, driver_scores=scorer.driver_scores_).ok == (
        mean_base == base)


# -- 02: BG/NBD on half the customers, Gamma-Gamma mean spend -----------------------------

@pytest.fixture(scope="module")
def customers(demo):
    summary = PL.summarise(demo / "transactions.csv", calibration_end="2024-12-31",
                           observation_end="2025-06-30", time_unit="W", engine="pandas")
    return summary.customers


def test_half_refit_solution_recovers_the_planted_parameters(customers):
    half = customers.sample(frac=0.5, random_state=1)  # the solution
    half_model = BGNBD().fit(half)
    result = check("half_refit", half_model, customers=customers)
    assert result.ok, result.message
    t = result.table
    assert t.loc[["r", "a", "b"], "planted_in_half_ci"].all(), t
    # maximum likelihood: se ∝ 1/√n, so halving the sample widens intervals by about √2
    assert 1.2 < t.loc[["r", "alpha"], "se_ratio"].mean() < 1.7
    assert (t["half_ci_high"] - t["half_ci_low"] > 0).all()


def test_half_refit_check_rejects_wrong_answers(customers):
    assert not check("half_refit", ..., customers=customers).ok
    assert not check("half_refit", BGNBD().fit(customers), customers=customers).ok  # all of them
    assert not check("half_refit", customers.sample(frac=0.5), customers=customers).ok


def test_mean_spend_solution(customers):
    spend, _ = PL.fit_spend_model(customers)
    est = spend.summary()["estimate"]
    mean_spend = est["p"] * est["v"] / (est["q"] - 1)  # the solution
    assert check("mean_spend", mean_spend, spend_model=spend).ok
    assert not check("mean_spend", est["p"] * est["v"] / est["q"], spend_model=spend).ok
    # planted p = 6, q = 4, γ = 90: E[Z] = pγ/(q − 1) = 180. The estimate is off by sampling
    # error only: its s.e. by the delta method over the fit's parameter draws; allow three
    draws = spend.sample_params(4000, 0)
    se = (draws["p"] * draws["v"] / (draws["q"] - 1)).std()
    assert abs(mean_spend - 6.0 * 90.0 / 3.0) < 3 * se


# -- 03: reading an IPA quadrant -------------------------------------------------------------

@pytest.fixture(scope="module")
def ipa(demo):
    P = {"survey": demo / "survey.csv", "items": demo / "survey_items.csv", "scale_min": 1,
         "scale_max": 7, "dont_know_codes": [99], "segment_col": "segment", "clv_table": None}
    sv, _, _ = S.load_inputs(P)
    return S.ipa_auto(sv, None, "mean")


@pytest.mark.parametrize("item", ["rel_problem", "tan_equipment", "ass_safe"])
def test_ipa_quadrant_solution(ipa, item):
    row = ipa.set_index("item").loc[item]  # the solution: compare with the crosshair
    quadrant = QUADRANTS[(bool(row["importance"] >= ipa.attrs["importance_center"]),
                          bool(row["performance"] >= ipa.attrs["performance_center"]))]
    assert quadrant == row["quadrant"]
    assert check("ipa_quadrant", quadrant, ipa=ipa, item=item).ok
    assert check("ipa_quadrant", quadrant.upper() + " ", ipa=ipa, item=item).ok
    wrong = next(q for q in QUADRANTS.values() if q != quadrant)
    assert not check("ipa_quadrant", wrong, ipa=ipa, item=item).ok


def test_rel_problem_is_where_the_planted_reliability_shortfall_puts_it(ipa):
    """Reliability: highest stated importance, largest planted shortfall."""
    row = ipa.set_index("item").loc["rel_problem"]
    assert row["quadrant"] == "Concentrate here"


# -- 04: changing a phase's rollout units ----------------------------------------------------

@pytest.fixture(scope="module")
def evaluation(demo):
    plan = roi.load_plan(demo / "phase_plan.yaml")
    from crmlib.io import load_kpi_panel
    monthly = roi.prepare_panel(load_kpi_panel(demo / "kpi_panel.csv"), plan)
    return roi.evaluate_programme(plan, monthly, n_simulations=200, n_permutations=19, seed=1)


def test_rollout_solution_scales_the_monthly_benefit(evaluation):
    ev, phase = evaluation, "Loyalty and customer data"
    new_plan = dataclasses.replace(ev.plan, phases=tuple(  # the solution
        dataclasses.replace(p, rollout_units=20) if p.name == phase else p
        for p in ev.plan.phases))
    new_values = roi.kpi_values(ev.effects, new_plan)
    result = check("rollout", new_values, ev=ev, phase=phase, units=20)
    assert result.ok, result.message
    old = ev.kpi_values.set_index(["phase", "kpi"])["monthly_value"]
    new = new_values.set_index(["phase", "kpi"])["monthly_value"]
    units = ev.plan.phase(phase).rollout_units
    np.testing.assert_allclose(new[phase], old[phase] * 20 / units)
    np.testing.assert_allclose(new.drop(phase, level="phase"), old.drop(phase, level="phase"))


def test_rollout_check_rejects_an_unchanged_plan(evaluation):
    ev = evaluation
    same = roi.kpi_values(ev.effects, ev.plan)
    assert not check("rollout", same, ev=ev, phase="Loyalty and customer data", units=20).ok
    assert not check("rollout", ..., ev=ev, phase="Loyalty and customer data", units=20).ok


def test_every_exercise_has_a_solution_here():
    solved = {"company_base", "half_refit", "mean_spend", "ipa_quadrant", "rollout"}
    assert {e.key for es in EXERCISES.values() for e in es} == solved
