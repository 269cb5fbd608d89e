"""Processes that never outlive the one that started them, and who owns a run folder.

A report run is a tree of processes: ``crm report`` → (one process per client) →
notebook workers → kernels. Whatever ends a parent, even ``kill -9``, its children
must stop too, or they go on writing into a run folder nobody owns. Each child calls
:func:`die_with_parent` as it starts:

* on Linux the kernel sends it ``SIGKILL`` the moment its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, through :mod:`ctypes`);
* everywhere, a watchdog thread polls the parent pid and ends the process when the
  parent is gone (re-parented processes get a new parent pid).

The multiprocessing ``resource_tracker`` needs neither: it exits when the last
process holding its pipe has ended.

``python -m crmlib.procs [ipykernel options]`` starts an IPython kernel guarded the
same way (the report runner's kernelspec uses it). This module imports nothing
beyond the standard library, so the kernel starts as fast as ``ipykernel_launcher``.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5
EXIT_ORPHANED = 70
"""Exit status of a process that ended because its parent was gone."""


def _set_pdeathsig(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(EXIT_ORPHANED)


def die_with_parent(parent: int | None = None, interval: float = WATCH_SECONDS) -> None:
    """End this process when its parent ends, however the parent ends.

    Parameters
    ----------
    parent : the pid this process must not outlive (default: the current parent). If
        it is no longer the parent (it died while this process was starting), the
        process exits at once.
    interval : seconds between two looks of the watchdog thread.
    """
    parent = os.getppid() if parent is None else parent
    _set_pdeathsig()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(EXIT_ORPHANED)
    threading.Thread(target=_watch, args=(parent, interval), name="crm-parent-watchdog",
                     daemon=True).start()


def process_start(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (zombies count as ended)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def owner_record() -> dict[str, Any]:
    """Who this process is: ``pid``, ``host`` and ``pid_start`` (see :func:`process_start`)."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "pid_start": process_start(os.getpid())}


def owner_alive(record: dict[str, Any]) -> bool | None:
    """Whether the process an :func:`owner_record` describes still runs.

    None when this cannot be known from here: another host, or an unreadable record.
    """
    try:
        pid = int(record["pid"])
    except (KeyError, TypeError, ValueError):
        return None
    if record.get("host") != socket.gethostname():
        return None
    if not pid_alive(pid):
        return False
    started = record.get("pid_start")
    return started is None or process_start(pid) in (None, started)


def interrupt_with_deadline(seconds: float, message: str, code: int = 130):
    """A SIGINT handler that raises :class:`KeyboardInterrupt`, as Python's own does, and
    ends the process with ``code`` (after printing ``message`` to standard error) if it
    is still alive ``seconds`` later.

    The clean-up after a Ctrl-C (stopping notebook workers, leaving the run ``.partial``)
    takes well under a second; the deadline is for a clean-up left waiting forever, e.g.
    on a lock of :mod:`concurrent.futures` that the interruption caught half-taken. The
    workers and kernels then end with this process (:func:`die_with_parent`).
    """
    def handler(signum: int, frame: Any) -> None:
        def force() -> None:
            time.sleep(seconds)
            try:
                print(message, file=sys.stderr, flush=True)
            finally:
                os._exit(code)

        if not any(t.name == "crm-interrupt-deadline" for t in threading.enumerate()):
            threading.Thread(target=force, name="crm-interrupt-deadline", daemon=True).start()
        raise KeyboardInterrupt

    return handler


def _launch_kernel() -> None:
    die_with_parent()
    # as ipykernel_launcher: the current folder leaves sys.path while ipykernel loads
    # (InteractiveShellApp.init_path puts it back)
    if sys.path and (sys.path[0] == "" or os.path.abspath(sys.path[0]) == os.getcwd()):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    _launch_kernel()
