"""The CLV notebook runs through papermill on small data and writes its results contract."""
from __future__ import annotations

import json

import nbformat
import numpy as np
import pandas as pd
import papermill as pm
import pytest

from crmlib import paths
from crmlib.clv.params import SPEC
from crmlib.io import ParameterError
from crmlib.params import validate

NOTEBOOK = paths.NOTEBOOKS / "02_clv_modelling.ipynb"
CUSTOMER_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
                    "expected_purchases", "clv", "clv_low", "clv_high", "segment"]


def _run(tmp_path, **params) -> tuple[dict, pd.DataFrame]:
    out = tmp_path / "out"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "run.ipynb"),
                        parameters={"output_dir": str(out), **params},
                        kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False)
    results = json.loads((out / "results.json").read_text())
    return results, pd.read_csv(out / "customers.csv", dtype={"customer_id": str})


@pytest.mark.slow
def test_demo_run_with_holdout_and_subscriptions(clv_small, tmp_path):
    r, customers = _run(tmp_path, transactions=str(clv_small / "transactions.csv"),
                        subscriptions=str(clv_small / "subscriptions.csv"),
                        observation_end="2025-06-30", calibration_end="2024-12-31",
                        time_unit="W", model="auto", horizon_months=24)
    for key in ("n_customers", "n_transactions", "excluded", "model", "params", "params_se",
                "log_likelihood", "holdout", "gamma_gamma", "clv_total", "clv_total_ci",
                "top_decile_share", "headline"):
        assert key in r, key
    assert r["n_customers"] == 500 == len(customers)
    assert r["model"] in ("bgnbd", "mbgnbd", "pnbd")
    names = {"bgnbd": ["r", "alpha", "a", "b"], "mbgnbd": ["r", "alpha", "a", "b"],
             "pnbd": ["r", "alpha", "s", "beta"]}[r["model"]]
    assert list(r["params"]) == names and list(r["params_se"]) == names
    assert set(r["gamma_gamma"]) == {"p", "q", "v"}
    assert r["excluded"]["after observation end"] == 7
    assert r["excluded"]["return (negative amount)"] > 0
    assert r["kept_and_noted"]["identical rows, counted as separate purchases"] > 0
    h = r["holdout"]
    assert {"actual_total", "predicted_total", "mae"} <= set(h)
    tx = pd.read_csv(clv_small / "transactions.csv")
    assert h["actual_total"] > 0
    # the holdout total misses by the customers' independent prediction errors: the s.e. of
    # the total error is about √n · RMSE (7% of the total on this data); allow three
    se_total = np.sqrt(r["n_customers"]) * h["rmse"]
    assert abs(h["predicted_total"] - h["actual_total"]) < 3 * se_total
    low, high = r["clv_total_ci"]
    assert low < r["clv_total"] < high
    assert r["clv_total"] == pytest.approx(customers["clv"].sum(), rel=1e-9)
    assert 0.1 < r["top_decile_share"] < 1
    assert r["discount_rate_monthly"] == pytest.approx(1.1 ** (1 / 12) - 1)
    assert list(customers.columns[:len(CUSTOMER_COLUMNS)]) == CUSTOMER_COLUMNS
    assert customers["p_alive"].between(0, 1).all()
    assert (customers["clv_low"] <= customers["clv"] + 1e-9).all()
    assert customers["segment"].notna().all()
    assert r["subscriptions"]["params"].keys() == {"alpha", "beta"}
    assert r["covariates"]["column"] == "channel" and r["covariates"]["lr_test"]["df"] == 6
    assert all({"label", "value", "unit", "ci"} <= set(x) <= {"label", "value", "unit", "ci", "ci_level"} for x in r["headline"])
    assert r["headline"][0]["ci"] == [low, high]
    assert len(tx) == r["n_transactions"] + sum(r["excluded"].values())


@pytest.mark.slow
def test_cdnow_through_the_notebook_reproduces_published_bgnbd(tmp_path):
    raw = pd.read_csv(paths.REFERENCE / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["id", "cust", "day", "cds", "dollars"], dtype=str)
    raw["order"] = np.arange(len(raw)).astype(str)   # each line is one transaction
    path = tmp_path / "cdnow.csv"
    raw[["cust", "day", "dollars", "order"]].to_csv(path, index=False)
    r, customers = _run(tmp_path, transactions=str(path), customer_col="cust", date_col="day",
                        amount_col="dollars", observation_end="1998-06-30",
                        calibration_end="1997-09-30", time_unit="W", model="bgnbd",
                        zero_amounts="keep", subscriptions=None, horizon_months=12)
    published = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    for k, v in published.items():
        assert r["params"][k] == pytest.approx(v, rel=1e-3), k
    assert r["log_likelihood"] == pytest.approx(-9582.4, rel=1e-4)
    assert r["n_customers"] == 2357
    assert r["gamma_gamma"]["p"] > 0 and "subscriptions" not in r


def test_bad_parameters_are_named():
    base = {"transactions": "data/reference/CDNOW_sample.txt", "customer_col": "c",
            "date_col": "d", "amount_col": "a", "observation_end": None,
            "calibration_end": None, "time_unit": "W", "model": "auto",
            "zero_amounts": "exclude", "duplicates": "keep", "transaction_col": None,
            "margin": 0.3, "discount_rate_annual": 0.1,
            "horizon_months": 12, "subscriptions": None, "engine": "auto",
            "spark_master": "local[*]", "spark_output": None, "currency": "EUR",
            "columns": None, "previous_run": "",
            "output_dir": "reports/_scratch/x"}
    assert validate(SPEC, base)["time_unit"] == "W"
    for name, value, text in (("time_unit", "Y", "must be one of"),
                              ("model", "lifetimes", "must be one of"),
                              ("margin", 1.5, "at most"),
                              ("calibration_end", "30/09/1997", "ISO date"),
                              ("horizon_months", 2.5, "whole number"),
                              ("transactions", "missing.csv", "file not found"),
                              ("transactions", "data/missing/tx.parquet", "file not found"),
                              ("engine", "polars", "must be one of"),
                              ("spark_master", "", "non-empty text"),
                              ("previous_run", "reports/x/run.partial/run.json", "run.json")):
        with pytest.raises(ParameterError, match=f"parameter '{name}'.*{text}"):
            validate(SPEC, {**base, name: value})


