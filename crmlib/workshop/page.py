"""Workshop HTML: an executed notebook with its code shown, and the workshop index.

Rendering goes through :mod:`crmlib.report.render` (its nbconvert template without
CDN scripts, its formula-to-text pass and its network sanitiser); the only
differences from a client report are that code inputs are shown, method cells
show each formula's readable text with the LaTeX source folded under it, and a
few styles mark methods, exercises and checks. Nothing is loaded from the network.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
import pandas as pd

from ..report import render as R
from .content import method_of

STYLE = """<style type="text/css">
.celltag_workshop-method { border-left: 4px solid #3b6ea5; background: #f3f7fb;
  padding: 0.2em 1em; margin: 0.6em 0; }
.celltag_workshop-exercise { border-left: 4px solid #b7791f; background: #fffaf0;
  padding: 0.2em 1em; }
.celltag_workshop-check { border-left: 4px solid #2f855a; padding-left: 1em; }
.celltag_workshop-truths { border-left: 4px solid #6b46c1; padding-left: 1em; }
details.ws-latex summary { color: #555; font-size: 0.85em; cursor: pointer; }
details.ws-latex pre { white-space: pre-wrap; font-size: 0.85em; }
table.ws-truths { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.ws-truths td, table.ws-truths th { border-bottom: 1px solid #ddd; padding: 0.2em 0.6em;
  text-align: left; }
.ws-yes { color: #1a7f37; } .ws-no { color: #b42318; font-weight: bold; }
.ws-failed { color: #b42318; }
</style>
"""


def readable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Method cells with their readable formulas (LaTeX folded) instead of display maths."""
    for cell in nb.cells:
        m = method_of(cell) if cell.cell_type == "markdown" else None
        if m is not None:
            cell.source = m.markdown("text")
    return nb


def render_page(notebook: str | Path, html_path: str | Path, resources_dir: str | Path,
                title: str | None = None) -> Path:
    """Write the workshop page of an executed notebook: code shown, offline, readable maths."""
    from nbconvert import HTMLExporter

    notebook, html_path = Path(notebook), Path(html_path)
    formulas: dict[str, str] = {}
    nb = R.prepare(readable(nbformat.read(notebook, as_version=4)), formulas)
    nb.metadata["title"] = title or f"Workshop: {R.title_of(nb, notebook.stem)}"
    exporter = HTMLExporter(template_name=R.TEMPLATE,
                            extra_template_basedirs=[str(R.TEMPLATES.parent)],
                            exclude_input=False, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True,
                            exclude_anchor_links=True)
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": notebook.stem, "path": str(resources_dir)}})
    body = re.sub(r"crmmath\d{5}x", lambda m: formulas.get(m.group(0), m.group(0)), body)
    body = body.replace("</head>", STYLE + "</head>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(R.sanitize(body), encoding="utf-8")
    return html_path


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)


def truths_table(df: pd.DataFrame) -> str:
    """HTML table of planted vs recovered rows (escaped)."""
    head = "".join(f"<th>{h}</th>" for h in ("notebook", "quantity", "planted", "recovered",
                                             "interval", "within", "note"))
    rows = []
    for r in df.itertuples():
        interval = (f"{_fmt(r.ci_low)} – {_fmt(r.ci_high)}"
                    if r.ci_low is not None and not pd.isna(r.ci_low) else "")
        within = ('<span class="ws-yes">yes</span>' if r.within is True else
                  '<span class="ws-no">no</span>' if r.within is False else "")
        cells = [html.escape(_fmt(x)) for x in (r.notebook, r.quantity, r.planted, r.recovered)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells)
                    + f"<td>{html.escape(interval)}</td><td>{within}</td>"
                    + f"<td>{html.escape(_fmt(r.note))}</td></tr>")
    return f'<table class="ws-truths"><tr>{head}</tr>{"".join(rows)}</table>'


def index_page(out: Path, pages: list[dict], truths: pd.DataFrame, seed: int, size: str) -> Path:
    """The workshop's index.html: one line per page, then every planted-vs-recovered row."""
    items = []
    for p in pages:
        link = (f'<a href="{html.escape(p["html"])}">{html.escape(p["title"])}</a>'
                if p.get("html") else html.escape(p["title"]))
        nb = f' · <a href="{html.escape(p["ipynb"])}">notebook</a>' if p.get("ipynb") else ""
        err = (f' <span class="ws-failed">failed: {html.escape(p["error"])}</span>'
               if p.get("error") else "")
        items.append(f"<li>{link}{nb} <small>({p['seconds']:.0f} s)</small>{err}</li>")
    n_in = int((truths["within"] == True).sum()) if len(truths) else 0  # noqa: E712
    n_tested = int(truths["within"].notna().sum()) if len(truths) else 0
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CRM analytics workshop</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px;
       margin: 0 auto; padding: 1rem 2rem 3rem; color: #222; }}
</style>{STYLE}</head><body>
<h1>CRM analytics workshop</h1>
<p>The analysis notebooks run on the demo client (seed {seed}, size
<code>{html.escape(size)}</code>),
with their code, an explanation of each method (formula and paper) and exercises. The demo
data and their <a href="data/TRUTH.md">planted truths</a> are in <code>data/</code>; each
notebook's results are in <code>results/</code>.</p>
<h2>Notebooks</h2><ul>{''.join(items)}</ul>
<h2>Planted truths vs recovered</h2>
<p>{n_in} of {n_tested} planted values lie inside the reported interval (or match, for
categories and the company base).</p>
{truths_table(truths)}
</body></html>
"""
    path = out / "index.html"
    path.write_text(R.sanitize(page), encoding="utf-8")
    return path
