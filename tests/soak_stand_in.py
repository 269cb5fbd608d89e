"""A stand-in for notebook execution, for the soak test of scheduled runs.

:func:`main` (``crm report ...``, see :data:`COMMAND`) is ``crm`` with one change: each
notebook worker, instead of starting a Jupyter kernel, starts a guarded child process
(the same :func:`crmlib.procs.die_with_parent` as the kernel launcher), waits a short
random time and writes the files a notebook writes. Everything else — the client
processes, notebook workers, lock, ``.partial`` folder, rename, ``latest``, ``--keep``,
multiprocessing's resource tracker — is the real thing. (A real kernel costs seconds;
the real kernel's fate under ``kill -9`` is tested in test_report_faults.py.)

The replacements travel to the spawned processes as references to this module's
functions (it is on their ``sys.path``), so they are installed there too.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KERNEL = "from crmlib.procs import die_with_parent; die_with_parent(); import time; time.sleep(60)"


def stand_in_execute(task: dict[str, Any]) -> dict[str, Any]:
    """Like :func:`crmlib.report.worker.execute`, without a kernel."""
    started = time.time()
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL])
    try:
        time.sleep(random.uniform(0.05, 0.5))
    finally:
        kernel.kill()
        kernel.wait()
    out = Path(task["parameters"]["output_dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"headline": []}), encoding="utf-8")
    Path(task["output"]).write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                "nbformat_minor": 5}), encoding="utf-8")
    Path(task["html"]).write_text("<html><body>stand-in</body></html>", encoding="utf-8")
    return {"stem": task["stem"], "status": "ok", "error": None, "cell": None,
            "html": task["html"], "render_error": None, "started": started,
            "finished": time.time(), "stderr": ""}


def run_client(config: Path, options: dict[str, Any]) -> Any:
    """:func:`crmlib.report.batch.run_client` with notebooks executed by the stand-in."""
    from crmlib.report import batch, scheduler

    scheduler.execute = stand_in_execute
    return batch.run_client(config, options)


def main(argv: list[str]) -> int:
    """``crm`` with the stand-in (several configurations: the batch path)."""
    from crmlib import cli
    from crmlib.report import batch

    batch.run_client = run_client
    return cli.main(argv)


COMMAND = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
           "import soak_stand_in; sys.exit(soak_stand_in.main(sys.argv[2:]))",
           str(Path(__file__).parent)]
"""The command line of :func:`main`; append ``crm``'s arguments."""
