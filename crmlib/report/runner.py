"""Run a client's notebooks into ``reports/<client-slug>/<run-id>/``.

The run's life cycle:

1. every notebook's parameters are checked (:mod:`crmlib.report.plan`); a
   problem raises before anything is written or any kernel starts;
2. the run folder is created as ``<run-id>.partial``; notebooks execute in
   parallel worker processes (papermill, ``python3`` kernel = this
   interpreter), each into ``<stem>.ipynb`` + ``<stem>.html`` with its results
   in ``results/<stem>/``; a failing notebook never stops the others
   (:mod:`crmlib.report.scheduler`, which also retries a notebook whose kernel died
   or timed out when asked to);
3. ``run.json``, ``index.html`` and ``run.log`` are written and the folder is
   renamed to ``<run-id>``, failures included (they are marked in the index
   and in ``run.json``);
4. the completed folder is made read-only (:func:`retention.freeze`);
5. ``latest`` (a relative symlink, or a text file holding the run id where
   symlinks are not available) moves to the new run only when it covered
   every notebook of the configuration and all succeeded, so a failed or
   partial run never replaces a good report;
6. with ``keep``, older runs beyond the ``keep`` newest are removed
   (:func:`retention.prune`), and the client's ``index.html`` is rewritten.

Steps 2-6 happen while the client's lock (``reports/<client>/.lock``) is held, so
a second run of the same client is refused with :class:`lock.ClientBusy`.
A folder still named ``.partial`` is a run that was interrupted.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import paths
from ..results import to_jsonable
from .config import ClientConfig, load_config
from .deliver import PdfPrinter, make_deliverables
from .failures import RunIOError, from_outcomes, io_step
from .history import outdated
from .index import write_client_index, write_index
from .lock import client_lock
from .params import read_notebook
from .plan import Job, build_plan, sha256
from .render import title_of
from .retention import ENDED, freeze, mark_ended, prune, remove_dead_partials, start_partial
from .scheduler import execute_all as _execute_all

PACKAGES = ("crmlib", "pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
            "duckdb", "pyarrow", "openpyxl", "pyyaml", "pingouin", "numpy-financial",
            "papermill", "nbconvert", "nbformat", "nbclient", "ipykernel", "jupyter_client")
EXIT_OK, EXIT_FAILED, EXIT_NOTHING = 0, 1, 2


@dataclass
class RunResult:
    """What a run produced.

    Attributes
    ----------
    run_dir : the completed run folder.
    run_id : its name.
    notebooks : stem → outcome (``status``, ``error``, ``seconds``, ...).
    exit_code : 0 all ok, 1 some failed, 2 none could start.
    latest_moved : whether ``latest`` now points at this run.
    warnings : problems that did not fail the run (``latest`` or read-only not set).
    pruned : old run folders removed by ``keep``.
    """

    run_dir: Path
    run_id: str
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_code: int = EXIT_OK
    latest_moved: bool = False
    warnings: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        """The run's ``index.html``."""
        return self.run_dir / "index.html"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    """Python, platform and the versions of the packages a report depends on."""
    out: dict[str, str | None] = {"python": platform.python_version(),
                                  "platform": platform.platform()}
    out.update({name: _version(name) for name in PACKAGES})
    return out


def git_revision(root: Path) -> str | None:
    """``<commit>`` (plus ``-dirty``) of the project checkout, None outside git."""
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=5).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def new_run_id(client_dir: Path, now: dt.datetime | None = None) -> str:
    """A run id (UTC ``yyyymmdd-HHMMSS``, suffixed ``-2``, ``-3``… if taken)."""
    base = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
    run_id, i = base, 1
    while (client_dir / run_id).exists() or (client_dir / f"{run_id}.partial").exists():
        i += 1
        run_id = f"{base}-{i}"
    return run_id


def read_latest(client_dir: Path) -> Path | None:
    """The run folder ``latest`` points at (None when there is no good run yet)."""
    link = client_dir / "latest"
    if link.is_symlink():
        target = client_dir / os.readlink(link)
    elif link.is_file():
        target = client_dir / link.read_text(encoding="utf-8").strip()
    else:
        return None
    return target if target.is_dir() else None


def point_latest(client_dir: Path, run_id: str) -> None:
    """Atomically point ``client_dir/latest`` at ``run_id``."""
    tmp = client_dir / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(run_id, target_is_directory=True)
    except OSError:  # no symlinks (some Windows set-ups): a text file
        tmp.write_text(run_id + "\n", encoding="utf-8")
    os.replace(tmp, client_dir / "latest")


