"""Execute one notebook with papermill and render its HTML (runs in a worker process)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import nbformat

from ..io.options import ENV as OPTIONS_ENV

KERNEL = "python3"


@contextlib.contextmanager
def current_kernel() -> Iterator[None]:
    """Make the ``python3`` kernel mean the interpreter running this code.

    A user-level ``python3`` kernelspec (from another Python installation)
    would otherwise take precedence; a temporary one first on ``JUPYTER_PATH``
    points at ``sys.executable``. Child processes inherit the setting. The kernel
    starts with matplotlib's inline backend, so a cell whose value is a
    ``Figure`` (made without pyplot) shows the chart, not its ``repr``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="crm-kernel-"))
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher",
                 "--matplotlib=inline", "-f", "{connection_file}"],
        "display_name": "Python 3 (crm)", "language": "python",
        "metadata": {"debugger": False}}), encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYDEVD_DISABLE_FILE_VALIDATION")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(tmp), saved["JUPYTER_PATH"]) if p)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def _started(path: Path) -> bool:
    """True when at least one code cell of the executed copy ran."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return any(c.cell_type == "code" and (c.get("execution_count") or c.get("outputs"))
               for c in nb.cells)


# stderr lines that are no news: ipykernel's transport notice, and papermill's own
# parameter inference, which cannot parse ``X | None`` annotations (the runner's check can)
NOISE = ("Kernel is running over TCP without encryption", "Unable to parse line",
         "Passed unknown parameter")


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's (and its children's) standard error to ``path``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _read_stderr(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        path.unlink()
    except OSError:
        return ""
    return "\n".join(l for l in text.splitlines() if l.strip() and not any(n in l for n in NOISE))


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run a notebook through papermill, then render its HTML.

    ``task`` holds ``stem``, ``notebook``, ``output`` (executed ``.ipynb``),
    ``html``, ``parameters``, ``cwd``, ``timeout``, ``title`` and ``footer``. Returns the
    outcome: ``status`` (``ok``, ``failed`` or ``not-started``), ``error``
    (one line), ``cell`` (execution count of the failing cell), ``started``,
    ``finished`` (epoch seconds), ``stderr`` (what the kernel and papermill
    wrote to standard error, for the run log) and ``html`` (None if rendering failed, with
    ``render_error``).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .render import render_html

    out, started = Path(task["output"]), time.time()
    errlog = out.with_name(f".{task['stem']}.stderr")
    result: dict[str, Any] = {"stem": task["stem"], "status": "ok", "error": None,
                              "cell": None, "html": None, "render_error": None}
    saved_options = os.environ.get(OPTIONS_ENV)
    os.environ[OPTIONS_ENV] = task.get("input_options") or "{}"  # the kernel inherits it
    try:
        with stderr_to(errlog):
            pm.execute_notebook(task["notebook"], str(out), parameters=task["parameters"],
                                kernel_name=KERNEL, language="python", progress_bar=False,
                                log_output=False, cwd=task["cwd"],
                                execution_timeout=task.get("timeout"),
                                request_save_on_cell_execute=True)
    except PapermillExecutionError as exc:
        result.update(status="failed", error=_one_line(f"{exc.ename}: {exc.evalue}"),
                      cell=exc.exec_count)
    except Exception as exc:  # kernel could not start, died, or timed out
        status = "failed" if out.exists() and _started(out) else "not-started"
        result.update(status=status, error=_one_line(f"{type(exc).__name__}: {exc}"))
    finally:
        if saved_options is None:
            os.environ.pop(OPTIONS_ENV, None)
        else:
            os.environ[OPTIONS_ENV] = saved_options
    result["finished"], result["started"] = time.time(), started
    result["stderr"] = _read_stderr(errlog)
    if out.exists():
        try:
            result["html"] = str(render_html(out, task["html"], task.get("title"),
                                             resources_dir=task["cwd"],
                                             footer=task.get("footer")))
        except Exception as exc:  # the executed notebook is still the record
            result["render_error"] = _one_line(f"{type(exc).__name__}: {exc}")
    return result
