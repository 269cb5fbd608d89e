"""Cross-checks a sceptic would run on the ROI evaluation: the cumulative line ends at the
NPV, and before/after evidence alone never passes the gate."""
import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from crmlib import demo
from crmlib.io import DataQualityReport, load_kpi_panel
from crmlib.roi import decide, evaluate_programme, load_plan, monthly_rate, prepare_panel
from crmlib.roi.cashflow import programme_cumulative
from crmlib.roi.phase_effects import METHOD_BA
from crmlib.roi.views import gate_table


def _npf_programme_npv(net: pd.DataFrame, annual_rate: float) -> float:
    """numpy-financial NPV of the programme: each flow at (phase offset + t) months."""
    start = net.loc[net["t"] == 0].groupby("phase")["month"].min()
    t0 = start.min()
    off = net["phase"].map(lambda p: (start[p].year - t0.year) * 12 + start[p].month - t0.month)
    period = (off + net["t"]).to_numpy()
    flows = np.bincount(period, weights=net["net"].to_numpy())
    return float(npf.npv(monthly_rate(annual_rate), flows))


def _net(phase, start, flows):
    t = np.arange(len(flows))
    month = [pd.Timestamp(start) + pd.DateOffset(months=max(i - 1, 0)) for i in t]
    return pd.DataFrame({"phase": phase, "t": t, "month": month, "status": "projected",
                         "cost": 0.0, "benefits": 0.0, "net": np.asarray(flows, float)})


def test_cumulative_discounting_follows_the_npv_timing_across_a_calendar_gap():
    # the one-off (t = 0) and month 1 share the start month; phase B starts after a gap
    net = pd.concat([_net("A", "2024-01-01", [-1000, 100, 200, 300]),
                     _net("B", "2024-08-01", [-500, 400, 400])], ignore_index=True)
    cum = programme_cumulative(net, 0.12)
    assert cum["cumulative_discounted"].iloc[-1] == pytest.approx(_npf_programme_npv(net, 0.12),
                                                                  abs=1e-9)
    months = pd.to_datetime(cum["month"])
    assert list(months) == list(pd.date_range("2024-01-01", "2024-09-01", freq="MS"))
    gap = cum[(months > "2024-03-01") & (months < "2024-08-01")]
    assert (gap["net"] == 0).all() and gap["cumulative"].nunique() == 1
    assert cum["cumulative"].iloc[-1] == pytest.approx(net["net"].sum())


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory):
    out = tmp_path_factory.mktemp("roi_sceptic")
    demo.generate(out, size="small", only=("roi",))
    q = DataQualityReport()
    plan = load_plan(out / "phase_plan.yaml")
    monthly = prepare_panel(load_kpi_panel(out / "kpi_panel.csv", quality=q), plan, quality=q)
    return evaluate_programme(plan, monthly, n_simulations=200, seed=1, n_permutations=19)


def test_cumulative_line_ends_at_the_programme_npv(evaluation):
    ev = evaluation
    last = ev.cumulative["cumulative_discounted"].iloc[-1]
    assert last == pytest.approx(ev.programme["npv"], rel=1e-9)
    assert last == pytest.approx(_npf_programme_npv(ev.cash_flows, ev.plan.discount_rate_annual),
                                 rel=1e-9)


def _effects(method):
    return pd.DataFrame({"kpi": ["a", "b"], "direction": ["up", "down"], "effect": [1.0, -1.0],
                         "p_gate": [0.001, 0.002], "pretrend_ok": [True, True],
                         "method": [method, method]})


def test_before_after_evidence_alone_is_at_most_adjust():
    assert decide(_effects("DiD (TWFE, clustered by unit)"), 0.99)["decision"] == "continue"
    g = decide(_effects(METHOD_BA), 0.99)
    assert g["decision"] == "adjust"
    assert any("at most adjust" in r and "control" in r for r in g["reasons"])
    assert decide(_effects(METHOD_BA), 0.2)["decision"] == "stop"


def test_gate_table_states_the_missing_control_group(evaluation):
    ev = evaluation
    phase = ev.gates["phase"].iloc[0]
    eff = ev.effects[ev.effects["phase"] == phase].assign(
        method=METHOD_BA, p_gate=0.001)
    eff["effect"] = np.where(eff["direction"] == "up", 1.0, -1.0)
    gates = ev.gates.copy()
    gates.loc[gates["phase"] == phase, ["decision", "reasons"]] = pd.Series(
        decide(eff, 0.99)).loc[["decision", "reasons"]].to_numpy()[None, :]
    ev.gates = gates
    row = gate_table(ev).set_index("phase").loc[phase]
    assert row["decision"] == "adjust" and "at most adjust" in row["reasons"]


def test_benefits_waterfall_ends_at_the_programme_npv(evaluation):
    from crmlib.roi.views import benefits_waterfall
    w = benefits_waterfall(evaluation)
    steps = w[w["kind"] != "total"]
    assert steps["end"].iloc[-1] == pytest.approx(evaluation.programme["npv"], rel=1e-9)
    assert w["end"].iloc[-1] == pytest.approx(evaluation.programme["npv"], rel=1e-9)
