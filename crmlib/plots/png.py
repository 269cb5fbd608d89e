"""A figure as PNG bytes from one drawing, cropped as ``bbox_inches="tight"`` crops it.

Matplotlib's ``savefig`` draws a figure with a layout engine twice: once without
rendering, to lay it out and measure it, then again to render. :func:`png_bytes` renders
it once on an Agg canvas (the layout runs within that drawing), measures the tight box
with the renderer of that drawing, and crops the image to the box plus
``savefig.pad_inches``, filling the padding beyond the canvas with the figure's colour as
Matplotlib does. The box is the one ``savefig`` computes from the same layout; only its
edges are rounded to whole pixels. A figure drawing something beyond its canvas (which
the crop would cut) is saved by ``savefig`` itself. Written here because Matplotlib has
no one-pass tight save; a drawing of a report chart costs 0.1 to 0.7 s.
"""
from __future__ import annotations

import io
import math

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from PIL import Image

PNG_LEVEL = 3


def png_bytes(fig, dpi: float | None = None) -> bytes:
    """``fig`` as PNG at ``dpi`` (default the figure's), tightly cropped, drawn once."""
    dpi = float(dpi or fig.dpi)
    pad = mpl.rcParams["savefig.pad_inches"]
    colours = (mpl.rcParams["savefig.facecolor"], mpl.rcParams["savefig.edgecolor"])
    if not isinstance(pad, (int, float)) or colours != ("auto", "auto"):  # savefig's rules
        return _savefig(fig, dpi)
    old_canvas, old_dpi = fig.canvas, fig.get_dpi()
    canvas = FigureCanvasAgg(fig)
    try:
        fig.set_dpi(dpi)
        canvas.draw()
        box = fig.get_tightbbox(canvas.get_renderer())
        image = np.asarray(canvas.buffer_rgba())
        width, height = fig.get_size_inches()
    finally:
        fig.set_dpi(old_dpi)
        fig.set_canvas(old_canvas)
    if box is None or box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
        return _savefig(fig, dpi)
    face = np.round(np.array(to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
    return _encode(_crop(image, box.padded(pad), dpi, face), dpi)


def _crop(image: np.ndarray, box, dpi: float, face: np.ndarray) -> np.ndarray:
    """The pixels of ``box`` (inches from the bottom left) of ``image`` (rows from the
    top); pixels beyond the image take ``face``."""
    rows, cols = image.shape[:2]
    out_w, out_h = max(1, math.floor(box.width * dpi)), max(1, math.floor(box.height * dpi))
    x0, top = round(box.x0 * dpi), rows - out_h - round(box.y0 * dpi)  # as Agg sizes a box
    out = np.empty((out_h, out_w, 4), np.uint8)
    out[:] = face
    r0, r1 = max(top, 0), min(top + out_h, rows)
    c0, c1 = max(x0, 0), min(x0 + out_w, cols)
    out[r0 - top:r1 - top, c0 - x0:c1 - x0] = image[r0:r1, c0:c1]
    return out


def _encode(image: np.ndarray, dpi: float) -> bytes:
    """PNG of ``image`` (RGBA), without its alpha channel when every pixel is opaque, at
    zlib level 3: a quarter less to compress and a faster level than ``imsave``'s (6),
    for files about 6% smaller on the report's charts (flat colours compress as well)."""
    if image[..., 3].min() == 255:
        image = np.ascontiguousarray(image[..., :3])
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="png", dpi=(dpi, dpi), compress_level=PNG_LEVEL)
    return buf.getvalue()


def _savefig(fig, dpi: float) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()
