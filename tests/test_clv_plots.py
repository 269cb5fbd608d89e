"""CLV charts: Figures (not pyplot state), titled, axes labelled, time units named."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from crmlib.clv import diagnostics as D, pipeline as PL, segments as S
from crmlib.clv.models import BGNBD
from crmlib.plots import clv as charts
from test_clv_demo import clv_small  # noqa: F401  (shared fixture)


@pytest.fixture(scope="module")
def fitted(clv_small):
    s = PL.summarise(clv_small / "transactions.csv", time_unit="W",
                     observation_end="2025-06-30", calibration_end="2024-12-31")
    return s, BGNBD().fit(s.customers)


def _texts(fig: Figure) -> str:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return " | ".join(out)


def _check(fig: Figure, *must: str) -> None:
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    text = _texts(fig)
    for m in must:
        assert m in text, (m, text)


def test_model_charts_name_the_time_unit(fitted):
    s, bg = fitted
    _check(charts.frequency_fit(D.frequency_fit(bg, s.customers), "BG/NBD", "weeks"), "weeks")
    _check(charts.tracking(D.tracking(bg, s), s.calibration_end, "BG/NBD", "weeks"), "week")
    _check(charts.conditional_expectations(D.holdout_by_frequency(bg, s.customers), "BG/NBD",
                                           s.holdout_length, "weeks"), "weeks")
    _check(charts.p_alive_matrix(D.p_alive_matrix(bg, 52.0), 52.0, "weeks"), "weeks")


def test_value_charts():
    rng = np.random.default_rng(0)
    clv = pd.Series(rng.gamma(0.5, 100, 300))
    _check(charts.clv_distribution(clv, 36, 0.008), "36 months", "0.800% per month")
    _check(charts.lorenz(S.lorenz(clv), S.top_share(clv, 0.1), S.top_share(clv, 0.2),
                         S.gini(clv)), "top 10%")
    seg = pd.DataFrame({"segment": ["Champions", "Hibernating"], "customer_share": [0.2, 0.8],
                        "clv_share": [0.7, 0.3]})
    _check(charts.segments(seg), "share")
    months = np.arange(0, 13)
    obs = pd.DataFrame({"month": months, "survival": 0.9 ** months})
    proj = obs.assign(ci_low=obs["survival"] - 0.02, ci_high=obs["survival"] + 0.02)
    _check(charts.survival(obs, proj), "months")
