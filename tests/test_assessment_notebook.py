"""The assessment notebook runs through papermill on a small fixture and writes its contract."""
import json

import pandas as pd
import papermill as pm
import pytest

from crmlib import paths
from crmlib.assessment.params import SPEC
from crmlib.demo import generate
from crmlib.io import ParameterError
from crmlib.params import validate

NB = paths.NOTEBOOKS / "01_crm_assessment.ipynb"
KEYS = ("n_respondents", "groups", "company_stage", "mean_stage", "stage_by_driver",
        "stage_by_group", "misaligned_capabilities", "staff_vs_customer_gap", "priorities",
        "headline", "excluded")


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("assessment")
    generate(out, size="small", only=("assessment",))
    return out


def _run(tmp_path, params):
    pm.execute_notebook(NB, tmp_path / "out.ipynb", parameters=params, kernel_name="python3",
                        cwd=str(paths.ROOT), progress_bar=False)
    return json.loads((tmp_path / "res" / "results.json").read_text())


def test_notebook_writes_results_contract(fixture_dir, tmp_path):
    res = _run(tmp_path, {"responses": str(fixture_dir / "assessment_responses.csv"),
                          "output_dir": str(tmp_path / "res")})
    for key in KEYS:
        assert key in res, key
    assert res["n_respondents"] == sum(res["groups"].values())
    assert res["company_stage"] == 2 and isinstance(res["company_stage"], int)
    assert 1 <= res["mean_stage"] <= 4
    assert set(res["stage_by_driver"]) == {"business leadership", "organisation design",
                                           "information architecture", "performance measurement"}
    assert "Executive" in res["groups"] and "Executive" not in res["stage_by_group"]
    assert res["staff_vs_customer_gap"] > 0 and res["priorities"][0] == "customer_360"
    assert any("not shown on their own" in n for n in res["notes"])
    assert all({"label", "value", "unit", "ci"} <= set(h) for h in res["headline"])
    road = pd.read_excel(tmp_path / "res" / "roadmap.xlsx", sheet_name="roadmap")
    # headers in words, capabilities by the catalogue's names; the CSV keeps the keys
    assert res["capability_names"]["customer_360"] == "Customer 360° view"
    assert road["Capability"].iloc[0] == "Customer 360° view"
    sheet = pd.read_excel(tmp_path / "res" / "tables.xlsx", sheet_name="capability_scores")
    assert "Customer 360° view" in set(sheet["Capability"]) and "customer_360" not in set(
        sheet["Capability"])
    assert "customer_360" in set(pd.read_csv(tmp_path / "res" / "capability_scores.csv")
                                 ["capability"])
    page = json.dumps(json.loads((tmp_path / "out.ipynb").read_text())["cells"],
                      ensure_ascii=False)
    assert "Customer 360° view" in page and ">customer_360<" not in page
    for png in ("diamond", "heatmap", "radar", "target_gaps"):
        assert (tmp_path / "res" / f"{png}.png").exists()


def test_bad_parameters_named_before_any_kernel(fixture_dir):
    good = {"responses": str(fixture_dir / "assessment_responses.csv"), "capabilities": None,
            "target_stage": None, "customer_group": "Customer", "min_group_size": 5,
            "columns": None, "output_dir": "reports/_scratch/x"}
    validate(SPEC, good)
    for name, value in (("target_stage", 5), ("min_group_size", 0), ("customer_group", ""),
                        ("responses", "nowhere.csv")):
        with pytest.raises(ParameterError, match=name):
            validate(SPEC, {**good, name: value})
