"""Monthly cash flows of a two-phase plan written out by hand, valued with numpy-financial.

Phase 1 runs January to March 2025 (5 pilot units), then is rolled out to 50 units;
phase 2 starts in September, is planned to end in October and actually ends in
November. Money: effect x value per unit x units x sign (+1 up, -1 down).
"""
import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from crmlib.roi.cashflow import (
    cash_flows,
    horizon_metrics,
    kpi_values,
    net_table,
    phase_benefit_lines,
    phase_costs,
    productivity_by_role,
    programme_cumulative,
    programme_metrics,
)
from crmlib.roi.plan import KPI, Costs, Goal, Phase, PhasePlan

TS = pd.Timestamp
RATE = 0.10
R = 1.10 ** (1 / 12) - 1

P1 = Phase("P1", TS("2025-01-15"), TS("2025-03-20"), Costs(1000, 100, 10), 50,
           (Goal("grow", (KPI("sales", "up", 2.0), KPI("hours", "down", 3.0, "indirect", "agent"))),))
P2 = Phase("P2", TS("2025-09-01"), TS("2025-10-31"), Costs(500, 50, 5), 20,
           (Goal("serve", (KPI("calls", "down", 0.5, "indirect"), KPI("nps", "up", 1.0))),),
           actual_end=TS("2025-11-15"))
PLAN = PhasePlan("EUR", RATE, (P1, P2))
EFFECTS = pd.DataFrame({
    "phase": ["P1", "P1", "P2", "P2"], "kpi": ["sales", "hours", "calls", "nps"],
    "n_pilot": [5, np.nan, 3, np.nan], "effect": [4.0, -2.0, -1.0, np.nan],
    "se": [1.0, 0.5, 0.2, np.nan], "ci_low": [2.0, -3.0, -1.4, np.nan],
    "ci_high": [6.0, -1.0, -0.6, np.nan]})
AS_OF = TS("2025-02-10")


def _p1_net(h):
    """t = 0 one-off; t = 1..3 running (pilot units); then rolled out to 50 units."""
    t = np.arange(h + 1)
    cost = np.where(t == 0, 1000.0, np.where(t <= 3, 100.0, 10.0))
    sales = np.where(t == 0, 0, np.where(t <= 3, 2 * 5 * 4.0, 2 * 50 * 4.0))
    hours = np.where(t <= 3, 0.0, -3 * 50 * -2.0)  # no pilot count: no units while running
    return cost, sales + hours


def _p2_net(h):
    t = np.arange(h + 1)  # runs September to November (t = 1..3)
    cost = np.where(t == 0, 500.0, np.where(t <= 3, 50.0, 5.0))
    calls = np.where(t == 0, 0, np.where(t <= 3, -0.5 * 3 * -1.0, -0.5 * 20 * -1.0))
    return cost, calls


def test_costs_by_month_running_and_status():
    c = phase_costs(P1, 6, AS_OF)
    assert list(c["month"]) == [TS(m) for m in ["2025-01-01", "2025-01-01", "2025-02-01",
                                                 "2025-03-01", "2025-04-01", "2025-05-01",
                                                 "2025-06-01"]]
    assert list(c["running"]) == [False, True, True, True, False, False, False]
    assert list(c["status"]) == ["achieved"] * 3 + ["projected"] * 4
    assert list(c["one_off"]) == [1000.0] + [0.0] * 6
    assert list(c["cost"]) == list(_p1_net(6)[0])
    delayed = phase_costs(P2, 4, AS_OF)
    assert list(delayed["running"]) == [False, True, True, True, False]  # to the actual end


def test_benefit_lines_by_hand():
    b = phase_benefit_lines(P1, EFFECTS, 6, AS_OF)
    sales, hours = b[b["kpi"] == "sales"], b[b["kpi"] == "hours"]
    assert list(sales["units"]) == [0, 5, 5, 5, 50, 50, 50]
    assert list(sales["coef"]) == [0, 10, 10, 10, 100, 100, 100]
    assert list(sales["benefit"]) == [0, 40, 40, 40, 400, 400, 400]
    assert list(hours["coef"]) == [0, 0, 0, 0, -150, -150, -150]
    assert list(hours["benefit"]) == [0, 0, 0, 0, 300, 300, 300]
    assert set(b["goal"]) == {"grow"} and list(hours["kind"].unique()) == ["indirect"]
    assert list(hours["role"].unique()) == ["agent"] and list(sales["se"].unique()) == [1.0]
    # a KPI without an estimate is worth nothing; one missing from the effects too
    p2 = phase_benefit_lines(P2, EFFECTS[EFFECTS["kpi"] != "calls"], 4, AS_OF)
    assert (p2["benefit"] == 0).all() and (p2.loc[p2["kpi"] == "calls", "units"]
                                           == [0, 0, 0, 0, 20]).all()
    assert (p2["se"] == 0).all() and (p2["effect"] == 0).all()


