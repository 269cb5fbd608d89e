"""Optional sections degrade to a visible note; only an analysis' main result fails it."""
from __future__ import annotations

import json
import warnings

import nbformat
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


@pytest.mark.slow
def test_clv_notebook_survives_its_optional_sections_failing(clv_small, tmp_path):
    inputs = break_clv_extras(clv_small, tmp_path / "data")
    out = tmp_path / "out"
    pm.execute_notebook(str(paths.NOTEBOOKS / "02_clv_modelling.ipynb"),
                        str(tmp_path / "run.ipynb"), cwd=str(paths.ROOT), progress_bar=False,
                        kernel_name="python3",
                        parameters={"output_dir": str(out), "observation_end": "2025-06-30",
                                    "calibration_end": "2024-12-31", **inputs})
    results = json.loads((out / "results.json").read_text())
    degraded = {d["section"]: d["error"] for d in results["degraded"]}
    assert set(degraded) == {"acquisition channel test (BG/NBD with covariates)",
                             "subscription retention (sBG model)"}
    assert degraded["acquisition channel test (BG/NBD with covariates)"].startswith(
        "ConvergenceError:")
    assert "no customer has left yet" in degraded["subscription retention (sBG model)"]
    assert results["covariates"] is None and "subscriptions" not in results
    assert results["clv_total"] > 0 and results["headline"]  # the main result stands
    shown = notes(tmp_path / "run.ipynb")
    assert len(shown) == 2
    assert shown[0].startswith("> **Not shown: acquisition channel test")
    assert shown[1].startswith("> **Not shown: subscription retention (sBG model).**")


@pytest.mark.slow
def test_satisfaction_notebook_survives_its_optional_sections_failing(tmp_path):
    """Overall satisfaction without variance (key drivers and the PLS model cannot be
    estimated: the library skips them with its own note) and a CLV table in which no
    respondent has a positive value (value-weighted gaps raise)."""
    from crmlib.demo import generate

    data = tmp_path / "data"
    generate(data, size="small", only=("satisfaction",))
    survey = pd.read_csv(data / "survey.csv")
    survey.assign(overall_satisfaction=5).to_csv(data / "survey.csv", index=False)
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
    assert "drivers" not in results
    assert results["gaps_by_dimension"] and results["headline"]  # the main result stands
    assert [n.split("**")[1] for n in notes(tmp_path / "run.ipynb")] == [
        "Not shown: value-weighted gaps."]
