"""Several clients in one command: ``crm report --config 'clients/*.yaml'``.

Each client runs in its own process (its own notebook workers, kernels, log and
lock), so one client's bad configuration, failure or crash never touches the
others. ``jobs`` bounds the notebooks executing at once over all clients:
``min(jobs, clients)`` clients run at the same time, each with
``jobs // that`` notebooks in parallel (at least one); the remaining clients
wait for a free slot. The overall exit code is the worst of the clients'.
"""
from __future__ import annotations

import glob
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..io.errors import DataError, ParameterError
from ..procs import die_with_parent
from .config import load_config
from .failures import RunIOError
from .lock import ClientBusy
from .params import NotebookError
from .runner import run_report

EXIT_OK, EXIT_FAILED, EXIT_NOT_STARTED, EXIT_INTERRUPTED = 0, 1, 2, 130
GLOB_CHARS = set("*?[")
INTERRUPT_GRACE = 2.0  # seconds the clients get to stop by themselves after a Ctrl-C


@dataclass
class ClientOutcome:
    """How one client's run ended.

    Attributes
    ----------
    config : the configuration file.
    exit_code : 0 all notebooks ok, 1 some failed or not run or the run stopped on an I/O
        error (disk full, permission), 2 the client could not start,
        130 interrupted (its unfinished run stays ``.partial``).
    slug : the client's folder name (None when the configuration is unreadable).
    run_dir : the completed run folder (None when nothing ran).
    statuses : notebook → status (``ok``, ``failed``, ``skipped``, ``not-started``).
    error : why the client could not start or its run stopped (one line).
    seconds : wall time of the client's run.
    warnings, pruned : as in :class:`~crmlib.report.runner.RunResult`.
    latest_moved : whether ``latest`` now points at the new run.
    """

    config: Path
    exit_code: int
    slug: str | None = None
    run_dir: Path | None = None
    statuses: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    latest_moved: bool = False


def expand_configs(patterns: list[str], cwd: Path | None = None) -> list[Path]:
    """Configuration paths from the command line, in order, each file once.

    A pattern with ``*``, ``?`` or ``[`` (quoted, so the shell left it alone) is
    expanded here, against the current folder and, when nothing matches there, the
    project root. A plain path is taken relative to the current folder if it exists
    there, else to the project root (its absence is reported when it is read).

    Raises
    ------
    DataError
        A pattern matches no file.
    """
    cwd = Path.cwd() if cwd is None else cwd
    found: list[Path] = []
    for text in patterns:
        text = os.path.expanduser(text)
        if GLOB_CHARS & set(text) and not (cwd / text).exists():
            hits = sorted(glob.glob(text, root_dir=cwd))
            base = cwd
            if not hits and not os.path.isabs(text):
                hits, base = sorted(glob.glob(text, root_dir=paths.ROOT)), paths.ROOT
            hits = [h for h in hits if (base / h).is_file()]
            if not hits:
                raise DataError(f"no configuration file matches '{text}'")
            found += [(base / h).resolve() for h in hits]
        else:
            here = (cwd / text).resolve()
            found.append(here if here.exists() else paths.resolve(text))
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path, None)
    return list(unique)


