"""Printed reports (A4 PDF by headless Chromium): sections kept whole when they fit, the
summary on its own page, and wide tables whose headers wrap at spaces, never inside a word."""
from __future__ import annotations

import re
import shutil
import subprocess

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from crmlib import display as D
from crmlib.report import pdf
from crmlib.report.render import APPENDIX_ID, render_html, wrap_sections

HEADERS = ["Expectation", "Perception", "Significant", "Direction", "Dimension", "Wilcoxon p",
           "Effect size", "Importance", "Performance", "Satisfaction", "Reliability",
           "Responsiveness", "Assurance", "Empathy", "Tangibles", "Quadrant", "Tier"]


def _html_output(html: str):
    return new_output("display_data", data={"text/html": html, "text/plain": "table"})


def _notebook(path):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(12, len(HEADERS))), columns=HEADERS)
    wide.insert(0, "item", [f"ass_confidence_{i}" for i in range(12)])
    cells = [new_markdown_cell("# A report"),
             new_code_cell("", outputs=[_html_output('<div class="crm-summary">Summary</div>')],
                           metadata={"tags": ["summary"]})]
    for k in range(4):
        cells += [new_markdown_cell(f"## Section {k}\nWhat it shows."),
                  new_code_cell("", outputs=[_html_output(D.table(wide)._repr_html_())])]
    cells += [new_markdown_cell("## Notes", metadata={"tags": ["appendix"]})]
    nbformat.write(new_notebook(cells=cells), path)


def test_sections_are_wrapped_up_to_the_appendix():
    cell = '<div class="jp-Cell jp-{} jp-Notebook-cell" id="cell-id={}">{}</div>\n'
    body = ("<main>" + cell.format("MarkdownCell", "t", "<h1>T</h1>")
            + cell.format("CodeCell", "s", "summary")
            + cell.format("MarkdownCell", "a", "<h2>A</h2>") + cell.format("CodeCell", "b", "x")
            + cell.format("MarkdownCell", "c", "<h2>C</h2><h3>c</h3>")
            + cell.format("MarkdownCell", APPENDIX_ID, "<h2>Appendix</h2>")
            + cell.format("MarkdownCell", "z", "<h2>Z</h2>") + "</main>")
    out = wrap_sections(body)
    assert out.count('<section class="crm-section">') == 2 == out.count("</section>")
    first, second = out.split('<section class="crm-section">')[1:]
    assert "<h2>A</h2>" in first and '"cell-id=b"' in first and "<h2>C</h2>" not in first
    assert second.index("</section>") < second.index(APPENDIX_ID)  # the appendix stays out
    assert out.index("summary") < out.index("<section")
    assert wrap_sections("<main><p>no sections</p></main>") == "<main><p>no sections</p></main>"


@pytest.mark.skipif(pdf.browser() is None or shutil.which("pdftotext") is None,
                    reason="needs Chromium and pdftotext (poppler-utils)")
def test_printed_headers_of_wide_tables_never_break_inside_a_word(tmp_path):
    _notebook(tmp_path / "r.ipynb")
    page = render_html(tmp_path / "r.ipynb", tmp_path / "r.html")
    assert page.read_text().count('class="crm-section"') == 4
    printed = pdf.print_pdf(page)
    pages = subprocess.run(["pdftotext", "-layout", str(printed), "-"], capture_output=True,
                           text=True, check=True).stdout.split("\f")
    text = "\n".join(pages)
    words = set(re.findall(r"[A-Za-z]+", text))
    for header in HEADERS:  # every word of every header printed whole (4 tables)
        for word in header.split():
            assert word in words, word
    # no fragment of a header word stands alone ("Exp", "ectation", "Signific" …)
    fragments = {w for w in words for h in " ".join(HEADERS).split()
                 if w != h and len(w) >= 3 and (h.startswith(w) or h.endswith(w))}
    assert fragments == set()
    assert "Direction" in text and "Tier" in text  # the last columns are on the page
