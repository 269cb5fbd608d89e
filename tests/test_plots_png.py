"""One-drawing PNGs: the size and content of Matplotlib's tight ``savefig``."""
from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from crmlib.plots.png import png_bytes
from crmlib.plots.theme import new_figure


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def _savefig(fig, dpi) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _offset(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """The shift of ``b`` (rows, columns, each -1 to 1) that matches ``a`` best."""
    h, w = a.shape[:2]
    cost = {(dy, dx): np.abs(a[2:h - 2, 2:w - 2] - b[2 + dy:h - 2 + dy, 2 + dx:w - 2 + dx]).mean()
            for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    return min(cost, key=cost.get)


def _chart(face="white"):
    fig, axes = new_figure(1, 2, figsize=(7, 3.5))
    fig.set_facecolor(face)
    for ax in axes:
        ax.plot([0, 1, 2], [3, 1, 2], marker="o")
        ax.set_title("A title")
        ax.set_xlabel("month")
    fig.suptitle("Two panels")
    return fig


@pytest.mark.parametrize("dpi", [110, 150])
def test_same_size_and_place_as_a_tight_savefig(dpi):
    fig = _chart()
    ours, theirs = _pixels(png_bytes(fig, dpi)), _pixels(_savefig(fig, dpi))
    assert ours.shape == theirs.shape
    assert _offset(theirs, ours) == (0, 0)
    assert np.abs(ours - theirs).mean() < 3   # what differs is sub-pixel antialiasing


def test_the_padding_beyond_the_canvas_has_the_figure_colour():
    fig = _chart(face="#E0E8F0")
    ours, theirs = _pixels(png_bytes(fig, 110)), _pixels(_savefig(fig, 110))
    assert ours.shape == theirs.shape
    for corner in (ours[0, 0], ours[0, -1], ours[-1, 0], ours[-1, -1]):
        assert tuple(corner) == (0xE0, 0xE8, 0xF0, 255)


def test_something_beyond_the_canvas_is_saved_by_savefig_itself():
    fig = _chart()
    fig.text(1.15, 0.5, "far to the right")
    assert png_bytes(fig, 110) == _savefig(fig, 110)


def test_the_figure_keeps_its_resolution_and_canvas():
    fig = Figure(figsize=(4, 3), dpi=110)
    fig.subplots().plot([1, 2])
    canvas = fig.canvas
    png_bytes(fig, 150)
    assert fig.dpi == 110 and fig.canvas is canvas
    assert _pixels(png_bytes(fig)).shape[1] < _pixels(png_bytes(fig, 220)).shape[1] * 0.6


def test_an_opaque_chart_is_written_without_alpha_and_a_translucent_one_keeps_it():
    opaque = png_bytes(_chart(), 110)
    assert Image.open(io.BytesIO(opaque)).mode == "RGB"
    translucent = png_bytes(_chart(face=(1, 1, 1, 0.5)), 110)
    image = Image.open(io.BytesIO(translucent))
    assert image.mode == "RGBA"
    assert np.asarray(image)[0, 0, 3] == 128  # the padding keeps the figure's alpha


def test_the_png_records_its_resolution():
    info = Image.open(io.BytesIO(png_bytes(_chart(), 150))).info
    assert info["dpi"] == pytest.approx((150, 150), abs=0.02)
