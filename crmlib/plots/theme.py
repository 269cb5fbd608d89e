"""One visual theme for every chart: deck-ready sizes, a restrained palette, no chart junk."""
from __future__ import annotations

import fnmatch
import os
import textwrap
from functools import lru_cache
from typing import Any

import matplotlib as mpl
import seaborn as sns
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from .png import png_bytes

PALETTE = ["#1F3A5F", "#D1495B", "#EDAE49", "#00798C", "#66A182", "#8D6A9F", "#7F7F7F", "#2E4057"]
GOOD, BAD, NEUTRAL = "#2E8B57", "#C0392B", "#7F7F7F"
FIGSIZE = (9, 5)
# Fonts tried glyph by glyph after DejaVu Sans, so labels in Chinese, Japanese or Korean
# render as text, not boxes (matplotlib >= 3.6 falls back per glyph along font.family).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei",
                "PingFang SC", "Hiragino Sans GB", "Droid Sans Fallback")
CJK_FILES = ("NotoSansCJK*", "SourceHanSans*", "wqy-*", "DroidSansFallback*", "msyh*",
             "simhei*", "PingFang*", "Hiragino Sans GB*")
CAPTION_SIZE = 9.5
CAPTION_COLOR = "#3E4C59"


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """``font.family`` for every chart: DejaVu Sans, then each CJK font installed.

    A CJK font installed after matplotlib built its font cache is registered here.
    """
    names = {f.name for f in font_manager.fontManager.ttflist}
    if not names & set(CJK_FAMILIES):
        for path in font_manager.findSystemFonts():
            if any(fnmatch.fnmatch(os.path.basename(path), pat) for pat in CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans",) + tuple(f for f in CJK_FAMILIES if f in names)


def set_theme() -> None:
    """Apply the crmlib theme (seaborn ``whitegrid``, larger fonts, crmlib palette).

    Titles sit at a fixed height above the axes (``axes.titley``): Matplotlib's automatic
    placement measures every tick label of the axes and its siblings at each drawing (a
    third of a multi-panel chart's drawing time), and no chart has tick labels above its
    axes, except polar ones: :func:`new_figure` makes them with automatic placement and
    :func:`placed_title` titles them.
    """
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE, font_scale=1.05,
                  rc={"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold",
                      "axes.titlesize": 13, "axes.spines.top": False,
                      "axes.spines.right": False, "figure.autolayout": False,
                      "axes.titley": 1.0,
                      "font.family": list(font_families())})


_THEMED = "_crmlib_theme"  # set on the figures of new_figure


def _auto_titles(on: bool = True):
    """Within the block (when ``on``), Matplotlib places titles clear of what is above."""
    return mpl.rc_context({"axes.titley": None} if on else {})


class _ThemePNG:
    """IPython's PNG printer for figures: one of :func:`new_figure` from one drawing
    (:func:`crmlib.plots.png.png_bytes`), any other with the printer set before (``%matplotlib
    inline`` and its settings), or with ``png_bytes`` when none was."""

    def __init__(self, before) -> None:
        self.before = before

    def __call__(self, fig: Figure):
        if self.before is not None and not getattr(fig, _THEMED, False):
            return self.before(fig)
        return png_bytes(fig)


