"""Scheduled runs: several clients in parallel, ``--keep``, the per-client lock and
read-only completed runs (tiny fixture notebooks; most runs skip the kernels)."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from crmlib import cli, paths
from crmlib.io.errors import DataError
from crmlib.report import read_latest, run_report
from crmlib.report import runner as runner_mod
from crmlib.report.batch import (
    ClientOutcome,
    expand_configs,
    overall_exit,
    run_clients,
    share_jobs,
    summary_line,
)
from crmlib.report.lock import ClientBusy, client_lock, read_holder
from crmlib.report.retention import (
    STALE_PARTIAL_SECONDS,
    complete_runs,
    freeze,
    is_frozen,
    prune,
    run_sort_key,
)

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0  # root ignores permission bits


def write_config(folder: Path, name: str, client: str, notebooks: dict, nb_dir: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump({"client": client, "notebook_dir": str(nb_dir),
                                    "notebooks": notebooks}, sort_keys=False), encoding="utf-8")
    return path


def skip_kernels(monkeypatch) -> None:
    """Runs without kernels: every notebook 'succeeds' (or fails when its name says so)."""
    def fake(jobs, run_dir, *args, **kwargs):
        return {j.stem: {"stem": j.stem, "status": "failed" if "fail" in j.stem else "ok",
                         "seconds": 0.1, "error": None} for j in jobs}

    monkeypatch.setattr(runner_mod, "_execute_all", fake)


@pytest.fixture()
def fake_runs(monkeypatch):
    """See :func:`skip_kernels`."""
    skip_kernels(monkeypatch)


# -- several clients in parallel -------------------------------------------------------------

def test_clients_run_in_parallel_worst_exit_code_wins(project, capsys):
    nbs, cfgs, out = project / "notebooks", project / "clients", project / "reports"
    write_config(cfgs, "good.yaml", "Good Client", {"ok": {"n": 2}}, nbs)
    bad = write_config(cfgs, "bad.yaml", "Bad Client", {"failing": {}}, nbs)
    (cfgs / "notes.txt").write_text("not a configuration")
    old_run = out / "good-client" / "20200101-000000"  # an earlier complete run, for --keep
    old_run.mkdir(parents=True)
    (old_run / "run.json").write_text("{}")
    freeze(old_run)
    # a quoted pattern, expanded by crm: both clients, each in its own process
    code = cli.main(["report", "--config", str(cfgs / "*.yaml"), "--out", str(out),
                     "--jobs", "2", "--keep", "1"])
    stdout, stderr = capsys.readouterr()
    assert code == 1, stderr
    lines = stdout.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in stderr
    by_client = {line.split()[1]: line for line in lines}
    good_line, bad_line = by_client["good-client"], by_client["bad-client"]
    assert good_line.startswith("ok ") and "1/1 notebooks ok" in good_line
    assert "removed 1 old run(s)" in good_line and not old_run.exists()
    assert bad_line.startswith("FAILED ") and "0/1 notebooks ok" in bad_line
    assert "(not ok: failing)" in bad_line
    assert "2 clients, 2 at a time, up to 1 notebook(s) each" in stderr
    records = {slug: json.loads(next((out / slug).glob("*/run.json")).read_text())
               for slug in ("good-client", "bad-client")}
    assert records["good-client"]["exit_code"] == 0 and records["bad-client"]["exit_code"] == 1
    # separate processes (the lock file keeps the pid of its last holder), at the same time
    pids = {read_holder(out / slug / ".lock")["pid"] for slug in records}
    assert len(pids) == 2 and str(os.getpid()) not in pids
    (a, b) = records.values()
    assert a["started"] <= b["finished"] and b["started"] <= a["finished"]
    assert read_latest(out / "good-client") is not None and read_latest(out / "bad-client") is None

    # a client that cannot start (bad configuration, or another run holds its lock) makes
    # the overall code 2, with one line per client
    broken = write_config(cfgs, "broken.yaml", "Broken", {"nope": {}}, nbs)
    with client_lock(out / "bad-client", "bad-client"):
        code = cli.main(["report", "--config", str(bad), str(broken), "--out", str(out),
                         "--quiet"])
    stdout, stderr = capsys.readouterr()
    assert code == 2, stdout + stderr
    by_client = {line.split()[1]: line for line in stdout.strip().splitlines()}
    assert set(by_client) == {"bad-client", "broken"} and stderr == ""
    assert by_client["broken"].startswith("ERROR ") and "notebook not found" in by_client["broken"]
    assert by_client["bad-client"].startswith("ERROR ") and (
        f"another run of this client is in progress (pid {os.getpid()}, started "
        in by_client["bad-client"])
    assert len(complete_runs(out / "bad-client")) == 1  # the refused run wrote nothing


def test_two_configurations_of_one_client_never_run_together(project):
    nbs, cfgs = project / "notebooks", project / "clients"
    first = write_config(cfgs, "a.yaml", "Same Co", {"nope": {}}, nbs)
    second = write_config(cfgs, "b.yaml", "Same Co", {"ok": {}}, nbs)
    seen = []
    outcomes = run_clients([first, second], out=project / "reports", on_done=seen.append)
    assert [o.config for o in outcomes] == [first, second] and len(seen) == 2
    assert outcomes[1].exit_code == 2 and outcomes[1].error == (
        "same-co: same reports folder as a.yaml; this configuration was not run")
    assert outcomes[0].exit_code == 2 and "notebook not found" in outcomes[0].error
    assert overall_exit(outcomes) == 2


def test_jobs_are_shared_between_clients():
    assert share_jobs(3, 1) == (1, 1)    # one client at a time, one notebook
    assert share_jobs(3, 2) == (2, 1)
    assert share_jobs(2, 8) == (2, 4)    # each client gets half of the slots
    assert share_jobs(5, 4) == (4, 1)    # never more notebooks than --jobs
    assert share_jobs(1, 6) == (1, 6)


def test_overall_exit_is_the_worst_client():
    def outcome(code):
        return ClientOutcome(Path("c.yaml"), code)

    assert overall_exit([outcome(0), outcome(0)]) == 0
    assert overall_exit([outcome(0), outcome(1)]) == 1
    assert overall_exit([outcome(1), outcome(2), outcome(0)]) == 2
    line = summary_line(ClientOutcome(Path("x.yaml"), 2, error="x.yaml: file not found"))
    assert line.startswith("ERROR") and "could not start: x.yaml: file not found" in line


def test_config_patterns(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "clients").mkdir()
    for name in ("b.yaml", "a.yaml"):
        (tmp_path / "clients" / name).write_text("client: x\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # a pattern that matches nothing in the current folder falls back to the project root
    found = expand_configs(["clients/*.yaml", "clients/a.yaml"], cwd=elsewhere)
    assert found == [tmp_path / "clients" / "a.yaml", tmp_path / "clients" / "b.yaml"]
    with pytest.raises(DataError, match="no configuration file matches 'clients/\\*.yml'"):
        expand_configs(["clients/*.yml"], cwd=elsewhere)
    assert cli.main(["report", "--config", str(tmp_path / "none" / "*.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crm: error: no configuration file matches") and err.count("\n") == 1


# -- --keep ------------------------------------------------------------------------------------

def test_keep_prunes_old_runs_but_never_latest(project, fake_runs):
    nbs, out = project / "notebooks", project / "reports"
    cfg = write_config(project, "c.yaml", "Keep Co", {"ok": {}}, nbs)
    failing = write_config(project, "f.yaml", "Keep Co", {"ok": {}, "failing": {}}, nbs)
    good = run_report(cfg, out=out, progress=False)
    failed = [run_report(failing, out=out, progress=False) for _ in range(3)]
    client_dir = good.run_dir.parent
    assert read_latest(client_dir) == good.run_dir
    # an interrupted run long ago, one still being written, and a folder that is no run
    stale = client_dir / "20000101-000000.partial"
    fresh = client_dir / "20990101-000000.partial"
    for folder in (stale, fresh, client_dir / "notes"):
        (folder / "results").mkdir(parents=True)
    old = time.time() - STALE_PARTIAL_SECONDS - 60
    for path in (stale / "results", stale):
        os.utime(path, (old, old))

    last = run_report(failing, out=out, progress=False, keep=2)
    assert last.exit_code == 1
    remaining = {p.name for p in client_dir.iterdir() if p.is_dir()}
    # the 2 newest complete runs, the run 'latest' points at, and what is not ours to remove
    assert remaining == {failed[-1].run_id, last.run_id, good.run_id, fresh.name, "notes",
                         "latest"}
    assert sorted(last.pruned) == sorted([failed[0].run_id, failed[1].run_id, stale.name])
    assert read_latest(client_dir) == good.run_dir
    page = (client_dir / "index.html").read_text()
    assert f'href="{failed[0].run_id}/index.html"' not in page
    assert f'href="{last.run_id}/index.html"' in page


def test_prune_keeps_the_run_just_made_and_orders_run_ids(tmp_path):
    for name in ("20240101-000000", "20240101-000000-2", "20240101-000000-10"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text("{}")
    assert [p.name for p in complete_runs(tmp_path)] == [
        "20240101-000000", "20240101-000000-2", "20240101-000000-10"]
    assert run_sort_key("20240101-000000-10") > run_sort_key("20240101-000000-9")
    removed = prune(tmp_path, keep=1, protect={"20240101-000000"})
    assert removed == ["20240101-000000-2"]
    with pytest.raises(ValueError, match="at least 1"):
        prune(tmp_path, keep=0)


# -- one run per client at a time ---------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from crmlib.report.lock import client_lock
with client_lock(Path(sys.argv[1]), "lock-co"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_second_run_of_a_client_is_refused_until_the_holder_dies(project, fake_runs, capsys):
    nbs, out = project / "notebooks", project / "reports"
    cfg = write_config(project, "c.yaml", "Lock Co", {"ok": {}}, nbs)
    client_dir = out / "lock-co"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(client_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ClientBusy) as err:
            run_report(cfg, out=out, progress=False)
        assert str(err.value).startswith(f"lock-co: another run of this client is in progress "
                                         f"(pid {holder.pid}, started 20")
        code = cli.main(["report", "--config", str(cfg), "--out", str(out)])
        stdout, stderr = capsys.readouterr()
        assert code == 2 and stdout == "" and stderr.count("\n") == 1
        assert stderr.startswith(f"crm: error: lock-co: another run of this client is in "
                                 f"progress (pid {holder.pid}")
        assert [p.name for p in client_dir.iterdir()] == [".lock"]  # nothing written
    finally:
        holder.kill()  # a crash: the lock goes with the process, the file stays
        holder.wait()
    assert read_holder(client_dir / ".lock")["pid"] == str(holder.pid)
    result = run_report(cfg, out=out, progress=False)
    assert result.exit_code == 0
    assert read_holder(client_dir / ".lock")["pid"] == str(os.getpid())


def test_stale_lock_file_does_not_block(project, fake_runs):
    nbs, out = project / "notebooks", project / "reports"
    cfg = write_config(project, "c.yaml", "Stale Co", {"ok": {}}, nbs)
    (out / "stale-co").mkdir(parents=True)
    (out / "stale-co" / ".lock").write_text("pid 999999\nstarted 2020-01-01T00:00:00+00:00\n")
    result = run_report(cfg, out=out, progress=False)
    assert result.exit_code == 0 and result.run_dir.is_dir()
    holder = read_holder(out / "stale-co" / ".lock")
    assert holder["pid"] == str(os.getpid()) and holder["config"] == str(cfg)


# -- a completed run never changes ----------------------------------------------------------

def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_completed_runs_are_read_only_and_a_rerun_is_a_new_folder(project, monkeypatch):
    nbs, out = project / "notebooks", project / "reports"
    cfg = write_config(project, "c.yaml", "Frozen Co", {"ok": {"n": 2}}, nbs)
    first = run_report(cfg, out=out, progress=False)
    assert first.exit_code == 0 and is_frozen(first.run_dir)
    files = [p for p in first.run_dir.rglob("*") if p.is_file()]
    assert {"index.html", "run.json", "ok.html", "ok.ipynb", "results.json"} <= {
        p.name for p in files}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path
    for path in [first.run_dir, *(p for p in first.run_dir.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o555, path
    if not ROOT_USER:
        with pytest.raises(PermissionError):
            (first.run_dir / "index.html").open("a")
        with pytest.raises(PermissionError):
            (first.run_dir / "extra.txt").write_text("x")
    before = _snapshot(first.run_dir)

    skip_kernels(monkeypatch)  # the rerun needs no kernel
    second = run_report(cfg, out=out, progress=False)
    assert second.run_dir != first.run_dir and second.run_dir.is_dir()
    assert _snapshot(first.run_dir) == before  # the earlier run is untouched
    # what lives one level up is still maintained
    assert read_latest(first.run_dir.parent) == second.run_dir
    assert f'href="{second.run_id}/index.html"' in (first.run_dir.parent / "index.html").read_text()


# -- interrupted ------------------------------------------------------------------------------

@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the kernels gone")
def test_interrupting_several_clients_leaves_each_run_partial(project):
    """SIGINT to crm alone (as `kill -INT` from a scheduler): every client's run stops,
    stays .partial, exit 130, and no kernel is left behind."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('output_dir: str = "x"  # results\nmark: str = ""  # pid file')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(
        "import os, time\nopen(mark, 'w').write(str(os.getpid()))\ntime.sleep(120)")]
    nbformat.write(nb, project / "notebooks" / "slow.ipynb")
    marks = [project / f"kernel-{i}.pid" for i in range(2)]
    cfgs = [write_config(project / "clients", f"{i}.yaml", f"Slow {i}",
                         {"slow": {"mark": str(marks[i])}}, project / "notebooks")
            for i in range(2)]
    proc = subprocess.Popen([sys.executable, "-m", "crmlib.cli", "report", "--config",
                             *map(str, cfgs), "--out", str(project / "reports"), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while not all(m.exists() for m in marks) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert all(m.exists() for m in marks), "the notebooks never started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert out.count("STOPPED ") == 2 and "stays in its .partial folder" in out
    for slug in ("slow-0", "slow-1"):
        runs = [p.name for p in (project / "reports" / slug).iterdir() if p.is_dir()]
        assert len(runs) == 1 and runs[0].endswith(".partial")
    kernels = [int(m.read_text()) for m in marks]
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{k}").exists() for k in kernels):
        time.sleep(0.2)
    assert not any(Path(f"/proc/{k}").exists() for k in kernels), "a kernel outlived the run"
