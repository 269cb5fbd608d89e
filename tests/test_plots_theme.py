"""Charts built with the theme display as images in a plain kernel and never pile up in pyplot."""
import matplotlib.pyplot as plt
import nbformat
from nbclient import NotebookClient

from crmlib import paths
from crmlib.plots.theme import new_figure, placed_title


def test_new_figure_is_not_held_by_pyplot():
    before = plt.get_fignums()
    fig, ax = new_figure(1, 2)
    assert len(ax) == 2 and plt.get_fignums() == before
    assert fig.get_layout_engine() is not None


def test_returned_figure_displays_as_png_in_a_plain_kernel():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from crmlib.plots.theme import new_figure\nfig, ax = new_figure()\nax.plot([1, 2])\nfig")]
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(paths.ROOT)}}).execute()
    outputs = nb.cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs


def test_no_chart_puts_tick_labels_above_its_axes():
    """The theme fixes titles' height (axes.titley), which is only right when nothing of the
    axes is drawn above it; a chart that needs it must place its title itself."""
    import re

    top = re.compile(r"tick_top|labeltop|label_position\(\s*['\"]top|twiny|secondary_xaxis")
    for path in (paths.ROOT / "crmlib" / "plots").glob("*.py"):
        assert not top.search(path.read_text(encoding="utf-8")), path.name


def test_a_polar_chart_keeps_its_title_above_the_labels_around_the_circle():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig, axes = new_figure(1, 2, subplot_kw={"projection": "polar"}, squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([0, 1.57, 3.14, 4.71], ["right", "a long label on top", "left", "bottom"])
        placed_title(ax, "A driver", pad=14)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in axes.flat:
        top = max(t.get_window_extent(renderer).y1 for t in ax.get_xticklabels())
        assert ax.title.get_window_extent(renderer).y0 >= top


def test_only_the_themes_figures_change_printer_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    from crmlib.plots.png import png_bytes

    shell = InteractiveShell.instance()
    try:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda fig: b"the notebook's own printer")
        fig, ax = new_figure()
        ax.plot([1, 2])
        assert png(fig) == png_bytes(fig)
        assert png(Figure()) == b"the notebook's own printer"   # e.g. %matplotlib inline's
        new_figure()                                            # registered once, not nested
        assert png(Figure()) == b"the notebook's own printer"
    finally:
        InteractiveShell.clear_instance()