def share_jobs(n_clients: int, jobs: int | None) -> tuple[int, int]:
    """``(clients at once, notebooks per client)`` for ``jobs`` notebook slots in total."""
    total = max(1, jobs or os.cpu_count() or 1)
    at_once = max(1, min(n_clients, total))
    return at_once, max(1, total // at_once)


def run_client(config: Path, options: dict[str, Any]) -> ClientOutcome:
    """Run one client's report and describe the outcome; never raises for a user error.

    ``options`` are keyword arguments of :func:`~crmlib.report.runner.run_report`
    (``only``, ``jobs``, ``as_of``, ``out``, ``keep``, ``retry``). Runs in a worker process.
    """
    started = time.time()
    slug = None
    main = threading.current_thread() is threading.main_thread()
    # a client process ignores Ctrl-C while idle (see _start_client_process), not while it runs
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main else None
    try:
        cfg = load_config(config)
        slug = cfg.slug
        result = run_report(cfg, progress=False, **options)
    except RunIOError as exc:  # 1 once the run had started, like any other failure
        return ClientOutcome(config, exc.exit_code, slug, error=" ".join(str(exc).split()),
                             seconds=round(time.time() - started, 1))
    except (DataError, ParameterError, NotebookError, ClientBusy, OSError) as exc:
        return ClientOutcome(config, EXIT_NOT_STARTED, slug, error=" ".join(str(exc).split()),
                             seconds=round(time.time() - started, 1))
    except KeyboardInterrupt:
        return ClientOutcome(config, EXIT_INTERRUPTED, slug, error="interrupted; the unfinished "
                             "run stays in its .partial folder",
                             seconds=round(time.time() - started, 1))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return ClientOutcome(config, result.exit_code, slug, result.run_dir,
                         {k: v["status"] for k, v in result.notebooks.items()},
                         seconds=round(time.time() - started, 1), warnings=result.warnings,
                         pruned=result.pruned, latest_moved=result.latest_moved)


def _start_client_process(parent: int) -> None:
    """A client process ends with ``crm`` (:func:`~crmlib.procs.die_with_parent`) and ignores
    Ctrl-C while idle (no traceback); :func:`run_client` does not."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _same_folder(configs: list[Path]) -> dict[Path, str]:
    """Configurations that write the same reports folder as an earlier one → the reason."""
    seen: dict[str, Path] = {}
    clash = {}
    for path in configs:
        try:
            slug = load_config(path).slug
        except (DataError, OSError):
            continue  # reported when that client runs
        if slug in seen:
            clash[path] = (f"{slug}: same reports folder as {seen[slug].name}; "
                           "this configuration was not run")
        else:
            seen[slug] = path
    return clash


def run_clients(configs: list[Path], *, jobs: int | None = None, only: list[str] | None = None,
                as_of: str | None = None, out: Path | None = None, keep: int | None = None,
                on_done: Callable[[ClientOutcome], None] | None = None,
                retry: int = 0) -> list[ClientOutcome]:
    """Run several clients in parallel processes; outcomes in the order of ``configs``.

    Parameters
    ----------
    configs : configuration files (see :func:`expand_configs`).
    jobs : notebooks executing at once over all clients (default: number of CPUs),
        shared as :func:`share_jobs` says.
    only, as_of, out, keep, retry : as for :func:`~crmlib.report.runner.run_report`, for every
        client.
    on_done : called with each outcome as soon as that client finishes.
    """
    at_once, per_client = share_jobs(len(configs), jobs)
    options = {"only": only, "jobs": per_client, "as_of": as_of, "out": out, "keep": keep,
               "retry": retry}
    outcomes: dict[Path, ClientOutcome] = {}
    for path, reason in _same_folder(configs).items():
        outcomes[path] = ClientOutcome(path, EXIT_NOT_STARTED, error=reason)
        if on_done:
            on_done(outcomes[path])
    todo = [p for p in configs if p not in outcomes]
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(at_once, len(todo)), mp_context=ctx,
                                 initializer=_start_client_process,
                                 initargs=(os.getpid(),)) as pool:
            running: dict[Future, Path] = {pool.submit(run_client, p, options): p for p in todo}
            try:
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        path = running.pop(fut)
                        try:
                            outcomes[path] = fut.result()
                        except Exception as exc:  # the client's process itself died
                            outcomes[path] = ClientOutcome(
                                path, EXIT_NOT_STARTED,
                                error=f"the run's process crashed: {type(exc).__name__}: {exc}")
                        if on_done:
                            on_done(outcomes[path])
            except BaseException:
                _interrupt(pool, running)
                for fut in running:  # say how each client still running ended
                    if on_done and not fut.cancelled() and fut.exception() is None:
                        on_done(fut.result())
                raise
    return [outcomes[p] for p in configs]


def _interrupt(pool: ProcessPoolExecutor, running: dict[Future, Path]) -> None:
    """Stop the clients' runs like a Ctrl-C stops one: each leaves its ``.partial`` folder.

    A Ctrl-C at the terminal reaches the client processes too; when only this process was
    interrupted, the ones still running after a grace period are sent SIGINT, so each
    stops its own notebook workers and kernels.
    """
    for fut in running:
        fut.cancel()
    wait(running, timeout=INTERRUPT_GRACE)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            try:
                os.kill(proc.pid, signal.SIGINT)
            except OSError:
                pass
    pool.shutdown(wait=True, cancel_futures=True)


def overall_exit(outcomes: list[ClientOutcome]) -> int:
    """The worst exit code of the clients: 130 (interrupted) over 2 over 1 over 0."""
    return max((o.exit_code for o in outcomes), default=EXIT_OK)


def summary_line(outcome: ClientOutcome) -> str:
    """One line per client: status, slug, notebooks ok, duration, then index or error."""
    name = outcome.slug or outcome.config.name
    if outcome.exit_code == EXIT_INTERRUPTED:
        return f"STOPPED {name:<20} {outcome.error}"
    if outcome.error is not None and outcome.exit_code == EXIT_FAILED:
        return f"FAILED  {name:<20} {outcome.error}"
    if outcome.error is not None:
        return f"ERROR   {name:<20} could not start: {outcome.error}"
    statuses = outcome.statuses
    n_ok = sum(s == "ok" for s in statuses.values())
    bad = [k for k, s in statuses.items() if s != "ok"]
    mark = {EXIT_OK: "ok     ", EXIT_FAILED: "FAILED "}.get(outcome.exit_code, "ERROR  ")
    text = (f"{mark} {name:<20} {n_ok}/{len(statuses)} notebooks ok  {outcome.seconds:6.1f} s  "
            f"{outcome.run_dir / 'index.html' if outcome.run_dir else ''}")
    if bad:
        text += f"  (not ok: {', '.join(bad)})"
    if outcome.pruned:
        text += f"  (removed {len(outcome.pruned)} old run(s))"
    return text
