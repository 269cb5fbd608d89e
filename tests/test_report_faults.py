"""Runs that survive faults: a killed ``crm report`` leaves no process behind and its
``.partial`` folder is removed by the next run."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import yaml

from crmlib import cli, procs
from crmlib.report import read_latest, run_report
from crmlib.report import runner as runner_mod
from crmlib.report.retention import ENDED, OWNER, complete_runs, in_progress, remove_dead_partials
from crmlib.report.worker import io_failure

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
LINUX = sys.platform.startswith("linux")


def write_config(folder: Path, name: str, client: str, notebooks: dict, **extra) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({"client": client, "notebook_dir": str(folder / "notebooks"),
                                    "notebooks": notebooks, **extra}, sort_keys=False),
                    encoding="utf-8")
    return path


def skip_kernels(monkeypatch) -> None:
    """Runs without kernels: every notebook 'succeeds'."""
    def fake(jobs, run_dir, *args, **kwargs):
        return {j.stem: {"stem": j.stem, "status": "ok", "seconds": 0.1, "error": None}
                for j in jobs}

    monkeypatch.setattr(runner_mod, "_execute_all", fake)


def slow_notebook(folder: Path, name: str = "slow.ipynb") -> Path:
    """A notebook that writes its kernel's pid to ``mark``, then sleeps ``sleep`` seconds."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('output_dir: str = "x"  # results\n'
                                     'mark: str = ""  # pid file\nsleep: float = 120  # seconds')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(
        "import os, pathlib, time\n"
        "pathlib.Path(output_dir).mkdir(parents=True, exist_ok=True)\n"
        "pathlib.Path(mark).write_text(f'{os.getpid()} {os.getppid()}')\n"
        "time.sleep(sleep)")]
    path = folder / name
    nbformat.write(nb, path)
    return path


def tagged_processes(token: str) -> list[int]:
    """Pids of the processes whose environment carries ``CRM_TEST_TOKEN=token``."""
    needle = f"CRM_TEST_TOKEN={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if needle in env.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


# -- processes die with their parent ---------------------------------------------------------

CHILD = """
import os, sys, time
from crmlib.procs import die_with_parent
die_with_parent(int(sys.argv[1]))
print(os.getpid(), flush=True)
time.sleep(120)
"""

