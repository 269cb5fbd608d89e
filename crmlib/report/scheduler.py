"""Execute a run's notebooks on a pool of worker processes, in dependency order.

Each notebook runs in its own worker (:func:`worker.execute`) with its own kernel.
A notebook runs once the notebooks whose results it uses have finished; if one of
them failed, it is marked *not run*. A notebook whose inputs are still being made starts
early, in one worker process beside the ``workers`` that run notebooks: its kernel starts
and imports, then waits at a gate (:mod:`crmlib.report.engine`) that opens when the inputs
are there, so that its cells start the moment they can.
With ``retry``, a notebook whose kernel died or timed out is run again, up to ``retry``
more times (a notebook that raised never is); every attempt is kept in its outcome's
``attempts``.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import paths
from ..io.options import declarations
from .config import ClientConfig
from .params import read_notebook
from .plan import Job
from .render import title_of
from .worker import current_kernel, execute, start_worker, stop_workers

EARLY = 1
"""Notebooks that may wait at their gate beside the ``workers`` running notebooks (with
two workers or more): such a notebook's kernel uses the CPU only while it starts and
imports (a few seconds), then sleeps until its inputs are made; the notebook that needs
another's results then starts its cells at once, not its kernel."""


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def _task(job: Job, run_dir: Path, config: ClientConfig) -> dict[str, Any]:
    """What a worker needs to execute and render ``job`` (see :func:`worker.execute`)."""
    title = title_of(read_notebook(job.notebook), job.stem)
    run_id = run_dir.name.removesuffix(".partial")
    footer = (f"{escape(config.client)} · {escape(job.stem)} · run {escape(run_id)} · crmlib "
              f"{escape(_version('crmlib'))} · "
              '<a href="index.html">all reports of this run</a>')
    return {"stem": job.stem, "notebook": str(job.notebook), "parameters": job.parameters,
            "output": str(run_dir / f"{job.stem}.ipynb"),
            "html": str(run_dir / f"{job.stem}.html"), "cwd": str(job.notebook.parent),
            "timeout": config.cell_timeout, "title": f"{title} · {config.client}",
            "footer": footer, "input_options": json.dumps(
                declarations(config.raw.get("inputs"), config.path, paths.ROOT))}


def _line(outcome: dict[str, Any]) -> str:
    mark = {"ok": "ok     ", "failed": "FAILED ", "not-started": "NOT RUN", "skipped": "SKIPPED"}
    text = f"{mark.get(outcome['status'], outcome['status'])} {outcome['stem']:<28} " \
           f"{outcome.get('seconds', 0):7.1f} s"
    return text + (f"  {outcome['error']}" if outcome.get("error") else "")


def execute_all(jobs: list[Job], run_dir: Path, config: ClientConfig, workers: int,
                log: logging.Logger, progress: bool, retry: int = 0,
                on_done: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
                ) -> dict[str, dict[str, Any]]:
    """Run the jobs in dependency order on a process pool; return stem → outcome.

    ``retry`` is how many more times a notebook whose kernel died or timed out is run.
    ``on_done`` is called with each final outcome and its task as it arrives; when it is
    given, the workers do not render the HTML pages: ``on_done`` does (the runner renders
    and prints each page in the background while the notebooks that waited for this one
    already run, :class:`crmlib.report.deliver.PdfPrinter`), and completes the outcome.

    On an interruption the workers (and with them their kernels) are stopped at once;
    if this process is killed outright, they end by themselves (:mod:`crmlib.procs`).
    """
    ctx = multiprocessing.get_context("spawn")
    with current_kernel(), tqdm(total=len(jobs), desc=config.slug, unit="notebook",
                                file=sys.stderr, leave=False,
                                disable=not (progress and sys.stderr.isatty())) as bar:
        pool = ProcessPoolExecutor(max_workers=workers + _early_slots(workers), mp_context=ctx,
                                   initializer=start_worker, initargs=(os.getpid(),))
        try:
            with tempfile.TemporaryDirectory(prefix="crm-gates-") as gates:
                done = _schedule(jobs, pool, run_dir, config, log, bar, progress, retry,
                                 on_done, workers=workers, gates=Path(gates))
        except BaseException:
            stop_workers(pool)
            raise
        pool.shutdown(wait=True)
    return {j.stem: done[j.stem] for j in jobs}


