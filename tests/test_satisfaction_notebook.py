"""notebooks/03_satisfaction_gaps.ipynb runs through papermill on the small fixture and writes its contract."""
import json

import nbformat
import pandas as pd
import papermill as pm
import pytest

from crmlib import paths
from crmlib.demo import generate
from crmlib.io import ParameterError
from crmlib.params import validate
from crmlib.satisfaction.params import SPEC

NB = paths.NOTEBOOKS / "03_satisfaction_gaps.ipynb"


def test_notebook_is_stored_clean_with_a_parameters_cell_and_spec():
    nb = nbformat.read(NB, as_version=4)
    assert nb.metadata["crmlib"] == {"spec": "crmlib.satisfaction.params:SPEC"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
    names = {line.split(":")[0] for line in tagged[0].source.splitlines() if ":" in line}
    assert names == set(SPEC)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb03")
    generate(tmp, size="small", only=("satisfaction",))
    survey = pd.read_csv(tmp / "survey.csv")
    ids = survey["customer_id"].dropna()
    ids = ids[~ids.str.startswith("C9")]
    clv = pd.DataFrame({"customer_id": ids, "clv": [float(i % 7) * 50 + 10 for i in range(len(ids))]})
    clv.to_csv(tmp / "customers.csv", index=False)
    out = tmp / "out"
    params = {"survey": str(tmp / "survey.csv"), "items": str(tmp / "survey_items.csv"),
              "clv_table": str(tmp / "customers.csv"), "output_dir": str(out), "n_boot": 40,
              "correction": "bh", "crosshair": "midpoint",
              "dimension_weights": {"tangibles": 1, "reliability": 3, "responsiveness": 2,
                                    "assurance": 2, "empathy": 1}}
    pm.execute_notebook(str(NB), str(tmp / "executed.ipynb"), parameters=params,
                        kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False)
    return json.loads((out / "results.json").read_text()), out


@pytest.mark.slow
def test_results_json_contract(run):
    r, out = run
    for key in ("n_respondents", "excluded", "gaps_by_dimension", "gaps_by_item", "reliability",
                "ipa", "drivers", "kano", "value_weighted_gaps", "priorities", "headline"):
        assert key in r, key
    assert r["n_respondents"] == 145
    assert r["excluded"]["no ratings at all (all missing or don't know)"] == 2
    assert set(r["gaps_by_dimension"]) == {"tangibles", "reliability", "responsiveness",
                                           "assurance", "empathy"}
    for rec in list(r["gaps_by_dimension"].values()) + list(r["gaps_by_item"].values()):
        assert {"expectation", "perception", "gap", "ci_low", "ci_high", "p_adj"} <= set(rec)
        assert rec["ci_low"] <= rec["gap"] <= rec["ci_high"]
    assert len(r["gaps_by_item"]) == 22
    assert all({"alpha", "omega"} <= set(v) for v in r["reliability"].values())
    assert set(r["ipa"].values()) <= {"Concentrate here", "Keep up the good work",
                                      "Low priority", "Possible overkill"}
    assert sum(r["drivers"].values()) == pytest.approx(1)
    assert r["kano"]["mobile_app"]["category"] == "A"
    assert {"category", "better", "worse"} <= set(r["kano"]["chatbot"])
    assert set(r["value_weighted_gaps"]["by_dimension"]) == set(r["gaps_by_dimension"])
    assert [p["rank"] for p in r["priorities"]] == list(range(1, 23))
    assert r["priorities"][0]["name"].endswith("; act)")
    assert r["correction"] == "bh" and r["overall_gap"]["weighting"] == "client weights"
    for h in r["headline"]:
        assert {"label", "value", "unit", "ci"} <= set(h)
    assert (out / "tables.xlsx").exists() and (out / "priorities.csv").exists()


def test_bad_parameters_stop_before_analysis(tmp_path):
    good = {"survey": "data/reference/donations.csv", "items": "data/reference/donations.csv",
            "scale_min": 1, "scale_max": 7, "dont_know_codes": [99], "segment_col": None,
            "dimension_weights": None, "significance": 0.05, "crosshair": "mean",
            "clv_table": None, "correction": "holm", "inner_scheme": "centroid",
            "min_answered": 0.5, "n_boot": 100, "seed": 1, "columns": None,
            "output_dir": str(tmp_path)}
    validate(SPEC, good)
    for name, bad in (("crosshair", "median"), ("significance", 0.5), ("correction", "sidak"),
                      ("inner_scheme", "magic"), ("dimension_weights", {"a": -1}),
                      ("survey", "nope.csv")):
        with pytest.raises(ParameterError, match=name):
            validate(SPEC, {**good, name: bad})
