"""The run's ``index.html``: one card per notebook with status, duration, headline
figures (from ``results/<notebook>/results.json["headline"]``), the error of a
failed notebook and links to its report, workbook and results.

Self-contained (inline CSS, no script) and every client-supplied text escaped.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from ..results import Headline, ResultsError

FILES = [("{stem}.html", "Report", "the report to read on screen"),
         ("{stem}.pdf", "PDF (A4)", "the same report to print or send"),
         ("results/{stem}/tables.xlsx", "Tables (Excel)", "every table, formatted, with filters"),
         ("results/{stem}/results.json", "Results (JSON)", "the figures for other tools"),
         ("{stem}.ipynb", "Executed notebook", "code and every output: the run's log")]
STATUS = {"ok": ("ok", "Succeeded"), "failed": ("bad", "Failed"),
          "not-started": ("bad", "Could not start"), "skipped": ("warn", "Not run")}

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;
max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#f7f8fa}
h1{margin:.2em 0 0;font-size:1.7em}.meta{color:#52606d;margin:.3em 0 1.5em}
.summary{padding:.6em 1em;border-radius:6px;margin-bottom:1.5em;font-weight:600}
.summary.ok{background:#e3f9e5;color:#05400a}.summary.bad{background:#ffe3e3;color:#610404}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:8px;padding:1em 1.3em;margin:1em 0}
.card h2{font-size:1.2em;margin:0 0 .3em}.card h2 a{color:inherit}
.badge{display:inline-block;font-size:.8em;padding:.15em .6em;border-radius:1em;margin-left:.6em;
vertical-align:middle;font-weight:600}.badge.ok{background:#e3f9e5;color:#05400a}
.badge.bad{background:#ffe3e3;color:#610404}.badge.warn{background:#fff3c4;color:#513c06}
.duration{color:#52606d;font-size:.9em;margin-left:.6em}
.stem{color:#7b8794;font-size:.75em;font-weight:normal;font-family:monospace;margin-left:.4em}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums;width:100%}
th,td{text-align:left;padding:.25em 1em .25em 0;border-bottom:1px solid #eef2f6}
td.value{font-weight:600;text-align:right;white-space:nowrap}
td.value.text{white-space:normal;text-align:left;font-weight:normal}
td.ci{color:#52606d;white-space:nowrap;width:1%}
pre.error{background:#fff5f5;border-left:4px solid #cf1124;padding:.6em .8em;white-space:pre-wrap;
word-break:break-word;margin:.6em 0}
.links a{margin-right:1.2em}.note{color:#52606d;font-size:.9em}
footer{color:#7b8794;font-size:.85em;margin-top:2.5em;border-top:1px solid #d9e2ec;padding-top:.6em}
"""


def headline_rows(headline: Any, currency: str | None = None) -> list[dict[str, Any]]:
    """Headline figures as label/value/ci strings (unescaped), read through the typed
    contract (:class:`crmlib.results.Headline`); malformed items are left out."""
    rows = []
    for item in headline if isinstance(headline, list) else []:
        try:
            h = Headline.from_dict(item)
        except ResultsError:
            continue
        rows.append({"label": h.label, "value": h.value_text(currency),
                     "ci": h.ci_text(currency),
                     "numeric": isinstance(h.value, (int, float)) and not isinstance(h.value, bool)})
    return rows


def read_results(run_dir: Path, stem: str) -> tuple[dict[str, Any] | None, str | None]:
    """A notebook's ``results.json`` (None if absent) and a note if it is unreadable."""
    path = run_dir / "results" / stem / "results.json"
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"results.json is unreadable: {exc}"
    return (data, None) if isinstance(data, dict) else (None, "results.json is not an object")


def _links(run_dir: Path, stem: str) -> str:
    candidates = [(href.format(stem=stem), label, what) for href, label, what in FILES]
    links = [f'<a href="{escape(href)}" title="{escape(what)}">{label}</a>'
             for href, label, what in candidates if (run_dir / href).is_file()]
    return f'<p class="links">{"".join(links)}</p>' if links else ""