def test_net_table_keeps_direct_and_indirect_apart():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=6)
    net = net_table(costs, lines)
    p1 = net[net["phase"] == "P1"]
    assert list(p1["benefit_direct"]) == [0, 40, 40, 40, 400, 400, 400]
    assert list(p1["benefit_indirect"]) == [0, 0, 0, 0, 300, 300, 300]
    cost, ben = _p1_net(6)
    assert list(p1["net"]) == list(ben - cost)
    p2 = net[net["phase"] == "P2"]
    assert list(p2["benefit_direct"]) == [0.0] * 7  # nps has no estimate
    assert list(p2["net"]) == list(_p2_net(6)[1] - _p2_net(6)[0])
    # a plan with direct benefits only still has an indirect column (zeros)
    direct = net_table(costs, lines[lines["kind"] == "direct"])
    assert (direct["benefit_indirect"] == 0).all() and not direct.isna().any().any()


def test_horizon_metrics_match_numpy_financial():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=12)
    m = horizon_metrics(net_table(costs, lines), RATE, horizons=(6, 12))
    row = m.set_index(["phase", "horizon"])
    for h in (6, 12):
        cost, ben = _p1_net(h)
        r = row.loc[("P1", str(h))]
        assert r["pv_costs"] == pytest.approx(npf.npv(R, cost))
        assert r["npv"] == pytest.approx(npf.npv(R, ben - cost))
        assert r["roi"] == pytest.approx(npf.npv(R, ben - cost) / npf.npv(R, cost))
        assert r["irr"] == pytest.approx((1 + npf.irr(ben - cost)) ** 12 - 1)
    cum = np.cumsum((ben - cost) * (1 + R) ** -np.arange(13))
    t = int(np.argmax(cum >= 0))
    assert row.loc[("P1", "12"), "payback_months"] == pytest.approx(
        t - 1 + -cum[t - 1] / ((ben - cost)[t] * (1 + R) ** -t))
    to_date = row.loc[("P1", "to_date")]  # t = 0, 1, 2 are in January and February
    assert to_date["months"] == 2
    assert to_date["npv"] == pytest.approx(npf.npv(R, [-1000.0, -60, -60]))
    assert list(m["horizon"]) == ["6", "12", "to_date"] * 2


def test_programme_npv_discounts_each_phase_from_its_start():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)  # 24 months by default
    m = horizon_metrics(net_table(costs, lines), RATE)
    prog = programme_metrics(m, PLAN)
    c1, b1 = _p1_net(24)
    c2, b2 = _p2_net(24)
    pvc = npf.npv(R, c1) + npf.npv(R, c2) / (1 + R) ** 8  # September is 8 months on
    pvb = npf.npv(R, b1) + npf.npv(R, b2) / (1 + R) ** 8
    assert prog["pv_costs"] == pytest.approx(pvc) and prog["pv_benefits"] == pytest.approx(pvb)
    assert prog["npv"] == pytest.approx(pvb - pvc) and prog["roi"] == pytest.approx((pvb - pvc)
                                                                                    / pvc)
    c12 = programme_metrics(m, PLAN, horizon=12)
    assert c12["npv"] == pytest.approx(npf.npv(R, b1[:13] - c1[:13])
                                       + npf.npv(R, b2[:13] - c2[:13]) / (1 + R) ** 8)


def test_programme_cumulative_fills_the_gap_between_phases():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=6)
    cum = programme_cumulative(net_table(costs, lines), RATE)
    months = pd.date_range("2025-01-01", "2026-02-01", freq="MS")  # P2: t = 6 is February
    assert list(cum["month"]) == list(months)
    gap = cum.set_index("month").loc["2025-07-01":"2025-08-01"]
    assert (gap[["cost", "benefits", "net"]] == 0).all().all()
    assert list(gap["status"]) == ["projected", "projected"]
    assert list(cum["status"][:2]) == ["achieved", "achieved"]
    c1, b1 = _p1_net(6)
    c2, b2 = _p2_net(6)
    npv = npf.npv(R, b1 - c1) + npf.npv(R, b2 - c2) / (1 + R) ** 8
    assert cum["cumulative_discounted"].iloc[-1] == pytest.approx(npv)
    assert cum["cumulative"].iloc[-1] == pytest.approx((b1 - c1).sum() + (b2 - c2).sum())
    assert cum["net"].iloc[0] == pytest.approx(-1000 - 60)  # one-off and month 1 in January


