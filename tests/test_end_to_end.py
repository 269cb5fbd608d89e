"""The whole product on the small demo client: `crm report` end to end, then the deliverables.

One run (module fixture) serves every check. The browser checks open the index and every
report in headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it) through
Playwright: no console errors, no request outside ``file://``, every image decoded, client
text escaped. Screenshots are saved under ``test-artifacts/`` for a human look. The
deliverable checks scan every report's visible text for Python output, count the A4 pages
of the executive summary and of each analysis' body, read the deck back, and open every
workbook to find formulas: the input carries hostile customer ids and segment names.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml
from offline_browser import check_page, chromium

from crmlib import paths
from crmlib.demo import generate

NOTEBOOKS = ["01_crm_assessment", "02_clv_modelling", "03_satisfaction_gaps", "04_phase_roi",
             "05_executive_summary"]
HOSTILE = "<script>alert(1)</script> & Co"
EVIL_ID = '=HYPERLINK("http://evil.example","{}")'  # a customer id that would be a formula
EVIL_SEGMENTS = ["=1+1", "@SUM(A1)"]
LEAKS = {"numpy scalar": r"np\.(float|int|bool)\w*\(", "path": r"(Posix|Windows)Path\(",
         "partial run folder": r"\.partial\b", "dict": r"\{'[^']*': ", "list of dicts": r"\[\{",
         "nan": r"\bnan\b|\bNaN\b", "pandas NA": r"<NA>", "None": r"\bNone\b",
         "scientific notation": r"\b\d(\.\d+)?e[+-]?\d+\b", "raw bool": r"\b(True|False)\b"}


def _hostile(data: Path) -> None:
    """Customer ids that are formulas, segment names that start like one."""
    tx = pd.read_csv(data / "transactions.csv", dtype=str)
    survey = pd.read_csv(data / "survey.csv", dtype=str)
    ids = {c: EVIL_ID.format(c) for c in tx["customer_id"].unique()}
    tx["customer_id"] = tx["customer_id"].map(ids)
    survey["customer_id"] = survey["customer_id"].map(lambda c: ids.get(c, c))
    segments = sorted(survey["segment"].dropna().unique())
    survey["segment"] = survey["segment"].replace(dict(zip(segments, EVIL_SEGMENTS)))
    tx.to_csv(data / "transactions.csv", index=False)
    survey.to_csv(data / "survey.csv", index=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    data = base / "data"
    generate(data, seed=11, size="small")
    _hostile(data)
    demo = yaml.safe_load((paths.CLIENTS / "demo.yaml").read_text())
    config = {"client": HOSTILE, "slug": "e2e", "notebooks": {}}
    for stem, params in demo["notebooks"].items():
        config["notebooks"][stem] = {
            k: (str(data / Path(v).name) if isinstance(v, str) and v.startswith("data/demo/") else v)
            for k, v in (params or {}).items()}
    cfg = base / "client.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = base / "reports"
    env = {k: v for k, v in os.environ.items() if k != "CRM_NO_PDF"}  # PDFs are checked here
    proc = subprocess.run([sys.executable, "-m", "crmlib.cli", "report", "--config", str(cfg),
                           "--out", str(out), "--quiet"], capture_output=True, text=True,
                          timeout=900, env=env)
    runs = [p for p in (out / "e2e").iterdir() if p.is_dir() and p.name != "latest"]
    return proc, runs


def test_demo_report_succeeds_for_every_notebook(demo_run):
    proc, runs = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(runs) == 1 and not runs[0].name.endswith(".partial")
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["status"] == "ok" and run["exit_code"] == 0
    assert {s: n["status"] for s, n in run["notebooks"].items()} == {s: "ok" for s in NOTEBOOKS}
    assert run["inputs_sha256"] and run["versions"]
    assert (runs[0] / "index.html").exists()
    for stem in NOTEBOOKS:
        assert (runs[0] / f"{stem}.html").exists(), stem
        assert (runs[0] / "results" / stem / "results.json").exists(), stem


def test_results_carry_the_contracted_keys(demo_run):
    _, runs = demo_run
    res = runs[0] / "results"
    keys = {
        "01_crm_assessment": ["n_respondents", "groups", "company_stage", "mean_stage",
                              "stage_by_driver", "stage_by_group", "misaligned_capabilities",
                              "staff_vs_customer_gap", "priorities"],
        "02_clv_modelling": ["n_customers", "n_transactions", "excluded", "model", "params",
                             "params_se", "log_likelihood", "gamma_gamma", "clv_total",
                             "clv_total_ci", "top_decile_share"],
        "03_satisfaction_gaps": ["n_respondents", "excluded", "gaps_by_dimension", "gaps_by_item",
                                 "reliability", "ipa", "drivers", "priorities"],
        "04_phase_roi": ["phases", "programme"],
    }
    for stem, wanted in keys.items():
        got = json.loads((res / stem / "results.json").read_text())
        assert set(wanted) <= set(got), (stem, set(wanted) - set(got))
        assert got.get("headline"), stem
    assert (res / "02_clv_modelling" / "customers.csv").exists()


def test_reports_open_offline_in_a_real_browser(demo_run):
    _, runs = demo_run
    pages = [runs[0] / "index.html"] + [runs[0] / f"{s}.html" for s in NOTEBOOKS]
    with chromium() as browser:
        for page_path in pages:
            check_page(browser, page_path, page_path.stem)
        index = browser.new_page()
        index.on("dialog", lambda d: pytest.fail(f"client text ran as script: {d.message}"))
        index.goto(pages[0].as_uri(), wait_until="load")
        assert HOSTILE in index.inner_text("body")


def visible_text(html: str) -> str:
    """What a reader sees: the page without its tags, styles and scripts."""
    html = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", html)
    return unescape(re.sub(r"(?s)<[^>]+>", " ", html))


def test_no_python_output_in_any_report(demo_run):
    _, runs = demo_run
    found = []
    for stem in NOTEBOOKS:
        text = visible_text((runs[0] / f"{stem}.html").read_text(encoding="utf-8"))
        for name, pattern in LEAKS.items():
            found += [(stem, name, text[max(0, m.start() - 40):m.end() + 20])
                      for m in re.finditer(pattern, text)]
    assert found == []


def test_reports_tell_their_story_first(demo_run):
    _, runs = demo_run
    for stem in NOTEBOOKS[:4]:
        html = (runs[0] / f"{stem}.html").read_text(encoding="utf-8")
        summary, appendix = html.find('class="crm-summary"'), html.find('class="crm-appendix"')
        assert 0 < summary < appendix, stem
        assert html.count('<li>', summary, appendix) >= 3, stem  # findings in sentences
        assert "crm-key-chart" in html[summary:appendix], stem
        res = json.loads((runs[0] / "results" / stem / "results.json").read_text())
        assert 3 <= len(res["findings"]) <= 5 and res["actions"], stem


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_pdfs_are_a4_and_the_bodies_fit_their_page_budget(demo_run):
    _, runs = demo_run
    run = json.loads((runs[0] / "run.json").read_text())
    assert run["deliverables"]["notes"] == []
    for stem in NOTEBOOKS:
        pdf = (runs[0] / f"{stem}.pdf").read_bytes()
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert box and abs(float(box.group(1)) - 595.3) < 2 and abs(float(box.group(2)) - 841.9) < 2
    with chromium() as browser:
        page = browser.new_page()
        for stem in NOTEBOOKS:  # printed as on screen: the appendix collapsed
            page.goto((runs[0] / f"{stem}.html").as_uri(), wait_until="load")
            body = _pages(page.pdf(prefer_css_page_size=True))
            full = _pages((runs[0] / f"{stem}.pdf").read_bytes())
            limit = 2 if stem == "05_executive_summary" else 6
            assert body <= limit, (stem, body)
            assert full >= body, stem


def test_deck_has_every_slide_filled(demo_run):
    from pptx import Presentation
    _, runs = demo_run
    prs = Presentation(runs[0] / "deck.pptx")
    titles = [s.shapes.title.text for s in prs.slides]
    assert titles[1:] == ["Executive summary", "What changed since the last run",
                          "CRM assessment", "Customer lifetime value", "Satisfaction gaps",
                          "Phase ROI", "Where to act first", "Methods and assumptions"]
    assert HOSTILE in titles[0]
    for i, slide in enumerate(prs.slides):
        assert len(slide.shapes) >= 2, i
    since = " ".join(sh.text_frame.text for sh in prs.slides[2].shapes if sh.has_text_frame)
    assert "baseline" in since.lower()  # a first run has nothing to compare with
    assert [sum(sh.shape_type == 13 for sh in s.shapes) for s in prs.slides][3:7] == [1, 1, 1, 1]


def test_index_links_the_deck_and_the_pdfs(demo_run):
    _, runs = demo_run
    html = (runs[0] / "index.html").read_text(encoding="utf-8")
    assert 'href="deck.pptx"' in html and 'href="05_executive_summary.pdf"' in html
    for stem in NOTEBOOKS:
        assert f'href="{stem}.pdf"' in html, stem


def test_workbooks_hold_no_formula_from_data(demo_run):
    import openpyxl
    _, runs = demo_run
    books = sorted((runs[0] / "results").glob("*/*.xlsx"))
    assert len(books) >= 5
    seen = set()
    for book in books:
        with zipfile.ZipFile(book) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/"):
                    xml = z.read(name).decode()
                    assert "<f>" not in xml and "<f " not in xml, (book.name, name)
        wb = openpyxl.load_workbook(book)
        for ws in wb:
            assert ws.freeze_panes == "A2" and ws.auto_filter.ref, (book.name, ws.title)
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith(("=", "@", "+")):
                        assert cell.data_type == "s" and cell.quotePrefix, cell.value
                        seen.add(cell.value[:11])
    assert {"=HYPERLINK(", "=1+1", "@SUM(A1)"} <= seen  # the hostile input reached the sheets