def _duration(seconds: float, info: Mapping[str, Any]) -> str:
    """A notebook's time, with the part it spent waiting for its inputs (started early)."""
    waited = info.get("waited_for_inputs")
    return (f"{seconds:.1f} s, {waited:.1f} s of it waiting for its inputs" if waited
            else f"{seconds:.1f} s")


def notebook_card(run_dir: Path, stem: str, info: Mapping[str, Any]) -> str:
    """HTML of one notebook's card."""
    css, label = STATUS.get(str(info.get("status")), ("warn", str(info.get("status"))))
    seconds = info.get("seconds")
    title = escape(str(info.get("title") or stem))
    if (run_dir / f"{stem}.html").is_file():
        title = f'<a href="{escape(stem)}.html">{title}</a>'
    if info.get("title") and info["title"] != stem:
        title += f' <span class="stem">{escape(stem)}</span>'
    parts = [f'<section class="card" id="{escape(stem)}"><h2>{title}'
             f'<span class="badge {css}">{escape(label)}</span>'
             + (f'<span class="duration">{_duration(seconds, info)}</span>' if seconds else "")
             + "</h2>"]
    if info.get("error"):
        cell = f" (cell [{info['failed_cell']}])" if info.get("failed_cell") else ""
        parts.append(f'<pre class="error">{escape(str(info["error"]))}{escape(cell)}</pre>')
    results, note = read_results(run_dir, stem)
    rows = headline_rows((results or {}).get("headline"), (results or {}).get("currency"))
    if rows:
        body = "".join(f'<tr><th>{escape(r["label"])}</th>'
                       f'<td class="value{"" if r["numeric"] else " text"}">{escape(r["value"])}'
                       f'</td><td class="ci">{escape(r["ci"])}</td></tr>' for r in rows)
        parts.append(f"<table>{body}</table>")
    elif info.get("status") == "ok":
        parts.append('<p class="note">No headline figures.</p>')
    for extra in (note, info.get("render_error") and f"HTML report not written: "
                                                     f"{info['render_error']}"):
        if extra:
            parts.append(f'<p class="note">{escape(extra)}</p>')
    parts.append(_links(run_dir, stem) + "</section>")
    return "".join(parts)


def deliverables_card(run_dir: Path, notes: list[str] | None = None) -> str:
    """The files to hand to the client, at the top of the index, each with its purpose."""
    items = [("deck.pptx", "Slide deck (PowerPoint)",
              "title, executive summary, one slide per analysis, priorities, methods"),
             ("05_executive_summary.pdf", "Executive summary (PDF, A4)",
              "the two-page summary to print or send"),
             ("05_executive_summary.html", "Executive summary (HTML)", "the same, on screen")]
    rows = [f'<li><a href="{escape(href)}">{label}</a> <span class="note">{escape(what)}'
            "</span></li>" for href, label, what in items if (run_dir / href).is_file()]
    notes_html = "".join(f'<p class="note">{escape(str(n))}</p>' for n in notes or [])
    if not rows and not notes_html:
        return ""
    legend = "; ".join(f"{label}: {what}" for _, label, what in FILES)
    return ('<section class="card" id="deliverables"><h2>For the client</h2>'
            f'<ul class="deliverables">{"".join(rows)}</ul>'
            f'<p class="note">Each analysis below links its files. {escape(legend)}.</p>'
            f"{notes_html}</section>")


