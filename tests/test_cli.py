"""The ``crm`` command: help, exit codes, one-line errors, validate, new-client, demo-data."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from crmlib import cli, paths
from crmlib.io import loaders
from crmlib.report.config import load_config
from crmlib.report.scaffold import FILES
from crmlib.roi.plan import load_plan

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
COMMANDS = ["report", "validate", "demo-data", "new-client", "params"]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project root in tmp_path with the fixture notebooks."""
    shutil.copytree(FIXTURES, tmp_path / "notebooks")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "notebooks"))
    return tmp_path


def config(root: Path, notebooks: dict) -> str:
    path = root / "client.yaml"
    path.write_text(yaml.safe_dump({"client": "Test Client", "notebook_dir": "notebooks",
                                    "notebooks": notebooks}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", [None] + COMMANDS)
def test_every_command_has_help(command, capsys):
    argv = ([command] if command else []) + ["--help"]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    assert "usage: crm" in capsys.readouterr().out


def test_console_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "crmlib.cli", "report", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--as-of" in proc.stdout
    script = Path(sys.executable).with_name("crm")
    if script.exists():  # the installed console script (pip install -e .)
        proc = subprocess.run([str(script), "validate", "--config", "no/such.yaml"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith("crm: error: ")
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, fragment", [
    (["report"], "the following arguments are required: --config"),
    (["report", "--config", "x.yaml", "--jobs", "0"], "--jobs"),
    (["report", "--config", "x.yaml", "--as-of", "31/12/2024"], "ISO date"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_are_one_line_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_config_file(project, capsys):
    code, out, err = run(["report", "--config", str(project / "nope.yaml")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("crm: error: ") and "nope.yaml: file not found" in err
    assert err.count("\n") == 1


def test_missing_input_exits_2_naming_it(project, capsys):
    cfg = config(project, {"ok": {}, "checked": {"data_file": "data/missing.csv"}})
    code, out, err = run(["report", "--config", cfg, "--out", str(project / "reports")], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "checked: parameter 'data_file': file not found" in err and "missing.csv" in err
    assert not (project / "reports").exists()  # nothing started


def test_report_exit_codes_0_and_1(project, capsys):
    reports = str(project / "reports")
    code, out, err = run(["report", "--config", config(project, {"ok": {"n": 2}}),
                          "--out", reports, "--quiet"], capsys)
    assert code == 0
    index = Path(out.strip())
    assert index.name == "index.html" and index.is_file()
    assert (index.parent.parent / "latest").exists()
    code, out, err = run(["report", "--config", config(project, {"failing": {}}),
                          "--out", reports, "--quiet", "--as-of", "2024-01-31"], capsys)
    assert code == 1 and "1 of 1 notebooks did not succeed: failing" in err
    assert "warning: --as-of 2024-01-31 ignored" in err
    assert Path(out.strip()).is_file()


def _notebook_with_inputs(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('output_dir: str = "x"  # results\n'
                                     'transactions: str = "t.csv"  # transactions\n'
                                     'amount_col: str = "amount"  # amount column')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, folder / "inputs.ipynb")


def test_validate_loads_inputs_through_contracts(project, capsys):
    _notebook_with_inputs(project / "notebooks")
    good = project / "tx.csv"
    good.write_text("customer_id,date,value\nC1,2024-01-02,10.5\nC2,2024-01-03,7\n")
    cfg = config(project, {"inputs": {"transactions": str(good), "amount_col": "value"}})
    code, out, err = run(["validate", "--config", cfg], capsys)
    assert code == 0, err
    assert "2 rows" in out and "all inputs valid" in out
    bad = project / "bad.csv"
    bad.write_text("customer_id,date,amount\nC1,2024-01-02,10.5\nC2,yesterday,7\n")
    cfg = config(project, {"inputs": {"transactions": str(bad)},
                           "checked": {"data_file": "nope.csv"}})
    code, out, err = run(["validate", "--config", cfg], capsys)
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2  # every problem listed, one line each
    assert "bad.csv, column 'date', row 3, value 'yesterday'" in err
    assert "checked: parameter 'data_file': file not found" in err


def test_new_client_scaffold_passes_the_contracts(project, capsys):
    code, out, err = run(["new-client", "Acme Retail"], capsys)
    assert code == 0
    data = project / "data" / "acme-retail"
    loaders_by_file = {"assessment_responses.csv": loaders.load_assessment,
                       "transactions.csv": loaders.load_transactions,
                       "subscriptions.csv": loaders.load_subscriptions,
                       "survey.csv": loaders.load_survey, "survey_items.csv": loaders.load_items,
                       "kpi_panel.csv": loaders.load_kpi_panel}
    assert set(loaders_by_file) == set(FILES)
    for name, load in loaders_by_file.items():
        assert len(load(data / name)) == 1, name
    assert load_plan(data / "phase_plan.yaml").phases[0].goals[0].kpis[0].name == "repeat_rate"
    cfg = load_config(project / "clients" / "acme-retail.yaml")
    assert cfg.client == "Acme Retail" and cfg.slug == "acme-retail"
    assert cfg.notebooks["03_satisfaction_gaps"]["clv_table"] == "from:02_clv_modelling"
    assert (project / "data" / "acme-retail" / "README.md").is_file()
    code, out, err = run(["new-client", "Acme Retail"], capsys)
    assert code == 2 and "exists already; use --force" in err
    assert run(["new-client", "Acme Retail", "--force"], capsys)[0] == 0


def test_demo_data_passes_its_options(monkeypatch, tmp_path, capsys):
    import crmlib.demo

    calls = []

    def fake(out, seed, size):
        calls.append((out, seed, size))
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "TRUTH.md").write_text("# truth")
        return Path(out) / "TRUTH.md"

    monkeypatch.setattr(crmlib.demo, "generate", fake)
    code, out, err = run(["demo-data", "--out", str(tmp_path / "d"), "--seed", "3",
                          "--size", "small"], capsys)
    assert code == 0 and calls == [(tmp_path / "d", 3, "small")]
    assert "TRUTH.md" in out


def test_missing_demo_data_points_at_demo_data(project, monkeypatch, capsys):
    monkeypatch.setattr(paths, "DEMO", project / "data" / "demo")
    cfg = config(project, {"checked": {"data_file": "data/demo/transactions.csv"}})
    code, out, err = run(["validate", "--config", cfg], capsys)
    assert code == 2 and "(generate the demo data first: crm demo-data" in err


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the kernel gone")
def test_interrupted_report_stays_partial_and_stops_kernels(project):
    """Ctrl-C during a run: exit 130, the run stays .partial, no kernel is left behind."""
    import time

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('output_dir: str = "x"  # results')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("import os, time\n"
                                                "open(os.environ['MARK'], 'w').write(str(os.getpid()))\n"
                                                "time.sleep(120)")]
    nbformat.write(nb, project / "notebooks" / "slow.ipynb")
    mark = project / "kernel.pid"
    cfg = config(project, {"slow": {}})
    env = {**os.environ, "CRM_HOME": str(project), "MARK": str(mark)}
    proc = subprocess.Popen([sys.executable, "-m", "crmlib.cli", "report", "--config", cfg,
                             "--out", str(project / "reports"), "--quiet"],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 90
    while not mark.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert mark.exists(), "the notebook never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    runs = [p for p in (project / "reports" / "test-client").iterdir() if p.is_dir()]
    assert [p.name.endswith(".partial") for p in runs] == [True]
    kernel = int(mark.read_text())
    deadline = time.time() + 20
    while time.time() < deadline and Path(f"/proc/{kernel}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{kernel}").exists(), "the kernel outlived the run"


def test_unwritable_reports_folder_is_one_line(project, capsys):
    blocker = project / "not_a_folder"
    blocker.write_text("a file where the reports folder should be")
    code, out, err = run(["report", "--config", config(project, {"ok": {}}),
                          "--out", str(blocker), "--quiet"], capsys)
    assert code == 2 and err.startswith("crm: error: ") and err.count("\n") == 1
    assert "not_a_folder" in err


def test_params_lists_each_notebooks_parameters(monkeypatch, capsys):
    monkeypatch.setattr(paths, "NOTEBOOKS", FIXTURES)
    code, out, err = run(["params", "ok", "summary"], capsys)
    assert code == 0
    assert "  n: int = 3  # number of customers\n" in out
    assert "  as_of: str | None = None  # cut-off date (ISO)" in out
    assert "results_dir: str = 'reports/_scratch'  # results folder of the run [set by the " \
           "runner]" in out
    code, out, err = run(["params", "nope"], capsys)
    assert code == 2 and "no notebook 'nope'" in err