def test_kpi_values_and_productivity_by_role():
    v = kpi_values(EFFECTS, PLAN).set_index("kpi")
    assert v.loc["sales", "monthly_value"] == 400 and (v.loc["sales", "ci_low"],
                                                       v.loc["sales", "ci_high"]) == (200, 600)
    assert v.loc["hours", "monthly_value"] == 300 and (v.loc["hours", "ci_low"],
                                                       v.loc["hours", "ci_high"]) == (150, 450)
    assert v.loc["calls", "monthly_value"] == 10
    assert (v.loc["calls", "ci_low"], v.loc["calls", "ci_high"]) == pytest.approx((6, 14))
    assert list(v["rollout_units"]) == [50, 50, 20, 20] and v.loc["hours", "role"] == "agent"
    assert list(v["goal"]) == ["grow", "grow", "serve", "serve"]
    p = productivity_by_role(kpi_values(EFFECTS, PLAN))
    assert p.to_dict("list") == {"phase": ["P1", "P2"], "role": ["agent", "(role not stated)"],
                                 "monthly_value": [300.0, 10.0]}


def test_tables_have_a_plain_index_and_keep_phase_order():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=6)
    assert list(costs.index) == list(range(14)) and list(lines.index) == list(range(28))
    b = phase_benefit_lines(P1, EFFECTS, 6, AS_OF)
    assert list(b.index) == list(range(14))
    net = net_table(costs, lines).replace({"phase": {"P1": "Zeta", "P2": "Alpha"}})
    m = horizon_metrics(net, RATE, horizons=(6,))
    assert list(m["phase"]) == ["Zeta", "Zeta", "Alpha", "Alpha"]
    assert list(kpi_values(EFFECTS, PLAN)["value_per_unit"]) == [2.0, 3.0, 0.5, 1.0]
    v = pd.DataFrame({"phase": ["P", "P"], "role": ["zeta", None], "kind": "indirect",
                      "monthly_value": [1.0, 2.0]})
    assert list(productivity_by_role(v)["role"]) == ["zeta", "(role not stated)"]


def test_net_table_when_a_phase_or_a_kind_has_no_lines():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=6)
    # P1 valued on its direct KPI only, P2 on its indirect one: the other kind is 0
    some = lines[((lines["phase"] == "P1") & (lines["kind"] == "direct"))
                 | ((lines["phase"] == "P2") & (lines["kind"] == "indirect"))]
    net = net_table(costs, some)
    assert not net.isna().any().any()
    assert (net.loc[net["phase"] == "P1", "benefit_indirect"] == 0).all()
    assert (net.loc[net["phase"] == "P2", "benefit_direct"] == 0).all()
    # P2 without any benefit line keeps its costs, with zero benefits
    only1 = net_table(costs, lines[lines["phase"] == "P1"])
    p2 = only1[only1["phase"] == "P2"]
    assert len(p2) == 7 and (p2[["benefit_direct", "benefit_indirect", "benefits"]] == 0).all().all()
    assert list(p2["net"]) == list(-_p2_net(6)[0])
    # two direct KPIs in one month are added, not averaged
    two = lines.assign(kind=np.where(lines["kpi"] == "hours", "direct", lines["kind"]))
    p1 = net_table(costs, two).query("phase == 'P1'")
    assert list(p1["benefit_direct"]) == [0, 40, 40, 40, 700, 700, 700]


def test_to_date_before_the_start_holds_the_one_off_and_later_has_an_irr():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF, horizon=12)
    m = horizon_metrics(net_table(costs, lines), RATE, horizons=(12,)).set_index(
        ["phase", "horizon"])
    p2 = m.loc[("P2", "to_date")]  # September start, as of February: nothing achieved yet
    assert p2["months"] == 0 and p2["npv"] == pytest.approx(-500.0)
    late = TS("2025-06-10")  # January to June achieved: t = 0 … 6
    costs, lines = cash_flows(PLAN, EFFECTS, late, horizon=12)
    row = horizon_metrics(net_table(costs, lines), RATE, horizons=(12,)).set_index(
        ["phase", "horizon"]).loc[("P1", "to_date")]
    cost, ben = _p1_net(6)
    assert row["months"] == 6
    assert row["irr"] == pytest.approx((1 + npf.irr(ben - cost)) ** 12 - 1)


def test_programme_offsets_across_a_year_end():
    from dataclasses import replace
    p2 = replace(P2, start=TS("2026-02-01"), end=TS("2026-04-30"), actual_end=None)
    plan = PhasePlan("EUR", RATE, (P1, p2))
    costs, lines = cash_flows(plan, EFFECTS, AS_OF, horizon=6)
    net = net_table(costs, lines)
    m = horizon_metrics(net, RATE, horizons=(6,))
    prog = programme_metrics(m, plan, horizon=6)
    c1, b1 = _p1_net(6)
    c2, b2 = _p2_net(6)
    npv = npf.npv(R, b1 - c1) + npf.npv(R, b2 - c2) / (1 + R) ** 13  # February 2026
    assert prog["npv"] == pytest.approx(npv)
    cum = programme_cumulative(net, RATE)
    assert cum["cumulative_discounted"].iloc[-1] == pytest.approx(npv)
    assert not cum["cumulative_discounted"].isna().any()
