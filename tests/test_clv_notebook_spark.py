"""Notebook 02 with engine="spark": the results contract, and the same numbers as pandas.

Runs Spark with ``local[2]`` when pyspark and Java are installed; skipped with the reason
otherwise.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_clv_notebook import _run
from test_clv_spark import AVAILABLE, REASON, spark  # noqa: F401  (shared fixture)

pytestmark = pytest.mark.filterwarnings(  # pyspark's own notices about pandas 3
    "ignore:PySpark does not yet fully support pandas", "ignore:The copy keyword is deprecated")

CONTRACT = ("n_customers", "n_customers_calibration", "n_transactions", "excluded", "time_unit",
            "time_unit_name", "first_purchase", "observation_end", "calibration_end", "model",
            "model_label", "params", "params_se", "params_ci", "log_likelihood", "aic", "bic",
            "params_full_period", "model_comparison", "holdout", "gamma_gamma",
            "gamma_gamma_se", "spend_independence", "margin", "discount_rate_annual",
            "discount_rate_monthly", "horizon_months", "clv_total", "clv_total_ci",
            "clv_interval_level", "top_decile_share", "top_20_share", "covariates",
            "subscriptions", "data_quality", "headline")


@pytest.mark.slow
def test_spark_engine_agrees_with_pandas(clv_small, tmp_path):  # noqa: F811
    if not AVAILABLE:
        pytest.skip(f"Spark tests need pyspark and Java: {REASON}")
    params = dict(transactions=str(clv_small / "transactions.csv"),
                  subscriptions=str(clv_small / "subscriptions.csv"),
                  observation_end="2025-06-30", calibration_end="2024-12-31",
                  time_unit="W", model="auto", horizon_months=24)
    (tmp_path / "pandas").mkdir()
    local, _ = _run(tmp_path / "pandas", engine="pandas", **params)
    out = tmp_path / "spark" / "out"
    from test_clv_notebook import NOTEBOOK, paths, pm
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "spark.ipynb"),
                        parameters={"output_dir": str(out), "engine": "spark",
                                    "spark_master": "local[2]", **params},
                        kernel_name="python3", cwd=str(paths.ROOT), progress_bar=False)
    r = json.loads((out / "results.json").read_text())
    for key in CONTRACT:
        assert key in r and key in local, key
    assert r["engine"] == "spark" and not (out / "customers.csv").exists()
    assert r["customers_table"] == str(out / "customers.parquet")
    scored = pd.read_parquet(out / "customers.parquet")
    assert r["n_customers"] == local["n_customers"] == len(scored) == 500
    assert r["model"] == local["model"]
    for k, v in local["params"].items():
        assert r["params"][k] == pytest.approx(v, rel=1e-6), k
    assert r["clv_total"] == pytest.approx(local["clv_total"], rel=1e-6)
    assert scored["clv"].sum() == pytest.approx(r["clv_total"], rel=1e-9)
    assert r["excluded"] == local["excluded"] and r["n_transactions"] == local["n_transactions"]
    assert r["covariates"] is None and r["subscriptions"] == local["subscriptions"]


def test_summarise_hands_spark_to_the_spark_engine(spark, clv_small):  # noqa: F811
    from crmlib.clv import summarise
    kw = dict(time_unit="W", observation_end="2025-06-30", calibration_end="2024-12-31",
              covariates=("channel",))
    s = summarise(str(clv_small / "transactions.csv"), engine="spark", **kw)
    p = summarise(str(clv_small / "transactions.csv"), engine="pandas", **kw)
    pd.testing.assert_frame_equal(s.to_pandas().customers, p.customers, check_dtype=False,
                                  rtol=1e-12)
    s.unpersist()
