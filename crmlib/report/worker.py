"""Execute one notebook with papermill and render its HTML (runs in a worker process)."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..io.options import ENV as OPTIONS_ENV
from .render import render_html

KERNEL = "python3"
SOCKETS_ENV = "CRM_KERNEL_SOCKETS"


SKIPPED_IMPORTS = ("rfc3987_syntax",)
"""Modules a worker never loads. jsonschema (under nbformat, under papermill and nbconvert)
imports ``rfc3987_syntax`` when it is installed, for its ``iri`` format checks, and that
module compiles 38 grammars at import: 0.7 s of each worker's start, for checks that
notebook validation never makes."""


def skip_imports() -> None:
    """Make :data:`SKIPPED_IMPORTS` fail to import in this process (the libraries that
    try them go on without)."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def start_worker(parent: int) -> None:
    """Initialise a worker process: end with ``parent`` (:func:`crmlib.procs.die_with_parent`),
    leave out :data:`SKIPPED_IMPORTS`."""
    from ..procs import die_with_parent

    skip_imports()
    die_with_parent(parent)


def stop_workers(pool) -> None:
    """End a process pool's workers at once (and with them their kernels): on an
    interruption or an error, nothing waits for the notebooks still running."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def kernel_manager_class() -> type:
    """A kernel manager that talks to its kernel over Unix sockets in a private folder.

    Over TCP, each kernel's five ports are picked by binding to port 0 and letting go;
    two workers starting kernels at once can then pick the same port, and one kernel
    dies at start. Sockets in a folder of their own cannot collide.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    class SocketFolderKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _private_socket_prefix(self) -> str:
            home = os.environ.get(SOCKETS_ENV)  # removed with the run's kernelspec
            return str(Path(tempfile.mkdtemp(prefix="crm-sock-", dir=home)) / "k")

        def cleanup_ipc_files(self) -> None:
            super().cleanup_ipc_files()
            with contextlib.suppress(OSError):
                Path(self.ip).parent.rmdir()

    return SocketFolderKernelManager


@contextlib.contextmanager
def current_kernel() -> Iterator[None]:
    """Make the ``python3`` kernel mean the interpreter running this code.

    A user-level ``python3`` kernelspec (from another Python installation)
    would otherwise take precedence; a temporary one first on ``JUPYTER_PATH``
    points at ``sys.executable``. Child processes inherit the setting. The kernel
    ends with the worker that started it (:mod:`crmlib.procs`) and
    starts with matplotlib's inline backend, so a cell whose value is a
    ``Figure`` (made without pyplot) shows the chart, not its ``repr``.
    """
    tmp = Path(tempfile.mkdtemp(prefix="crm-kernel-"))
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "crmlib.procs",
                 "--matplotlib=inline", "-f", "{connection_file}"],
        "display_name": "Python 3 (crm)", "language": "python",
        "metadata": {"debugger": False}}), encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYDEVD_DISABLE_FILE_VALIDATION",
                                            SOCKETS_ENV)}
    os.environ[SOCKETS_ENV] = str(tmp)
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
    import nbformat  # deferred, as papermill's own import: over a second

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return False
    return any(c.cell_type == "code" and (c.get("execution_count") or c.get("outputs"))
               for c in nb.cells)


KERNEL_SHUTDOWN = "immediate"
"""How a kernel ends once its notebook has run (nbclient's ``shutdown_kernel``): stopped at
once. Every output has arrived by then and every file a cell writes is written before the
cell ends; the graceful way (interrupt, shutdown request, wait for the process) took 0.35 to
0.4 s per notebook and now and then 3.5 s, on the path of the notebooks that wait for it."""

# stderr lines that are no news: ipykernel's transport notice; papermill's own parameter
# inference, which cannot parse ``X | None`` annotations (the runner's check can); the
# interrupt jupyter_client sends every kernel before asking it to shut down, which the
# kernel reports when it arrives between two messages (a cell that is stopped fails the
# notebook with its own error)
NOISE = ("Kernel is running over TCP without encryption", "Unable to parse line",
         "Passed unknown parameter", "KeyboardInterrupt caught in kernel")


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
    return "\n".join(line for line in text.splitlines()
                     if line.strip() and not any(n in line for n in NOISE))


def _one_line(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut to about ``limit`` characters with its length stated."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


IO_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS,
             errno.EIO}


def io_failure(exc: BaseException, task: dict[str, Any]) -> dict[str, Any] | None:
    """What a disk-full or permission error was about: ``operation``, ``path``, ``errno``,
    ``strerror`` (None for any other error)."""
    if not isinstance(exc, OSError) or exc.errno not in IO_ERRNOS:
        return None
    path = str(exc.filename or task["output"])
    return {"operation": "read" if path == str(task["notebook"]) else "write", "path": path,
            "errno": exc.errno, "strerror": exc.strerror or str(exc)}


def _io_text(failure: dict[str, Any]) -> str:
    return f"could not {failure['operation']} {failure['path']}: {failure['strerror']}"