def render_index(run_dir: Path, record: Mapping[str, Any]) -> str:
    """The HTML of the index page for ``record`` (the content of ``run.json``)."""
    notebooks = record.get("notebooks", {})
    n_ok = sum(1 for v in notebooks.values() if v.get("status") == "ok")
    ok = n_ok == len(notebooks)
    summary = (f"All {len(notebooks)} notebooks succeeded." if ok else
               f"{len(notebooks) - n_ok} of {len(notebooks)} notebooks did not succeed; "
               "their error is shown below.")
    as_of = (record.get("options") or {}).get("as_of")
    meta = [f"Run {escape(str(record.get('run_id', '')))}",
            f"started {escape(str(record.get('started', '')))} UTC",
            f"{float(record.get('seconds') or 0):.0f} s"]
    if as_of:
        meta.append(f"as of {escape(str(as_of))}")
    cards = "".join(notebook_card(run_dir, stem, info) for stem, info in notebooks.items())
    previous = record.get("previous_good_run")
    if previous and not ok:
        href = escape(f"../{previous}/index.html")
        summary_note = (f'<p class="note">The last complete report without failures is '
                        f'<a href="{href}">run {escape(str(previous))}</a>.</p>')
    else:
        summary_note = ""
    versions = record.get("versions") or {}
    client = escape(str(record.get("client", "")))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{client} · CRM report {escape(str(record.get('run_id', '')))}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{client}</h1><p class=\"meta\">{' · '.join(meta)}</p>"
        f'<div class="summary {"ok" if ok else "bad"}">{escape(summary)}</div>{summary_note}'
        f"{deliverables_card(run_dir, (record.get('deliverables') or {}).get('notes'))}{cards}"
        f'<footer>crmlib {escape(str(versions.get("crmlib") or ""))}, Python '
        f'{escape(str(versions.get("python") or ""))}. Parameters, input checksums and package '
        'versions: <a href="run.json">run.json</a>; log: <a href="run.log">run.log</a>.'
        "</footer></body></html>")


def write_index(run_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``index.html`` into ``run_dir`` and return its path."""
    run_dir = Path(run_dir)
    path = run_dir / "index.html"
    path.write_text(render_index(run_dir, record), encoding="utf-8")
    return path


def _run_summary(run_dir: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    notebooks = record.get("notebooks") or {}
    n_ok = sum(1 for v in notebooks.values() if v.get("status") == "ok")
    return {"run_id": run_dir.name, "started": record.get("started", ""),
            "seconds": record.get("seconds") or 0, "ok": n_ok, "n": len(notebooks),
            "status": record.get("status", ""), "as_of": (record.get("options") or {}).get("as_of"),
            "client": record.get("client", "")}


def write_client_index(client_dir: str | Path, latest: str | None = None) -> Path:
    """Write ``client_dir/index.html``: every completed run, newest first, ``latest`` marked.

    Folders still named ``.partial`` (interrupted runs) are listed apart.
    """
    client_dir = Path(client_dir)
    runs = [s for p in sorted(client_dir.iterdir(), reverse=True)
            if p.is_dir() and not p.is_symlink() and not p.name.endswith(".partial")
            and (s := _run_summary(p))]
    partial = sorted(p.name for p in client_dir.glob("*.partial") if p.is_dir())
    client = escape(str(runs[0]["client"] if runs else client_dir.name))
    rows = []
    for r in runs:
        css, label = ("ok", "all succeeded") if r["ok"] == r["n"] else ("bad", "failures")
        mark = ' <span class="badge ok">latest</span>' if r["run_id"] == latest else ""
        rows.append(f'<tr><th><a href="{escape(r["run_id"])}/index.html">{escape(r["run_id"])}'
                    f'</a>{mark}</th><td>{escape(str(r["started"]))}</td>'
                    f'<td><span class="badge {css}">{r["ok"]} of {r["n"]} ok, {label}</span></td>'
                    f'<td>{float(r["seconds"]):.0f} s</td>'
                    f'<td>{escape(str(r["as_of"] or ""))}</td></tr>')
    note = (f'<p class="note">Interrupted runs (incomplete, safe to delete): '
            f'{escape(", ".join(partial))}</p>' if partial else "")
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{client} · CRM reports</title><style>{CSS}</style></head><body>"
            f"<h1>{client}</h1><p class=\"meta\">All report runs, newest first. 'latest' is the "
            "last run in which every notebook succeeded.</p><section class=\"card\"><table>"
            "<tr><th>run</th><th>started (UTC)</th><th>notebooks</th><th>duration</th>"
            f"<th>as of</th></tr>{''.join(rows)}</table></section>{note}</body></html>")
    path = client_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
