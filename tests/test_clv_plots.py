"""CLV charts: Figures (not pyplot state), titled, axes labelled, time units named."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from crmlib.clv import diagnostics as D
from crmlib.clv import pipeline as PL
from crmlib.clv import segments as S
from crmlib.clv.models import BGNBD
from crmlib.plots import clv as charts


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


def test_model_charts_draw_their_tables(fitted):
    from drawn import bars, heights, line

    s, bg = fitted
    ff = D.frequency_fit(bg, s.customers)
    actual, expected = bars(charts.frequency_fit(ff, "BG/NBD", "weeks").axes[0])
    np.testing.assert_allclose(heights(actual), ff["actual"])
    np.testing.assert_allclose(heights(expected), ff["expected"])
    tr = D.tracking(bg, s)
    ax = charts.tracking(tr, s.calibration_end, "BG/NBD", "weeks").axes[0]
    np.testing.assert_allclose(line(ax, "actual")[1], tr["actual"])
    np.testing.assert_allclose(line(ax, "BG/NBD (expected)")[1], tr["expected"])
    ce = D.holdout_by_frequency(bg, s.customers)
    ax = charts.conditional_expectations(ce, "BG/NBD", s.holdout_length, "weeks").axes[0]
    for label, col in (("actual", "actual"), ("BG/NBD", "predicted"),
                       ("naive (calibration rate continues)", "naive")):
        np.testing.assert_allclose(line(ax, label)[1], ce[col])
    pa = D.p_alive_matrix(bg, 52.0)
    mesh = charts.p_alive_matrix(pa, 52.0, "weeks").axes[0].collections[0]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(pa.shape), pa.to_numpy())


def test_value_charts_draw_their_tables():
    from drawn import bars, heights, line, widths

    rng = np.random.default_rng(0)
    clv = pd.Series(rng.gamma(0.5, 100, 300))
    ax = charts.clv_distribution(clv, 36, 0.008).axes[0]
    counts, _ = np.histogram(clv, bins=50)
    np.testing.assert_array_equal(heights(bars(ax)[0]), counts)
    assert line(ax, f"mean {clv.mean():,.0f}")[0][0] == pytest.approx(clv.mean())
    assert line(ax, f"median {clv.median():,.0f}")[0][0] == pytest.approx(clv.median())
    curve, top10, top20 = S.lorenz(clv), S.top_share(clv, 0.1), S.top_share(clv, 0.2)
    ax = charts.lorenz(curve, top10, top20, S.gini(clv)).axes[0]
    x, y = line(ax, f"CLV (Gini {S.gini(clv):.2f})")
    np.testing.assert_allclose(x, curve["customer_share"])
    np.testing.assert_allclose(y, curve["value_share"])
    assert line(ax, f"top 10% hold {top10:.0%}")[1].tolist() == pytest.approx([1 - top10, 1])
    assert line(ax, f"top 20% hold {top20:.0%}")[1].tolist() == pytest.approx([1 - top20, 1])
    seg = pd.DataFrame({"segment": ["Champions", "Hibernating", "Loyal"],
                        "customer_share": [0.2, 0.5, 0.3], "clv_share": [0.7, 0.1, 0.2]})
    customers, value = bars(charts.segments(seg).axes[0])
    ordered = seg.sort_values("clv_share")  # smallest value share at the bottom
    np.testing.assert_allclose(widths(customers), ordered["customer_share"])
    np.testing.assert_allclose(widths(value), ordered["clv_share"])
    months = np.arange(0, 13)
    obs = pd.DataFrame({"month": months, "survival": 0.9 ** months})
    proj = pd.DataFrame({"month": months, "survival": 0.88 ** months})
    proj = proj.assign(ci_low=proj["survival"] - 0.02, ci_high=proj["survival"] + 0.03)
    ax = charts.survival(obs, proj).axes[0]
    np.testing.assert_allclose(line(ax, "observed (Kaplan-Meier)")[1], obs["survival"])
    np.testing.assert_allclose(line(ax, "shifted-Beta-Geometric")[1], proj["survival"])
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(proj["ci_low"].min())
    assert band[:, 1].max() == pytest.approx(proj["ci_high"].max())
