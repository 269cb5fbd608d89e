"""04_phase_roi.ipynb runs through papermill on the small fixture and writes its contract."""
import json

import papermill as pm
import pytest

from crmlib import demo, paths


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roi_nb")
    demo.generate(tmp / "data", size="small", only=("roi",))
    out = tmp / "out"
    pm.execute_notebook(str(paths.NOTEBOOKS / "04_phase_roi.ipynb"), str(tmp / "run.ipynb"),
                        parameters={"plan": str(tmp / "data" / "phase_plan.yaml"),
                                    "kpis": str(tmp / "data" / "kpi_panel.csv"),
                                    "n_simulations": 2000, "seed": 3, "gate_threshold": 0.8,
                                    "output_dir": str(out)},
                        kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False)
    return json.loads((out / "results.json").read_text()), out


@pytest.mark.slow
def test_results_contract(executed):
    res, out = executed
    names = [p["name"] for p in res["phases"]]
    assert names == ["Loyalty and customer data", "Service recovery", "Campaign automation"]
    for ph in res["phases"]:
        assert len(ph["kpis"]) == 3
        for k in ph["kpis"].values():
            assert {"effect", "ci_low", "ci_high", "p_value", "pretrend_p",
                    "monthly_value"} <= set(k)
            assert k["ci_low"] <= k["effect"] <= k["ci_high"]
        assert set(ph["roi"]) == set(ph["npv"]) == {"6", "12", "24"}
        assert "irr" in ph and "payback_months" in ph
        assert 0 <= ph["p_npv_positive"] <= 1
        assert ph["gate"] in ("continue", "adjust", "stop")
    assert res["phases"][1]["gate"] != "continue"  # nps did not move
    assert {"npv_24", "roi_24", "p_npv_positive"} <= set(res["programme"])
    assert res["excluded"]["KPI panel"]["exact duplicate row"] == 3
    for h in res["headline"]:
        assert {"label", "value", "unit", "ci"} <= set(h) <= {"label", "value", "unit", "ci", "ci_level"}
    for name in ("effects", "cash_flows", "roi", "tornado", "waterfall", "gates", "lessons"):
        assert (out / f"{name}.csv").exists()
    assert (out / "tables.xlsx").exists()


def test_parameters_are_checked_before_the_analysis(tmp_path):
    from crmlib.io import ParameterError
    from crmlib.params import validate
    from crmlib.roi.params import SPEC

    (tmp_path / "plan.yaml").write_text("currency: EUR\n")
    (tmp_path / "kpis.csv").write_text("date,unit_id,group,kpi,value\n")
    good = {"plan": str(tmp_path / "plan.yaml"), "kpis": str(tmp_path / "kpis.csv"), "as_of": None,
            "pre_periods": 6, "n_simulations": 1000, "seed": 1, "gate_threshold": 0.8,
            "columns": None, "output_dir": "reports/_scratch/x"}
    for name, bad, match in (("gate_threshold", 1.5, "at most"), ("pre_periods", 2.5, "whole"),
                             ("as_of", "31/12/2024", "ISO date"),
                             ("plan", "nope.yaml", "not found"),
                             ("n_simulations", 10, "at least")):
        with pytest.raises(ParameterError, match=f"parameter '{name}'.*{match}"):
            validate(SPEC, {**good, name: bad})