MIDDLE = """
import subprocess, sys, os, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())],
                         stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("pdeathsig", [True, False], ids=["prctl", "watchdog"])
def test_a_guarded_process_ends_when_its_parent_is_killed(monkeypatch, pdeathsig):
    """Both mechanisms on their own: the Linux parent-death signal and the watchdog."""
    child_code = CHILD if pdeathsig else CHILD.replace(
        "from crmlib.procs import die_with_parent",
        "from crmlib import procs\nprocs._set_pdeathsig = lambda *a: False\n"
        "die_with_parent = procs.die_with_parent")
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, child_code],
                              stdout=subprocess.PIPE, text=True)
    child = int(middle.stdout.readline())
    assert procs.pid_alive(child)
    middle.kill()
    middle.wait()
    assert wait_for(lambda: not procs.pid_alive(child), 10), "the child outlived its parent"


def test_a_process_started_after_its_parent_died_exits_at_once():
    code = "from crmlib.procs import die_with_parent; die_with_parent(1); print('alive')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == procs.EXIT_ORPHANED and "alive" not in done.stdout


STUCK_CLEAN_UP = """
import signal, sys, time
from crmlib.procs import interrupt_with_deadline
signal.signal(signal.SIGINT, interrupt_with_deadline(1.0, "stopped by the deadline"))
try:
    print("ready", flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    if sys.argv[1] == "stuck":
        time.sleep(60)   # a clean-up that never ends
    print("cleaned up", flush=True)
    sys.exit(3)
"""


@pytest.mark.parametrize("clean_up", ["quick", "stuck"])
def test_ctrl_c_ends_the_process_by_the_deadline(clean_up):
    """After a Ctrl-C the process ends within the deadline even when its clean-up hangs; a
    clean-up that finishes keeps its own exit code and says nothing more."""
    proc = subprocess.Popen([sys.executable, "-c", STUCK_CLEAN_UP, clean_up],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    if clean_up == "stuck":
        assert (proc.returncode, out, err.strip()) == (130, "", "stopped by the deadline"), err
    else:
        assert (proc.returncode, out, err) == (3, "cleaned up\n", "")


def test_owner_records_tell_a_dead_run_from_a_live_one():
    assert procs.owner_alive(procs.owner_record()) is True
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = dict(procs.owner_record(), pid=sleeper.pid,
                      pid_start=procs.process_start(sleeper.pid))
        assert procs.owner_alive(record) is True
        if LINUX:  # same pid, another start time: the pid was reused
            assert procs.owner_alive(dict(record, pid_start="1")) is False
    finally:
        sleeper.kill()
        sleeper.wait()
    assert procs.owner_alive(record) is False
    assert procs.owner_alive(dict(record, host=socket.gethostname() + "-other")) is None
    assert procs.owner_alive({"host": socket.gethostname()}) is None


# -- a real kill -9 of crm report ---------------------------------------------------------------

@pytest.mark.skipif(not LINUX, reason="reads /proc to find the run's processes")
def test_kill_9_of_crm_report_leaves_no_process_and_the_next_run_cleans_up(project,
                                                                           monkeypatch):
    slow_notebook(project / "notebooks")
    mark, out = project / "kernel.pid", project / "reports"
    cfg = write_config(project, "c.yaml", "Killed Co", {"slow": {"mark": str(mark)}})
    token = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "crmlib.cli", "report", "--config", str(cfg),
                             "--out", str(out), "--quiet"], env={**os.environ,
                                                                 "CRM_TEST_TOKEN": token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: mark.exists() and mark.read_text(), 90), "no kernel started"
        kernel, worker = map(int, mark.read_text().split())
        tree = set(tagged_processes(token))
        # crm, its notebook worker, the worker's kernel and multiprocessing's resource tracker
        assert {proc.pid, worker, kernel} <= tree and len(tree) >= 4, tree
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left = wait_for(lambda: not tagged_processes(token), 15)
        assert left, f"processes outlived crm report: {tagged_processes(token)}"
    finally:
        for pid in tagged_processes(token):
            os.kill(pid, signal.SIGKILL)
        proc.stderr.close()
    client_dir = out / "killed-co"
    partial = [p for p in client_dir.iterdir() if p.name.endswith(".partial")]
    assert len(partial) == 1 and read_latest(client_dir) is None
    assert json.loads((partial[0] / OWNER).read_text())["pid"] == proc.pid
    assert not in_progress(partial[0])

    skip_kernels(monkeypatch)
    result = run_report(cfg, out=out, progress=False)
    assert not partial[0].exists()
    assert any(w.startswith(f"removed {partial[0].name}: the run writing it (pid {proc.pid} ")
               for w in result.warnings), result.warnings
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["removed_partials"] == [partial[0].name]
    assert not {OWNER, ENDED} & {p.name for p in result.run_dir.iterdir()}  # a run in progress


def test_a_partial_of_a_live_or_unknown_run_is_never_removed(project, monkeypatch):
    client_dir = project / "reports" / "busy-co"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    owners = {"20240101-000001": dict(procs.owner_record(), pid=sleeper.pid,
                                      pid_start=procs.process_start(sleeper.pid)),
              "20240101-000002": dict(procs.owner_record(), host="elsewhere.example"),
              "20240101-000003": dict(procs.owner_record(), pid=gone.pid,
                                      pid_start=procs.process_start(os.getpid())),
              "20240101-000004": None}
    for run_id, owner in owners.items():
        folder = client_dir / f"{run_id}.partial"
        folder.mkdir(parents=True)
        if owner:
            (folder / OWNER).write_text(json.dumps(owner))
    try:
        removed = remove_dead_partials(client_dir)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [name for name, _ in removed] == ["20240101-000003.partial"]
    assert sorted(p.name for p in client_dir.iterdir()) == [
        "20240101-000001.partial", "20240101-000002.partial", "20240101-000004.partial"]


# -- disk full, no permission ------------------------------------------------------------------

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0  # root ignores permission bits


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["run.json", "index.html"])
def test_disk_full_during_a_run_names_the_file_exits_1_and_keeps_latest(project, monkeypatch,
                                                                        capsys, where):
    out = project / "reports"
    cfg = write_config(project, "c.yaml", "Full Co", {"ok": {}})
    skip_kernels(monkeypatch)
    good = run_report(cfg, out=out, progress=False)
    client_dir = good.run_dir.parent
    if where == "index.html":
        monkeypatch.setattr(runner_mod, "write_index", enospc)
    else:
        real = Path.write_text
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: enospc() if
                            self.name == "run.json" else real(self, *a, **k))
    code = cli.main(["report", "--config", str(cfg), "--out", str(out), "--quiet"])
    stdout, stderr = capsys.readouterr()
    partial = [p for p in client_dir.iterdir() if p.name.endswith(".partial")]
    assert code == 1 and stdout == "" and stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"crm: error: could not write {partial[0] / where}: No space left "
                             f"on device; the run stopped, its unfinished folder stays in "
                             f"{partial[0]} and 'latest' was not moved"), stderr
    assert read_latest(client_dir) == good.run_dir
    assert complete_runs(client_dir) == [good.run_dir]  # no half-written completed run
    assert "run stopped: could not write" in (partial[0] / "run.log").read_text()
    monkeypatch.undo()
    skip_kernels(monkeypatch)
    again = run_report(cfg, out=out, progress=False)  # the next run cleans up
    assert not partial[0].exists() and read_latest(client_dir) == again.run_dir


def test_a_notebook_that_cannot_write_its_files_stops_the_run(project, monkeypatch, capsys):
    """An I/O failure reported by a notebook worker (its HTML page could not be written)."""
    out = project / "reports"
    cfg = write_config(project, "c.yaml", "Full Co", {"ok": {}})

    def full(jobs, run_dir, *args, **kwargs):
        html = str(run_dir / "ok.html")
        return {"ok": {"stem": "ok", "status": "failed", "seconds": 0.1,
                       "error": f"could not write {html}: No space left on device",
                       "io_error": {"operation": "write", "path": html, "errno": errno.ENOSPC,
                                    "strerror": "No space left on device"}}}

    monkeypatch.setattr(runner_mod, "_execute_all", full)
    assert cli.main(["report", "--config", str(cfg), "--out", str(out), "--quiet"]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("crm: error: could not write ") and "ok.html: No space" in stderr
    assert complete_runs(out / "full-co") == [] and read_latest(out / "full-co") is None


def test_worker_names_the_file_and_operation_of_an_io_error():
    task = {"notebook": "/nb/in.ipynb", "output": "/run/out.ipynb"}
    full = io_failure(OSError(errno.ENOSPC, "No space left on device"), task)
    assert full == {"operation": "write", "path": "/run/out.ipynb", "errno": errno.ENOSPC,
                    "strerror": "No space left on device"}
    denied = io_failure(PermissionError(errno.EACCES, "Permission denied", "/nb/in.ipynb"), task)
    assert denied["operation"] == "read" and denied["path"] == "/nb/in.ipynb"
    assert io_failure(TimeoutError("cell timed out"), task) is None
    assert io_failure(FileNotFoundError(errno.ENOENT, "No such file", "python9"), task) is None
    assert io_failure(ValueError("bad"), task) is None


@pytest.mark.skipif(ROOT_USER, reason="root ignores permission bits")
def test_an_unwritable_reports_folder_exits_2_before_the_run(project, capsys):
    out = project / "reports"
    out.mkdir()
    out.chmod(0o555)
    cfg = write_config(project, "c.yaml", "Denied Co", {"ok": {}})
    try:
        code = cli.main(["report", "--config", str(cfg), "--out", str(out), "--quiet"])
    finally:
        out.chmod(0o755)
    stderr = capsys.readouterr().err
    assert code == 2 and stderr == (f"crm: error: could not create the client folder "
                                    f"{out / 'denied-co'}: Permission denied\n")


TMPFS_RUN = """
set -e
mount -t tmpfs -o size={size} tmpfs {out}
{crm} --config {cfg} --out {out} --quiet > /dev/null 2> {log}.1 || echo "first $?" >> {log}.codes
{crm} --config {cfg} --out {out} --quiet > /dev/null 2> {log}.2 || echo "second $?" >> {log}.codes
find {out} -mindepth 2 -maxdepth 2 | sort > {log}.tree
readlink {out}/full-co/latest > {log}.latest
"""


@pytest.mark.skipif(not LINUX or shutil.which("unshare") is None, reason="needs unshare")
def test_a_real_full_disk(project):
    """A 400 KiB tmpfs (mounted in a user namespace, no root needed): the first run fits
    (~300 KiB), the second fills the disk while writing a notebook's page."""
    out, log = project / "tmpfs", project / "log"
    out.mkdir()
    cfg = write_config(project, "c.yaml", "Full Co", {"ok": {}})
    crm = f"{sys.executable} -m crmlib.cli report"
    try:
        probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs tmpfs {out}"],
                               capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("unshare failed")
    if probe.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    script = TMPFS_RUN.format(size="400k", out=out, crm=crm, cfg=cfg, log=log)
    subprocess.run(["unshare", "-rm", "sh", "-c", script], check=True, timeout=240)
    codes = Path(f"{log}.codes").read_text().split("\n")
    assert codes[:-1] == ["second 1"], codes
    stderr = Path(f"{log}.2").read_text()
    tree = [Path(p).name for p in Path(f"{log}.tree").read_text().split()]
    first = Path(f"{log}.latest").read_text().strip()
    partial = [n for n in tree if n.endswith(".partial")]
    assert len(partial) == 1 and sorted(tree) == sorted([".lock", first, "index.html",
                                                        "latest", partial[0]]), tree
    assert stderr.count("\n") == 1 and stderr.startswith("crm: error: could not write "), stderr
    assert f"{partial[0]}/ok.html: No space left on device; the run stopped" in stderr, stderr


# -- --retry -----------------------------------------------------------------------------------

FLAKY = """import os, pathlib, signal, time
seen = pathlib.Path(marker)
first = not seen.exists()
seen.write_text("seen")
out = pathlib.Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
(out / f"attempt-{os.getpid()}.txt").write_text("left by an attempt")
if first and mode == "die":
    os.kill(os.getpid(), signal.SIGKILL)
if first and mode == "hang":
    time.sleep(60)
if mode == "raise":
    raise ValueError("bad data")
(out / "results.json").write_text('{"headline": []}')"""


def flaky_notebooks(folder: Path, modes: list[str]) -> None:
    """One notebook per mode: its first run kills its kernel ("die"), outlives the cell
    timeout ("hang") or, every time, raises ("raise"); a later run succeeds."""
    for mode in modes:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell(f'output_dir: str = "x"  # results\n'
                                         f'marker: str = ""  # file made by the first run\n'
                                         f'mode: str = "{mode}"  # how the first run fails')
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell, nbformat.v4.new_code_cell(FLAKY)]
        nbformat.write(nb, folder / f"{mode}.ipynb")


