"""The run's client deliverables beyond the HTML: a PDF of every report and ``deck.pptx``.

A report's PDF is printed as soon as its notebook has run (:class:`PdfPrinter`, up to
:data:`PRINTERS` Chromium processes at a lower priority beside the running notebooks); the
rest, and the deck, once every notebook has run. A deliverable that cannot be made
(no Chromium for the PDFs, unreadable results for the deck) is recorded with the reason
and shown on the index; it never fails the run, whose reports stay intact.
"""
from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..results import Results, ResultsError
from ..story import TITLES
from .deck import build_deck
from .pdf import INSTALL, PdfError, browser, print_pdf

DECK = "deck.pptx"
NO_PDF = "CRM_NO_PDF"  # set to 1 to skip printing PDFs (the test suite's unit runs do)
SUMMARY = "05_executive_summary"
PRINT_NICE = 10  # Chromium prints with the CPU time the notebooks leave
PRINTERS = 2
"""Pages printed at once: the last pages of a run print side by side once the notebooks
are done (each Chromium spends about a second starting, on one core)."""


def _results(run_dir: Path) -> tuple[dict[str, Results], Results | None, dict[str, Path]]:
    out, charts, summary = {}, {}, None
    for stem in TITLES:
        path = run_dir / "results" / stem / "results.json"
        if not path.is_file():
            continue
        res = Results.from_json(json.loads(path.read_text(encoding="utf-8")))
        if stem == SUMMARY:
            summary = res
            continue
        out[stem] = res
        chart = path.parent / (res.key_chart or "key_chart.png")
        if chart.is_file():
            charts[stem] = chart
    return out, summary, charts


def _pdf_note(run_dir: Path) -> str | None:
    """Why no PDF can be printed (None: they can)."""
    if os.environ.get(NO_PDF) == "1":
        return f"PDFs not printed: {NO_PDF}=1"
    if browser() is None:
        return f"PDFs not printed: no Chromium installed ({INSTALL})"
    return None


class PdfPrinter:
    """Renders each report page and prints it to PDF in the background as its notebook
    finishes, while other notebooks still run: pages are rendered one at a time, and up to
    :data:`PRINTERS` are printed at once; :meth:`wait_rendered` waits for the pages,
    :meth:`collect` for the PDFs. Use as a context manager.

    Rendering here rather than in the worker that ran the notebook lets the notebooks
    that wait for its results start at once."""

    def __init__(self, run_dir: str | Path, log: logging.Logger | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.note = _pdf_note(self.run_dir)
        self.log = log
        self._renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-pages")
        self._printers = ThreadPoolExecutor(max_workers=PRINTERS, thread_name_prefix="crm-pdf")
        self._pages: dict[str, Future] = {}
        self._jobs: dict[str, Future] = {}

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._renderer.shutdown(wait=True, cancel_futures=True)
        self._printers.shutdown(wait=True, cancel_futures=True)

    def submit(self, outcome: dict[str, Any] | str, task: dict[str, Any] | None = None) -> None:
        """Render the page of a notebook's ``outcome`` (when its ``task`` left that to the
        runner), then print ``<stem>.html`` if it exists (at most once per stem). A stem
        alone prints the page already there."""
        stem = outcome if isinstance(outcome, str) else outcome["stem"]
        if isinstance(outcome, dict) and task is not None and task.get("render") is False \
                and not outcome.get("html") and stem not in self._pages:
            self._pages[stem] = self._renderer.submit(self._render, outcome, task)
        if stem in self._jobs or (self.note is not None):
            return
        if stem in self._pages or (self.run_dir / f"{stem}.html").is_file():
            self._jobs[stem] = self._printers.submit(self._print, stem)

    def _render(self, outcome: dict[str, Any], task: dict[str, Any]) -> None:
        from .worker import render_into, skip_imports

        skip_imports()
        render_into(outcome, task)
        if outcome.get("render_error") and self.log is not None:
            self.log.error("%s: HTML not written: %s", outcome["stem"], outcome["render_error"])

    def _print(self, stem: str) -> Path | None:
        if stem in self._pages:  # rendered in the other pool, which never waits for this one
            wait([self._pages[stem]])
        page = self.run_dir / f"{stem}.html"
        return print_pdf(page, nice=PRINT_NICE) if page.is_file() else None

    def wait_rendered(self) -> None:
        """Wait until every page submitted for rendering is written (or failed)."""
        for fut in self._pages.values():
            fut.result()

    def collect(self, stems: list[str]) -> tuple[dict[str, str], list[str]]:
        """Print the pages of ``stems`` not yet submitted, wait for every print, and return
        ``({stem: PDF file name}, notes)``."""
        self.wait_rendered()
        pages = [s for s in stems if (self.run_dir / f"{s}.html").is_file()]
        if self.note is not None:
            return {}, [self.note] if pages else []
        for stem in pages:
            self.submit(stem)
        made, notes = {}, []
        for stem in pages:
            try:
                pdf = self._jobs[stem].result()
            except PdfError as exc:
                notes.append(f"PDF not printed: {exc}")
                continue
            if pdf is not None:
                made[stem] = pdf.name
        return made, notes


def make_deliverables(run_dir: str | Path, stems: list[str], client: str,
                      run_id: str = "", printer: PdfPrinter | None = None) -> dict[str, Any]:
    """Print ``<stem>.pdf`` for each report page in ``run_dir`` and write the deck.

    Returns ``{"pdf": {stem: file name}, "deck": file name or None, "notes": [...]}``.
    ``printer`` holds the pages already being printed (default: a new one).
    ``CRM_NO_PDF=1`` in the environment skips the PDFs (quick runs, unit tests).
    """
    run_dir = Path(run_dir)
    made: dict[str, Any] = {"pdf": {}, "deck": None, "notes": []}
    with (printer or PdfPrinter(run_dir)) as pdfs:
        for stem in stems:  # printed while the deck is built
            pdfs.submit(stem)
        try:
            results, summary, charts = _results(run_dir)
            if results:
                made["deck"] = build_deck(results, charts, run_dir / DECK, client, run_id,
                                          summary).name
        except (OSError, ValueError, ResultsError) as exc:
            made["notes"].append(f"{DECK} not written: {exc}")
        made["pdf"], notes = pdfs.collect(stems)
    made["notes"] = notes + made["notes"]
    return made