def _schedule(jobs: list[Job], pool: ProcessPoolExecutor, run_dir: Path, config: ClientConfig,
              log: logging.Logger, bar: tqdm, progress: bool, retry: int,
              on_done: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
              workers: int | None = None,
              gates: Path | None = None) -> dict[str, dict[str, Any]]:
    """Submit each job once the notebooks it needs have finished, at most ``workers`` at
    a time (None: no limit); collect the outcomes.

    Among the jobs ready to start, those whose results other notebooks wait for go first.
    A job ready while all ``workers`` are busy is logged as queued and submitted when one
    is free; when a job ends, a wait of a second or more before its kernel started is
    logged with its cause. With ``gates`` (a folder) and ``workers``, a job whose
    unfinished needs are all running starts behind a gate in that folder, opened or closed
    when its needs have finished (see :func:`_start_early`); until its gate opens it does
    not count among the ``workers``, and it takes the first free one when it does.
    """
    waiting_on = {j.stem: sum(j.stem in k.requires for k in jobs) for j in jobs}
    pending = {j.stem: j for j in sorted(jobs, key=lambda j: -waiting_on[j.stem])}
    running: dict[Future, str] = {}
    tasks: dict[str, dict[str, Any]] = {}
    done: dict[str, dict[str, Any]] = {}
    attempts: dict[str, list[dict[str, Any]]] = {j.stem: [] for j in jobs}
    submitted: dict[str, float] = {}
    queued: set[str] = set()
    gated: dict[str, Job] = {}   # started early; their gates are gates / stem

    def submit(job: Job, **extra: Any) -> None:
        tasks[job.stem] = dict(_task(job, run_dir, config), render=on_done is None, **extra)
        submitted.setdefault(job.stem, time.time())
        running[pool.submit(execute, tasks[job.stem])] = job.stem

    def free() -> bool:
        return workers is None or len(running) - len(gated) < workers

    while pending or running:
        for stem, job in list(gated.items()):
            if job.needs <= done.keys():
                assert gates is not None   # only jobs started behind a gate are here
                _open_gate(gates / stem, _blocked(job, done))
                del gated[stem]
        for stem, job in list(pending.items()):
            if not job.needs <= done.keys():
                continue
            reason = _blocked(job, done)
            if reason:
                del pending[stem]
                done[stem] = {"stem": stem, "status": "skipped", "seconds": 0.0,
                              "error": f"not run: {reason}"}
                _report(done[stem], log, bar, progress)
                continue
            if not free():
                if stem not in queued:
                    queued.add(stem)
                    submitted[stem] = time.time()
                    log.info("queue %s with %s", stem, job.parameters)
                continue
            del pending[stem]
            if stem not in queued:
                log.info("start %s with %s", stem, job.parameters)
            submit(job)
        if gates is not None and workers is not None:
            slots = workers + _early_slots(workers) - len(running)
            for stem in _start_early(pending, running, done, slots):
                job = gated[stem] = pending.pop(stem)
                (gates / stem).mkdir()
                waits = sorted(job.needs - done.keys())
                log.info("start %s early (its kernel starts and imports while %s %s) with %s",
                         stem, ", ".join(waits), "runs" if len(waits) == 1 else "run",
                         job.parameters)
                submit(job, gate=str(gates / stem))
        if not running:
            continue
        bar.set_postfix_str(", ".join(sorted(running.values())), refresh=True)
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for fut in finished:
            stem = running.pop(fut)
            outcome = _outcome(fut, stem)
            tries = attempts[stem]
            tries.append(_attempt(outcome, len(tries) + 1))
            if outcome.get("retry_reason") and len(tries) <= retry:
                log.warning("%s: attempt %d of %d failed (%s: %s); trying again", stem,
                            len(tries), retry + 1, outcome["retry_reason"], outcome["error"])
                if outcome.get("stderr"):
                    log.info("%s: standard error of the kernel:\n%s", stem, outcome["stderr"])
                shutil.rmtree(run_dir / "results" / stem, ignore_errors=True)
                submitted[stem] = time.time()
                queued.discard(stem)   # the worker that ran it is free again
                running[pool.submit(execute, tasks[stem])] = stem
                continue
            outcome["attempts"] = tries
            done[stem] = outcome
            gated.pop(stem, None)   # a gated job that ended at its gate (its kernel died)
            _report(outcome, log, bar, progress)
            waited = outcome["started"] - submitted[stem] if "started" in outcome else 0.0
            if waited >= 1:   # a crashed worker reports no start
                log.info("%s waited %.1f s %s", stem, waited, "for a free worker"
                         if stem in queued else "for its worker process to start")
            if outcome.get("waited_for_inputs") is not None:
                log.info("%s waited %.1f s for its inputs after its imports", stem,
                         outcome["waited_for_inputs"])
            if on_done is not None and outcome["status"] != "skipped":
                on_done(outcome, tasks[stem])
    return done


