"""Soak: 20 consecutive scheduled runs of two clients with ``--keep 3``, some killed with
``kill -9`` at random moments; the reports folder stays clean and no process is left.

Notebook execution is the stand-in of ``soak_stand_in.py`` (a guarded child process in
place of a kernel); all the rest is the real ``crm``. Marked slow: a scheduled run still
starts three generations of Python processes (``crm``, a process per client, a notebook
worker per client), and each of the first two imports nbformat, whose jsonschema pulls in
rfc3987-syntax (about 1.5 s of grammar building per process), so the 20 runs take one to
two minutes on two idle cores.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from crmlib.report import read_latest
from crmlib.report.retention import complete_runs

sys.path.insert(0, str(Path(__file__).parent))
from soak_stand_in import COMMAND  # noqa: E402
from test_report_faults import tagged_processes, wait_for  # noqa: E402

RUNS, KEEP, SEED = 20, 3, 16
CLIENTS = ("soak-a", "soak-b")


def configs(root: Path) -> list[Path]:
    nbs = root / "notebooks"
    nbs.mkdir()
    (nbs / "ok.ipynb").write_text(
        (Path(__file__).parent / "fixtures" / "notebooks" / "ok.ipynb").read_text())
    paths = []
    for slug in CLIENTS:
        path = root / f"{slug}.yaml"
        path.write_text(yaml.safe_dump({"client": slug, "notebook_dir": str(nbs),
                                        "notebooks": {"ok": {"n": 2}}}), encoding="utf-8")
        paths.append(path)
    return paths


def check_latest(out: Path) -> None:
    """``latest``, where there is one, is a complete run."""
    for slug in CLIENTS:
        latest = read_latest(out / slug) if (out / slug).is_dir() else None
        assert latest is None or (latest in complete_runs(out / slug)), latest


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_twenty_scheduled_runs_some_killed_leave_a_clean_reports_folder(tmp_path):
    rng = random.Random(SEED)
    out, token = tmp_path / "reports", uuid.uuid4().hex
    argv = [*COMMAND, "report", "--config", *map(str, configs(tmp_path)), "--out", str(out),
            "--keep", str(KEEP), "--jobs", "2", "--quiet"]
    env = {**os.environ, "CRM_TEST_TOKEN": token}
    # the first run is never killed (it measures a run), nor the last (it cleans up after
    # the killed ones); in between, about two in five are killed at a random moment
    killed_at = [None] + [rng.random() if rng.random() < 0.4 else None
                          for _ in range(RUNS - 2)] + [None]
    duration, kills = 0.0, 0
    try:
        for i, fraction in enumerate(killed_at):
            started = time.time()
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            if fraction is not None:
                try:
                    proc.wait(timeout=fraction * duration)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
            stdout, stderr = proc.communicate(timeout=120)
            if fraction is None:
                assert proc.returncode == 0, f"run {i}: {stdout}{stderr}"
                assert stdout.count("ok      soak-") == 2, stdout
                duration = max(duration, time.time() - started)
            assert wait_for(lambda: not tagged_processes(token), 15), \
                f"run {i}: processes left: {tagged_processes(token)}"
            check_latest(out)
    finally:
        for pid in tagged_processes(token):
            os.kill(pid, signal.SIGKILL)
    assert kills >= 4, f"only {kills} runs were killed"
    for slug in CLIENTS:
        client_dir = out / slug
        runs = complete_runs(client_dir)
        assert 1 <= len(runs) <= KEEP, runs
        assert read_latest(client_dir) == runs[-1]
        left = [p.name for p in client_dir.iterdir()
                if p.name.endswith(".partial") or p.name.startswith(".")]
        assert sorted(left) == [".lock"], left  # no .partial of a dead run, no half-made folder
