"""The whole product on the small demo client: `crm report` end to end, then the HTML in a browser.

The browser checks open the index and every report in headless Chromium (Debian's
``chromium``; ``.ci/run`` installs it) through Playwright: no console errors, no request
outside ``file://``, every image decoded, client text escaped. Screenshots are saved under
``test-artifacts/`` for a human look.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crmlib import paths
from crmlib.demo import generate
from offline_browser import check_page, chromium

NOTEBOOKS = ["01_crm_assessment", "02_clv_modelling", "03_satisfaction_gaps", "04_phase_roi",
             "05_executive_summary"]
HOSTILE = "<script>alert(1)</script> & Co"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    data = base / "data"
    generate(data, seed=11, size="small")
    demo = yaml.safe_load((paths.CLIENTS / "demo.yaml").read_text())
    config = {"client": HOSTILE, "slug": "e2e", "notebooks": {}}
    for stem, params in demo["notebooks"].items():
        config["notebooks"][stem] = {
            k: (str(data / Path(v).name) if isinstance(v, str) and v.startswith("data/demo/") else v)
            for k, v in (params or {}).items()}
    cfg = base / "client.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = base / "reports"
    proc = subprocess.run([sys.executable, "-m", "crmlib.cli", "report", "--config", str(cfg),
                           "--out", str(out), "--quiet"], capture_output=True, text=True,
                          timeout=900)
    runs = [p for p in (out / "e2e").iterdir() if p.is_dir() and p.name != "latest"]
    return proc, runs


def test_demo_report_succeeds_for_every_notebook(demo_run):
    proc, runs = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(runs) == 1 and not runs[0].name.endswith(".partial")
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["status"] == "ok" and run["exit_code"] == 0
    assert {s: n["status"] for s, n in run["notebooks"].items()} == {s: "ok" for s in NOTEBOOKS}
    assert run["inputs_sha256"] and run["versions"]
    assert (runs[0] / "index.html").exists()
    for stem in NOTEBOOKS:
        assert (runs[0] / f"{stem}.html").exists(), stem
        assert (runs[0] / "results" / stem / "results.json").exists(), stem


def test_results_carry_the_contracted_keys(demo_run):
    _, runs = demo_run
    res = runs[0] / "results"
    keys = {
        "01_crm_assessment": ["n_respondents", "groups", "company_stage", "mean_stage",
                              "stage_by_driver", "stage_by_group", "misaligned_capabilities",
                              "staff_vs_customer_gap", "priorities"],
        "02_clv_modelling": ["n_customers", "n_transactions", "excluded", "model", "params",
                             "params_se", "log_likelihood", "gamma_gamma", "clv_total",
                             "clv_total_ci", "top_decile_share"],
        "03_satisfaction_gaps": ["n_respondents", "excluded", "gaps_by_dimension", "gaps_by_item",
                                 "reliability", "ipa", "drivers", "priorities"],
        "04_phase_roi": ["phases", "programme"],
    }
    for stem, wanted in keys.items():
        got = json.loads((res / stem / "results.json").read_text())
        assert set(wanted) <= set(got), (stem, set(wanted) - set(got))
        assert got.get("headline"), stem
    assert (res / "02_clv_modelling" / "customers.csv").exists()


def test_reports_open_offline_in_a_real_browser(demo_run):
    _, runs = demo_run
    pages = [runs[0] / "index.html"] + [runs[0] / f"{s}.html" for s in NOTEBOOKS]
    with chromium() as browser:
        for page_path in pages:
            check_page(browser, page_path, page_path.stem)
        index = browser.new_page()
        index.on("dialog", lambda d: pytest.fail(f"client text ran as script: {d.message}"))
        index.goto(pages[0].as_uri(), wait_until="load")
        assert HOSTILE in index.inner_text("body")