def _early_slots(workers: int) -> int:
    """Worker processes beyond ``workers`` for notebooks waiting at their gate: :data:`EARLY`
    with two workers or more; none with one (one notebook at a time, as asked)."""
    return EARLY if workers >= 2 else 0


def _start_early(pending: dict[str, Job], running: dict[Future, str],
                 done: dict[str, dict[str, Any]], slots: int) -> list[str]:
    """The pending jobs to start behind a gate, one per free worker process (``slots``):
    those not ready whose needs have all finished or are running, none of the results they
    require having failed (a job that will not run is never started)."""
    busy = set(running.values())
    early = [stem for stem, job in pending.items()
             if not job.needs <= done.keys() and job.needs <= done.keys() | busy
             and all(done[n]["status"] == "ok" for n in job.requires & done.keys())]
    return early[:max(slots, 0)]


def _open_gate(gate: Path, reason: str | None) -> None:
    """Let the job waiting at ``gate`` run (``go``), or end it as not run (``stop``,
    holding ``reason``). The file appears whole: written aside, then renamed."""
    name, text = ("stop", reason) if reason else ("go", "")
    tmp = gate / f".{name}"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(gate / name)


def _outcome(fut: Future, stem: str) -> dict[str, Any]:
    try:
        outcome = fut.result()
    except Exception as exc:  # the worker process itself died
        return {"stem": stem, "status": "failed", "seconds": 0.0,
                "error": f"worker crashed: {type(exc).__name__}: {exc}"}
    outcome["seconds"] = round(outcome["finished"] - outcome["started"], 2)
    return outcome


def _attempt(outcome: dict[str, Any], number: int) -> dict[str, Any]:
    """One attempt at a notebook, as ``run.json`` records it."""
    return {"attempt": number, "status": outcome["status"], "error": outcome.get("error"),
            "retry_reason": outcome.get("retry_reason"), "seconds": outcome.get("seconds"),
            "started": outcome.get("started"), "finished": outcome.get("finished")}


def _blocked(job: Job, done: dict[str, dict[str, Any]]) -> str | None:
    """Why ``job`` cannot run: a notebook it takes results from failed or wrote no file."""
    failed = sorted(r for r in job.requires if done[r]["status"] != "ok")
    if failed:
        return f"needs the results of {', '.join(failed)}, which did not succeed"
    for path in job.upstream_files.values():
        if not path.is_file():
            return f"{path.parent.name} succeeded but wrote no {path.name}"
    return None


def _report(outcome: dict[str, Any], log: logging.Logger, bar: tqdm, progress: bool) -> None:
    line = _line(outcome)
    (log.info if outcome["status"] == "ok" else log.error)(line)
    if outcome.get("stderr"):
        log.info("%s: standard error of the kernel:\n%s", outcome["stem"], outcome["stderr"])
    if outcome.get("render_error"):
        log.error("%s: HTML not written: %s", outcome["stem"], outcome["render_error"])
    if progress:
        tqdm.write(line, file=sys.stderr)
    bar.update(1)
