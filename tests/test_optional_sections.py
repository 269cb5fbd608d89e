"""Optional sections degrade to a visible note; only an analysis' main result fails it."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from crmlib import paths, sections
from crmlib.clv import pipeline as PL
from crmlib.clv import segments
from crmlib.io import DataQualityReport
from crmlib.results import write_results


@pytest.fixture(autouse=True)
def fresh_record():
    sections.reset()
    yield
    sections.reset()


def boom(*args, **kwargs):
    raise ValueError("x" * 1000)


def test_optional_returns_the_value_or_none_with_a_note_and_a_record():
    assert sections.optional("doubling", lambda x: 2 * x, 4) == 8
    with pytest.warns(RuntimeWarning, match="Kano classification not computed: ValueError"):
        assert sections.optional("Kano classification", boom) is None
    (record,) = sections.degraded()
    assert record["section"] == "Kano classification"
    assert record["error"].startswith("ValueError: xxx")
    assert record["error"].endswith(f"… ({len('ValueError: ') + 1000} characters)")
    assert len(record["error"]) < 330


def test_optional_block_skips_the_rest_of_the_block():
    done = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with sections.optional_block("sBG model"):
            done.append(1)
            boom()
            done.append(2)
    assert done == [1] and [d["section"] for d in sections.degraded()] == ["sBG model"]
    with pytest.raises(KeyboardInterrupt):  # an interruption is not a section failing
        with sections.optional_block("chart"):
            raise KeyboardInterrupt


def test_the_note_names_section_and_reason():
    text = sections.note("PLS satisfaction index", "ConvergenceError: no `estimates`")
    assert text.startswith("> **Not shown: PLS satisfaction index.**")
    assert "(`ConvergenceError: no 'estimates'`)" in text


def test_write_results_records_what_was_not_computed(tmp_path):
    write_results(tmp_path / "a", {"headline": []})
    assert "degraded" not in json.loads((tmp_path / "a" / "results.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sections.optional("event study", boom)
    write_results(tmp_path / "b", {"headline": []})
    saved = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [d["section"] for d in saved["degraded"]] == ["event study"]


def test_clv_segment_extras_degrade_and_leave_their_tables_out(clv_small, monkeypatch):
    monkeypatch.setattr(segments, "segment_table", boom)
    monkeypatch.setattr(segments, "valuable_but_slipping", boom)
    clv = PL.analyse(clv_small / "transactions.csv", quality=DataQualityReport(),
                     observation_end="2025-06-30", calibration_end=None, time_unit="W",
                     model="bgnbd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert clv.segment_table is None and clv.slipping is None and clv.n_slipping is None
        tables = clv.tables()
        results = clv.results()
    assert {"segments", "valuable_but_slipping"}.isdisjoint(tables)
    assert {"customers", "clv_deciles", "model_parameters"} <= set(tables)
    assert results["clv_total"] > 0  # the main result stands
    assert [d["section"] for d in sections.degraded()] == [
        "RFM segments", "valuable but slipping customers"]


def break_clv_extras(src, out) -> dict:
    """A log whose channel cannot be estimated (one customer in the second channel) and
    a subscription table where no one has left yet (sBG retention not identified)."""
    out.mkdir()
    tx = pd.read_csv(src / "transactions.csv", dtype={"customer_id": str})
    odd = tx["customer_id"].iloc[0]
    tx["channel"] = tx["customer_id"].map({odd: "shop"}).fillna("web")
    tx.to_csv(out / "transactions.csv", index=False)
    subs = pd.read_csv(src / "subscriptions.csv", dtype={"customer_id": str})
    subs.assign(end_date=None).to_csv(out / "subscriptions.csv", index=False)
    return {"transactions": str(out / "transactions.csv"),
            "subscriptions": str(out / "subscriptions.csv")}


def notes(executed) -> list[str]:
    nb = nbformat.read(executed, as_version=4)
    return [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})
            and o["data"]["text/markdown"].startswith("> **Not shown")]


def outputs(executed) -> list[dict]:
    nb = nbformat.read(executed, as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


SEGMENTS_FAIL = '''"""Stand-in for segment extras that fail: RFM segments, the slipping list and the
CLV deciles of crmlib.clv raise (pure pandas on the customer table, they have no failure on
data of their own)."""
from crmlib.clv import segments


def _fail(*args, **kwargs):
    raise ValueError("segment extras fail here")


segments.segment_table = segments.valuable_but_slipping = segments.deciles = _fail
'''


def in_kernel(code: str, folder, monkeypatch) -> None:
    """Run ``code`` at the start of every Python the test starts (a notebook's kernel): a
    ``sitecustomize`` module on ``PYTHONPATH``, for failures no data can cause."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(code)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(folder)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))


@pytest.mark.slow
def test_clv_notebook_survives_its_optional_sections_failing(clv_small, tmp_path, monkeypatch):
    inputs = break_clv_extras(clv_small, tmp_path / "data")
    in_kernel(SEGMENTS_FAIL, tmp_path / "site", monkeypatch)
    out = tmp_path / "out"
    pm.execute_notebook(str(paths.NOTEBOOKS / "02_clv_modelling.ipynb"),
                        str(tmp_path / "run.ipynb"), cwd=str(paths.ROOT), progress_bar=False,
                        kernel_name="python3",
                        parameters={"output_dir": str(out), "observation_end": "2025-06-30",
                                    "calibration_end": "2024-12-31", **inputs})
    results = json.loads((out / "results.json").read_text())
    degraded = {d["section"]: d["error"] for d in results["degraded"]}
    assert set(degraded) == {"acquisition channel test (BG/NBD with covariates)",
                             "subscription retention (sBG model)", "CLV deciles",
                             "RFM segments", "valuable but slipping customers"}
    assert degraded["RFM segments"] == "ValueError: segment extras fail here"
    assert degraded["acquisition channel test (BG/NBD with covariates)"].startswith(
        "ConvergenceError:")
    assert "no customer has left yet" in degraded["subscription retention (sBG model)"]
    assert results["covariates"] is None and "subscriptions" not in results
    assert results["clv_total"] > 0 and results["headline"]  # the main result stands
    assert not any((out / f"{t}.csv").exists() for t in ("clv_deciles", "segments",
                                                          "valuable_but_slipping"))
    assert (out / "customers.csv").exists()
    shown = [n.split("**")[1] for n in notes(tmp_path / "run.ipynb")]
    assert sorted(shown) == sorted(f"Not shown: {s}." for s in degraded)


@pytest.mark.slow
def test_satisfaction_notebook_survives_its_optional_sections_failing(tmp_path):
    """Overall satisfaction without variance (key drivers and the PLS model cannot be
    estimated: the library skips them with its own note), no Kano question pair (the Kano
    section says so) and a CLV table in which no respondent has a positive value
    (value-weighted gaps raise)."""
    from crmlib.demo import generate

    data = tmp_path / "data"
    generate(data, size="small", only=("satisfaction",))
    survey = pd.read_csv(data / "survey.csv")
    no_kano = survey.drop(columns=[c for c in survey if c.startswith(("KF_", "KD_"))])
    no_kano.assign(overall_satisfaction=5).to_csv(data / "survey.csv", index=False)
    pd.DataFrame({"customer_id": survey["customer_id"].dropna(), "clv": 0.0}).to_csv(
        data / "customers.csv", index=False)
    out = tmp_path / "out"
    pm.execute_notebook(str(paths.NOTEBOOKS / "03_satisfaction_gaps.ipynb"),
                        str(tmp_path / "run.ipynb"), cwd=str(paths.ROOT), progress_bar=False,
                        kernel_name="python3",
                        parameters={"survey": str(data / "survey.csv"), "n_boot": 20,
                                    "items": str(data / "survey_items.csv"),
                                    "clv_table": str(data / "customers.csv"),
                                    "output_dir": str(out)})
    results = json.loads((out / "results.json").read_text())
    (record,) = results["degraded"]
    assert record["section"] == "value-weighted gaps"
    assert record["error"].startswith("DataError:") and "positive CLV" in record["error"]
    assert "value_weighted_gaps" not in results and "pls" not in results
    assert "drivers" not in results and "kano" not in results
    shown = " ".join(o["data"].get("text/markdown", "") for o in outputs(tmp_path / "run.ipynb")
                     if "data" in o)
    assert "No Kano question pairs" in shown
    assert "structural model not estimated" in shown  # the library's own notes
    assert "item-level key drivers not estimated" in shown
    assert results["gaps_by_dimension"] and results["headline"]  # the main result stands
    assert [n.split("**")[1] for n in notes(tmp_path / "run.ipynb")] == [
        "Not shown: value-weighted gaps."]


# -- phase ROI: the event study and the risk simulation are optional -------------------------

@pytest.fixture(scope="module")
def roi_small(tmp_path_factory):
    from crmlib import demo

    out = tmp_path_factory.mktemp("roi")
    demo.generate(out, size="small", only=("roi",))
    return out


def saturate_one_kpi(src, out, kpi="avg_basket"):
    """The panel with ``kpi`` kept for one pilot and one control store only: the event
    study then has as many coefficients and fixed effects as observations (no residual
    degrees of freedom), while the DiD still has some. Returns the two stores."""
    out.mkdir(exist_ok=True)
    kp = pd.read_csv(src / "kpi_panel.csv")
    pilot = sorted(kp.loc[kp["group"] == "pilot", "unit_id"].unique())[0]
    control = sorted(kp.loc[kp["group"] == "control", "unit_id"].unique())[0]
    drop = (kp["kpi"] == kpi) & ~kp["unit_id"].isin([pilot, control])
    kp[~drop].to_csv(out / "kpi_panel.csv", index=False)
    (out / "phase_plan.yaml").write_text((src / "phase_plan.yaml").read_text())
    return pilot, control


def roi_inputs(folder):
    from crmlib.io import load_kpi_panel
    from crmlib.roi import load_plan, prepare_panel

    q = DataQualityReport()
    plan = load_plan(folder / "phase_plan.yaml")
    return plan, prepare_panel(load_kpi_panel(folder / "kpi_panel.csv", quality=q), plan,
                               quality=q)


def test_roi_event_study_degrades_and_the_effect_stands(roi_small, tmp_path):
    from crmlib.roi import evaluate_programme

    pilot, control = saturate_one_kpi(roi_small, tmp_path / "data")
    plan, monthly = roi_inputs(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate_programme(plan, monthly, n_simulations=500, seed=1, n_permutations=99)
    (record,) = sections.degraded()
    assert record["section"] == "event study of Loyalty and customer data, avg_basket"
    assert record["error"].startswith("DataError: no residual degrees of freedom")
    row = ev.effects.set_index("kpi").loc["avg_basket"]
    assert np.isnan(row["pretrend_p"]) and "pre-trends not tested" in row["note"]
    assert "avg_basket" not in set(ev.event_study["kpi"])
    assert {"repeat_rate", "identified_sales_share"} <= set(ev.event_study["kpi"])
    # two units in a balanced window: the DiD is the difference of the pre/post mean changes
    phase = plan.phases[0]
    start = phase.start.to_period("M").to_timestamp()
    lo, hi = start - pd.DateOffset(months=6), phase.effective_end
    d = monthly[(monthly["kpi"] == "avg_basket") & monthly["period"].between(lo, hi)]
    change = {u: g.loc[g["period"] >= start, "value"].mean() - g.loc[g["period"] < start,
                                                                     "value"].mean()
              for u, g in d.groupby("unit_id")}
    assert row["effect"] == pytest.approx(change[pilot] - change[control], rel=1e-9)
    # one pilot and one control unit: no clustered test, no placebo, the KPI is not passed
    assert np.isnan(row["p_value"]) and np.isnan(row["se"]) and np.isnan(row["p_gate"])
    assert "clustered inference needs at least 2 of each" in row["note"]
    assert "no placebo assignment possible" in row["note"]
    gate = ev.gates.set_index("phase").loc[phase.name]
    assert gate["decision"] != "continue"
    assert set(ev.gates["decision"]) <= {"continue", "adjust", "stop"}  # the gate stands


def test_roi_gate_without_the_risk_simulation(roi_small, monkeypatch):
    import crmlib.roi.evaluate as evaluate
    from crmlib.roi import gate
    from crmlib.roi.notebook import headline

    monkeypatch.setattr(evaluate, "simulate", boom)
    monkeypatch.setattr(evaluate, "tornado", boom)
    plan, monthly = roi_inputs(roi_small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate.evaluate_programme(plan, monthly, n_simulations=500, seed=1,
                                         n_permutations=99)
        results = ev.results()
    assert [d["section"] for d in sections.degraded()] == [
        "risk simulation (Monte Carlo)", "tornado of NPV drivers"]
    assert ev.risk.empty and ev.tornado.empty
    # neither threshold can be checked without P(NPV > 0): adjust, with the reason
    assert (ev.gates["decision"] == "adjust").all()
    assert all(r[0] == gate.NO_RISK for r in ev.gates["reasons"])
    # the point ROI stands: (PV benefits − PV costs) / PV costs of the metrics table
    m = ev.metrics[ev.metrics["horizon"] == "24"].set_index("phase")
    for ph in results["phases"]:
        pvb, pvc = m.at[ph["name"], "pv_benefits"], m.at[ph["name"], "pv_costs"]
        assert ph["roi"]["24"] == pytest.approx((pvb - pvc) / pvc)
        assert ph["roi_p10_p90"] == {} and ph["p_npv_positive"] != ph["p_npv_positive"]
    assert results["programme"]["npv_24_risk_adjusted"] is None
    labels = [h["label"] for h in headline(ev)]
    assert labels[0] == "Programme NPV at 24 months with the measured effects, unadjusted"
    assert all("risk-adjusted" not in x for x in labels)


def test_gate_without_p_npv_positive_is_adjust():
    from crmlib.roi import decide
    from crmlib.roi.gate import NO_RISK

    eff = pd.DataFrame({"kpi": ["a"], "direction": ["up"], "effect": [2.0], "p_gate": [0.001],
                        "pretrend_ok": [True], "method": ["DiD"]})
    assert decide(eff, 0.95)["decision"] == "continue"
    g = decide(eff, float("nan"))
    assert g["decision"] == "adjust" and g["reasons"][0] == NO_RISK


OUT_OF_MEMORY = '''"""Stand-in for a machine without the memory for the risk draws: the
Monte Carlo and the tornado of crmlib.roi fail as numpy does when it cannot allocate."""
import crmlib.roi.evaluate as _evaluate


def _no_memory(*args, **kwargs):
    raise MemoryError("Unable to allocate 1.91 GiB for an array with shape (10000, 25600)")


_evaluate.simulate = _evaluate.tornado = _no_memory
'''


def run_notebook(name, tmp_path, parameters) -> dict:
    pm.execute_notebook(str(paths.NOTEBOOKS / name), str(tmp_path / f"{name}.run.ipynb"),
                        cwd=str(paths.ROOT), progress_bar=False, kernel_name="python3",
                        parameters=parameters)
    return json.loads((Path(parameters["output_dir"]) / "results.json").read_text())


@pytest.mark.slow
def test_roi_and_executive_notebooks_survive_their_optional_sections_failing(
        roi_small, tmp_path, monkeypatch):
    """Notebook 04 on a panel where one KPI's event study has no residual degrees of freedom,
    in a kernel where the risk draws cannot be allocated (only a patch makes the Monte Carlo
    fail: it has no failure on data); then notebook 05 on those results, one of whose key
    charts names a file the system cannot open (a name longer than it allows)."""
    saturate_one_kpi(roi_small, tmp_path / "data")
    in_kernel(OUT_OF_MEMORY, tmp_path / "site", monkeypatch)
    runs = tmp_path / "runs"
    results = run_notebook("04_phase_roi.ipynb", tmp_path, {
        "plan": str(tmp_path / "data" / "phase_plan.yaml"),
        "kpis": str(tmp_path / "data" / "kpi_panel.csv"), "n_simulations": 500,
        "output_dir": str(runs / "04_phase_roi")})
    assert [d["section"] for d in results["degraded"]] == [
        "event study of Loyalty and customer data, avg_basket",
        "risk simulation (Monte Carlo)", "tornado of NPV drivers"]
    assert results["degraded"][1]["error"].startswith("MemoryError: Unable to allocate")
    shown = [n.split("**")[1] for n in notes(tmp_path / "04_phase_roi.ipynb.run.ipynb")]
    assert shown == ["Not shown: event study of Loyalty and customer data, avg_basket.",
                     "Not shown: risk simulation (Monte Carlo).",
                     "Not shown: tornado of NPV drivers."]
    # the main result stands: effects, point ROI and a gate for every phase
    phases = {p["name"]: p for p in results["phases"]}
    assert phases["Loyalty and customer data"]["kpis"]["avg_basket"]["effect"] is not None
    assert phases["Loyalty and customer data"]["kpis"]["avg_basket"]["pretrend_p"] is None
    assert all(p["gate"] == "adjust" and p["roi"]["24"] is not None for p in phases.values())
    assert results["programme"]["npv_24"] is not None and results["headline"]
    executed = outputs(tmp_path / "04_phase_roi.ipynb.run.ipynb")
    assert not any("Traceback" in str(o) for o in executed)

    monkeypatch.delenv("PYTHONPATH")
    saved = json.loads((runs / "04_phase_roi" / "results.json").read_text())
    saved["key_chart"] = "k" * 300 + ".png"
    (runs / "04_phase_roi" / "results.json").write_text(json.dumps(saved))
    summary = run_notebook("05_executive_summary.ipynb", tmp_path, {
        "results_dir": str(runs), "output_dir": str(runs / "05_executive_summary")})
    (record,) = summary["degraded"]
    assert record["section"] == "key charts of the analyses"
    assert record["error"].startswith("OSError: [Errno 36] File name too long")
    assert [n.split("**")[1] for n in notes(tmp_path / "05_executive_summary.ipynb.run.ipynb")
            ] == ["Not shown: key charts of the analyses."]
    assert summary["headline"] and summary["findings"]  # the summary itself stands
    assert any("ADJUST" in f and "not risk-adjusted" in f for f in summary["findings"])


@pytest.mark.slow
def test_assessment_notebook_survives_its_optional_sections_failing(tmp_path):
    """Three respondents per group, below the anonymity threshold of five: no group is shown
    on its own, so the radar by driver has no group line to draw."""
    from crmlib.demo import generate

    generate(tmp_path / "data", size="small", only=("assessment",))
    src = pd.read_csv(tmp_path / "data" / "assessment_responses.csv")
    keep = src.groupby("group")["respondent_id"].apply(lambda s: list(s.unique()[:3])).sum()
    src[src["respondent_id"].isin(keep)].to_csv(tmp_path / "data" / "responses.csv",
                                                index=False)
    results = run_notebook("01_crm_assessment.ipynb", tmp_path, {
        "responses": str(tmp_path / "data" / "responses.csv"),
        "output_dir": str(tmp_path / "out")})
    assert [d["section"] for d in results["degraded"]] == ["capability radar by driver"]
    assert [n.split("**")[1] for n in notes(tmp_path / "01_crm_assessment.ipynb.run.ipynb")
            ] == ["Not shown: capability radar by driver."]
    assert results["company_stage"] is not None and results["headline"]  # the main result
    assert results["n_respondents"] == 3 * src["group"].nunique()
