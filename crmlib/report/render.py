"""Executed notebook → client HTML: code hidden, images embedded, nothing from the network.

The template in ``templates/`` extends nbconvert's ``lab`` template
and leaves out everything it would load from a CDN (require.js, MathJax,
Mermaid, the widget manager). Formulas in Markdown (``$...$``, ``$$...$$``)
are turned into readable text (``\\hat{\\beta}_{1} \\le 0`` → β̂₁ ≤ 0 with
sub/superscripts in HTML). Images produced by the notebook are embedded as
``data:`` URIs; images referenced from Markdown are embedded from disk.
Anything that would still point at the network (an ``<img>`` in Markdown with
an ``http`` address, a ``<script src>`` in some library's HTML output) is
removed by :func:`sanitize`. Standard-error streams (warnings) are left out
of the HTML; the executed ``.ipynb`` keeps them.
"""
from __future__ import annotations

import html as _html
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode


TEMPLATES = Path(__file__).with_name("templates")  # nbconvert template "templates" of this folder
TEMPLATE = TEMPLATES.name
REMOVE_CELL_TAGS = ("remove-cell", "remove_cell", "hide")
REMOVE_OUTPUT_TAGS = ("remove-output", "remove_output")
SUMMARY_TAG = "summary"  # shown right after the title, whatever its place in the notebook
APPENDIX_TAG = "appendix"  # moved to the appendix at the end, collapsed in HTML
APPENDIX_ID = "crm-appendix"
APPENDIX_TITLE = "Appendix: method detail, diagnostics and full tables"

# -- formulas ------------------------------------------------------------------------------

SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ",
    "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ",
    "upsilon": "υ", "phi": "φ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω",
    "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π",
    "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    "times": "×", "cdot": "·", "div": "÷", "pm": "±", "mp": "∓", "le": "≤", "leq": "≤",
    "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "~", "simeq": "≃",
    "equiv": "≡", "propto": "∝", "infty": "∞", "sum": " Σ", "prod": " Π", "int": " ∫",
    "partial": "∂", "nabla": "∇", "in": "∈", "notin": "∉", "subset": "⊂", "cup": "∪",
    "cap": "∩", "to": "→", "rightarrow": "→", "leftarrow": "←", "Rightarrow": "⇒",
    "leftrightarrow": "↔", "mid": "|", "ldots": "…", "dots": "…", "cdots": "⋯",
    "forall": "∀", "exists": "∃", "neg": "¬", "land": "∧", "lor": "∨", "circ": "∘",
    "log": "log", "ln": "ln", "exp": "exp", "max": "max", "min": "min", "arg": "arg",
    "lim": "lim", "sin": "sin", "cos": "cos", "Pr": "Pr", "det": "det", "top": "ᵀ",
    "%": "%", "$": "$", "{": "{", "}": "}", "_": "_", "&": "&", "#": "#",
    "quad": " ", "qquad": "  ", ",": " ", ";": " ", ":": " ", "!": "", " ": " ",
    "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "", "displaystyle": "",
}
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0304",
           "tilde": "\u0303", "widetilde": "\u0303", "dot": "\u0307", "vec": "\u20d7"}
UNWRAP = ("text", "mathrm", "mathbf", "mathit", "mathsf", "mathcal", "mathbb", "operatorname",
          "textrm", "textbf", "boldsymbol", "mbox")

_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"
_ARG = r"(?:" + _GROUP + r"|(\\[A-Za-z]+|[^\s{}\\]))"


def _arg(m: re.Match, i: int) -> str:
    return m.group(i) if m.group(i) is not None else m.group(i + 1)


def latex_to_html(tex: str) -> str:
    """Readable HTML for a LaTeX formula: symbols as Unicode, ``_``/``^`` as sub/sup.

    Covers what report Markdown uses (Greek letters, relations, fractions,
    accents, ``\\text``); anything else is shown as written.
    """
    s = tex.strip()
    for _ in range(4):  # nested constructs, innermost first
        s = re.sub(r"\\frac\s*" + _GROUP + r"\s*" + _GROUP,
                   lambda m: f"{_paren(m.group(1))}/{_paren(m.group(2))}", s)
        s = re.sub(r"\\sqrt\s*" + _GROUP, lambda m: f"√({m.group(1)})", s)
        s = re.sub(r"\\(" + "|".join(UNWRAP) + r")\s*" + _GROUP, lambda m: m.group(2), s)
        s = re.sub(r"\\(" + "|".join(ACCENTS) + r")\s*" + _ARG,
                   lambda m: _accent(_arg(m, 2), ACCENTS[m.group(1)]), s)
    s = re.sub(r"\\([A-Za-z]+|[%${}_&#,;:! ])",
               lambda m: SYMBOLS.get(m.group(1), m.group(1)), s)
    s = _html.escape(s, quote=False)
    for _ in range(3):
        s = re.sub(r"([_^])\s*" + _ARG, _script, s)
    s = s.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", s).strip()


