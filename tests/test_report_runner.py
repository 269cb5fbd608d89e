"""The report runner on tiny fixture notebooks: isolation of failures, exit codes,
run folders, the ``latest`` pointer, run.json and the client HTML."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from crmlib.io.errors import DataError, ParameterError
from crmlib.report import external_references, read_latest, run_report
from crmlib.report import runner as runner_mod
from crmlib.report.runner import exit_code

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


def make_project(root: Path) -> Path:
    """Copy the fixture notebooks into ``root/notebooks`` (plus a second downstream one)."""
    nbs = root / "notebooks"
    shutil.copytree(FIXTURES, nbs)
    shutil.copy(nbs / "downstream.ipynb", nbs / "blocked.ipynb")
    shutil.copy(nbs / "downstream.ipynb", nbs / "no_file.ipynb")
    return nbs


def write_config(root: Path, notebooks: dict, name: str = "c.yaml", **extra) -> Path:
    cfg = {"client": "Acme <Test> & Co", "notebook_dir": str(root / "notebooks"),
           "notebooks": notebooks, **extra}
    path = root / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two good runs of one notebook, then a mixed run with failures, same client."""
    root = tmp_path_factory.mktemp("project")
    make_project(root)
    out = root / "reports"
    good_cfg = write_config(root, {"ok": {"n": 4}}, "good.yaml")
    good1 = run_report(good_cfg, out=out, progress=False, as_of="2024-06-30")
    good2 = run_report(good_cfg, out=out, progress=False)
    mixed_cfg = write_config(root, {
        "ok": {"n": 4}, "failing": {}, "downstream": {"customers": "from:ok"},
        "blocked": {"customers": "from:failing/customers.csv"},
        "no_file": {"customers": "from:ok/segments.csv"}, "summary": {}}, "mixed.yaml")
    mixed = run_report(mixed_cfg, out=out, jobs=2, progress=False)
    return {"root": root, "out": out, "good1": good1, "good2": good2, "mixed": mixed}


def test_all_ok_exits_0_and_moves_latest(runs):
    good1, good2 = runs["good1"], runs["good2"]
    assert good1.exit_code == 0 and good2.exit_code == 0
    assert good1.notebooks["ok"]["status"] == "ok"
    assert good1.latest_moved and good2.latest_moved
    assert good1.run_dir.parent.name == "acme-test-co"


def test_rerun_gives_a_new_run_folder(runs):
    assert runs["good1"].run_dir != runs["good2"].run_dir
    assert runs["good1"].run_dir.is_dir() and runs["good2"].run_dir.is_dir()


