"""Phase-ROI charts: each returns a titled, labelled Figure from the analysis tables."""
import pytest
from matplotlib.figure import Figure

from crmlib import demo
from crmlib.io import load_kpi_panel
from crmlib.plots import roi as charts
from crmlib.roi import evaluate_programme, load_plan, prepare_panel, views


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    out = tmp_path_factory.mktemp("roi_plots")
    demo.generate(out, size="small", only=("roi",))
    plan = load_plan(out / "phase_plan.yaml")
    monthly = prepare_panel(load_kpi_panel(out / "kpi_panel.csv"), plan)
    return plan, monthly, evaluate_programme(plan, monthly, n_simulations=500, n_permutations=50)


def _titled(fig):
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    titles.append(fig._suptitle.get_text() if fig._suptitle else "")
    assert any(titles)
    return fig


def test_every_chart(ev):
    plan, monthly, e = ev
    ph = plan.phases[2]
    trends = views.kpi_trends(monthly, ph)
    assert set(trends["group"]) == {"pilot", "control"}
    assert (trends["ci_low"] <= trends["mean"]).all()
    _titled(charts.kpi_trends(trends, ph.name))
    _titled(charts.event_study(e.event_study[e.event_study["phase"] == ph.name], ph.name))
    _titled(charts.cumulative_cash_flow(e.cumulative, plan.currency, e.as_of))
    fig = _titled(charts.roi_horizons(e.roi_table()))
    assert "ROI" in fig.axes[0].get_ylabel()
    fig = _titled(charts.tornado(e.tornado, plan.currency))
    assert plan.currency in fig.axes[0].get_xlabel()
    steps = views.benefits_waterfall(e)
    assert steps["end"].iloc[-1] == pytest.approx(e.programme["npv"], rel=1e-9)
    _titled(charts.waterfall(steps, plan.currency))
    _titled(charts.gate_summary(views.gate_table(e)))


def test_charts_draw_their_tables(ev):
    import numpy as np
    import pandas as pd
    from drawn import bars, errorbars, heights, line, widths

    plan, monthly, e = ev
    ph = plan.phases[0]
    trends = views.kpi_trends(monthly, ph)
    fig = charts.kpi_trends(trends, ph.name)
    for ax, kpi in zip(fig.axes, dict.fromkeys(trends["kpi"])):
        for group in ("pilot", "control"):
            g = trends[(trends["kpi"] == kpi) & (trends["group"] == group)]
            np.testing.assert_allclose(line(ax, group)[1], g["mean"])
    es = e.event_study[e.event_study["phase"] == ph.name]
    fig = charts.event_study(es, ph.name)
    for ax, kpi in zip(fig.axes, dict.fromkeys(es["kpi"])):
        d = es[es["kpi"] == kpi].sort_values("rel")
        drawn = np.concatenate([np.asarray(c.lines[0].get_ydata(), float)
                                for c in errorbars(ax)])
        np.testing.assert_allclose(drawn, np.r_[d.loc[d["rel"] < 0, "estimate"],
                                                d.loc[d["rel"] >= 0, "estimate"]])
    cum = e.cumulative
    ax = charts.cumulative_cash_flow(cum, plan.currency, e.as_of).axes[0]
    ach = cum["month"] <= pd.Timestamp(e.as_of)
    np.testing.assert_allclose(line(ax, "nominal (achieved)")[1], cum.loc[ach, "cumulative"])
    proj = line(ax, "discounted (projected)")[1]
    np.testing.assert_allclose(proj[-(~ach).sum():], cum.loc[~ach, "cumulative_discounted"])
    rt = e.roi_table()
    d = rt[(rt["metric"] == "roi") & (rt["phase"] != "programme")]
    phases = list(dict.fromkeys(d["phase"]))
    for b, h in zip(bars(charts.roi_horizons(rt).axes[0]), ("6", "12", "24")):
        np.testing.assert_allclose(heights(b), d[d["horizon"] == h].set_index("phase")
                                   .reindex(phases)["point"])
    # tornado: each driver's red and green pieces together span its two NPVs
    tor = e.tornado.head(12).iloc[::-1]
    below, above = bars(charts.tornado(e.tornado, plan.currency).axes[0])
    for p_lo, p_hi, (_, r) in zip(below.patches, above.patches, tor.iterrows()):
        pieces = [(p.get_x(), p.get_x() + p.get_width()) for p in (p_lo, p_hi)
                  if p.get_width() > 0]
        assert min(x0 for x0, _ in pieces) == pytest.approx(min(r.npv_at_low, r.npv_at_high))
        assert max(x1 for _, x1 in pieces) == pytest.approx(max(r.npv_at_low, r.npv_at_high))
    steps = views.benefits_waterfall(e)
    ax = charts.waterfall(steps, plan.currency).axes[0]
    patches = [p for c in bars(ax) for p in c.patches]
    np.testing.assert_allclose([p.get_y() for p in patches], steps["start"])
    np.testing.assert_allclose([p.get_y() + p.get_height() for p in patches], steps["end"])
    gates = views.gate_table(e)
    (b,) = bars(charts.gate_summary(gates).axes[0])
    np.testing.assert_allclose(widths(b), gates["P(NPV>0)"])
