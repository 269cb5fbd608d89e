"""Executive summary: gathers any subset of the run's results and says what was not run."""
import json

import papermill as pm

from crmlib import executive, paths


def _write(results_dir, stem, payload):
    d = results_dir / stem
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(payload))


def _fixture(tmp_path):
    _write(tmp_path, "01_crm_assessment", {
        "headline": [{"label": "Company stage", "value": 2, "unit": "base", "ci": None}],
        "priorities": ["data_360", "metrics"]})
    _write(tmp_path, "04_phase_roi", {
        "headline": [{"label": "NPV at 24 months", "value": 123456.7, "unit": "EUR",
                      "ci": [-1000.0, 250000.0]}],
        "phases": [{"name": "Phase 1", "gate": "continue"}, {"name": "Phase 2", "gate": "stop"}]})
    return tmp_path


def test_key_charts_found_by_name_or_default(tmp_path):
    _fixture(tmp_path)
    (tmp_path / "01_crm_assessment" / "key_chart.png").write_bytes(b"png")
    results = executive.load_run_results(tmp_path)
    assert [n for n, _ in executive.key_charts(tmp_path, results)] == ["CRM assessment"]
    results["04_phase_roi"].key_chart = "cash.png"
    (tmp_path / "04_phase_roi" / "cash.png").write_bytes(b"png")
    assert [p.name for _, p in executive.key_charts(tmp_path, results)] == ["key_chart.png", "cash.png"]


def test_subset_of_results(tmp_path):
    results = executive.load_run_results(_fixture(tmp_path))
    assert list(results) == ["01_crm_assessment", "04_phase_roi"]
    assert executive.not_run(results) == ["Customer lifetime value", "Satisfaction gaps"]
    table = executive.headline_table(results)
    assert table["value"].tolist() == ["2 base", "EUR 123,457"]
    assert table["interval"].tolist() == ["", "interval EUR -1,000 to 250,000"]
    path = tmp_path / "04_phase_roi" / "results.json"
    data = json.loads(path.read_text())
    data["headline"][0]["ci_level"] = 0.8
    path.write_text(json.dumps(data))
    results = executive.load_run_results(tmp_path)
    assert executive.headline_table(results)["interval"].iloc[1] == \
        "80% interval EUR -1,000 to 250,000"
    pri = executive.combined_priorities(results, top_n=1)  # files without typed actions
    assert pri["action"].tolist() == ["Phase 1: CONTINUE", "Phase 2: STOP", "data_360"]


def test_typed_actions_and_findings_are_used_when_present(tmp_path):
    _fixture(tmp_path)
    _write(tmp_path, "03_satisfaction_gaps", {
        "headline": [{"label": "Respondents", "value": 30, "unit": "people", "ci": None},
                     {"label": "Gap", "value": -0.46, "unit": "scale points",
                      "ci": [-0.52, -0.4], "ci_level": 0.95}],
        "findings": ["Service falls short by 0.46 scale points.", "Second.", "Third."],
        "actions": [{"rank": 1, "action": "Fix problem handling", "why": "gap -1.72"},
                    {"rank": 2, "action": "Be on time", "why": "gap -0.9"}]})
    results = executive.load_run_results(tmp_path)
    table = executive.headline_table(results, per_analysis=1)
    assert table["figure"].tolist() == ["Company stage", "Gap", "NPV at 24 months"]  # interval first
    assert executive.findings(results, per_analysis=1) == [
        ("Satisfaction gaps", "Service falls short by 0.46 scale points.")]
    pri = executive.combined_priorities(results, top_n=1)
    assert pri.loc[pri["analysis"] == "Satisfaction gaps", "why"].tolist() == ["gap -1.72"]


def test_notebook_runs_on_a_partial_run(tmp_path):
    res = _fixture(tmp_path / "results")
    out = tmp_path / "out"
    pm.execute_notebook(paths.NOTEBOOKS / "05_executive_summary.ipynb", tmp_path / "05.ipynb",
                        parameters={"results_dir": str(res), "output_dir": str(out)},
                        kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False)
    got = json.loads((out / "results.json").read_text())
    assert got["analyses_run"] == ["01_crm_assessment", "04_phase_roi"]
    assert got["not_run"] == ["Customer lifetime value", "Satisfaction gaps"]
    assert (out / "tables.xlsx").exists()


class _Since:
    """Stands in for :class:`crmlib.changes.SinceLastRun` with three changes."""

    def sentences(self, limit=5):
        return ["Change one.", "Change two.", "Change three."][:limit]

    def to_dict(self):
        return {"baseline": False, "changes": 3}


def test_summary_results_order_findings_and_count_analyses(tmp_path):
    import pandas as pd

    from crmlib.changes import SinceLastRun

    _fixture(tmp_path)
    for stem in ("02_clv_modelling", "03_satisfaction_gaps"):
        _write(tmp_path, stem, {"headline": [], "findings": [f"{stem} first.", f"{stem} second."]})
    results = executive.load_run_results(tmp_path)
    priorities = executive.combined_priorities(results, top_n=1)
    got = executive.summary_results(results, priorities, _Since(), "EUR")
    # two since-last-run sentences first, then each analysis' first finding, five at most
    assert got.findings == ["Change one.", "Change two.", "02_clv_modelling first.",
                            "03_satisfaction_gaps first."]
    h = got.headline[0]
    assert (h.label, h.value, h.unit) == ("Analyses run", 4, "of 4")
    assert [a.action for a in got.actions] == ["Phase ROI: Phase 1: CONTINUE",
                                               "Phase ROI: Phase 2: STOP",
                                               "CRM assessment: data_360"]
    assert [a.rank for a in got.actions] == [1, 2, 3]
    assert got.extra["not_run"] == [] and got.extra["since_last_run"] == {"baseline": False,
                                                                          "changes": 3}
    assert got.currency == "EUR" and got.title == "Executive summary"

    for stem in ("01_crm_assessment", "04_phase_roi"):
        _write(tmp_path / "more", stem, {"headline": [], "findings": [f"{stem} first."]})
    many = {**results, **executive.load_run_results(tmp_path / "more")}
    first = executive.summary_results(many, pd.DataFrame(columns=priorities.columns),
                                      SinceLastRun(True, None, None, []))
    assert len(first.findings) == executive.MAX_FINDINGS and first.actions == []
    assert first.findings[0].startswith("Baseline: this is the client's first run")
    partial = executive.summary_results({"04_phase_roi": results["04_phase_roi"]},
                                        priorities, _Since())
    assert partial.headline[0].value == 1 and partial.extra["not_run"] == [
        "CRM assessment", "Customer lifetime value", "Satisfaction gaps"]