def test_failing_notebook_is_isolated_and_exits_1(runs):
    mixed = runs["mixed"]
    assert mixed.exit_code == 1
    status = {k: v["status"] for k, v in mixed.notebooks.items()}
    assert status == {"ok": "ok", "failing": "failed", "downstream": "ok",
                      "blocked": "skipped", "no_file": "skipped", "summary": "ok"}
    assert mixed.notebooks["no_file"]["error"] == "not run: ok succeeded but wrote no segments.csv"
    assert "planted failure" in mixed.notebooks["failing"]["error"]
    # the failing notebook's executed copy is kept (it is the log), with its HTML
    executed = nbformat.read(mixed.run_dir / "failing.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in executed.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
    assert (mixed.run_dir / "failing.html").is_file()
    # the others' reports are intact
    for stem in ("ok", "downstream", "summary"):
        assert (mixed.run_dir / f"{stem}.html").is_file()
        assert (mixed.run_dir / "results" / stem / "results.json").is_file()


def test_failed_run_never_moves_latest(runs):
    client_dir = runs["mixed"].run_dir.parent
    assert not runs["mixed"].latest_moved
    assert read_latest(client_dir) == runs["good2"].run_dir


def test_client_index_lists_every_run(runs):
    client_dir = runs["mixed"].run_dir.parent
    page = (client_dir / "index.html").read_text()
    for key in ("good1", "good2", "mixed"):
        assert f'href="{runs[key].run_id}/index.html"' in page
    assert page.index(runs["mixed"].run_id) < page.index(runs["good1"].run_id)  # newest first
    assert f'{runs["good2"].run_id}</a> <span class="badge ok">latest</span>' in page
    assert "3 of 6 ok, failures" in page and "1 of 1 ok, all succeeded" in page
    assert "Acme &lt;Test&gt; &amp; Co" in page and external_references(page) == []


def test_no_partial_folder_left_after_a_run(runs):
    assert not list(runs["out"].glob("*/*.partial"))


def test_dependencies_pass_results_between_notebooks(runs):
    run_dir = runs["mixed"].run_dir
    down = json.loads((run_dir / "results" / "downstream" / "results.json").read_text())
    assert down["headline"][0]["value"] == 4  # the 4 customers written by "ok"
    summary = json.loads((run_dir / "results" / "summary" / "results.json").read_text())
    assert summary["found"] == ["downstream", "ok"]  # it ran after the others
    assert "failing" in runs["mixed"].notebooks["blocked"]["error"]


def test_as_of_reaches_notebooks_that_declare_it(runs):
    res = json.loads((runs["good1"].run_dir / "results" / "ok" / "results.json").read_text())
    assert res["as_of"] == "2024-06-30"


def test_run_json_records_the_run(runs):
    record = json.loads((runs["mixed"].run_dir / "run.json").read_text())
    assert record["exit_code"] == 1 and record["status"] == "failed"
    assert record["notebooks"]["failing"]["status"] == "failed"
    assert record["versions"]["papermill"] and record["versions"]["python"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in record["inputs_sha256"].values())
    assert any(p.endswith("mixed.yaml") for p in record["inputs_sha256"])
    params = record["notebooks"]["downstream"]["parameters"]
    assert ".partial" not in json.dumps(params)
    assert params["customers"].endswith("results/ok/customers.csv")
    assert record["notebooks"]["summary"]["needs"] == ["blocked", "downstream", "failing",
                                                       "no_file", "ok"]
    log = (runs["mixed"].run_dir / "run.log").read_text()
    assert "planted failure" in log and "finished" in log


def test_index_shows_status_headline_and_errors(runs):
    html = (runs["mixed"].run_dir / "index.html").read_text()
    assert "Acme &lt;Test&gt; &amp; Co" in html and "<Test>" not in html
    assert "planted failure in the fixture" in html
    assert "1,234.5" not in html  # money without decimals, the currency first
    assert "EUR 1,234<" in html or "EUR 1,235<" in html
    assert "interval EUR 1,000 to 1,500<" in html
    assert ">Fixture: a notebook that succeeds</a>" in html
    assert 'href="ok.html"' in html and 'href="results/ok/results.json"' in html
    assert f'href="../{runs["good2"].run_id}/index.html"' in html  # the last good report
    assert external_references(html) == []


def test_html_is_self_contained_without_code(runs):
    run_dir = runs["mixed"].run_dir
    for page in run_dir.glob("*.html"):
        text = page.read_text()
        assert external_references(text) == [], page.name
        assert not re.search(r"<(script|link|img)\b[^>]*(src|href)\s*=\s*[\"']?(https?:)?//",
                             text, re.I), page.name
    ok = (run_dir / "ok.html").read_text()
    assert "secret_code_marker" not in ok and "import matplotlib" not in ok
    assert "data:image/png;base64," in ok            # the chart is embedded
    assert '<a href="index.html">all reports of this run</a>' in ok
    assert "customers written: 4" in ok               # outputs are shown
    assert "<title>Fixture: a notebook that succeeds · Acme &lt;Test&gt; &amp; Co</title>" in ok
    assert '<span class="crm-math">x̄ = 1/n Σ<sub>i</sub> x<sub>i</sub></span>' in ok


# -- problems found before anything runs (no kernel starts) ---------------------------------

@pytest.fixture()
def project(tmp_path):
    make_project(tmp_path)
    return tmp_path


def _nothing_written(out: Path) -> bool:
    return not out.exists() or not any(out.rglob("*"))


@pytest.mark.parametrize("params, message", [
    ({"data_file": "missing.csv"}, "checked: parameter 'data_file': file not found"),
    ({"threshold": 2}, "checked: parameter 'threshold': must be at most 1"),
    ({"threshold": "high"}, "checked: parameter 'threshold': expected float, got str 'high'"),
    ({"colour": "red"}, "checked: parameter 'colour': unknown parameter"),
    ({"options": [1]}, "checked: parameter 'options': expected dict, got list"),
])
def test_bad_parameters_stop_before_any_kernel(project, monkeypatch, params, message):
    monkeypatch.syspath_prepend(str(project / "notebooks"))
    cfg = write_config(project, {"ok": {}, "checked": {
        "data_file": str(project / "notebooks" / "data.csv"), **params}})
    with pytest.raises(ParameterError) as err:
        run_report(cfg, out=project / "reports", progress=False)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert _nothing_written(project / "reports")


@pytest.mark.parametrize("notebooks, message", [
    ({"nope": {}}, "notebook not found"),
    ({"downstream": {"customers": "from:ghost"}}, "names no other notebook"),
    ({"ok": {"output_dir": "x"}}, "set by the runner"),
])
def test_bad_configuration_is_a_data_error(project, notebooks, message):
    cfg = write_config(project, notebooks)
    with pytest.raises(DataError, match=message):
        run_report(cfg, out=project / "reports", progress=False)
    assert _nothing_written(project / "reports")


def test_unknown_only_name(project):
    cfg = write_config(project, {"ok": {}})
    with pytest.raises(DataError, match="--only: no notebook 'zz'"):
        run_report(cfg, only=["zz"], out=project / "reports", progress=False)


def test_interrupted_run_stays_partial(project, monkeypatch):
    """A run that breaks after its notebooks ran is never left looking complete."""
    cfg = write_config(project, {"ok": {}})
    fake = {"ok": {"stem": "ok", "status": "ok", "seconds": 0.1, "error": None}}
    monkeypatch.setattr(runner_mod, "_execute_all", lambda *a, **k: fake)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runner_mod, "write_index", broken)
    with pytest.raises(RuntimeError):
        run_report(cfg, out=project / "reports", progress=False)
    client_dir = project / "reports" / "acme-test-co"
    assert [p.name.endswith(".partial") for p in client_dir.iterdir() if p.is_dir()] == [True]
    assert {p.name for p in client_dir.iterdir() if not p.is_dir()} == {".lock"}
    assert read_latest(client_dir) is None
    assert "run aborted" in next(client_dir.glob("*.partial/run.log")).read_text()


