"""run(P) -> AssessmentAnalysis: one face for notebook 01, the same numbers as assess()."""
import pandas as pd
import pytest

from crmlib import paths
from crmlib.assessment import assess, load_catalogue, run
from crmlib.assessment.params import SPEC
from crmlib.demo import generate
from crmlib.io import load_assessment
from crmlib.params import validate
from crmlib.report.params import read_parameters


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assess")
    generate(tmp, size="small", only=("assessment",))
    return tmp


def _params(data, **over):
    defaults = {n: p.default for n, p in
                read_parameters(paths.NOTEBOOKS / "01_crm_assessment.ipynb").items()}
    return validate(SPEC, {**defaults, "responses": str(data / "assessment_responses.csv"),
                           "output_dir": str(data / "out"), **over})


def test_the_assessment_is_assess_on_the_loaded_responses(data):
    R = run(_params(data, min_group_size=3))
    direct = assess(load_assessment(data / "assessment_responses.csv"), load_catalogue(None),
                    target_stage=None, customer_group="Customer", min_group_size=3)
    pd.testing.assert_frame_equal(R.assessment_.roadmap, direct.roadmap)
    pd.testing.assert_frame_equal(R.assessment_.scorer.driver_scores_,
                                  direct.scorer.driver_scores_)
    n = R.survey_["respondent_id"].nunique()
    assert R.describe().startswith(f"{n:,} respondents, {len(R.survey_):,} answers")


def test_one_wave_has_no_comparison_and_results_carry_the_headline(data):
    R = run(_params(data))
    assert R.over_time is None and len(R.waves_) == 1
    results, tables = R.results(), R.tables()
    assert "over_time" not in results
    assert results["headline"] and "roadmap" in tables


def test_two_waves_are_compared_and_written(data, tmp_path):
    survey = pd.read_csv(data / "assessment_responses.csv")
    later = survey.assign(current_stage=survey["current_stage"].clip(upper=3) + 1)
    later.to_csv(tmp_path / "later.csv", index=False)
    R = run(_params(data, responses=str(tmp_path / "later.csv"), waves=[
        {"label": "2025", "date": "2025-06-01", "file": str(data / "assessment_responses.csv")}]))
    assert R.over_time is not None and R.over_time.labels[0] == "2025"
    assert len(R.over_time.labels) == 2
    assert R.survey_["current_stage"].sum() == later["current_stage"].sum()  # the latest wave
    assert "over_time" in R.results()
    assert set(R.over_time.tables()) <= set(R.tables())
