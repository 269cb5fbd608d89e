"""``deck.pptx``: the run as slides, in a consultant's order.

Title; executive summary (headline figures as a native table); what changed since the
client's last run (or "baseline" on a first run); one slide per analysis
with its key chart, three findings and its main figure; the priorities (native table);
methods and assumptions. Everything comes from the typed results
(:class:`crmlib.results.Results`) and the key charts the notebooks saved; nothing is
computed here. Text is sized so that it stays inside its box (:func:`text_height` is a
deliberately wide estimate of wrapped text); charts keep their aspect ratio.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from ..results import Results
from ..story import TITLES

WIDTH_IN, HEIGHT_IN = 13.333, 7.5
MARGIN = 0.5
NAVY = (0x1F, 0x3A, 0x5F)
GREY = (0x52, 0x60, 0x6D)
FONT = "Arial"
CHAR_WIDTH_EM = 0.56  # average advance of a Latin character, in em; CJK glyphs count double
LINE_SPACING = 1.25

METHODS = {
    "01_crm_assessment": "Stage scores on the four bases of the customer-centricity diamond, "
                         "each group weighted equally, 90% bootstrap intervals; no-skipping "
                         "rule for the company's base; Kruskal–Wallis with Holm correction "
                         "for group differences.",
    "02_clv_modelling": "Buy-Till-You-Die models (BG/NBD, MBG/NBD, Pareto/NBD) chosen on a "
                        "holdout, Gamma-Gamma spend, discounted margin over the horizon, "
                        "intervals from parameter draws.",
    "03_satisfaction_gaps": "SERVQUAL gaps (perception − expectation) with paired tests and "
                            "multiplicity correction; importance-performance analysis, relative "
                            "weights, Kano and an ACSI-style PLS model.",
    "04_phase_roi": "Pilot-versus-control difference-in-differences per phase and KPI, "
                    "money value, ROI/NPV/IRR/payback at 6, 12 and 24 months, Monte Carlo "
                    "risk adjustment and a continue / adjust / stop gate.",
}


def _weight(ch: str) -> float:
    return 2.0 if ord(ch) >= 0x2E80 else 1.0


def text_height(text: str, width_in: float, size_pt: float) -> float:
    """Height in inches of ``text`` wrapped at word boundaries in a box ``width_in`` wide."""
    per_line = max(1.0, width_in * 72 / (size_pt * CHAR_WIDTH_EM))
    lines = 0
    for para in str(text).split("\n"):
        line = 0.0
        count = 1
        for word in para.split(" "):
            w = sum(_weight(c) for c in word)
            if line and line + 1 + w > per_line:
                count += 1
                line = w
            else:
                line += (1 if line else 0) + w
            while line > per_line:  # a word longer than the line breaks
                count += 1
                line -= per_line
        lines += count
    return lines * size_pt * LINE_SPACING / 72


def _fit_size(paragraphs: list[str], width_in: float, height_in: float,
              sizes=(20, 18, 16, 14, 13, 12, 11, 10, 9)) -> int | None:
    """The largest font size at which ``paragraphs`` fit the box (None if none does)."""
    inner_w, inner_h = width_in - 0.2, height_in - 0.1
    for size in sizes:
        gap = size * 0.5 / 72
        if sum(text_height(p, inner_w, size) + gap for p in paragraphs) <= inner_h:
            return size
    return None


def _inches(x: float):
    from pptx.util import Inches
    return Inches(x)


def _title(slide, text: str) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Pt
    shape = slide.shapes.title
    shape.left, shape.top = _inches(MARGIN), _inches(0.3)
    shape.width, shape.height = _inches(WIDTH_IN - 2 * MARGIN), _inches(0.9)
    shape.text_frame.word_wrap = True
    shape.text_frame.text = text
    size = _fit_size([text], WIDTH_IN - 2 * MARGIN, 0.9, sizes=(30, 28, 26, 24, 22, 20))
    for p in shape.text_frame.paragraphs:
        for run in p.runs:
            run.font.size, run.font.bold, run.font.name = Pt(size or 20), True, FONT
            run.font.color.rgb = RGBColor(*NAVY)


def _text_box(slide, paragraphs: list[str], left: float, top: float, width: float,
              height: float, bullets: bool = False, color=(0x24, 0x3B, 0x53)) -> None:
    """A text box whose font size is chosen so every paragraph fits inside it."""
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_AUTO_SIZE
    from pptx.util import Pt
    items = [f"• {p}" if bullets else p for p in paragraphs]
    size = _fit_size(items, width, height)
    while size is None and len(items) > 1:  # never overflow: drop the last paragraph
        items = items[:-1]
        size = _fit_size(items, width, height)
    box = slide.shapes.add_textbox(_inches(left), _inches(top), _inches(width), _inches(height))
    tf = box.text_frame
    tf.word_wrap, tf.auto_size = True, MSO_AUTO_SIZE.NONE
    tf.margin_left = tf.margin_right = _inches(0.1)
    tf.margin_top = tf.margin_bottom = _inches(0.05)
    for i, text in enumerate(items):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        p.space_after = Pt((size or 9) * 0.5)
        run = p.add_run()
        run.text = text
        run.font.size, run.font.name = Pt(size or 9), FONT
        run.font.color.rgb = RGBColor(*color)


def _table(slide, header: list[str], rows: list[list[str]], left: float, top: float,
           width: float, height: float, widths: list[float]) -> None:
    """A native table; font size and row count chosen so it stays inside the box."""
    from pptx.dml.color import RGBColor
    from pptx.util import Pt
    col_w = [width * w / sum(widths) for w in widths]

    def total(size, n):
        def row_h(cells):
            return max(text_height(c, w - 0.2, size) for c, w in zip(cells, col_w)) + 0.12
        return row_h(header) + sum(row_h(r) for r in rows[:n])

    size, n = 14, len(rows)
    while total(size, n) > height:
        if size > 9:
            size -= 1
        else:
            n -= 1
    shape = slide.shapes.add_table(n + 1, len(header), _inches(left), _inches(top),
                                   _inches(width), _inches(min(height, total(size, n))))
    table = shape.table
    for j, w in enumerate(col_w):
        table.columns[j].width = _inches(w)
    for i, cells in enumerate([header] + rows[:n]):
        for j, text in enumerate(cells):
            cell = table.cell(i, j)
            cell.text = str(text)
            cell.margin_left = cell.margin_right = _inches(0.1)
            cell.margin_top = cell.margin_bottom = _inches(0.04)
            for p in cell.text_frame.paragraphs:
                for run in p.runs:
                    run.font.size, run.font.name = Pt(size), FONT
                    run.font.bold = i == 0
                    if i == 0:
                        run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
    table.first_row = True


def _picture(slide, path: Path, left: float, top: float, width: float, height: float) -> None:
    """The chart scaled to fit the box, its aspect ratio kept, centred."""
    from PIL import Image
    with Image.open(path) as im:
        ratio = im.width / im.height
    w, h = (width, width / ratio) if width / ratio <= height else (height * ratio, height)
    slide.shapes.add_picture(str(path), _inches(left + (width - w) / 2),
                             _inches(top + (height - h) / 2), _inches(w), _inches(h))


def _assumptions(stem: str, res: Results) -> str:
    e = res.extra
    if stem == "02_clv_modelling" and e.get("margin") is not None:
        return (f"Margin {e['margin']:.0%}, annual discount rate "
                f"{(e.get('discount_rate_annual') or 0):.0%}, horizon {e.get('horizon_months')} "
                f"months; model {e.get('model_label', '')}.")
    if stem == "03_satisfaction_gaps" and e.get("significance") is not None:
        return (f"Significance level {e['significance']:g}, correction "
                f"{e.get('correction', '')}.")
    if stem == "04_phase_roi" and isinstance(e.get("gate_rule"), Mapping):
        return f"Gate: {e['gate_rule'].get('description') or ''}".rstrip(": ") + "."
    return ""


def _since_slide(slide, since: Mapping, width: float) -> None:
    """What changed since the last run: the changes that matter first, or "baseline"."""
    _title(slide, "What changed since the last run")
    if since.get("baseline"):
        text = ["Baseline: this is the client's first run. The next run will show what "
                "changed since this one."]
    else:
        items = [c for c in since.get("changes") or [] if isinstance(c, Mapping)]
        said = since.get("sentences")
        text = ([str(x) for x in said] if isinstance(said, list) else
                [str(c.get("sentence")) for c in items])[:6] or [
            "No figure is reported by both this run and the previous one."]
        if since.get("previous_finished"):
            text.append(f"Compared with the run of {since['previous_finished']}.")
    _text_box(slide, text, MARGIN, 1.35, width, HEIGHT_IN - 1.35 - MARGIN, bullets=True)


def build_deck(results: Mapping[str, Results], charts: Mapping[str, Path], path: str | Path,
               client: str, run_id: str = "", summary: Results | None = None) -> Path:
    """Write ``deck.pptx`` and return its path.

    Parameters
    ----------
    results : notebook stem → typed results of each analysis that ran.
    charts : notebook stem → key chart PNG.
    path : where to write the deck.
    client : the client's display name (title slide).
    run_id : shown on the title slide.
    summary : the executive summary's results (its actions are the priorities slide).
    """
    from pptx import Presentation

    prs = Presentation()
    prs.slide_width, prs.slide_height = _inches(WIDTH_IN), _inches(HEIGHT_IN)
    title_layout, only_title = prs.slide_layouts[0], prs.slide_layouts[5]
    content_w = WIDTH_IN - 2 * MARGIN

    slide = prs.slides.add_slide(title_layout)
    slide.shapes.title.text = f"{client}: CRM report"
    sub = slide.placeholders[1]
    sub.text = (f"{', '.join(TITLES[s] for s in results)}\n"
                f"Run {run_id or dt.date.today().isoformat()}")

    slide = prs.slides.add_slide(only_title)
    _title(slide, "Executive summary")
    rows = []
    for stem, res in results.items():
        for h in sorted(res.headline, key=lambda h: h.ci is None)[:2]:
            rows.append([TITLES[stem], h.label, h.value_text(res.currency),
                         h.ci_text(res.currency)])
    _table(slide, ["Analysis", "Figure", "Value", "Interval"], rows, MARGIN, 1.35, content_w,
           HEIGHT_IN - 1.35 - MARGIN, [2, 4, 2.6, 3])

    if summary is not None and isinstance(summary.extra.get("since_last_run"), Mapping):
        _since_slide(prs.slides.add_slide(only_title), summary.extra["since_last_run"],
                     content_w)

    for stem, res in results.items():
        slide = prs.slides.add_slide(only_title)
        _title(slide, res.title or TITLES[stem])
        top, body_h = 1.35, HEIGHT_IN - 1.35 - MARGIN
        chart_w = content_w * 0.56
        if stem in charts:
            _picture(slide, charts[stem], MARGIN, top, chart_w, body_h)
        _text_box(slide, res.findings[:3], MARGIN + chart_w + 0.3, top,
                  content_w - chart_w - 0.3, body_h - 1.2, bullets=True)
        if res.headline:
            h = sorted(res.headline, key=lambda h: h.ci is None)[0]
            line = f"{h.label}: {h.value_text(res.currency)}"
            if h.ci:
                line += f" ({h.ci_text(res.currency)})"
            _text_box(slide, [line], MARGIN + chart_w + 0.3, top + body_h - 1.1,
                      content_w - chart_w - 0.3, 1.1, color=NAVY)

    slide = prs.slides.add_slide(only_title)
    _title(slide, "Where to act first")
    actions = [[a.action, a.why] for a in (summary.actions if summary else [])]
    if not actions:
        actions = [[f"{TITLES[s]}: {a.action}", a.why] for s, r in results.items()
                   for a in r.actions[:3]]
    _table(slide, ["Action", "Why"], actions, MARGIN, 1.35, content_w,
           HEIGHT_IN - 1.35 - MARGIN, [7, 5])

    slide = prs.slides.add_slide(only_title)
    _title(slide, "Methods and assumptions")
    notes = [f"{TITLES[s]}: {METHODS[s]} {_assumptions(s, r)}".strip()
             for s, r in results.items() if s in METHODS]
    notes.append("Every figure carries its interval where one exists; the reports' appendices "
                 "and tables.xlsx hold the detail.")
    _text_box(slide, notes, MARGIN, 1.35, content_w, HEIGHT_IN - 1.35 - MARGIN, bullets=True)

    path = Path(path)
    prs.save(str(path))
    return path


__all__ = ["build_deck", "text_height"]