def test_retry_reruns_a_dead_or_timed_out_kernel_never_an_error(project, capsys):
    flaky_notebooks(project / "notebooks", ["die", "hang", "raise"])
    cfg = write_config(project, "c.yaml", "Flaky Co",
                       {m: {"marker": str(project / f"{m}.seen")} for m in ("die", "hang",
                                                                          "raise")},
                       cell_timeout=4)
    code = cli.main(["report", "--config", str(cfg), "--out", str(project / "reports"),
                     "--retry", "2", "--jobs", "2", "--quiet"])
    run_dir = Path(capsys.readouterr().out.strip()).parent
    record = json.loads((run_dir / "run.json").read_text())
    books = record["notebooks"]
    assert code == 1 and record["options"]["retry"] == 2
    assert {k: v["status"] for k, v in books.items()} == {"die": "ok", "hang": "ok",
                                                          "raise": "failed"}
    assert [(a["attempt"], a["status"], a["retry_reason"]) for a in books["die"]["attempts"]] \
        == [(1, "failed", "kernel died"), (2, "ok", None)]
    assert "DeadKernelError" in books["die"]["attempts"][0]["error"]
    hang = [(a["status"], a["retry_reason"]) for a in books["hang"]["attempts"]]
    assert hang[-2:] == [("failed", "timed out"), ("ok", None)]
    assert set(hang[:-2]) <= {("not-started", "kernel died")}  # a start-up death is retried too
    assert [(a["status"], a["retry_reason"]) for a in books["raise"]["attempts"]] == [
        ("failed", None)]  # it raised: another attempt would raise again
    assert "bad data" in books["raise"]["error"]
    for attempt in books["die"]["attempts"]:
        assert attempt["started"].startswith("20") and attempt["seconds"] >= 0
    # a retried notebook starts from an empty results folder
    assert len(list((run_dir / "results" / "die").glob("attempt-*.txt"))) == 1
    log = (run_dir / "run.log").read_text()
    assert "die: attempt 1 of 3 failed (kernel died" in log
    assert "hang: attempt 1 of 3 failed (timed out" in log