class _LogFile(logging.FileHandler):
    """``run.log``: a line that cannot be written (disk full) is lost, not printed as a
    traceback; the failure that matters is reported by the run itself."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging API)
        pass


def _logger(path: Path) -> logging.Logger:
    log = logging.getLogger(f"crmlib.report.run.{path.parent.parent.name}.{path.parent.name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = _LogFile(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    return log


def _close(log: logging.Logger) -> None:
    for h in list(log.handlers):
        h.close()
        log.removeHandler(h)


def exit_code(outcomes: dict[str, dict[str, Any]]) -> int:
    """0 when all succeeded, 2 when none could start, else 1."""
    statuses = [o["status"] for o in outcomes.values()]
    if all(s == "ok" for s in statuses):
        return EXIT_OK
    if not any(s in ("ok", "failed") for s in statuses):
        return EXIT_NOTHING
    return EXIT_FAILED


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _relocate(value: Any, old: str, new: str) -> Any:
    """Replace the ``.partial`` run path by the final one in recorded parameters."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _relocate(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_relocate(v, old, new) for v in value]
    return value


def run_record(config: ClientConfig, jobs: list[Job], outcomes: dict[str, dict[str, Any]],
               run_id: str, partial: Path, final: Path, started: float,
               options: dict[str, Any]) -> dict[str, Any]:
    """The content of ``run.json``."""
    inputs: dict[str, Any] = {}
    if config.path is not None and config.path.is_file():
        inputs[str(config.path)] = sha256(config.path)
    for job in jobs:
        inputs[str(job.notebook)] = sha256(job.notebook)
        for path in job.inputs.values():
            inputs[str(path)] = sha256(path)
    code = exit_code(outcomes)
    notebooks = {}
    for job in jobs:
        o = outcomes[job.stem]
        notebooks[job.stem] = {
            "title": title_of(read_notebook(job.notebook), job.stem),
            "status": o["status"], "error": o.get("error"), "failed_cell": o.get("cell"),
            "seconds": o.get("seconds"), "render_error": o.get("render_error"),
            "waited_for_inputs": o.get("waited_for_inputs"),
            "started": _utc(o["started"]) if o.get("started") else None,
            "finished": _utc(o["finished"]) if o.get("finished") else None,
            "parameters": _relocate(job.parameters, str(partial), str(final)),
            "attempts": [dict(a, started=_utc(a["started"]) if a.get("started") else None,
                              finished=_utc(a["finished"]) if a.get("finished") else None)
                         for a in o.get("attempts", [])],
            "needs": sorted(job.needs)}
    return to_jsonable({
        "run_id": run_id, "client": config.client, "slug": config.slug,
        "status": {0: "ok", 1: "failed", 2: "not-started"}[code], "exit_code": code,
        "started": _utc(started), "finished": _utc(time.time()),
        "seconds": round(time.time() - started, 2), "options": options,
        "config": {"path": str(config.path) if config.path else None, "content": config.raw},
        "notebooks": notebooks, "inputs_sha256": inputs,
        "versions": package_versions(), "project": {"root": str(paths.ROOT),
                                                    "git": git_revision(paths.ROOT)}})


def run_report(config: ClientConfig | str | Path, *, only: list[str] | None = None,
               jobs: int | None = None, as_of: str | None = None,
               out: str | Path | None = None, progress: bool = True,
               keep: int | None = None, retry: int = 0) -> RunResult:
    """Check, then run a client's notebooks into a new run folder.

    Parameters
    ----------
    config : a :class:`ClientConfig` or the path of a client YAML file.
    only : notebook names (or numeric prefixes such as ``"02"``) to run; the
        notebooks they take results from are added.
    jobs : parallel worker processes (default: one per CPU, at most one per notebook).
    as_of : ISO date passed to every notebook that declares ``as_of``.
    out : reports root (default ``reports/`` of the project).
    progress : show a progress bar and one line per notebook on stderr.
    keep : after the run, keep only this many newest complete runs of the client
        (plus the one ``latest`` points at); None keeps everything.
    retry : run a notebook whose kernel died or timed out up to this many more times
        (a notebook that raised an error is never retried); each attempt is recorded in
        ``run.json`` (``notebooks.<name>.attempts``).

    Returns
    -------
    RunResult, whose ``exit_code`` is 0 (all ok), 1 (some failed) or 2 (none could start).

    Raises
    ------
    DataError, ParameterError, NotebookError
        Before anything is written, naming the file or parameter at fault.
    ClientBusy
        Another run of the same client is in progress (nothing written).
    """
    if not isinstance(config, ClientConfig):
        config = load_config(config)
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    if retry < 0:
        raise ValueError(f"retry must be 0 or more, got {retry}")
    client_dir = (paths.resolve(out) if out else paths.REPORTS) / config.slug
    # every check happens before the lock (and with it the client folder) is created
    run_id = new_run_id(client_dir)
    plan = build_plan(config, client_dir / f"{run_id}.partial", only=only, as_of=as_of)
    with client_lock(client_dir, config.slug, config.path):
        cleaned = _remove_dead_partials(client_dir)
        taken, run_id = run_id, new_run_id(client_dir)
        if run_id != taken or outdated(plan, client_dir, run_id):
            # a run finished in between: same checks, new folder or new previous run
            plan = build_plan(config, client_dir / f"{run_id}.partial", only=only, as_of=as_of)
        result = _run_locked(config, plan, client_dir, run_id, only=only, jobs=jobs,
                             as_of=as_of, progress=progress, cleaned=cleaned, retry=retry)
        _finish(config, plan, result, keep)
    return result


