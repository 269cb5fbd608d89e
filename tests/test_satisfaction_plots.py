"""Every satisfaction chart builds a titled, labelled Figure from its result table."""
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import crmlib.satisfaction as S
from crmlib.demo import generate
from crmlib.plots import satisfaction as charts


@pytest.fixture(scope="module")
def sv(tmp_path_factory):
    out = tmp_path_factory.mktemp("satplots")
    generate(out, size="small", only=("satisfaction",))
    return S.load_inputs({"survey": out / "survey.csv", "items": out / "survey_items.csv",
                          "scale_min": 1, "scale_max": 7, "dont_know_codes": [99],
                          "segment_col": "segment"})[0]


def _check(fig):
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel()
    fig.canvas.draw()  # renders without error


def test_all_charts(sv):
    ig, dg = S.item_gaps(sv), S.dimension_gaps(sv)
    d, r2, _ = S.derived_importance(sv, n_boot=20)
    by, tests = S.segment_gaps(sv)
    _check(charts.gap_bars(dg))
    _check(charts.gap_bars(ig, "item", label="label"))
    _check(charts.profile(ig))
    _check(charts.ipa_grid(S.ipa_table(sv)))
    _check(charts.ipa_grid(S.ipa_table(sv, d, "derived", "midpoint")))
    _check(charts.kano_plot(S.kano_table(sv)))
    _check(charts.driver_shares(d, r2=r2))
    _check(charts.reliability_chart(S.reliability_table(sv, n_boot=10)))
    _check(charts.segment_comparison(by, tests))
    clv = pd.DataFrame({"customer_id": sv.customer_id.dropna().unique()})
    clv["clv"] = np.arange(len(clv), dtype=float) + 1
    vi, vd = S.value_weighted_gaps(sv, clv)
    _check(charts.gap_bars(vd, title="CLV-weighted gaps"))
    _check(charts.value_weighted(vd))
    _check(charts.path_coefficients(S.satisfaction_model(sv, n_boot=20).summary()))


def test_bar_charts_draw_their_tables(sv):
    from drawn import bars, error_extents, errorbars, widths

    dg = S.dimension_gaps(sv)
    ax = charts.gap_bars(dg).axes[0]
    d = dg.sort_values("gap", ascending=False)
    (b,) = bars(ax)
    np.testing.assert_allclose(widths(b), d["gap"])
    np.testing.assert_allclose(error_extents(errorbars(ax)[0]), d[["ci_low", "ci_high"]])
    hatched = [bool(p.get_hatch()) for p in b.patches]
    assert hatched == (~d["significant"]).tolist()
    d_, r2, _ = S.derived_importance(sv, n_boot=20)
    (b,) = bars(charts.driver_shares(d_, r2=r2).axes[0])
    np.testing.assert_allclose(widths(b), d_.sort_values("share", ascending=False)["share"] * 100)
    summ = S.satisfaction_model(sv, n_boot=20).summary()
    (b,) = bars(charts.path_coefficients(summ).axes[0])
    np.testing.assert_allclose(widths(b),
                               summ[summ["kind"] == "path"].sort_values("estimate")["estimate"])


def test_point_charts_draw_their_tables(sv):
    from drawn import error_extents, errorbars, points

    ig = S.item_gaps(sv)
    expect, perceive = points(charts.profile(ig).axes[0])
    np.testing.assert_allclose(expect, np.column_stack([ig["expectation"], np.arange(len(ig))]))
    np.testing.assert_allclose(perceive, np.column_stack([ig["perception"], np.arange(len(ig))]))
    ipa = S.ipa_table(sv)
    ax = charts.ipa_grid(ipa).axes[0]
    (pts,) = points(ax)
    np.testing.assert_allclose(pts, ipa[["performance", "importance"]])
    xs = {tuple(ln.get_xdata()) for ln in ax.get_lines()}
    assert (ipa.attrs["performance_center"],) * 2 in xs  # the crosshair where the table says
    kano = S.kano_table(sv)
    (pts,) = points(charts.kano_plot(kano).axes[0])
    np.testing.assert_allclose(pts, np.column_stack([kano["worse"].abs(), kano["better"]]))
    rel = S.reliability_table(sv, n_boot=200)
    alpha, omega = errorbars(charts.reliability_chart(rel).axes[0])
    np.testing.assert_allclose(alpha.lines[0].get_xdata().astype(float), rel["alpha"])
    np.testing.assert_allclose(omega.lines[0].get_xdata().astype(float), rel["omega"])
    # an omega interval is drawn only where the table gives one that contains the estimate
    shown = rel[["omega_ci_low", "omega_ci_high"]].dropna()
    assert len(shown) >= 1
    np.testing.assert_allclose(error_extents(omega), shown)
    by, tests = S.segment_gaps(sv)
    ax = charts.segment_comparison(by, tests).axes[0]
    dims = list(dict.fromkeys(by["dimension"]))
    for eb, seg in zip(errorbars(ax), dict.fromkeys(by["segment"])):
        want = by[by["segment"] == seg].set_index("dimension").reindex(dims)["gap"]
        np.testing.assert_allclose(eb.lines[0].get_xdata().astype(float), want)
    clv = pd.DataFrame({"customer_id": sv.customer_id.dropna().unique()})
    clv["clv"] = np.arange(len(clv), dtype=float) + 1
    _, vd = S.value_weighted_gaps(sv, clv)
    ax = charts.value_weighted(vd).axes[0]
    v = vd.sort_values("gap_weighted")
    np.testing.assert_allclose(errorbars(ax)[0].lines[0].get_xdata().astype(float), v["gap_weighted"])
    np.testing.assert_allclose(points(ax)[0][:, 0], v["gap_unweighted"])