def test_without_retry_a_dead_kernel_fails_the_notebook(project):
    flaky_notebooks(project / "notebooks", ["die"])
    cfg = write_config(project, "c.yaml", "Flaky Co", {"die": {"marker": str(project / "m")}})
    result = run_report(cfg, out=project / "reports", progress=False)
    outcome = result.notebooks["die"]
    assert result.exit_code == 1 and outcome["status"] == "failed"
    assert [a["retry_reason"] for a in outcome["attempts"]] == ["kernel died"]


def test_a_client_whose_run_stopped_on_a_full_disk_is_a_failure_line(project, monkeypatch):
    from crmlib.report.batch import ClientOutcome, run_client, summary_line

    cfg = write_config(project, "c.yaml", "Full Co", {"ok": {}})
    skip_kernels(monkeypatch)
    monkeypatch.setattr(runner_mod, "write_index", enospc)
    outcome = run_client(cfg, {"out": project / "reports"})
    assert outcome.exit_code == 1 and outcome.error.startswith("could not write ")
    assert summary_line(outcome).startswith("FAILED  full-co              could not write ")
    refused = ClientOutcome(cfg, 2, "full-co", error="could not create the client folder x")
    assert summary_line(refused).startswith("ERROR   full-co              could not start: ")


def test_kernels_talk_over_private_sockets_so_parallel_starts_never_collide(tmp_path,
                                                                          monkeypatch):
    from crmlib.report.worker import SOCKETS_ENV, kernel_manager_class

    monkeypatch.setenv(SOCKETS_ENV, str(tmp_path))
    first, second = (kernel_manager_class()(kernel_name="python3") for _ in range(2))
    assert first.transport == second.transport == "ipc"
    assert Path(first.ip).parent != Path(second.ip).parent
    assert all(Path(km.ip).parent.parent == tmp_path for km in (first, second))
    first.cleanup_ipc_files()
    assert not Path(first.ip).parent.exists()
