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
