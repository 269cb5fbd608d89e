"""deck.pptx read back: slides in order, titles, charts present, no text outside its box.

Text extents are measured with real font metrics (DejaVu Sans through Pillow, wider than
the Arial the deck asks for), not with the deck's own estimate.
"""
import re
import shutil
import subprocess

import matplotlib
import pytest
from matplotlib import font_manager
from PIL import ImageFont
from pptx import Presentation
from pptx.util import Emu

from crmlib.report.deck import build_deck
from crmlib.results import Action, Headline, Results

matplotlib.use("Agg")
FONT = font_manager.findfont("DejaVu Sans")
LONG = ("Staff rate the company 0.55 stages more customer-centric than its customers do "
        "(90% interval 0.43 to 0.67), most of all on customer 360 and touchpoints, where the "
        "gap reaches a full stage for some departments and the customers disagree most.")


def _chart(path, w=8, h=5):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(w, h))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path


def _results():
    return {
        "01_crm_assessment": Results(
            headline=[Headline("Mean stage", 2.53, "stage (1–4)", (2.44, 2.62), 0.9)],
            findings=[LONG, "Performance measurement is furthest behind at 2.38.", LONG, LONG],
            actions=[Action(1, "Customer 360: reach base 2", "1.81 stages below target")],
            title="CRM assessment"),
        "02_clv_modelling": Results(
            headline=[Headline("Total CLV", 567323.4, "currency", (540619.7, 591673.0), 0.9)],
            findings=["The 4,000 customers are worth EUR 567,323."], currency="EUR",
            title="Customer lifetime value",
            extra={"margin": 0.3, "discount_rate_annual": 0.1, "horizon_months": 36,
                   "model_label": "BG/NBD"}),
        "03_satisfaction_gaps": Results(
            headline=[Headline("Overall gap", -0.46, "scale points", (-0.52, -0.40), 0.95)],
            findings=["客户满意度 falls short of expectations by 0.46 scale points."] * 3,
            title="Satisfaction gaps"),
    }


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    d = tmp_path_factory.mktemp("deck")
    charts = {"01_crm_assessment": _chart(d / "a.png", 6, 6),
              "02_clv_modelling": _chart(d / "b.png", 10, 4)}
    summary = Results(actions=[Action(i, f"Action {i}: {LONG}", LONG) for i in range(1, 25)])
    path = build_deck(_results(), charts, d / "deck.pptx", "<Client> & Co", "r1", summary)
    return path


def _text_fits(shape) -> bool:
    """Wrap each paragraph with the real font at its size; compare with the box height."""
    tf = shape.text_frame
    width = shape.width - (tf.margin_left or 0) - (tf.margin_right or 0)
    height = 0.0
    for p in tf.paragraphs:
        size = max((r.font.size.pt for r in p.runs if r.font.size), default=18)
        font = ImageFont.truetype(FONT, int(size * 100))  # 100 px per pt: enough precision
        words, lines, line = p.text.split(" "), 1, ""
        for word in words:
            trial = f"{line} {word}".strip()
            if font.getlength(trial) / 100 * Emu(12700) > width and line:
                lines, line = lines + 1, word
            else:
                line = trial
        height += lines * size * 1.2 * 12700 + (p.space_after.emu if p.space_after else 0)
    return height <= shape.height - (tf.margin_top or 0) - (tf.margin_bottom or 0)


def test_slides_in_a_consultants_order(deck):
    prs = Presentation(deck)
    titles = [s.shapes.title.text if s.shapes.title else "" for s in prs.slides]
    assert titles == ["<Client> & Co: CRM report", "Executive summary", "CRM assessment",
                      "Customer lifetime value", "Satisfaction gaps", "Where to act first",
                      "Methods and assumptions"]


def test_charts_are_pictures_and_tables_are_native(deck):
    prs = Presentation(deck)
    slides = list(prs.slides)
    pictures = [sum(sh.shape_type == 13 for sh in s.shapes) for s in slides]
    assert pictures == [0, 0, 1, 1, 0, 0, 0]  # the satisfaction run saved no chart here
    assert slides[1].shapes[1].has_table and slides[5].shapes[1].has_table
    table = slides[5].shapes[1].table
    assert table.cell(0, 0).text == "Action" and len(table.rows) < 25  # cut to fit the slide


def test_no_shape_or_text_outside_its_box(deck):
    prs = Presentation(deck)
    for i, slide in enumerate(prs.slides):
        for sh in slide.shapes:
            assert sh.left >= 0 and sh.top >= 0, (i, sh.name)
            assert sh.left + sh.width <= prs.slide_width, (i, sh.name)
            assert sh.top + sh.height <= prs.slide_height, (i, sh.name)
            if sh.has_text_frame and sh.text_frame.text and sh.shape_type == 17:  # text box
                assert _text_fits(sh), (i, sh.text_frame.text[:60])


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_every_slide(deck, tmp_path):
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(deck)], check=True, capture_output=True, timeout=180)
    pdf = (tmp_path / "deck.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 7
