"""Workshop content: explanations placed after their sections, readable formulas, exercises."""
import re

import nbformat
import pytest

from crmlib import paths
from crmlib.report.render import math_to_text
from crmlib.workshop import CHECKS, EXERCISES, METHODS, NOTEBOOKS, select, workshop_notebook
from crmlib.workshop.build import (
    TAG_CHECK,
    TAG_EXERCISE,
    TAG_METHOD,
    TAG_TRUTH,
    _anchor,
    demo_parts,
    parameters,
)
from crmlib.workshop.content import method_of


def stored(stem):
    return nbformat.read(paths.NOTEBOOKS / f"{stem}.ipynb", as_version=4)


def tags(cell):
    return cell.metadata.get("tags", [])


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_each_method_follows_its_section(stem, tmp_path):
    nb = workshop_notebook(stem, stored(stem), tmp_path, seed=3)
    for m in METHODS[stem]:
        i = _anchor(nb, m.after)
        nxt = nb.cells[i + 1]
        assert TAG_METHOD in tags(nxt) and method_of(nxt) is m, (stem, m.key)
    # the stored cells are all still there, in their order
    original = [c.source for c in stored(stem).cells]
    kept = [c.source for c in nb.cells if not c.metadata.get("crmlib_workshop")]
    assert kept == original


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_truths_follow_the_results_and_exercises_close_the_notebook(stem, tmp_path):
    nb = workshop_notebook(stem, stored(stem), tmp_path / "data", seed=3)
    kinds = [c.metadata.get("crmlib_workshop", {}).get("kind") for c in nb.cells]
    first_truth = kinds.index(TAG_TRUTH)
    assert "write_results(" in nb.cells[first_truth - 1].source
    code = nb.cells[first_truth + 1].source
    assert f"comparison({stem!r}" in code and "seed=3" in code and str(tmp_path / "data") in code
    tail = kinds[first_truth + 2:]
    assert set(tail) <= {TAG_EXERCISE, TAG_CHECK}
    assert tail.count(TAG_CHECK) == len(EXERCISES[stem]) >= 1


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_exercise_cells_run_unanswered_and_name_a_check(stem):
    for ex in EXERCISES[stem]:
        compile(ex.starter, ex.key, "exec")
        compile(ex.check_call, ex.key, "exec")
        assert re.search(r"= \.\.\.", ex.starter), "the answer is left for the trainee"
        assert ex.check_call.startswith(f"check({ex.key!r}".replace("'", '"'))
        assert ex.key in CHECKS


def test_unanswered_exercise_says_so():
    result = CHECKS["company_base"](..., driver_scores=None)
    assert not result.ok and "Not answered yet" in result.message
    assert "Not yet." in result._repr_html_()


def test_check_result_html_escapes_the_message():
    from crmlib.workshop import CheckResult
    html = CheckResult(False, "<script>alert(1)</script>")._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def all_methods():
    return [m for ms in METHODS.values() for m in ms]


@pytest.mark.parametrize("method", all_methods(), ids=lambda m: m.key)
def test_method_has_formula_paper_and_both_renderings(method):
    assert method.formulas and method.papers
    assert all(re.search(r"\(?(19|20)\d\d\)?", p) for p in method.papers), method.papers
    latex = method.markdown("latex")
    assert latex.count("$$") == 2 * len(method.formulas)
    text = method.markdown("text")
    assert "$$" not in text
    assert text.count('class="crm-math crm-math-display"') == len(method.formulas)
    for f in method.formulas:
        assert "\\" not in f.text and f.text.strip(), f"{method.key}: fallback must be readable"
    # inline formulas of the explanation become readable text in the HTML pass
    rendered = math_to_text(method.explanation)
    assert "$" not in rendered and "\\" not in re.sub(r"`[^`]*`", "", rendered)


def test_readable_formula_html():
    from crmlib.workshop import Formula
    f = Formula("", "t_x < T^(r+x) and Σ_{m=1..H} <b>")
    assert f.html() == "t<sub>x</sub> &lt; T<sup>r+x</sup> and Σ<sub>m=1..H</sub> &lt;b&gt;"


def test_method_markdown_mode_is_checked():
    with pytest.raises(ValueError):
        all_methods()[0].markdown("mathjax")


def test_select_by_name_or_prefix():
    assert select(None) == list(NOTEBOOKS)
    assert select("03,01") == ["01_crm_assessment", "03_satisfaction_gaps"]
    assert select(["02_clv_modelling"]) == ["02_clv_modelling"]
    with pytest.raises(ValueError, match="05"):
        select("05")
    with pytest.raises(ValueError):
        select("0")


def test_demo_parts_draw_transactions_before_the_survey():
    assert demo_parts(["03_satisfaction_gaps"]) == ("clv", "satisfaction")
    assert demo_parts(["04_phase_roi", "01_crm_assessment"]) == ("assessment", "roi")


def test_parameters_point_at_the_demo_data(tmp_path):
    data, res = tmp_path / "data", tmp_path / "results"
    p = parameters("03_satisfaction_gaps", data, res)
    assert p["survey"] == str(data / "survey.csv") and "clv_table" not in p
    assert p["output_dir"] == str(res / "03_satisfaction_gaps")
    (res / "02_clv_modelling").mkdir(parents=True)
    (res / "02_clv_modelling" / "customers.csv").write_text("customer_id,clv\n")
    p = parameters("03_satisfaction_gaps", data, res, done=["02_clv_modelling"])
    assert p["clv_table"] == str(res / "02_clv_modelling" / "customers.csv")


def test_a_missing_section_is_an_error(tmp_path):
    nb = stored("01_crm_assessment")
    nb.cells = [c for c in nb.cells if "## Agreement within groups" not in c.source]
    with pytest.raises(KeyError, match="Agreement within groups"):
        workshop_notebook("01_crm_assessment", nb, tmp_path)
