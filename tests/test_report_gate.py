"""A notebook started before its inputs are ready imports, then waits at its gate; no cell
runs before the runner opens it, and a closed gate leaves the notebook not run."""
from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import Future

import nbformat
import pytest
from test_report_engine import _notebook

from crmlib.report import engine


def _later(seconds, fn):
    t = threading.Timer(seconds, fn)
    t.start()
    return t


def test_imported_modules_are_the_top_level_imports_of_code_cells():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("import os  # prose, not code"),
        nbformat.v4.new_code_cell('%matplotlib inline\nimport pandas as pd, json\n'
                                  'from crmlib import display as t, story\n'
                                  'from __future__ import annotations'),
        nbformat.v4.new_code_cell("if True:\n    import csv\nfrom . import nothing\n"
                                  "from crmlib.sections import (optional,\n  optional_block)\n"
                                  "import json"),
    ]
    assert engine.imported_modules(nb) == ["pandas", "json", "crmlib", "crmlib.display",
                                           "crmlib.story"]


def test_import_lines_are_what_the_benchmark_floor_keeps():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from __future__ import annotations\nimport json\n"
                                          "x = 1\nfrom crmlib.sections import (optional,\n"
                                          "  optional_block)\nimport json")]
    assert engine.import_lines(nb) == ["import json"]


def test_the_warm_up_imports_and_leaves_no_name_behind():
    sys.modules.pop("colorsys", None)
    ns: dict = {}
    exec(engine.warm_up_code(["colorsys", "no_such_module_here", "json.no_such_part"]), ns)
    assert "colorsys" in sys.modules
    assert set(ns) == {"__builtins__"}


def test_the_gate_waits_for_go(tmp_path):
    timer = _later(0.3, lambda: (tmp_path / "go").write_text(""))
    waited = engine.wait_at_gate(tmp_path)
    timer.join()
    assert waited >= 0.25


def test_a_closed_gate_says_why(tmp_path):
    _later(0.1, lambda: (tmp_path / "stop").write_text("02_b did not succeed")).join()
    with pytest.raises(engine.GateClosed, match="02_b did not succeed"):
        engine.wait_at_gate(tmp_path)


def _task(tmp_path, cells, gate):
    src = _notebook(tmp_path / "nb.ipynb", cells)
    return {"stem": "nb", "notebook": str(src), "parameters": {},
            "output": str(tmp_path / "out.ipynb"), "html": str(tmp_path / "out.html"),
            "cwd": str(tmp_path), "timeout": 60, "title": "t", "footer": "",
            "render": False, "gate": str(gate)}


def test_no_cell_runs_before_the_gate_opens(tmp_path):
    from crmlib.report.worker import current_kernel, execute

    gate = tmp_path / "gate"
    gate.mkdir()
    cells = ["import colorsys, time\nstarted = time.time()",
             "assert '_crm_warm_up' not in globals()\nprint(round(started, 3))"]
    task = _task(tmp_path, cells, gate)
    opened = []

    def open_gate():
        opened.append(time.time())
        (gate / "go").write_text("")

    with current_kernel():
        timer = _later(6, open_gate)   # well after the kernel has started and imported
        result = execute(task)
        timer.join()
    assert result["status"] == "ok", result["error"]
    nb = nbformat.read(task["output"], as_version=4)
    first_cell_ran = float(nb.cells[1].outputs[0].text)
    assert first_cell_ran >= opened[0]
    assert result["waited_for_inputs"] > 0
    assert nb.metadata["crmlib"]["waited_for_inputs"] == result["waited_for_inputs"]


def test_a_notebook_whose_gate_closes_is_not_run_and_leaves_no_file(tmp_path):
    from crmlib.report.worker import current_kernel, execute

    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "stop").write_text("needs the results of 02_b, which did not succeed")
    task = _task(tmp_path, ["open('ran', 'w').write('yes')"], gate)
    with current_kernel():
        result = execute(task)
    assert result["status"] == "skipped"
    assert result["error"] == "not run: needs the results of 02_b, which did not succeed"
    assert not (tmp_path / "out.ipynb").exists() and not (tmp_path / "ran").exists()


def test_a_kernel_is_ended_at_once_when_its_notebook_has_run(tmp_path):
    """Its outputs and files are all there; the exit hooks of a graceful shutdown (which
    took 0.35 s and now and then 3.5 s per notebook) do not run."""
    from crmlib.report.worker import current_kernel, execute

    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "go").write_text("")
    cells = ["import atexit\natexit.register(lambda: open('exit-hook-ran', 'w').write('yes'))",
             "open('written-by-a-cell', 'w').write('yes')\nprint('last output')"]
    task = _task(tmp_path, cells, gate)
    with current_kernel():
        result = execute(task)
    assert result["status"] == "ok", result["error"]
    nb = nbformat.read(task["output"], as_version=4)
    assert nb.cells[1].outputs[0].text == "last output\n"
    assert (tmp_path / "written-by-a-cell").read_text() == "yes"
    assert not (tmp_path / "exit-hook-ran").exists()


