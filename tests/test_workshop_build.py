"""One workshop page built end to end: the assessment notebook on the small demo client."""
import json
import re

import nbformat
import pytest

from crmlib.report import external_references
from crmlib.workshop import METHODS, build_workshop


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("workshop")
    index = build_workshop(out, only="01", seed=7, size="small")
    return out, index


def test_outputs(built):
    out, index = built
    assert index == out / "index.html"
    for f in ("01_crm_assessment.html", "01_crm_assessment.ipynb", "truths.csv",
              "data/TRUTH.md", "data/assessment_responses.csv",
              "results/01_crm_assessment/results.json"):
        assert (out / f).is_file(), f
    assert not (out / "data" / "transactions.csv").exists()  # only the parts needed
    meta = json.loads((out / "workshop.json").read_text())
    assert meta["seed"] == 7 and [p["stem"] for p in meta["notebooks"]] == ["01_crm_assessment"]
    assert meta["notebooks"][0]["error"] is None


def test_page_shows_code_explanations_and_exercises_offline(built):
    out, _ = built
    page = (out / "01_crm_assessment.html").read_text()
    assert external_references(page) == []
    assert "<script" not in page and "mathjax" not in page.lower()
    assert "$$" not in page
    assert page.count("jp-InputArea") > 10  # code visible
    assert "P = validate(SPEC, globals())" in page.replace("&quot;", '"') or "validate" in page
    for m in METHODS["01_crm_assessment"]:
        assert f"Method: {m.title}" in page
    assert page.count('class="crm-math crm-math-display"') >= sum(
        len(m.formulas) for m in METHODS["01_crm_assessment"])
    assert "σ²<sub>EU</sub> = (A² − 1)/12 = 1.25" in page and "<details" in page
    assert "Exercise 1: Apply the no-skipping rule by hand" in page
    assert "Not answered yet" in page  # the check ran on the unanswered starter
    assert "Planted truths vs recovered" in page


def test_executed_notebook_keeps_the_latex(built):
    out, _ = built
    nb = nbformat.read(out / "01_crm_assessment.ipynb", as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"\$\$\s*r_\{wg\} = 1 - \\frac", md)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []


def test_index_sets_planted_against_recovered(built):
    out, index = built
    html = index.read_text()
    assert external_references(html) == []
    assert 'href="01_crm_assessment.html"' in html
    assert "company base (no-skipping rule)" in html and "misaligned capabilities" in html
    import pandas as pd
    t = pd.read_csv(out / "truths.csv").set_index("quantity")
    assert t.loc["company base (no-skipping rule)", "within"]
    assert t.loc["misaligned capabilities", "within"]


def test_pages_open_offline_in_a_real_browser(built):
    """Headless Chromium: no console error, no request outside the file, every image decoded."""
    from offline_browser import check_page, chromium

    out, index = built
    with chromium() as browser:
        for path in (index, out / "01_crm_assessment.html"):
            check_page(browser, path, f"workshop-{path.stem}")


def _fake_build(tmp_path, jobs, fail=()):
    from workshop_fake_build import build

    from crmlib.workshop.build import NOTEBOOKS, _build_all

    for stem in fail:
        (tmp_path / f"fail-{stem}").touch()
    lines: list[str] = []
    built = _build_all(list(NOTEBOOKS), tmp_path, tmp_path, 7, None, lines.append, jobs,
                       build=build)
    runs = {s: json.loads((tmp_path / f"{s}.json").read_text()) for s in NOTEBOOKS}
    return built, runs, lines


def test_notebooks_are_built_side_by_side_the_satisfaction_one_after_the_clv_one(tmp_path):
    built, runs, lines = _fake_build(tmp_path, jobs=2)
    assert set(built) == set(runs) and len(lines) == 4
    assert "02_clv_modelling" in sorted(runs, key=lambda s: runs[s]["started"])[:2]  # first
    assert runs["03_satisfaction_gaps"]["started"] >= runs["02_clv_modelling"]["finished"]
    assert "02_clv_modelling" in runs["03_satisfaction_gaps"]["done"]  # it reads its table
    spans = sorted((r["started"], r["finished"]) for r in runs.values())
    most = max(sum(a <= t < b for a, b in spans) for t, _ in spans)
    assert most == 2   # two at a time, never more
    order = [line.split(":")[0] for line in lines]   # lines come in the order builds end
    assert order.index("03_satisfaction_gaps") > order.index("02_clv_modelling")


def test_a_failed_clv_build_leaves_the_satisfaction_one_without_its_table(tmp_path):
    built, runs, lines = _fake_build(tmp_path, jobs=1, fail=("02_clv_modelling",))
    assert built["02_clv_modelling"][0]["error"] == "ValueError: bad"
    assert "02_clv_modelling" not in runs["03_satisfaction_gaps"]["done"]
    assert any(line.startswith("02_clv_modelling: failed: ValueError") for line in lines)
    spans = sorted((r["started"], r["finished"]) for r in runs.values())
    assert all(b1 <= a2 + 0.01 for (_, b1), (a2, _) in zip(spans, spans[1:]))  # one at a time
