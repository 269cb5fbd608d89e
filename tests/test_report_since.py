"""A client run twice by the report runner: the second run compares itself with the first.

Notebooks 02 and 05 on the small CLV demo: the first run on the baseline log up to
2025-06-30, the second on the log a year on (up to 2026-06-30, with the customers planted to
lapse, accelerate and arrive), as the client's next yearly run would.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from pptx import Presentation

from crmlib.clv.migration import migrate
from crmlib.report import run_report
from crmlib.workshop.truths import clv_migration_rows, comparison

FIRST_END, SECOND_END = "2025-06-30", "2026-06-30"


def _config(root, data, log, observation_end, calibration_end):
    cfg = {"client": "Twice Ltd", "currency": "EUR", "notebooks": {
        "02_clv_modelling": {"transactions": str(data / log),
                             "subscriptions": None, "observation_end": observation_end,
                             "calibration_end": calibration_end, "horizon_months": 12},
        "05_executive_summary": {}}}
    path = root / "client.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, clv_small):
    root = tmp_path_factory.mktemp("twice")
    data = clv_small
    out = root / "reports"
    first = run_report(_config(root, data, "transactions.csv", FIRST_END, "2024-12-31"), out=out,
                       progress=False, jobs=1)
    second = run_report(_config(root, data, "transactions_wave2.csv", SECOND_END, "2025-12-31"),
                        out=out, progress=False, jobs=1)
    return data, first, second


def _results(run, stem):
    return json.loads((run.run_dir / "results" / stem / "results.json").read_text())


def _previous(run, stem):
    record = json.loads((run.run_dir / "run.json").read_text())
    return record["notebooks"][stem]["parameters"]["previous_run"]


@pytest.mark.slow
def test_the_first_run_is_the_baseline(two_runs):
    _, first, _ = two_runs
    assert first.exit_code == 0, first.notebooks
    assert _previous(first, "02_clv_modelling") == "" == _previous(first, "05_executive_summary")
    assert _results(first, "02_clv_modelling")["since_last_run"]["baseline"] is True
    summary = _results(first, "05_executive_summary")
    assert summary["since_last_run"]["baseline"] is True
    assert summary["findings"][0].startswith("Baseline")
    saved = first.run_dir / "results" / "02_clv_modelling"
    assert (saved / "model.json").is_file() and (saved / "predictions.parquet").is_file()


@pytest.mark.slow
def test_the_second_run_gets_the_first_as_previous(two_runs):
    _, first, second = two_runs
    assert second.exit_code == 0, second.notebooks
    for stem in ("02_clv_modelling", "05_executive_summary"):
        assert _previous(second, stem) == str(first.run_dir / "run.json")


@pytest.mark.slow
def test_forecast_check_reads_the_first_runs_predictions(two_runs):
    data, first, second = two_runs
    block = _results(second, "02_clv_modelling")["since_last_run"]
    assert block["previous_run"] == first.run_id
    f = block["forecast"]
    saved = pd.read_parquet(first.run_dir / "results" / "02_clv_modelling" /
                            "predictions.parquet")
    assert f["n_customers"] == len(saved)
    # 365 days lie between the saved 6- and 12-month (365.25 days) forecasts of the first run
    assert saved["expected_purchases_6m"].sum() < f["predicted"] < \
        saved["expected_purchases_12m"].sum()
    # what happened, counted from the file: purchase days (returns excluded) after the
    # first observation end by customers who had bought by then
    tx = pd.read_csv(data / "transactions_wave2.csv", dtype={"customer_id": str},
                     parse_dates=["date"])
    tx = tx[(tx["amount"] >= 0) & (tx["date"] <= SECOND_END)]
    days = tx.drop_duplicates(["customer_id", "date"])
    known = days.groupby("customer_id")["date"].min() <= FIRST_END
    since = days[(days["date"] > FIRST_END) & days["customer_id"].map(known)]
    assert f["actual"] == len(since)


@pytest.mark.slow
def test_value_change_reconciles_with_both_runs(two_runs):
    _, first, second = two_runs
    d = _results(second, "02_clv_modelling")["since_last_run"]["decomposition"]
    assert d["value_before"] == pytest.approx(_results(first, "02_clv_modelling")["clv_total"])
    assert d["value_now"] == pytest.approx(_results(second, "02_clv_modelling")["clv_total"])
    assert d["value_now"] - d["value_before"] == pytest.approx(
        d["new"] + d["shifted"] + d["within"] - d["lost"], abs=1e-6)


@pytest.mark.slow
def test_summary_and_deck_open_with_what_changed(two_runs):
    _, first, second = two_runs
    summary = _results(second, "05_executive_summary")
    since = summary["since_last_run"]
    assert since["baseline"] is False and since["previous_run"] == first.run_id
    total = next(c for c in since["changes"] if c["label"] == "Total CLV")
    assert total["ci"] and total["sentence"] in summary["findings"]
    assert summary["findings"][0] == since["changes"][0]["sentence"]
    slides = list(Presentation(second.run_dir / "deck.pptx").slides)
    titles = [s.shapes.title.text for s in slides]
    slide = slides[titles.index("What changed since the last run")]
    text = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
    assert total["sentence"] in text
    html = (second.run_dir / "05_executive_summary.html").read_text(encoding="utf-8")
    assert html.index("What changed since the last run") < html.index("Headline figures")


def _migration_table(run):
    return pd.read_csv(run.run_dir / "results" / "02_clv_modelling" / "migration_customers.csv",
                       dtype={"customer_id": str})


@pytest.mark.slow
def test_the_planted_migration_is_recovered(two_runs):
    data, _, second = two_runs
    folder = second.run_dir / "results" / "02_clv_modelling"
    truths = comparison("02_clv_modelling", folder, data_dir=data).set_index("quantity")
    rows = truths.loc[[q for q in truths.index if "lapsed" in q or "accelerating" in q
                       or q.startswith("new customers")]]
    assert len(rows) == 3 and rows["within"].all(), rows
    planted = pd.read_csv(data / "migration_planted.csv", dtype=str)
    assert rows.loc["new customers since the baseline", "planted"] == (
        planted["group"] == "new").sum() > 0
    # the migration table is the one behind the matrices the report shows
    table, block = _migration_table(second), _results(second, "02_clv_modelling")
    counts = pd.read_csv(folder / "migration_counts.csv").set_index("tier_before")
    assert counts.to_numpy().sum() == len(table)
    assert block["since_last_run"]["decomposition"]["n_churned"] == \
        (table["status"] == "churned").sum()


@pytest.mark.slow
def test_a_comparison_blind_to_the_year_misses_the_planted_migration(two_runs):
    # churning only customers gone from the data, or tiers cut on this run's values, must
    # fail the tolerances (crmlib.workshop.truths)
    data, first, second = two_runs
    saved = pd.read_parquet(first.run_dir / "results" / "02_clv_modelling" /
                            "predictions.parquet").set_index("customer_id")
    now = pd.read_csv(second.run_dir / "results" / "02_clv_modelling" / "customers.csv",
                      dtype={"customer_id": str}).set_index("customer_id")
    table = _migration_table(second)
    bought = table.set_index("customer_id")["purchased_since"]
    planted = pd.read_csv(data / "migration_planted.csv", dtype=str)
    d = {"n_new": int((planted["group"] == "new").sum())}
    right = migrate(saved[["clv"]], now[["clv", "p_alive"]], bought, p_alive_below=0.5)
    assert all(r["within"] for r in clv_migration_rows(right.customers, d, planted))
    gone_only = migrate(saved[["clv"]], now[["clv", "p_alive"]], bought, p_alive_below=0.0)
    assert not clv_migration_rows(gone_only.customers, d, planted)[0]["within"]
    swapped = right.customers.rename(columns={"tier_before": "tier_now",
                                              "tier_now": "tier_before"})
    assert not clv_migration_rows(swapped, d, planted)[1]["within"]