def _paren(text: str) -> str:
    """Parentheses around a fraction part unless it is a single symbol or number."""
    return text if re.fullmatch(r"\\?\w+", text.strip()) else f"({text})"


def _accent(text: str, mark: str) -> str:
    text = SYMBOLS.get(text.lstrip("\\"), text) if text.startswith("\\") else text
    return "".join(ch + mark for ch in text) if len(text) <= 2 else text + mark


def _script(m: re.Match) -> str:
    tag = "sub" if m.group(1) == "_" else "sup"
    return f"<{tag}>{_arg(m, 2)}</{tag}>"


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.S)
_INLINE = re.compile(r"(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\d$])|\\\((.+?)\\\)")


def math_to_text(markdown: str, store: dict[str, str] | None = None) -> str:
    """Replace ``$...$`` / ``$$...$$`` formulas in Markdown by readable inline HTML.

    Code spans and fenced blocks are left alone; ``$5 and $10`` (currency) is not math.
    With ``store``, each formula becomes a placeholder word and its HTML goes into
    ``store`` (placeholder → HTML), to be put back after the Markdown is converted.
    """
    def put(html: str) -> str:
        if store is None:
            return html
        key = f"crmmath{len(store):05d}x"
        store[key] = html
        return key

    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):
        text = _DISPLAY.sub(lambda m: put('<span class="crm-math crm-math-display">'
                            f"{latex_to_html(m.group(1) or m.group(2))}</span>"), parts[i])
        parts[i] = _INLINE.sub(lambda m: put('<span class="crm-math">'
                               f"{latex_to_html(m.group(1) or m.group(2))}</span>"), text)
    return "".join(parts)


# -- network references --------------------------------------------------------------------

_EXTERNAL = r"""(?:https?:)?//"""
_TAG_WITH_URL = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed)\b[^>]*?\b(?:src|href)\s*=\s*"
    r"""(["']?)(""" + _EXTERNAL + r"""[^"'\s>]*)\2[^>]*>(?:(?<=<script)[^<]*|)""", re.I)
_CSS_URL = re.compile(r"""(@import\s+)?url\(\s*(["']?)(""" + _EXTERNAL + r""")[^)]*\)\s*;?""",
                      re.I)


def external_references(html: str) -> list[str]:
    """URLs the page would fetch from the network (``src``/``href`` of script, link,
    img, iframe and media tags, and CSS ``url(...)``); empty for a self-contained page."""
    urls = [m.group(3) for m in _TAG_WITH_URL.finditer(html)]
    urls += [m.group(0) for m in _CSS_URL.finditer(html)]
    return urls


def sanitize(html: str) -> str:
    """Remove every tag and CSS ``url()`` that would load something from the network.

    An external image is replaced by its ``alt`` text so the reader still sees what
    was meant.
    """
    def replace(m: re.Match) -> str:
        tag = m.group(1).lower()
        if tag == "img":
            alt = re.search(r"""\balt\s*=\s*(["'])(.*?)\1""", m.group(0), re.S)
            label = alt.group(2) if alt and alt.group(2) else "image"
            return f'<span class="crm-missing-image">[{label}: not embedded]</span>'
        return ""

    html = re.sub(r"<script\b[^>]*\bsrc\s*=\s*[\"']?" + _EXTERNAL + r"[^>]*>\s*</script>", "",
                  html, flags=re.I)
    html = _TAG_WITH_URL.sub(replace, html)
    return _CSS_URL.sub("", html)


# -- rendering -----------------------------------------------------------------------------