def _remove_dead_partials(client_dir: Path) -> tuple[list[str], list[str]]:
    """:func:`retention.remove_dead_partials`: the folders removed and a warning for each."""
    try:
        removed = remove_dead_partials(client_dir)
    except OSError as exc:
        return [], [f"could not remove the unfinished folder of an ended run "
                    f"{exc.filename or client_dir}: {exc.strerror or exc}"]
    return [name for name, _ in removed], [
        f"removed {name}: the run writing it (pid {owner.get('pid')} on {owner.get('host')}) "
        "ended before finishing" for name, owner in removed]


def _run_locked(config: ClientConfig, plan: list[Job], client_dir: Path, run_id: str, *,
                only: list[str] | None, jobs: int | None, as_of: str | None,
                progress: bool, cleaned: tuple[list[str], list[str]],
                retry: int = 0) -> RunResult:
    """Execute ``plan`` into ``<run_id>.partial``, record it, rename it to ``<run_id>``.

    ``cleaned`` are the ``.partial`` folders of ended runs removed before this one and the
    warnings saying so.
    """
    partial, final = client_dir / f"{run_id}.partial", client_dir / run_id
    warnings = list(cleaned[1])
    if as_of and not any("as_of" in j.declared for j in plan):
        warnings.append(f"--as-of {as_of} ignored: no notebook of this run has an as_of "
                        "parameter")
    workers = max(1, min(jobs or os.cpu_count() or 1, len(plan)))
    started = time.time()
    with io_step("create the run folder", partial):
        start_partial(partial)
    with io_step("write", partial / "run.log", partial):
        log = _logger(partial / "run.log")
    try:
        log.info("run %s of %s (%s) with %d worker(s): %s", run_id, config.client, config.path,
                 workers, ", ".join(j.stem for j in plan))
        for warning in warnings:
            log.warning(warning)
        if progress:
            tqdm.write(f"crm: {len(plan)} notebook(s), {workers} at a time, into {partial}",
                       file=sys.stderr)
        with PdfPrinter(partial, log) as printer:
            outcomes = _execute_all(plan, partial, config, workers, log, progress, retry=retry,
                                    on_done=printer.submit)
            printer.wait_rendered()
            io_failure = from_outcomes(outcomes, partial)
            if io_failure is not None:  # disk full or no permission: the run is not complete
                raise io_failure
            deliverables = make_deliverables(partial, [j.stem for j in plan], config.client,
                                             run_id, printer)
        for note in deliverables["notes"]:
            log.warning(note)
        options = {"only": only, "jobs": workers, "as_of": as_of, "out": str(client_dir.parent),
                   "retry": retry}
        with io_step("read", config.path or partial, partial):  # hashes of the inputs
            record = run_record(config, plan, outcomes, run_id, partial, final, started,
                                options)
        previous = read_latest(client_dir)
        record["previous_good_run"] = previous.name if previous else None
        record["removed_partials"] = cleaned[0]
        record["deliverables"] = deliverables
        with io_step("write", partial / "run.json", partial):
            (partial / "run.json").write_text(json.dumps(record, indent=2,
                                              ensure_ascii=False), encoding="utf-8")
        with io_step("write", partial / "index.html", partial):
            write_index(partial, record)
        log.info("finished: %s in %.1f s", record["status"], record["seconds"])
    except BaseException as exc:
        if isinstance(exc, RunIOError):
            log.error("run stopped: %s", exc)
        else:
            log.exception("run aborted; the incomplete run stays in %s", partial)
        _close(log)
        mark_ended(partial)
        raise
    _close(log)
    mark_ended(partial)  # should the rename fail, the next run knows this one ended
    with io_step("complete the run folder", partial, partial):
        partial.rename(final)
    (final / ENDED).unlink(missing_ok=True)
    return RunResult(final, run_id, outcomes, record["exit_code"], warnings=warnings)


def _finish(config: ClientConfig, plan: list[Job], result: RunResult, keep: int | None) -> None:
    """Freeze the completed run, move ``latest``, prune old runs, rewrite the client index."""
    client_dir = result.run_dir.parent
    try:
        freeze(result.run_dir)
    except OSError as exc:
        result.warnings.append(f"run folder not made read-only: {exc}")
    complete = set(config.notebooks) == {j.stem for j in plan}
    if result.exit_code == EXIT_OK and complete:
        try:
            point_latest(client_dir, result.run_id)
            result.latest_moved = True
        except OSError as exc:  # e.g. a folder of that name made by hand
            result.warnings.append(f"'latest' not updated: {exc}")
    latest = read_latest(client_dir)
    if keep is not None:
        protect = {result.run_id} | ({latest.name} if latest else set())
        try:
            result.pruned = prune(client_dir, keep, protect)
        except OSError as exc:
            result.warnings.append(f"old runs not pruned: {exc}")
    try:
        write_client_index(client_dir, latest.name if latest else None)
    except OSError as exc:  # the run itself is complete
        result.warnings.append(f"could not write {exc.filename or client_dir / 'index.html'}: "
                               f"{exc.strerror or exc}")
