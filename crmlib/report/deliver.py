"""The run's client deliverables beyond the HTML: a PDF of every report and ``deck.pptx``.

Called by the runner once every notebook has run. A deliverable that cannot be made
(no Chromium for the PDFs, unreadable results for the deck) is recorded with the reason
and shown on the index; it never fails the run, whose reports stay intact.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..results import Results, ResultsError
from ..story import TITLES
from .deck import build_deck
from .pdf import PdfError, browser, print_pdf

DECK = "deck.pptx"
NO_PDF = "CRM_NO_PDF"  # set to 1 to skip printing PDFs (the test suite's unit runs do)
SUMMARY = "05_executive_summary"


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


def make_deliverables(run_dir: str | Path, stems: list[str], client: str,
                      run_id: str = "") -> dict[str, Any]:
    """Print ``<stem>.pdf`` for each report page in ``run_dir`` and write the deck.

    Returns ``{"pdf": {stem: file name}, "deck": file name or None, "notes": [...]}``.
    ``CRM_NO_PDF=1`` in the environment skips the PDFs (quick runs, unit tests).
    """
    run_dir = Path(run_dir)
    made: dict[str, Any] = {"pdf": {}, "deck": None, "notes": []}
    pages = [s for s in stems if (run_dir / f"{s}.html").is_file()]
    if pages and os.environ.get(NO_PDF) == "1":
        made["notes"].append(f"PDFs not printed: {NO_PDF}=1")
    elif pages and browser() is None:
        made["notes"].append("PDFs not printed: no Chromium installed (apt-get install chromium)")
    elif pages:
        for stem in pages:
            try:
                made["pdf"][stem] = print_pdf(run_dir / f"{stem}.html").name
            except PdfError as exc:
                made["notes"].append(f"PDF not printed: {exc}")
    try:
        results, summary, charts = _results(run_dir)
        if results:
            made["deck"] = build_deck(results, charts, run_dir / DECK, client, run_id,
                                      summary).name
    except (OSError, ValueError, ResultsError) as exc:
        made["notes"].append(f"{DECK} not written: {exc}")
    return made
