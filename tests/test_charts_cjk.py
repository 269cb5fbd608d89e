"""A survey written in Chinese gets real glyphs in its charts, and chart labels never overlap.

Needs a CJK font (``.ci/run`` installs Debian's fonts-noto-cjk); skipped without one unless
CRM_REQUIRE_BROWSER is set (the CI run, where the font is installed with the browser).
"""
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

import crmlib.satisfaction as S
from crmlib.demo import satisfaction as demo
from crmlib.plots import satisfaction as charts
from crmlib.plots.theme import font_families

LABELS = ["客户满意度", "服务态度很好", "送货及时", "价格合理", "网站容易使用", "员工专业",
          "问题解决迅速", "信守承诺"]
SEGMENTS = {"Business": "企业客户", "Retail": "个人客户", "Premium": "高级会员"}


@pytest.fixture(scope="module")
def chinese_survey(tmp_path_factory):
    if len(font_families()) == 1:
        if os.environ.get("CRM_REQUIRE_BROWSER"):
            pytest.fail("no CJK font installed (apt-get install fonts-noto-cjk)")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    out = tmp_path_factory.mktemp("zh")
    demo.generate(out, np.random.default_rng(3), "small")
    items = pd.read_csv(out / "survey_items.csv")
    items["label"] = [LABELS[i % len(LABELS)] + f" {i + 1}" for i in range(len(items))]
    items.to_csv(out / "survey_items.csv", index=False)
    survey = pd.read_csv(out / "survey.csv")
    survey["segment"] = survey["segment"].map(lambda s: SEGMENTS.get(s, s))
    survey.to_csv(out / "survey.csv", index=False)
    P = {"survey": out / "survey.csv", "items": out / "survey_items.csv", "scale_min": 1,
         "scale_max": 7, "dont_know_codes": [99], "segment_col": "segment", "clv_table": None}
    return S.load_inputs(P)[0]


def _draw_without_missing_glyphs(fig):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FigureCanvasAgg(fig).draw()
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []


def test_chinese_items_and_segments_render_with_real_glyphs(chinese_survey):
    gaps = S.item_gaps(chinese_survey)
    assert gaps["label"].str.contains("客户满意度").any()
    _draw_without_missing_glyphs(charts.gap_bars(gaps, "item", label="label"))
    seg_gaps, seg_tests = S.segment_gaps(chinese_survey)
    assert set(seg_gaps["segment"]) <= set(SEGMENTS.values())
    _draw_without_missing_glyphs(charts.segment_comparison(seg_gaps, seg_tests))


def _label_boxes(fig):
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    notes = [t for t in ax.texts if t.get_text().strip() and type(t).__name__ == "Annotation"]
    for t in notes:
        t.update_positions(r)
    return [Text.get_window_extent(t, r) for t in notes]  # the text, not its leader line


def test_ipa_labels_use_the_item_wording_and_never_overlap(chinese_survey):
    ipa = S.ipa_auto(chinese_survey, None, "mean", 0.95)
    fig = charts.ipa_grid(ipa)
    _draw_without_missing_glyphs(fig)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("客户满意度" in t for t in texts)  # wording, not the item code
    assert not any(t in set(ipa["item"]) for t in texts)
    boxes = _label_boxes(fig)
    assert len(boxes) == len(ipa)
    overlaps = [(i, j) for i in range(len(boxes)) for j in range(i)
                if boxes[i].overlaps(boxes[j])]
    assert overlaps == []
