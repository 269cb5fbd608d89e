"""Parameters-cell parsing, annotation checks, configuration, formulas, sanitising, index."""
from __future__ import annotations

from pathlib import Path

import pytest

from crmlib.io.errors import DataError, ParameterError
from crmlib.report.config import load_config, parse_from, slugify
from crmlib.report.index import headline_rows, render_index
from crmlib.report.params import (
    NO_DEFAULT,
    NotebookError,
    check_parameters,
    parse_parameters,
    read_parameters,
)
from crmlib.report.render import external_references, latex_to_html, math_to_text, sanitize

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"

CELL = '''
output_dir: str = "reports/_scratch/x"  # where results go
# the number of draws
draws: int = 1_000
rate: float = 0.1  # discount rate per year
window: tuple = (1, 2)
when: str | None = None  # cut-off date
mapping: dict[str, str] = {}  # contract name -> client column
levels: list[int] = [1, 2]
mode: "Literal['a', 'b']" = "a"
computed: str = str(1 + 1)  # not a literal
untyped = 3
a, b = 1, 2
'''


def test_parse_parameters_names_types_defaults_comments():
    p = parse_parameters(CELL)
    assert list(p) == ["output_dir", "draws", "rate", "window", "when", "mapping", "levels",
                       "mode", "computed", "untyped"]
    assert p["output_dir"].annotation == "str" and p["output_dir"].comment == "where results go"
    assert p["draws"].default == 1000 and p["draws"].comment == "the number of draws"
    assert p["when"].annotation == "str | None" and p["when"].default is None
    assert p["computed"].default is NO_DEFAULT
    assert p["untyped"].annotation is None and p["untyped"].default == 3


@pytest.mark.parametrize("name, good, bad", [
    ("draws", [5], [5.5, True, "5"]),
    ("rate", [1, 0.5], ["0.5", None, False]),
    ("when", ["2024-01-01", None], [3]),
    ("mapping", [{"a": "b"}], [{"a": 1}, ["a"]]),
    ("levels", [[1, 2], []], [[1, "2"], 1]),
    ("window", [[1, 2], (3,)], ["1,2"]),
    ("mode", ["b"], ["c"]),
    ("untyped", ["anything", 1], []),
])
def test_annotations_accept_and_reject(name, good, bad):
    p = parse_parameters(CELL)[name]
    assert all(p.accepts(v) for v in good)
    assert not any(p.accepts(v) for v in bad)


def test_syntax_error_in_parameters_cell():
    with pytest.raises(NotebookError, match="not valid Python"):
        parse_parameters("x: int = (", where="nb")


def test_read_parameters_from_notebook():
    p = read_parameters(FIXTURES / "ok.ipynb")
    assert p["n"].default == 3 and p["as_of"].comment == "cut-off date (ISO)"
    with pytest.raises(NotebookError, match="not found"):
        read_parameters(FIXTURES / "nope.ipynb")


