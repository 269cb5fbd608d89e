"""Build the workshop: stored notebooks + explanations + exercises, executed on the demo data,
rendered as offline HTML with the code visible.

For each notebook the build (1) inserts each :class:`~crmlib.workshop.content.Method` after
the section it explains, a "planted truths vs recovered" section after the results cell and
the exercises at the end; (2) executes it with papermill on freshly generated demo data;
(3) renders HTML with the inputs shown, using the report renderer's template, formula
handling and network sanitiser (:mod:`crmlib.report.render`), so the page loads nothing from
the network. An index page lists the pages and every planted-vs-recovered row.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell

from .. import paths
from ..demo import MODULES, generate
from ..report.config import select_notebooks
from ..report.render import title_of
from ..report.worker import (
    KERNEL,
    KERNEL_SHUTDOWN,
    current_kernel,
    start_worker,
    stderr_to,
    stop_workers,
)
from .content import METHODS
from .exercises import EXERCISES
from .page import index_page, render_page
from .truths import comparison

NOTEBOOKS = tuple(METHODS)
DEMO_PARTS = {"01_crm_assessment": "assessment", "02_clv_modelling": "clv",
              "03_satisfaction_gaps": "satisfaction", "04_phase_roi": "roi"}
TAG_METHOD, TAG_EXERCISE, TAG_CHECK, TAG_TRUTH = ("workshop-method", "workshop-exercise",
                                                  "workshop-check", "workshop-truths")
NEEDS = {"03_satisfaction_gaps": "02_clv_modelling"}
"""The notebook whose results another reads (the CLV table of the satisfaction analysis):
it is built first, and the other starts when it has finished."""


class WorkshopError(RuntimeError):
    """A workshop notebook failed to execute or render (its pages are still written)."""


def select(only: str | Iterable[str] | None) -> list[str]:
    """Workshop notebooks chosen by stems or numbers (``"02,03"``); all when None
    (:func:`crmlib.report.config.select_notebooks`)."""
    return select_notebooks(only, NOTEBOOKS, option="--only")


def demo_parts(stems: Iterable[str]) -> tuple[str, ...]:
    """Demo generators the notebooks need, in generation order. The satisfaction survey
    is drawn after the transactions, as in the full demo, so its value effect is planted."""
    need = {DEMO_PARTS[s] for s in stems}
    if "satisfaction" in need:
        need.add("clv")
    return tuple(m for m in MODULES if m in need)


def _tagged(cell: nbformat.NotebookNode, tag: str, **meta) -> nbformat.NotebookNode:
    cell.metadata["tags"] = [tag]
    cell.metadata["crmlib_workshop"] = {"kind": tag, **meta}
    return cell


def _anchor(nb: nbformat.NotebookNode, heading: str) -> int:
    """Index of the Markdown cell that holds the heading ``heading``."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and any(
                line.strip().startswith(heading) for line in cell.source.splitlines()):
            return i
    raise KeyError(f"section {heading!r} not found in the notebook")


def _results_cell(nb: nbformat.NotebookNode) -> int:
    """Index of the cell that writes results.json (the last ``write_results`` call)."""
    hits = [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and "write_results(" in c.source]
    if not hits:
        raise KeyError("no cell calls write_results")
    return hits[-1]


INTRO = ("> **Workshop edition.** The analysis runs as in a client report, with its code "
         "shown. Boxes headed *Method* explain what a section computes, with its formula and "
         "the paper it comes from. The data are the demo client's, generated from known "
         "values: after the results, the section *Planted truths vs recovered* sets what the "
         "models found against what was planted. Exercises are at the end; each has a cell "
         "that checks your answer.")


def truth_cells(stem: str, data_dir: Path, seed: int) -> list[nbformat.NotebookNode]:
    """The planted-vs-recovered section (reads the notebook's own results.json)."""
    text = ("## Planted truths vs recovered\n\nThe demo data were drawn from known values "
            "(`TRUTH.md` next to the data). `within` says whether the planted value lies "
            "inside the interval the analysis reports (for categories: whether they agree). "
            "A few misses at a 95% level are expected; a note says where the analysis is not "
            "meant to recover the planted value.")
    code = ("from crmlib.workshop.truths import comparison\n\n"
            f"truths = comparison({stem!r}, P[\"output_dir\"], data_dir={str(data_dir)!r}, "
            f"seed={seed})\ntruths")
    return [_tagged(new_markdown_cell(text), TAG_TRUTH), _tagged(new_code_cell(code), TAG_TRUTH)]