def test_exit_codes():
    ok = {"status": "ok"}
    assert exit_code({"a": ok, "b": ok}) == 0
    assert exit_code({"a": ok, "b": {"status": "failed"}}) == 1
    assert exit_code({"a": {"status": "failed"}}) == 1
    assert exit_code({"a": {"status": "not-started"}, "b": {"status": "skipped"}}) == 2


def test_run_ids_never_collide(tmp_path):
    import datetime as dt
    now = dt.datetime(2024, 1, 2, 3, 4, 5)
    first = runner_mod.new_run_id(tmp_path, now)
    (tmp_path / f"{first}.partial").mkdir()
    second = runner_mod.new_run_id(tmp_path, now)
    assert (first, second) == ("20240102-030405", "20240102-030405-2")


def test_a_blocked_latest_pointer_does_not_fail_a_good_run(project, monkeypatch):
    cfg = write_config(project, {"ok": {}})
    fake = {"ok": {"stem": "ok", "status": "ok", "seconds": 0.1, "error": None}}
    monkeypatch.setattr(runner_mod, "_execute_all", lambda *a, **k: fake)
    client_dir = project / "reports" / "acme-test-co"
    (client_dir / "latest").mkdir(parents=True)  # a folder made by hand
    result = run_report(cfg, out=project / "reports", progress=False)
    assert result.exit_code == 0 and not result.latest_moved
    assert any("'latest' not updated" in w for w in result.warnings)
    assert result.run_dir.is_dir() and (result.run_dir / "index.html").is_file()


def test_a_client_run_never_falls_back_on_demo_data(project, monkeypatch):
    """A default pointing into data/demo must be set explicitly for a real client."""
    from crmlib import paths

    monkeypatch.setattr(paths, "DEMO", project / "notebooks")  # "checked" defaults live here
    monkeypatch.setattr(paths, "ROOT", project / "notebooks")
    monkeypatch.syspath_prepend(str(project / "notebooks"))
    cfg = write_config(project, {"checked": {"threshold": 0.2}})
    with pytest.raises(ParameterError, match="parameter 'data_file': not set in c.yaml and its "
                                             r"default is the demo data \(data.csv\)"):
        run_report(cfg, out=project / "reports", progress=False)
    # the demo client itself (its configuration uses the demo data) may rely on defaults
    cfg = write_config(project, {"checked": {"threshold": 0.2, "options": {}},
                                 "ok": {"label": str(project / "notebooks" / "data.csv")}})
    from crmlib.report.check import validate_config
    from crmlib.report.config import load_config
    assert all(c.ok for c in validate_config(load_config(cfg)))
