"""Charts saved for the deck and shown in the report from one drawing."""
from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from crmlib.plots.theme import set_theme
from crmlib.results import SavedChart, save_chart, save_key_chart


def _png_size(png: bytes) -> tuple[int, int]:
    return _png_width(png), int.from_bytes(png[20:24], "big")


def _png_width(png: bytes) -> int:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big")


@pytest.fixture()
def fig():
    set_theme()
    f = Figure(figsize=(8, 4.5), dpi=110)
    ax = f.subplots()
    ax.bar(["a", "b", "c"], [3, 1, 2])
    ax.set_title("Three bars")
    return f


def test_the_saved_file_is_a_tight_png_at_the_theme_resolution(tmp_path, fig):
    chart = save_chart(fig, tmp_path / "x.png", tmp_path / "sub" / "y.png")
    expected = io.BytesIO()
    fig.savefig(expected, format="png", dpi=150, bbox_inches="tight")
    assert (tmp_path / "x.png").read_bytes() == chart.png
    assert _png_size(chart.png) == _png_size(expected.getvalue())   # content: test_plots_png
    assert (tmp_path / "sub" / "y.png").read_bytes() == chart.png
    assert isinstance(chart, SavedChart) and chart.figure is fig


def test_it_is_shown_at_the_size_the_inline_backend_shows_the_figure(fig):
    from IPython.core.formatters import PNGFormatter
    from IPython.core.pylabtools import print_figure

    chart = save_chart(fig)
    inline = print_figure(fig, "png", bbox_inches="tight")   # what `display(fig)` shows
    assert abs(chart.width - _png_width(inline)) <= 2
    assert _png_width(chart.png) > _png_width(inline) * 1.3   # drawn sharper than inline
    data, meta = PNGFormatter()(chart)
    assert data == chart.png and meta == {"width": chart.width}  # shown from the same bytes


def test_the_key_chart_and_its_other_names(tmp_path, fig):
    chart = save_key_chart(tmp_path, fig, also=("diamond.png",))
    assert (tmp_path / "key_chart.png").read_bytes() == chart.png
    assert (tmp_path / "diamond.png").read_bytes() == chart.png
