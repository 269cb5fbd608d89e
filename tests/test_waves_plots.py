"""Over-time charts draw one arrow per group or item, from the baseline to the latest place."""
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from crmlib.plots.assessment import _on_path, diamond_movement
from crmlib.plots.satisfaction import ipa_arrows


def _arrows(fig):
    return [c for c in fig.axes[0].get_children() if isinstance(c, Annotation)
            and c.arrow_patch is not None]


def test_diamond_movement_draws_an_arrow_per_group_along_the_base_path():
    mv = pd.DataFrame({"group": ["Sales", "Customer"], "baseline": [2.2, 1.6],
                       "latest": [2.6, 2.1], "change": [0.4, 0.5], "ci_low": [0.1, 0.2],
                       "ci_high": [0.7, 0.8]})
    fig = diamond_movement(mv, "2025", "2026")
    assert isinstance(fig, Figure)
    arrows = _arrows(fig)
    assert len(arrows) == 2
    # stage 1.6 lies 60% of the way from first base (1, 1) to second base (0, 2)
    assert np.allclose(_on_path(1.6), [0.4, 1.6])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(lt.startswith("Customer 1.60 → 2.10 (+0.50") for lt in labels)
    assert "2025 → 2026" in fig.axes[0].get_title()


def test_ipa_arrows_run_from_baseline_to_latest():
    mv = pd.DataFrame({"item": ["x", "y"], "label": ["X", "Y"],
                       "performance_baseline": [4.0, 5.5], "performance_latest": [5.0, 5.4],
                       "importance_baseline": [6.0, 4.0], "importance_latest": [6.1, 4.1],
                       "moved": [True, False]})
    mv.attrs.update(importance_center=5.0, performance_center=4.5)
    fig = ipa_arrows(mv)
    arrows = _arrows(fig)
    assert len(arrows) == 2
    assert arrows[0].xy == (5.0, 6.1) and arrows[0].xyann == (4.0, 6.0)
