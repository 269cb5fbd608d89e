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