def test_stored_notebook_contract():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["crmlib"]["spec"] == "crmlib.clv.params:SPEC"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "output_dir: str = \"reports/_scratch/02_clv_modelling\"" in tagged[0].source
    assert "P = validate(SPEC, globals())" in nb.cells[2].source


def test_spark_sources_pass_the_transactions_rule(tmp_path):
    """For Spark: a Parquet folder, a cluster URI or a table name; local files must exist."""
    rule = SPEC["transactions"]
    for source in ("s3://bucket/sales/tx/", "abfss://c@acct.dfs.core.windows.net/tx",
                   "dbfs:/mnt/tx", "hdfs://nn/tx", "main.sales.transactions"):
        assert rule.check("transactions", source) == source
    (tmp_path / "tx").mkdir()
    assert rule.check("transactions", str(tmp_path / "tx")) == tmp_path / "tx"
    with pytest.raises(ParameterError, match="file not found"):
        rule.check("transactions", str(tmp_path / "missing.parquet"))


def test_cluster_sources_need_the_spark_engine():
    from crmlib.clv.pipeline import analyse
    from crmlib.io import DataError
    with pytest.raises(DataError, match="only the Spark engine reads"):
        analyse("main.sales.transactions", engine="duckdb")


# ------------------------------------------------------------ logs at the edge of identification
def _edge_log(n: int, p_leave: float, rng: int) -> pd.DataFrame:
    """Purchases at a rate Gamma(2, 1/120) per day from a first purchase within 200 days,
    to the end of the next year; after each purchase the customer leaves with ``p_leave``."""
    g = np.random.default_rng(rng)
    ids, days = [], []
    for i in range(n):
        t, lam = g.uniform(0, 200), g.gamma(2.0, 1 / 120)
        mine = [t]
        while not (p_leave and g.random() < p_leave):
            t += g.exponential(1 / lam)
            if t > 730:
                break
            mine.append(t)
        ids += [f"C{i:04d}"] * len(mine)
        days += mine
    date = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(days), unit="D")
    amount = np.round(g.gamma(2.0, 50.0, len(days)) * g.gamma(6.0, 1 / 5.0, len(days)), 2)
    return pd.DataFrame({"customer_id": ids, "date": date.strftime("%Y-%m-%d"),
                         "amount": amount})


@pytest.mark.slow
@pytest.mark.parametrize("p_leave", [0.3, 0.0], ids=["dropout-weakly-identified", "nobody-leaves"])
def test_edge_logs_complete_with_a_labelled_answer(tmp_path, p_leave):
    """Two small logs at the edge of what the models identify (frequent buyers, a 30%
    chance to leave after each purchase; the same buyers never leaving) run to the end
    and say in the report which answer they give."""
    path = tmp_path / "transactions.csv"
    _edge_log(250, p_leave, rng=18).to_csv(path, index=False)
    r, customers = _run(tmp_path, transactions=str(path), observation_end="2025-12-31",
                        calibration_end=None, subscriptions=None, time_unit="W",
                        model="auto", horizon_months=12)
    assert np.isfinite(r["clv_total"]) and r["clv_total"] > 0
    low, high = r["clv_total_ci"]
    assert np.isfinite(low) and np.isfinite(high) and low <= r["clv_total"] <= high
    assert np.isfinite(customers["clv"]).all() and len(customers) == 250
    shown = "\n".join(str(o.get("data", {}).get("text/markdown", ""))
                      for c in nbformat.read(str(tmp_path / "run.ipynb"), as_version=4).cells
                      if c.cell_type == "code" for o in c.get("outputs", []))
    for note in r["identification_notes"]:
        assert note in shown
    if p_leave == 0.0:
        assert r["clv_upper_bound"] and r["model_limit"]
        assert any("upper bound" in s for s in r["identification_notes"])


@pytest.mark.slow
def test_awkward_logs_complete_through_the_notebook(tmp_path):
    """A six-month window of 200 customers and a log with one huge key account (see
    tests/awkward_logs.py; the other awkward logs go through the same pipeline in
    tests/test_clv_edges.py) run to the end with a finite value and its interval, and the
    identification notes are shown in the notebook."""
    from awkward_logs import awkward_log
    for case in ("200 customers, 6-month window", "one huge customer"):
        run = tmp_path / case.replace(" ", "_").replace(",", "")
        run.mkdir()
        tx = awkward_log(case)
        tx.to_csv(run / "transactions.csv", index=False)
        r, customers = _run(run, transactions=str(run / "transactions.csv"),
                            observation_end=None, calibration_end=None, subscriptions=None,
                            time_unit="W", model="auto", horizon_months=12)
        low, high = r["clv_total_ci"]
        assert np.isfinite(low) and np.isfinite(high) and low <= r["clv_total"] <= high, case
        assert len(customers) == tx["customer_id"].nunique()
        assert np.isfinite(customers["clv"]).all(), case
        shown = "\n".join(str(o.get("data", {}).get("text/markdown", ""))
                          for c in nbformat.read(str(run / "run.ipynb"), as_version=4).cells
                          if c.cell_type == "code" for o in c.get("outputs", []))
        assert all(note in shown for note in r["identification_notes"]), case