def retry_reason(exc: BaseException) -> str | None:
    """``"kernel died"`` or ``"timed out"`` when another attempt may succeed, else None.

    A cell that raised (bad data, a bug) fails the same way again and is never retried;
    a kernel that died (killed, out of memory) or a cell or kernel start that timed out
    may not.
    """
    from nbclient.exceptions import DeadKernelError

    text = str(exc)
    if isinstance(exc, DeadKernelError) or text.startswith("Kernel died"):
        return "kernel died"
    if isinstance(exc, TimeoutError) or text.startswith("Kernel didn't respond"):  # cells too
        return "timed out"
    return None


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Run a notebook through papermill, then render its HTML (:func:`render_into`) unless
    ``task["render"]`` is False (the runner then renders it in its own process, while the
    notebooks waiting for this one already run).

    ``task`` holds ``stem``, ``notebook``, ``output`` (executed ``.ipynb``),
    ``html``, ``parameters``, ``cwd``, ``timeout``, ``title``, ``footer`` and optionally
    ``render``, and ``gate`` for a notebook started before its inputs were ready
    (:mod:`crmlib.report.engine`). Returns the
    outcome: ``status`` (``ok``, ``failed``, ``not-started`` or ``skipped``), ``error``
    (one line), ``cell`` (execution count of the failing cell), ``started``,
    ``finished`` (epoch seconds), ``stderr`` (what the kernel and papermill
    wrote to standard error, for the run log), ``html`` (None if rendering failed, with
    ``render_error``), ``io_error`` (see :func:`io_failure`) when a file of the
    notebook could not be read or written, ``retry_reason`` (see :func:`retry_reason`)
    and ``waited_for_inputs`` (seconds at the gate, or None). A notebook whose gate was
    closed is ``skipped`` and leaves no file.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .engine import GateClosed, register

    out, started = Path(task["output"]), time.time()
    errlog = out.with_name(f".{task['stem']}.stderr")
    result: dict[str, Any] = {"stem": task["stem"], "status": "ok", "error": None,
                              "cell": None, "html": None, "render_error": None,
                              "waited_for_inputs": None}
    gate = {"gate": task["gate"]} if task.get("gate") else {}
    saved_options = os.environ.get(OPTIONS_ENV)
    os.environ[OPTIONS_ENV] = task.get("input_options") or "{}"  # the kernel inherits it
    try:
        with stderr_to(errlog):
            nb = pm.execute_notebook(task["notebook"], str(out), parameters=task["parameters"],
                                     kernel_name=KERNEL, language="python", progress_bar=False,
                                     log_output=False, cwd=task["cwd"],
                                     execution_timeout=task.get("timeout"),
                                     request_save_on_cell_execute=True, engine_name=register(),
                                     kernel_manager_class=kernel_manager_class(),
                                     shutdown_kernel=KERNEL_SHUTDOWN, **gate)
        result["waited_for_inputs"] = nb.metadata.get("crmlib", {}).get("waited_for_inputs")
    except PapermillExecutionError as exc:
        result.update(status="failed", error=_one_line(f"{exc.ename}: {exc.evalue}"),
                      cell=exc.exec_count)
    except GateClosed as exc:  # an input did not come: as if never started
        out.unlink(missing_ok=True)
        result.update(status="skipped", error=f"not run: {exc}")
    except Exception as exc:  # kernel could not start, died, or timed out; disk full
        status = "failed" if out.exists() and _started(out) else "not-started"
        io_error = io_failure(exc, task)
        result.update(status="failed" if io_error else status, io_error=io_error,
                      retry_reason=None if io_error else retry_reason(exc),
                      error=_one_line(_io_text(io_error) if io_error
                                      else f"{type(exc).__name__}: {exc}"))
    finally:
        if saved_options is None:
            os.environ.pop(OPTIONS_ENV, None)
        else:
            os.environ[OPTIONS_ENV] = saved_options
    result["finished"], result["started"] = time.time(), started
    result["stderr"] = _read_stderr(errlog)
    if task.get("render", True):
        render_into(result, task)
    return result


def render_into(result: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Render the executed notebook of ``task`` to its client HTML page and record it in
    ``result`` (:func:`execute`'s outcome): ``html``, or ``render_error``; a file that
    could not be written also fails the notebook (``io_error``). Nothing when the
    notebook never ran."""
    out = Path(task["output"])
    if not out.exists():
        return result
    try:
        result["html"] = str(render_html(out, task["html"], task.get("title"),
                                         resources_dir=task["cwd"],
                                         footer=task.get("footer")))
    except Exception as exc:  # the executed notebook is still the record
        io_error = io_failure(exc, dict(task, output=task["html"]))
        result["render_error"] = _one_line(_io_text(io_error) if io_error
                                           else f"{type(exc).__name__}: {exc}")
        if io_error:  # a half-written page: the notebook's files are not all there
            result.update(status="failed", error=result["render_error"], io_error=io_error)
    return result
