"""One visual theme for every chart: deck-ready sizes, a restrained palette, no chart junk."""
from __future__ import annotations

import matplotlib

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure

PALETTE = ["#1F3A5F", "#D1495B", "#EDAE49", "#00798C", "#66A182", "#8D6A9F", "#7F7F7F", "#2E4057"]
GOOD, BAD, NEUTRAL = "#2E8B57", "#C0392B", "#7F7F7F"
FIGSIZE = (9, 5)


def set_theme() -> None:
    """Apply the crmlib theme (seaborn ``whitegrid``, larger fonts, crmlib palette)."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE, font_scale=1.05,
                  rc={"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold",
                      "axes.titlesize": 13, "axes.spines.top": False,
                      "axes.spines.right": False, "figure.autolayout": False})


def _show_figures_in_ipython() -> None:
    """Let IPython display a returned Figure as PNG in any kernel (not only ``%matplotlib inline``)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    formatter = shell.display_formatter.formatters["image/png"] if shell is not None else None
    if formatter is not None and Figure not in formatter.type_printers:
        select_figure_formats(shell, {"png"}, bbox_inches="tight")


def new_figure(nrows: int = 1, ncols: int = 1, figsize=FIGSIZE, **kw) -> tuple[Figure, object]:
    """A Figure with the crmlib theme that is not registered with pyplot's state machine.

    Nothing is kept open by pyplot (no memory growth in long notebooks, no double
    display); in IPython the returned Figure still displays as an image.
    """
    set_theme()
    _show_figures_in_ipython()
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def source_note(fig: Figure, text: str) -> Figure:
    """Write a small source/unit note in the figure's bottom-left corner."""
    fig.text(0.01, 0.005, text, fontsize=8, color=NEUTRAL, ha="left", va="bottom")
    return fig
