"""A report whose input is a PostgreSQL table: it runs, and no credential reaches run.json,
the log, the executed notebook or the HTML."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from postgres_server import PASSWORD, USER, postgres_server

from crmlib.demo import roi as demo_roi
from crmlib.report.check import validate_config
from crmlib.report.config import load_config
from crmlib.report.runner import run_report


@pytest.mark.slow
def test_phase_roi_report_from_a_postgres_table(tmp_path, monkeypatch):
    import sqlalchemy as sa

    demo_roi.generate(tmp_path, np.random.default_rng(3), "small")
    panel = pd.read_csv(tmp_path / "kpi_panel.csv")
    panel = panel.rename(columns={"unit_id": "Store", "kpi": "Metric", "value": "Value"})
    with postgres_server() as url:
        engine = sa.create_engine(url)
        panel.to_sql("kpi_monthly", engine, index=False)
        engine.dispose()
        monkeypatch.setenv("ACME_DB_URL", url)
        cfg_path = tmp_path / "acme.yaml"
        cfg_path.write_text(yaml.safe_dump({"client": "Acme DB", "notebooks": {"04_phase_roi": {
            "plan": str(tmp_path / "phase_plan.yaml"),
            "kpis": {"database": "ACME_DB_URL", "table": "kpi_monthly"},
            "columns": {"kpis": {"unit_id": "Store", "kpi": "Metric", "value": "Value"}},
            "n_simulations": 500}}}), encoding="utf-8")
        cfg = load_config(cfg_path)
        [check] = validate_config(cfg)
        assert check.ok, check.problems
        assert check.loaded["kpis"].startswith("database $ACME_DB_URL table kpi_monthly: ")
        result = run_report(cfg, out=tmp_path / "reports", progress=False, jobs=1)
        assert result.exit_code == 0
        run_dir = result.run_dir
    written = [p for p in run_dir.rglob("*") if p.is_file()
               and p.suffix in (".json", ".log", ".ipynb", ".html", ".csv", ".txt")]
    assert any(p.name == "run.json" for p in written)
    for p in written:
        text = p.read_text(encoding="utf-8", errors="ignore")
        assert PASSWORD not in text and f"{USER}:" not in text, p
    record = (run_dir / "run.json").read_text(encoding="utf-8")
    assert "ACME_DB_URL" in record