def exercise_cells(stem: str) -> list[nbformat.NotebookNode]:
    """Prompt, starter and check cells of the notebook's exercises."""
    cells = [_tagged(new_markdown_cell(
        "## Exercises\n\nReplace each `...` and run the cell, then run the check below it. "
        "The checks recompute the answer with crmlib; worked solutions are in the project's "
        "tests (`tests/test_workshop_exercises.py`)."), TAG_EXERCISE)]
    for n, ex in enumerate(EXERCISES.get(stem, ()), 1):
        cells += [_tagged(new_markdown_cell(f"### Exercise {n}: {ex.title}\n\n{ex.prompt}"),
                          TAG_EXERCISE, key=ex.key),
                  _tagged(new_code_cell(ex.starter), TAG_EXERCISE, key=ex.key),
                  _tagged(new_code_cell("from crmlib.workshop.exercises import check\n\n"
                                        + ex.check_call), TAG_CHECK, key=ex.key)]
    return cells


def workshop_notebook(stem: str, nb: nbformat.NotebookNode, data_dir: Path,
                      seed: int = 7) -> nbformat.NotebookNode:
    """The workshop edition of a stored notebook (not executed).

    Method cells go after their section's heading cell (later sections first, so the
    indices stay valid), the truths after the results cell, the exercises at the end.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    places = sorted(((_anchor(nb, m.after), m) for m in METHODS[stem]),
                    key=lambda p: p[0], reverse=True)
    after_results = _results_cell(nb)
    for i, cell in enumerate(truth_cells(stem, data_dir, seed)):
        nb.cells.insert(after_results + 1 + i, cell)
    for i, m in places:
        nb.cells.insert(i + 1, _tagged(new_markdown_cell(m.markdown("latex")), TAG_METHOD,
                                       key=m.key))
    nb.cells.insert(1, _tagged(new_markdown_cell(INTRO), TAG_METHOD, key="intro"))
    nb.cells += exercise_cells(stem)
    nb.metadata.setdefault("crmlib", {})["workshop"] = {"seed": seed, "data_dir": str(data_dir)}
    return nb


def parameters(stem: str, data_dir: Path, results: Path, done: Iterable[str] = ()) -> dict:
    """papermill parameters of a workshop notebook on the demo data in ``data_dir``."""
    d = {"01_crm_assessment": {"responses": data_dir / "assessment_responses.csv"},
         "02_clv_modelling": {"transactions": data_dir / "transactions.csv",
                              "subscriptions": data_dir / "subscriptions.csv"},
         "03_satisfaction_gaps": {"survey": data_dir / "survey.csv",
                                  "items": data_dir / "survey_items.csv"},
         "04_phase_roi": {"plan": data_dir / "phase_plan.yaml", "kpis": data_dir / "kpi_panel.csv"},
         }[stem]
    clv = results / "02_clv_modelling" / "customers.csv"
    if stem == "03_satisfaction_gaps" and "02_clv_modelling" in done and clv.exists():
        d["clv_table"] = clv
    d["output_dir"] = results / stem
    return {k: str(v) for k, v in d.items()}


def execute(stem: str, notebook: nbformat.NotebookNode, out_ipynb: Path, params: dict,
            timeout: int | None = None) -> str | None:
    """Execute ``notebook`` with papermill into ``out_ipynb``; the error line, or None.

    The kernel's and papermill's standard error (warnings) go to ``workshop.log`` next to it.
    """
    import papermill as pm  # papermill is slow to import: only when a notebook runs
    from papermill.exceptions import PapermillExecutionError

    src = out_ipynb.with_name(f".{stem}.source.ipynb")
    nbformat.write(notebook, src)
    try:
        with stderr_to(out_ipynb.with_name("workshop.log")), current_kernel():
            pm.execute_notebook(str(src), str(out_ipynb), parameters=params, kernel_name=KERNEL,
                                language="python", progress_bar=False, log_output=False,
                                cwd=str(paths.ROOT), execution_timeout=timeout,
                                shutdown_kernel=KERNEL_SHUTDOWN)
    except PapermillExecutionError as exc:
        return f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel could not start or died
        return f"{type(exc).__name__}: {exc}"
    finally:
        src.unlink(missing_ok=True)
    return None


def _build_one(stem: str, out: Path, data: Path, seed: int, done: list[str],
               timeout: int | None) -> tuple[dict, object]:
    """Execute and render one workshop notebook; its index entry and truths (or None)."""
    started = time.time()
    nb = workshop_notebook(stem, nbformat.read(paths.NOTEBOOKS / f"{stem}.ipynb", as_version=4),
                           data, seed)
    ipynb = out / f"{stem}.ipynb"
    params = parameters(stem, data, out / "results", done)
    error = execute(stem, nb, ipynb, params, timeout)
    page: dict[str, Any] = {"stem": stem, "title": stem, "ipynb": ipynb.name, "html": None,
                            "error": error}
    if ipynb.exists():
        try:
            executed = nbformat.read(ipynb, as_version=4)
            page["title"] = title_of(executed, stem)
            page["html"] = render_page(ipynb, out / f"{stem}.html", paths.NOTEBOOKS).name
        except Exception as exc:  # the executed notebook is still there
            page["error"] = error or f"rendering failed: {type(exc).__name__}: {exc}"
    truths = None
    if (out / "results" / stem / "results.json").exists():
        truths = comparison(stem, out / "results" / stem, data, seed).assign(notebook=stem)
    page["seconds"] = time.time() - started
    return page, truths


def _build_all(stems: list[str], out: Path, data: Path, seed: int, timeout: int | None,
               progress: Callable[[str], None] | None, jobs: int,
               build: Callable[..., tuple] = _build_one) -> dict[str, tuple]:
    """Build every notebook of ``stems`` with ``build`` (:func:`_build_one`), ``jobs`` at a
    time in worker processes (each with its own kernel); a notebook that reads another's
    results (:data:`NEEDS`) starts when that one has finished, and gets them if it
    succeeded. Returns stem → (index entry, truths)."""
    order = sorted(stems, key=lambda s: s not in NEEDS.values())  # the ones others read first
    ctx = multiprocessing.get_context("spawn")
    built: dict[str, tuple] = {}
    ok: list[str] = []
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(stems))), mp_context=ctx,
                             initializer=start_worker, initargs=(os.getpid(),)) as pool:
        running: dict[Future, str] = {}
        try:
            while order or running:
                for stem in [s for s in order if NEEDS.get(s) not in set(order) | set(
                        running.values())]:
                    order.remove(stem)
                    running[pool.submit(build, stem, out, data, seed, list(ok), timeout)] = stem
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    stem = running.pop(fut)
                    page, truths = built[stem] = fut.result()
                    if page["error"] is None:
                        ok.append(stem)
                    if progress is not None:
                        progress(f"{stem}: {'failed: ' + page['error'] if page['error'] else 'done'}"
                                 f" ({page['seconds']:.0f} s)")
        except BaseException:
            stop_workers(pool)
            raise
    return built


def build_workshop(out: str | Path, only: str | Iterable[str] | None = None, seed: int = 7,
                   size: str = "demo", timeout: int | None = None,
                   progress: Callable[[str], None] | None = None,
                   jobs: int | None = None) -> Path:
    """Build the workshop into ``out`` and return the path of its ``index.html``.

    Parameters
    ----------
    out : folder to write: ``index.html``, one ``<notebook>.html`` and executed
        ``<notebook>.ipynb`` per notebook, ``data/`` (the demo client drawn with ``seed``,
        with ``TRUTH.md``), ``results/<notebook>/``, ``truths.csv``, ``workshop.json`` and
        ``workshop.log`` (the kernels' warnings).
    only : notebook names or numeric prefixes (``"02,03"`` or ``["02", "03"]``); all four
        analyses when None.
    seed : seed of the demo data.
    size : ``"demo"`` (the demo client) or ``"small"`` (quick, for tests).
    timeout : seconds a single cell may run (default: no limit).
    progress : called with one line per finished notebook (e.g. ``print``).
    jobs : notebooks built at once, each in its own process and kernel (default: the
        number of CPUs, as ``crm report``).

    Raises
    ------
    WorkshopError
        When a notebook failed; every page, the index and ``workshop.json`` are written first.
    """
    stems = select(only)
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    (data / "TRUTH.md").unlink(missing_ok=True)  # TRUTH.md states only the parts drawn now
    generate(data, seed=seed, size=size, only=demo_parts(stems))
    built = _build_all(stems, out, data, seed, timeout, progress, jobs or os.cpu_count() or 1)
    pages = [built[stem][0] for stem in stems]
    tables = [built[stem][1] for stem in stems if built[stem][1] is not None]
    cols = ["notebook", "quantity", "planted", "recovered", "ci_low", "ci_high", "within", "note"]
    truths = pd.concat(tables, ignore_index=True)[cols] if tables else pd.DataFrame(columns=cols)
    truths.to_csv(out / "truths.csv", index=False)
    (out / "workshop.json").write_text(json.dumps(
        {"seed": seed, "size": size, "notebooks": pages}, indent=2), encoding="utf-8")
    index = index_page(out, pages, truths, seed, size)
    failed = [p for p in pages if p["error"]]
    if failed:
        raise WorkshopError("; ".join(f"{p['stem']}: {p['error']}" for p in failed)
                            + f" (pages written; see {index})")
    return index