def prepare(nb: NotebookNode,
            formulas: dict[str, str] | None = None) -> NotebookNode:
    """Client view of an executed notebook: formulas as text, no stderr, tagged cells removed.

    Formulas become placeholders collected in ``formulas`` (see :func:`math_to_text`).
    """
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVE_CELL_TAGS):
            continue
        if cell.cell_type == "markdown":
            cell.source = math_to_text(cell.source, formulas)
        elif cell.cell_type == "code":
            cell.outputs = [] if tags & set(REMOVE_OUTPUT_TAGS) else [
                o for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = story_order(cells)
    return nb


def story_order(cells: list) -> list:
    """Cells in the order a reader wants them: the title, the cells tagged ``summary``,
    the body, then an "Appendix" heading followed by the cells tagged ``appendix``."""
    def tagged(cell, tag):
        return tag in cell.get("metadata", {}).get("tags", [])

    summary = [c for c in cells if tagged(c, SUMMARY_TAG)]
    appendix = [c for c in cells if tagged(c, APPENDIX_TAG) and not tagged(c, SUMMARY_TAG)]
    moved = {id(c) for c in summary + appendix}
    body = [c for c in cells if id(c) not in moved]
    if not summary and not appendix:
        return cells
    title = 1 if body and body[0].cell_type == "markdown" else 0
    out = body[:title] + summary + body[title:]
    if appendix:
        from nbformat.v4 import new_markdown_cell
        out += [new_markdown_cell(f"## {APPENDIX_TITLE}", id=APPENDIX_ID)] + appendix
    return out


_CELL = re.compile(r'<div class="jp-Cell [^"]*" id="cell-id=[^"]*">')


def wrap_sections(body: str) -> str:
    """Wrap each section of the report's body (a Markdown cell with a ``<h2>`` heading and
    the cells up to the next one) in ``<section class="crm-section">``, so print can keep
    a section whole when it fits on a page; the appendix is left as it is."""
    start, end = body.find("<main>"), body.rfind("</main>")
    m = re.search(r'<div\b[^>]*\bid="cell-id=' + APPENDIX_ID + r'"[^>]*>', body)
    if m and start < m.start() < end:
        end = m.start()
    if start < 0 or end < start:
        return body
    cells = [c.start() for c in _CELL.finditer(body, start, end)]
    heads = [a for a, b in zip(cells, cells[1:] + [end])
             if "jp-MarkdownCell" in body[a:a + 80] and "<h2" in body[a:b]]
    if not heads:
        return body
    out, last = [], 0
    for i, a in enumerate(heads):
        out += [body[last:a], "</section>" if i else "", '<section class="crm-section">']
        last = a
    return "".join(out) + body[last:end] + "</section>" + body[end:]


def collapse_appendix(body: str) -> str:
    """Wrap everything from the appendix heading to the end of the page in a ``<details>``
    (collapsed on screen; :func:`open_appendix` opens it for printing)."""
    m = re.search(r'<div\b[^>]*\bid="cell-id=' + APPENDIX_ID + r'"[^>]*>', body)
    end = body.rfind("</main>")
    if not m or end < m.start():
        return body
    return (body[:m.start()] + '<details class="crm-appendix"><summary>'
            f"{APPENDIX_TITLE} (click to open)</summary>" + body[m.start():end]
            + "</details>" + body[end:])


def open_appendix(page: str) -> str:
    """The page with its appendix open (for PDF and print)."""
    return page.replace('<details class="crm-appendix">', '<details class="crm-appendix" open>')


def title_of(nb: Mapping[str, Any], fallback: str) -> str:
    """The first Markdown heading of the notebook (nbformat's or read as JSON by
    :func:`crmlib.report.params.read_notebook`), else ``fallback``."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#+\s+(.+?)\s*#*\s*$", cell["source"], re.M)
            if m:
                return re.sub(r"[*_`]", "", m.group(1))
    return fallback


@lru_cache(maxsize=1)
def _exporter():
    """The page exporter, made once per process: its Jinja environment keeps the compiled
    templates (compiling them took a third of a page's rendering)."""
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES.parent)],
                        exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True, exclude_anchor_links=True)


def render_html(notebook: str | Path, html_path: str | Path, title: str | None = None,
                resources_dir: str | Path | None = None, footer: str | None = None) -> Path:
    """Write the client HTML of an executed notebook.

    Parameters
    ----------
    notebook : the executed ``.ipynb``.
    html_path : where to write the page.
    title : page title (default: the notebook's first heading).
    resources_dir : folder Markdown image paths are relative to (default: the notebook's).
    footer : HTML placed at the end of the page (already escaped by the caller).

    Returns
    -------
    The path written.
    """
    notebook, html_path = Path(notebook), Path(html_path)
    formulas: dict[str, str] = {}
    import nbformat  # deferred: its import takes over a second
    nb = prepare(nbformat.read(notebook, as_version=4), formulas)
    nb.metadata["title"] = title or title_of(nb, notebook.stem)
    resources = {"metadata": {"name": notebook.stem,
                              "path": str(resources_dir or notebook.parent)}}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    if formulas:
        body = re.sub(r"crmmath\d{5}x", lambda m: formulas.get(m.group(0), m.group(0)), body)
    body = collapse_appendix(wrap_sections(body))
    if footer:
        body = body.replace("</main>", f'<footer class="crm-report-footer">{footer}</footer>'
                                       "</main>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(sanitize(body), encoding="utf-8")
    return html_path