class _Pool:
    """Runs each task in a thread: a gated one waits at its gate (as the kernel does);
    ``seconds`` per stem, and the stems that fail."""

    def __init__(self, seconds, fail=()):
        self.seconds, self.fail, self.tasks = seconds, set(fail), []
        self.lock, self.busy, self.most_busy = threading.Lock(), 0, 0

    def _work(self, stem):
        """The cells of ``stem``, counting the notebooks running cells at once."""
        with self.lock:
            self.busy += 1
            self.most_busy = max(self.most_busy, self.busy)
        time.sleep(self.seconds[stem])
        with self.lock:
            self.busy -= 1

    def submit(self, fn, task):
        self.tasks.append(task)
        fut: Future = Future()

        def run():
            started = time.time()
            out = {"stem": task["stem"], "status": "ok", "started": started,
                   "waited_for_inputs": None}
            try:
                if task.get("gate"):
                    out["waited_for_inputs"] = engine.wait_at_gate(engine.Path(task["gate"]))
                self._work(task["stem"])
                if task["stem"] in self.fail:
                    out.update(status="failed", error="ValueError: bad row")
            except engine.GateClosed as exc:
                out.update(status="skipped", error=f"not run: {exc}")
            out["finished"] = time.time()
            fut.set_result(out)

        threading.Thread(target=run).start()
        return fut


CHAIN = (("01_a", set(), set()), ("02_b", set(), set()), ("03_c", {"01_a"}, {"01_a"}))


def _schedule(tmp_path, monkeypatch, pool, workers=2, spec=CHAIN):
    from crmlib.report import scheduler

    monkeypatch.setattr(scheduler, "_task", lambda job, run_dir, config: {"stem": job.stem})
    jobs = [type("Job", (), {"stem": s, "needs": needs, "requires": requires,
                             "parameters": {}, "upstream_files": {}})()
            for s, needs, requires in spec]
    lines: list[str] = []
    log = type("Log", (), {"info": lambda self, msg, *a: lines.append(msg % a),
                           "error": lambda self, msg, *a: lines.append(msg % a)})()
    bar = type("Bar", (), {"set_postfix_str": lambda *a, **k: None,
                           "update": lambda *a: None})()
    gates = tmp_path / "gates"
    gates.mkdir()
    done = scheduler._schedule(jobs, pool, tmp_path, None, log, bar, False, 0,
                               workers=workers, gates=gates)
    return done, lines


def test_an_idle_worker_starts_a_waiting_notebook_behind_its_gate(tmp_path, monkeypatch):
    pool = _Pool({"01_a": 0.8, "02_b": 0.1, "03_c": 0.1})
    done, lines = _schedule(tmp_path, monkeypatch, pool)
    assert [t["stem"] for t in pool.tasks] == ["01_a", "02_b", "03_c"]
    assert "gate" in pool.tasks[2] and "gate" not in pool.tasks[0]
    assert any(line.startswith("start 03_c early (its kernel starts and imports while 01_a "
                               "runs) with ") for line in lines)
    assert done["03_c"]["status"] == "ok"
    assert done["03_c"]["finished"] >= done["01_a"]["finished"] + 0.1
    assert any(line.startswith("03_c waited") and "for its inputs" in line for line in lines)


def test_a_notebook_waits_at_its_gate_beside_busy_workers_never_running_cells_beyond_them(
        tmp_path, monkeypatch):
    """Two workers busy: the notebook waiting for 01_a's results starts its kernel behind
    its gate at once (one process more), while the ready 04_d waits for a free worker."""
    spec = CHAIN + (("04_d", set(), set()),)
    pool = _Pool({"01_a": 0.6, "02_b": 0.3, "03_c": 0.3, "04_d": 0.3})
    done, lines = _schedule(tmp_path, monkeypatch, pool, spec=spec)
    assert [t["stem"] for t in pool.tasks] == ["01_a", "02_b", "03_c", "04_d"]
    assert "gate" in pool.tasks[2] and "gate" not in pool.tasks[3]
    assert lines.index(next(x for x in lines if x.startswith("queue 04_d"))) \
        < lines.index(next(x for x in lines if x.startswith("start 03_c early")))
    assert pool.most_busy == 2   # never three notebooks running cells
    assert all(o["status"] == "ok" for o in done.values())
    assert done["04_d"]["started"] >= done["02_b"]["finished"]
    assert done["03_c"]["finished"] >= done["01_a"]["finished"] + 0.3


def test_a_failed_input_closes_the_gate(tmp_path, monkeypatch):
    pool = _Pool({"01_a": 0.5, "02_b": 0.1, "03_c": 0.1}, fail={"01_a"})
    done, lines = _schedule(tmp_path, monkeypatch, pool)
    assert done["03_c"]["status"] == "skipped"
    assert done["03_c"]["error"] == "not run: needs the results of 01_a, which did not succeed"


def test_with_one_worker_nothing_starts_early(tmp_path, monkeypatch):
    pool = _Pool({"01_a": 0.2, "02_b": 0.1, "03_c": 0.1})
    done, lines = _schedule(tmp_path, monkeypatch, pool, workers=1)
    assert not any("gate" in t for t in pool.tasks)
    assert all(o["status"] == "ok" for o in done.values())


def test_a_summary_that_runs_whatever_its_inputs_did_starts_early_and_runs(tmp_path,
                                                                            monkeypatch):
    """The executive summary needs every notebook to have finished, succeeded or not."""
    spec = (("01_a", set(), set()), ("02_b", set(), set()),
            ("05_s", {"01_a", "02_b"}, set()))
    pool = _Pool({"01_a": 0.1, "02_b": 0.8, "05_s": 0.1}, fail={"01_a"})
    done, lines = _schedule(tmp_path, monkeypatch, pool, spec=spec)
    assert "gate" in pool.tasks[2]
    assert done["01_a"]["status"] == "failed" and done["05_s"]["status"] == "ok"
