"""Notebooks 01 and 03 on two waves: the over-time section and the additive ``over_time`` key;
on one wave, the baseline line and no new key."""
import json

import papermill as pm
import pytest

from crmlib import paths
from crmlib.demo import generate


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("waves_nb")
    generate(out, size="small", only=("assessment", "satisfaction", "waves"))
    return out


def _run(stem, tmp_path, params):
    out = tmp_path / "res"
    pm.execute_notebook(paths.NOTEBOOKS / f"{stem}.ipynb", tmp_path / "out.ipynb",
                        parameters={**params, "output_dir": str(out)}, kernel_name="python3",
                        cwd=str(paths.ROOT), progress_bar=False)
    text = (tmp_path / "out.ipynb").read_text()
    return json.loads((out / "results.json").read_text()), text, out


@pytest.mark.slow
def test_assessment_notebook_over_two_waves(fixture_dir, tmp_path):
    waves = [{"label": "baseline", "date": "2025-06-01",
              "file": str(fixture_dir / "assessment_responses.csv")},
             {"label": "follow-up", "date": "2026-06-01"}]
    res, text, out = _run("01_crm_assessment", tmp_path, {
        "responses": str(fixture_dir / "assessment_responses_wave2.csv"), "waves": waves})
    t = res["over_time"]
    assert t["waves"] == ["baseline", "follow-up"] and t["design"] == "paired"
    c = t["capability_change"]["customer_360"]
    assert c["ci_low"] <= c["change"] <= c["ci_high"] and c["change"] > 0
    assert (out / "diamond_movement.png").exists() and (out / "stage_change.csv").exists()
    assert "Not shown" not in text


@pytest.mark.slow
def test_satisfaction_notebook_over_two_waves(fixture_dir, tmp_path):
    waves = [{"label": "baseline", "file": str(fixture_dir / "survey.csv")},
             {"label": "follow-up"}]
    res, text, out = _run("03_satisfaction_gaps", tmp_path, {
        "survey": str(fixture_dir / "survey_wave2.csv"), "items": str(fixture_dir / "survey_items.csv"),
        "waves": waves, "n_boot": 40})
    t = res["over_time"]
    assert t["design"] == "independent" and t["test"] == "Welch t"
    assert "reliability" in t["gaps_closing"]
    assert res["n_respondents"] == 150  # the latest wave is the one analysed
    assert (out / "gap_change_dimension.csv").exists()
    assert "Not shown" not in text


@pytest.mark.slow
def test_one_wave_says_baseline_and_adds_no_key(fixture_dir, tmp_path):
    res, text, _ = _run("01_crm_assessment", tmp_path, {
        "responses": str(fixture_dir / "assessment_responses.csv")})
    assert "over_time" not in res and "this run is the baseline" in text