def _show_figures_in_ipython() -> None:
    """Let IPython display a returned Figure as PNG in any kernel (not only ``%matplotlib
    inline``); those of :func:`new_figure` tightly cropped from one drawing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    formatter = shell.display_formatter.formatters["image/png"] if shell is not None else None
    if formatter is not None:
        before = formatter.type_printers.get(Figure)
        if not isinstance(before, _ThemePNG):
            formatter.for_type(Figure, _ThemePNG(before))


def new_figure(nrows: int = 1, ncols: int = 1, figsize=FIGSIZE, **kw) -> tuple[Figure, Any]:
    """A Figure with the crmlib theme that is not registered with pyplot's state machine.

    Nothing is kept open by pyplot (no memory growth in long notebooks, no double
    display); in IPython the returned Figure still displays as an image.
    """
    set_theme()
    _show_figures_in_ipython()
    fig = Figure(figsize=figsize, layout="constrained")
    setattr(fig, _THEMED, True)
    polar = (kw.get("subplot_kw") or {}).get("projection") == "polar"
    with _auto_titles(polar):  # labels ring the circle
        axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def placed_title(ax, label: str, **kw) -> Text:
    """``ax.set_title`` at the height Matplotlib finds clear of labels drawn above the axes
    (the labels around a polar chart from :func:`new_figure`)."""
    with _auto_titles():
        return ax.set_title(label, **kw)


def source_note(fig: Figure, text: str) -> Figure:
    """Write the chart's caption (source, units, how to read it) under the chart.

    Readable size and contrast, wrapped to the figure's width; the constrained layout
    keeps it clear of the axis labels.
    """
    width_chars = int(fig.get_figwidth() * 72 / (CAPTION_SIZE * 0.55))
    fig.supxlabel(textwrap.fill(text, width_chars), fontsize=CAPTION_SIZE, color=CAPTION_COLOR,
                  ha="left", x=0.01, fontweight="normal")
    return fig


def short_label(text: str, width: int = 22, lines: int = 2) -> str:
    """A label wrapped to ``lines`` lines of ``width`` characters, shortened with "…"."""
    return textwrap.shorten(str(text), width * lines, placeholder="…") if len(str(text)) > \
        width * lines else textwrap.fill(str(text), width)


def place_labels(ax, xs, ys, labels, fontsize: float = 7.5, color: str = "#243B53") -> list:
    """Label points without overlaps: each label takes the first of eight positions around
    its point that overlaps no label placed before it and no point (greedy, in the order
    given: put the important points first). Returns the annotations.

    The figure is laid out without rendering it (the positions are those of the drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = ax.figure
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    points = [ax.transData.transform((x, y)) for x, y in zip(xs, ys)]
    taken = [(px - 4, py - 4, px + 4, py + 4) for px, py in points]
    box = ax.get_window_extent(renderer)
    around = [(1, 0.8, "left", "bottom"), (1, -0.8, "left", "top"), (-1, 0.8, "right", "bottom"),
              (-1, -0.8, "right", "top"), (0, 1.6, "center", "bottom"),
              (0, -1.6, "center", "top"), (2, 0, "left", "center"), (-2, 0, "right", "center")]
    offsets = [(dx * r, dy * r, ha, va) for r in (5, 12, 22, 34) for dx, dy, ha, va in around]
    out = []
    for (x, y), label in zip(zip(xs, ys), labels):
        placed = None
        for dx, dy, ha, va in offsets:
            far = abs(dx) > 12 or abs(dy) > 12
            ann = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                              ha=ha, va=va, fontsize=fontsize, color=color,
                              arrowprops={"arrowstyle": "-", "color": "#9AA5B1", "lw": 0.6}
                              if far else None)
            ann.update_positions(renderer)
            bb = Text.get_window_extent(ann, renderer)  # the text, without its leader line
            rect = (bb.x0, bb.y0, bb.x1, bb.y1)
            inside = bb.x0 >= box.x0 and bb.x1 <= box.x1 and bb.y0 >= box.y0 and bb.y1 <= box.y1
            if inside and not any(_overlap(rect, t) for t in taken):
                placed = ann
                taken.append(rect)
                break
            ann.remove()
        if placed is None:  # nowhere free: the first position, drawn anyway
            dx, dy, ha, va = offsets[0]
            placed = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                                 ha=ha, va=va, fontsize=fontsize, color=color)
            placed.update_positions(renderer)
            bb = Text.get_window_extent(placed, renderer)
            taken.append((bb.x0, bb.y0, bb.x1, bb.y1))
        placed.set_in_layout(False)
        out.append(placed)
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
