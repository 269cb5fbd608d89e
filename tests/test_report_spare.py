"""A worker starts its next notebook's kernel as one notebook ends (worker.SpareKernel):
the next notebook of the same run adopts it, with the run's input options and working
folder; a kernel of another run, or a dead one, is never adopted; what the kernel writes
to standard error still reaches the outcome; no kernel outlives its notebook."""
from __future__ import annotations

import json
import os
import signal
import time

import nbformat
import pytest

from crmlib.io.options import ENV as OPTIONS_ENV
from crmlib.procs import PRELOAD_ENV
from crmlib.report import worker
from crmlib.report.scheduler import _schedule

CELL = ("import os, json, sys\n"
        "os.write(2, b'note from the kernel on fd 2\\n')\n"
        "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), "
        f"'options': os.environ.get({OPTIONS_ENV!r}), "
        f"'preload_env': os.environ.get({PRELOAD_ENV!r}), "
        "'preloaded': [m for m in sys.modules if m.startswith('crmlib')]}))")


def _task(tmp_path, run: str, stem: str, spare: bool, options: str = '{"a": 1}') -> dict:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir(exist_ok=True)
    src = nb_dir / "probe.ipynb"
    if not src.exists():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, src)
    out = tmp_path / run
    out.mkdir(exist_ok=True)
    return {"stem": stem, "notebook": str(src), "parameters": {},
            "output": str(out / f"{stem}.ipynb"), "html": str(out / f"{stem}.html"),
            "cwd": str(nb_dir), "timeout": 60, "title": stem, "footer": "", "render": False,
            "spare": spare, "input_options": options}


def _seen(task) -> dict:
    nb = nbformat.read(task["output"], as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    return json.loads(text)


def _gone(pid: int) -> bool:
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie child of this process counts as gone once reaped
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.1)
    return False


@pytest.fixture()
def kernels():
    with worker.current_kernel():
        yield
    worker.SPARE.discard()


def _spare_pid() -> int:
    return worker.SPARE.km.provisioner.process.pid


def test_next_notebook_adopts_the_kernel_started_ahead(tmp_path, kernels):
    first = worker.execute(_task(tmp_path, "run", "01_a", spare=True))
    assert first["status"] == "ok" and worker.SPARE.km is not None
    ahead = _spare_pid()
    second_task = _task(tmp_path, "run", "02_b", spare=False)
    second = worker.execute(second_task)
    seen = _seen(second_task)
    assert second["status"] == "ok" and seen["pid"] == ahead
    assert seen["options"] == '{"a": 1}' and seen["cwd"] == second_task["cwd"]
    # it imported what every report notebook imports while it waited, and says nothing of it
    assert set(worker.PRELOAD) - {"IPython.display"} <= set(seen["preloaded"])
    assert seen["preload_env"] is None
    # its standard error (written before and after adoption) is the notebook's, the file gone
    assert "note from the kernel on fd 2" in second["stderr"]
    assert not list((tmp_path / "run").glob(".spare-*"))
    assert worker.SPARE.km is None and _gone(ahead)  # shut down with its notebook


@pytest.mark.parametrize("other", ["run folder", "input options"])
def test_a_kernel_started_for_another_run_is_not_adopted(tmp_path, kernels, other):
    worker.execute(_task(tmp_path, "run", "01_a", spare=True))
    ahead = _spare_pid()
    task = (_task(tmp_path, "other-run", "02_b", spare=False) if other == "run folder"
            else _task(tmp_path, "run", "02_b", spare=False, options='{"b": 2}'))
    outcome = worker.execute(task)
    seen = _seen(task)
    assert outcome["status"] == "ok" and seen["pid"] != ahead
    assert seen["options"] == task["input_options"]
    assert not set(worker.PRELOAD) & set(seen["preloaded"])  # a fresh kernel, no preload
    assert _gone(ahead) and not list((tmp_path / "run").glob(".spare-*"))


def test_a_kernel_that_died_while_waiting_is_replaced(tmp_path, kernels):
    worker.execute(_task(tmp_path, "run", "01_a", spare=True))
    ahead = _spare_pid()
    os.kill(ahead, signal.SIGKILL)
    assert _gone(ahead)
    task = _task(tmp_path, "run", "02_b", spare=False)
    outcome = worker.execute(task)
    assert outcome["status"] == "ok" and _seen(task)["pid"] != ahead


def test_spare_kernels_are_asked_for_while_notebooks_remain(tmp_path, monkeypatch):
    from concurrent.futures import Future

    from crmlib.report import scheduler

    monkeypatch.setattr(scheduler, "_task", lambda job, run_dir, config: {"stem": job.stem})
    seen = []

    class Pool:
        def submit(self, fn, task):
            seen.append(task)
            fut = Future()
            fut.set_result({"stem": task["stem"], "status": "ok", "started": 0.0,
                            "finished": 1.0})
            return fut

    def job(stem, needs=()):
        return type("Job", (), {"stem": stem, "needs": set(needs), "requires": set(needs),
                                "parameters": {}, "upstream_files": {}})()

    bar = type("Bar", (), {"set_postfix_str": lambda *a, **k: None,
                           "update": lambda *a: None})()
    log = type("Log", (), {"info": lambda *a: None, "error": lambda *a: None})()
    _schedule([job("01_a"), job("02_b", ["01_a"]), job("03_c", ["02_b"])], Pool(), tmp_path,
              None, log, bar, False, 0)
    assert [(t["stem"], t["spare"]) for t in seen] == [("01_a", True), ("02_b", True),
                                                       ("03_c", False)]
