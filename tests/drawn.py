"""What a matplotlib Axes shows, read back for plot tests: bars, lines, points, error bars."""
from __future__ import annotations

import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer


def bars(ax) -> list[BarContainer]:
    """The bar groups in drawing order (one per ``bar``/``barh`` call)."""
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def heights(container: BarContainer) -> np.ndarray:
    return np.array([p.get_height() for p in container.patches])


def widths(container: BarContainer) -> np.ndarray:
    return np.array([p.get_width() for p in container.patches])


def line(ax, label: str):
    """(x, y) of the line with this legend label."""
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, (label, [ln.get_label() for ln in ax.get_lines()])
    return found[0].get_xdata(), np.asarray(found[0].get_ydata(), float)


def points(ax) -> list[np.ndarray]:
    """Offsets (x, y) of every scatter layer, in drawing order."""
    return [np.asarray(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection)]


def errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def error_extents(container: ErrorbarContainer, axis: int = 0) -> np.ndarray:
    """(low, high) end of each error bar along ``axis`` (0 = x bars, 1 = y bars)."""
    segs = [s for coll in container.lines[2] for s in coll.get_segments()]
    return np.array([[s[0][axis], s[1][axis]] for s in segs])