def test_check_parameters_uses_the_notebook_spec(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    nb = FIXTURES / "checked.ipynb"
    data = str(FIXTURES / "data.csv")
    check_parameters(nb, {"data_file": data, "threshold": 0.2})
    with pytest.raises(ParameterError) as err:
        check_parameters(nb, {"data_file": data, "threshold": -1})
    assert "parameter 'threshold'" in str(err.value)
    # a deferred parameter (written during the run) is not checked for existence
    check_parameters(nb, {"data_file": "not/yet/there.csv"}, deferred={"data_file"})


def test_broken_spec_reference(tmp_path):
    import nbformat
    nb = nbformat.read(FIXTURES / "checked.ipynb", as_version=4)
    nb.metadata["crmlib"]["spec"] = "no_such_module_xyz:SPEC"
    path = tmp_path / "checked.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(NotebookError, match="cannot be loaded"):
        check_parameters(path, {})


def test_config_and_references(tmp_path):
    assert slugify("Demo Retail GmbH & Co.") == "demo-retail-gmbh-co"
    assert slugify("Café Zürich") == "cafe-zurich"
    assert parse_from("from:02_clv") == ("02_clv", "customers.csv")
    assert parse_from("from:02_clv/segments.csv") == ("02_clv", "segments.csv")
    assert parse_from("data/x.csv") is None
    cfg = tmp_path / "c.yaml"
    cfg.write_text("client: Demo\nas_of: 2024-03-31\nnotebooks:\n  a: {when: 2024-01-01}\n  b:\n")
    c = load_config(cfg)
    assert c.slug == "demo" and c.as_of == "2024-03-31"
    assert c.notebooks == {"a": {"when": "2024-01-01"}, "b": {}}
    cfg.write_text("client: Demo\nnotebooks: {a: {}}\ncolour: red\n")
    with pytest.raises(DataError, match="unknown key 'colour'"):
        load_config(cfg)
    cfg.write_text("notebooks: {a: {}}\n")
    with pytest.raises(DataError, match="key 'client'"):
        load_config(cfg)
    cfg.write_text("client: X\nnotebooks: [a, b]\n")
    with pytest.raises(DataError, match="key 'notebooks'"):
        load_config(cfg)
    with pytest.raises(DataError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("tex, text", [
    (r"\hat{\beta}_{1} \le 0", "β̂<sub>1</sub> ≤ 0"),
    (r"\frac{a}{b+c}", "a/(b+c)"), (r"\frac{1}{n}", "1/n"),
    (r"x^2 + y_{i,t}", "x<sup>2</sup> + y<sub>i,t</sub>"),
    (r"\text{CLV} = \sum_{t=1}^{T} m", "CLV = Σ<sub>t=1</sub><sup>T</sup> m"),
    (r"a < b", "a &lt; b"),
])
def test_formulas_become_readable_text(tex, text):
    assert latex_to_html(tex) == text


def test_math_in_markdown():
    md = "costs $5 and $10; $x^2$ and `$code$` and $$\\alpha$$"
    out = math_to_text(md)
    assert out.startswith("costs $5 and $10; ")
    assert '<span class="crm-math">x<sup>2</sup></span>' in out
    assert "`$code$`" in out and "crm-math-display\">α</span>" in out
    store: dict[str, str] = {}
    placeholder = math_to_text("$a$", store)
    assert store[placeholder] == '<span class="crm-math">a</span>'


def test_sanitize_removes_network_references():
    page = ('<script src="https://cdn.example.com/x.js"></script>'
            '<link rel="stylesheet" href="//fonts.example.com/f.css">'
            '<img src="http://example.com/a.png" alt="Logo">'
            '<img src="data:image/png;base64,AAAA">'
            '<style>@import url("https://fonts.example.com/x.css"); b{background:url(http://x/y)}'
            '</style><a href="https://example.com">a plain link stays</a>')
    assert len(external_references(page)) == 5
    clean = sanitize(page)
    assert external_references(clean) == []
    assert "[Logo: not embedded]" in clean and "data:image/png" in clean
    assert 'href="https://example.com"' in clean


def test_headline_formatting():
    rows = headline_rows([{"label": "ROI", "value": 23.4, "unit": "%", "ci": [10, 40.5],
                           "ci_level": 0.95},
                          {"label": "Odd", "value": "n/a"}, "junk", {"value": 3}])
    assert rows[0] == {"label": "ROI", "value": "23.4%", "ci": "95% interval 10.0% to 40.5%",
                       "numeric": True}
    assert rows[1] == {"label": "Odd", "value": "n/a", "ci": "", "numeric": False}
    assert len(rows) == 2  # malformed items are left out
    assert headline_rows([{"label": "CLV", "value": 1234567.8, "unit": "currency",
                           "ci": [1000, 4e6]}], currency="EUR")[0] == {
        "label": "CLV", "value": "EUR 1,234,568", "ci": "interval EUR 1,000 to 4,000,000",
        "numeric": True}
    assert headline_rows([{"label": "Stage", "value": 2.5254, "unit": "stage (1–4)",
                           "ci": None}])[0]["value"] == "2.53 stage (1–4)"


def test_index_escapes_client_text(tmp_path):
    (tmp_path / "results" / "a").mkdir(parents=True)
    (tmp_path / "results" / "a" / "results.json").write_text(
        '{"headline": [{"label": "<b>x</b>", "value": 1, "unit": "<i>", "ci": null}]}')
    record = {"client": "<script>alert(1)</script>", "run_id": "r1",
              "notebooks": {"a": {"status": "ok", "seconds": 1.0},
                            "b": {"status": "failed", "error": "<img src=x onerror=alert(1)>"}}}
    html = render_index(tmp_path, record)
    assert "<script>" not in html and "<img" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;" in html and "1 of 2 notebooks did not succeed" in html


def test_a_notebook_counts_as_started_once_a_cell_ran(tmp_path):
    import nbformat

    from crmlib.report.worker import _started

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert not _started(path) and not _started(tmp_path / "missing.ipynb")
    nb.cells[1].execution_count = 1
    nbformat.write(nb, path)
    assert _started(path)


def test_the_run_log_keeps_what_the_kernel_said_but_not_the_shutdown_interrupt(tmp_path):
    from crmlib.report.worker import _read_stderr

    path = tmp_path / ".nb.stderr"
    path.write_text("[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n"
                    "UserWarning: pre-trends of pilot and control differ (p = 0.018)\n",
                    encoding="utf-8")
    assert _read_stderr(path) == "UserWarning: pre-trends of pilot and control differ (p = 0.018)"
    assert not path.exists()


@pytest.mark.parametrize("names", [("東京", "大阪"), ("Москва", "Санкт-Петербург"),
                                   ("Αθήνα", "Θεσσαλονίκη"), ("🚀", "🛰")])  # noqa: E501
def test_client_names_in_other_scripts_get_distinct_folders(names):
    slugs = [slugify(n) for n in names]
    assert len(set(slugs)) == len(names) and all(slugs)
    assert slugify(names[0]) == slugs[0]                     # stable
    assert all("/" not in s and not s.startswith(".") for s in slugs)


def test_non_latin_slugs_keep_their_letters():
    assert slugify("東京 Retail") == "東京-retail"
    assert slugify("Москва ООО") == "москва-ооо"
    assert slugify("🚀").startswith("client-") and len(slugify("🚀")) == len("client-") + 8


def test_the_index_says_how_long_a_notebook_started_early_waited(tmp_path):
    from crmlib.report.index import notebook_card

    card = notebook_card(tmp_path, "05_s", {"status": "ok", "seconds": 9.44,
                                            "waited_for_inputs": 2.83})
    assert '<span class="duration">9.4 s, 2.8 s of it waiting for its inputs</span>' in card
    card = notebook_card(tmp_path, "01_a", {"status": "ok", "seconds": 12.1,
                                            "waited_for_inputs": None})
    assert '<span class="duration">12.1 s</span>' in card


def _executed(path, heading, value):
    import nbformat

    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output("execute_result", {"text/html": f"<p>{value}</p>"},
                                 execution_count=1)
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {heading}"),
                nbformat.v4.new_code_cell("x", outputs=[out], execution_count=1)]
    nbformat.write(nb, path)
    return path


def test_pages_rendered_one_after_another_are_those_rendered_alone(tmp_path):
    from crmlib.report import render

    first = _executed(tmp_path / "01_a.ipynb", "First report", "value-of-the-first")
    second = _executed(tmp_path / "02_b.ipynb", "Second report", "value-of-the-second")
    render.render_html(first, tmp_path / "a.html")
    render.render_html(second, tmp_path / "b.html")   # the exporter of the first page
    render._exporter.cache_clear()
    render.render_html(second, tmp_path / "b_alone.html")
    page = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert page == (tmp_path / "b_alone.html").read_text(encoding="utf-8")
    assert "Second report" in page and "value-of-the-second" in page
    assert "First report" not in page and "value-of-the-first" not in page
