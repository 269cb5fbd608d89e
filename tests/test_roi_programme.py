"""The whole phase-ROI evaluation on the small demo fixture, and bad input."""
import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest

from crmlib import demo
from crmlib.demo.roi import PHASES
from crmlib.io import DataError, DataQualityReport, load_kpi_panel, load_yaml
from crmlib.roi import (
    GateRule,
    decide,
    evaluate_programme,
    load_plan,
    monthly_rate,
    prepare_panel,
    validate_plan,
)

TRUTH = {k[0]: k[5] for p in PHASES for _, ks in p["goals"] for k in ks}


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("roi")
    demo.generate(out, size="small", only=("roi",))
    return out


@pytest.fixture(scope="module")
def run(fixture_dir):
    q = DataQualityReport()
    plan = load_plan(fixture_dir / "phase_plan.yaml")
    monthly = prepare_panel(load_kpi_panel(fixture_dir / "kpi_panel.csv", quality=q), plan,
                            quality=q)
    ev = evaluate_programme(plan, monthly, n_simulations=4000, seed=1, n_permutations=199)
    return plan, monthly, q, ev


def test_planted_blemishes_are_counted(run):
    _, _, q, _ = run
    ex = q.excluded("KPI panel")
    assert ex["exact duplicate row"] == 3
    assert ex["KPI not in the phase plan"] == 24
    assert ex["missing value"] == 5


def test_effects_recover_the_planted_truths(run):
    _, _, _, ev = run
    e = ev.effects.set_index("kpi")
    for kpi, truth in TRUTH.items():
        lo, hi = e.at[kpi, "ci_low"], e.at[kpi, "ci_high"]
        assert lo - 0.5 * (hi - lo) < truth < hi + 0.5 * (hi - lo), kpi
    assert e.at["nps", "ci_low"] < 0 < e.at["nps", "ci_high"]
    assert e.at["nps", "p_gate"] > 0.05
    # six pilot stores: placebo p-values, and the gate uses the larger p-value
    assert e["perm_p"].notna().all()
    assert (e["p_gate"] >= e["p_value"]).all() and (e["p_gate"] >= e["perm_p"]).all()
    assert e.loc[e["phase"] == "Campaign automation", "method"].str.startswith("stacked").all()
    assert e.loc[e["phase"] == "Loyalty and customer data", "method"].str.startswith("DiD").all()
    ev_rel = ev.event_study[ev.event_study["kpi"] == "repeat_rate"]["rel"]
    assert ev_rel.min() == -6 and ev_rel.max() == 2


def test_money_follows_effect_value_units_and_direction(run):
    plan, _, _, ev = run
    v = ev.kpi_values.set_index("kpi")
    e = ev.effects.set_index("kpi")
    p2 = plan.phase("Service recovery")
    k = next(k for k in p2.kpis if k.name == "complaints_per_1000")
    assert v.at[k.name, "monthly_value"] == pytest.approx(
        -1 * e.at[k.name, "effect"] * k.value_per_unit * p2.rollout_units)
    assert v.at[k.name, "monthly_value"] > 0  # fewer complaints is a gain
    assert v.at[k.name, "ci_low"] < v.at[k.name, "monthly_value"] < v.at[k.name, "ci_high"]
    assert set(ev.productivity["role"]) == {"service desk", "marketing staff"}
    cf = ev.cash_flows
    assert (cf["benefits"] == cf["benefit_direct"] + cf["benefit_indirect"]).all()


def test_finance_agrees_with_numpy_financial_and_programme_adds_up(run):
    plan, _, _, ev = run
    r = monthly_rate(plan.discount_rate_annual)
    m = ev.metrics.set_index(["phase", "horizon"])
    total = 0.0
    for p in plan.phases:
        net = ev.cash_flows[ev.cash_flows["phase"] == p.name].sort_values("t")
        for h in ("6", "12", "24"):
            flows = net.loc[net["t"] <= int(h), "net"].to_numpy()
            assert m.at[(p.name, h), "npv"] == pytest.approx(npf.npv(r, flows), rel=1e-9)
        off = (p.start.year - plan.phases[0].start.year) * 12 + p.start.month - \
            plan.phases[0].start.month
        total += m.at[(p.name, "24"), "npv"] / (1 + r) ** off
    assert ev.programme["npv"] == pytest.approx(total, rel=1e-9)


def test_delay_costs_and_lessons(run):
    plan, _, _, ev = run
    les = ev.lessons.set_index("phase")
    assert les.at["Service recovery", "delay_months"] == 2.0
    p2 = plan.phase("Service recovery")
    assert les.at["Service recovery", "extra_running_cost"] == 2 * p2.costs.monthly
    cf = ev.cash_flows[ev.cash_flows["phase"] == "Service recovery"]
    assert (cf["monthly"] == p2.costs.monthly).sum() == 5  # Sep to Jan, not Sep to Nov


def test_risk_and_gate(run):
    _, _, _, ev = run
    r = ev.risk.dropna(subset=["p10", "p50", "p90"])
    assert (r["p10"] <= r["p50"]).all() and (r["p50"] <= r["p90"]).all()
    assert {"npv", "roi", "payback_months", "irr"} == set(ev.risk["metric"])
    assert r["p_npv_positive"].between(0, 1).all()
    g = ev.gates.set_index("phase")
    assert g.at["Service recovery", "decision"] != "continue"  # nps did not move
    t = ev.tornado
    assert (np.diff(t["swing"].to_numpy()) <= 1e-9).all()
    assert {"benefit realisation", "cost overrun", "discount rate (annual)"} <= set(t["driver"])


def test_results_contract(run):
    plan, _, _, ev = run
    res = ev.results()
    assert [p["name"] for p in res["phases"]] == [p.name for p in plan.phases]
    for ph in res["phases"]:
        assert set(ph) >= {"name", "kpis", "roi", "npv", "irr", "payback_months",
                           "p_npv_positive", "gate"}
        assert set(ph["roi"]) == set(ph["npv"]) == {"6", "12", "24"}
        for k in ph["kpis"].values():
            assert set(k) >= {"effect", "ci_low", "ci_high", "p_value", "pretrend_p",
                              "monthly_value"}
    assert set(res["programme"]) >= {"npv_24", "roi_24", "p_npv_positive"}


def test_gate_rule_is_parameterised():
    eff = pd.DataFrame({"kpi": ["a", "b"], "direction": ["up", "down"], "effect": [1.0, -1.0],
                        "p_gate": [0.01, 0.02], "pretrend_ok": [True, True],
                        "method": ["DiD", "DiD"]})
    assert decide(eff, 0.85)["decision"] == "continue"
    assert decide(eff, 0.85, GateRule(continue_threshold=0.9))["decision"] == "adjust"
    assert decide(eff, 0.4)["decision"] == "stop"
    wrong = eff.assign(effect=[1.0, 1.0])  # b should go down
    assert decide(wrong, 0.95)["decision"] == "adjust"
    with pytest.raises(ValueError):
        GateRule(continue_threshold=0.4, stop_threshold=0.5)


# --- bad input -----------------------------------------------------------------------

def _load(fixture_dir, panel: pd.DataFrame, tmp_path, as_of=None, quality=None):
    p = tmp_path / "kpi_panel.csv"
    panel.to_csv(p, index=False)
    plan = load_plan(fixture_dir / "phase_plan.yaml")
    return plan, prepare_panel(load_kpi_panel(p, quality=quality), plan, as_of=as_of,
                               quality=quality)


@pytest.fixture()
def raw(fixture_dir):
    return pd.read_csv(fixture_dir / "kpi_panel.csv", dtype=str)


def test_kpi_in_plan_missing_from_panel(fixture_dir, raw, tmp_path):
    with pytest.raises(DataError, match="phase 'Service recovery', goal 'Fewer complaints', "
                                        "KPI 'nps': not in the KPI panel"):
        _load(fixture_dir, raw[raw["kpi"] != "nps"], tmp_path)


def test_unit_in_both_groups(fixture_dir, raw, tmp_path):
    bad = raw.copy()
    i = bad.index[(bad["unit_id"] == "S01")][5]
    bad.loc[i, "group"] = "pilot" if bad.loc[i, "group"] == "control" else "control"
    with pytest.raises(DataError, match=rf"column 'group', row {i + 2}.*'S01' is both pilot and "
                                        "control"):
        _load(fixture_dir, bad, tmp_path)


def test_non_numeric_value(fixture_dir, raw, tmp_path):
    bad = raw.copy()
    bad.loc[10, "value"] = "n/a"
    with pytest.raises(DataError, match="column 'value', row 12, value 'n/a': not a number"):
        _load(fixture_dir, bad, tmp_path)


def test_no_pre_period_data(fixture_dir, raw, tmp_path):
    d = pd.to_datetime(raw["date"])
    bad = raw[~((raw["kpi"] == "avg_basket") & (d < "2024-04-01"))]
    plan, monthly = _load(fixture_dir, bad, tmp_path)
    with pytest.raises(DataError, match="phase 'Loyalty and customer data', goal 'Grow repeat "
                                        "purchases', KPI 'avg_basket': no pre-period data"):
        evaluate_programme(plan, monthly, n_simulations=200, n_permutations=20)


def test_no_control_falls_back_to_labelled_before_after(fixture_dir, raw, tmp_path):
    pilots = raw[raw["group"] == "pilot"]
    plan, monthly = _load(fixture_dir, pilots, tmp_path)
    ev = evaluate_programme(plan, monthly, n_simulations=200, n_permutations=20)
    e = ev.effects.set_index("phase")
    assert e.loc["Loyalty and customer data", "method"].str.startswith("before/after").all()
    assert ev.effects["ci_low"].notna().all()
    assert any("no control group" in r for r in ev.gates["reasons"].iloc[0])
    # staggered phase: the late pilots are the not-yet-treated controls of the early ones
    late = e.loc["Campaign automation"]
    assert late["method"].str.startswith("stacked").all()
    assert late["note"].str.contains("left out: no not-yet-treated").all()


def test_as_of_excludes_later_rows_and_leaves_future_phases_unevaluated(fixture_dir, raw,
                                                                         tmp_path):
    q = DataQualityReport()
    plan, monthly = _load(fixture_dir, raw, tmp_path, as_of="2024-12-31", quality=q)
    assert q.excluded("KPI panel")["after the as-of date"] > 0
    ev = evaluate_programme(plan, monthly, n_simulations=200, n_permutations=20)
    g = ev.gates.set_index("phase")
    assert g.at["Campaign automation", "decision"] == "not evaluated"
    cf = ev.cash_flows[ev.cash_flows["phase"] == "Loyalty and customer data"]
    assert set(cf["status"]) == {"achieved", "projected"}


def test_fast_stacked_refit_matches_statsmodels(run):
    """The batched refit used for placebo assignments reproduces the statsmodels DiD."""
    from crmlib.roi import phase_effects as PE
    from crmlib.roi.placebo import Grid, statistics

    plan, monthly, _, ev = run
    ph = plan.phase("Campaign automation")
    d = monthly[monthly["kpi"] == "cross_sell_rate"]
    starts = PE.unit_starts(d, ph)
    last = PE.month_of(min(ph.effective_end, monthly.attrs["as_of"]))
    grid = Grid(d, list(starts.index))
    real = np.array([grid.month(s) if pd.notna(s) else np.inf for s in starts])
    beta, _ = statistics(grid, real, 6, grid.month(last), [])
    assert beta[0] == pytest.approx(ev.effects.set_index("kpi").at["cross_sell_rate", "effect"],
                                    rel=1e-7)


def test_weekly_values_are_averaged_per_month(fixture_dir):
    raw_plan = load_yaml(fixture_dir / "phase_plan.yaml")
    raw_plan["phases"][2].pop("unit_starts")
    plan = validate_plan(raw_plan)
    rows = []
    for kpi in plan.kpi_names:
        for unit, group in (("A", "pilot"), ("B", "control")):
            for day in pd.date_range("2024-01-01", "2024-02-29", freq="7D"):
                rows.append({"date": day.strftime("%Y-%m-%d"), "unit_id": unit, "group": group,
                             "kpi": kpi, "value": float(day.day)})
    monthly = prepare_panel(load_kpi_panel(pd.DataFrame(rows)), plan)
    jan = monthly[(monthly["unit_id"] == "A") & (monthly["period"] == "2024-01-01")].iloc[0]
    assert jan["n_obs"] == 5 and jan["value"] == pytest.approx((1 + 8 + 15 + 22 + 29) / 5)
    assert monthly.attrs["as_of"] == pd.Timestamp("2024-02-26")


def test_enough_pilots_use_clustered_inference_only(run):
    from crmlib.roi import estimate_effects

    plan, monthly, _, _ = run
    eff, _ = estimate_effects(monthly, plan, min_pilots_for_clusters=5)  # 6 pilots ≥ 5
    assert eff["perm_p"].isna().all()
    assert (eff["p_gate"] == eff["p_value"]).all()
    assert (eff["pretrend_p"] == eff["pretrend_p_clustered"]).all()


def test_benefit_of_an_up_and_a_down_kpi_by_hand():
    """One phase, two running months, 2 pilot stores then 10 stores. By hand:
    sales (up, EUR 100 a unit, +3) is 2·100·3 = 600 a month while piloted, 10·100·3 = 3000
    after; handling (down, EUR 50 a unit, −2 minutes is a gain) 2·50·2 = 200, then 1000."""
    from crmlib.roi import cash_flows, net_table
    from crmlib.roi.cashflow import horizon_metrics

    plan = validate_plan({"currency": "EUR", "discount_rate_annual": 0.10, "phases": [{
        "name": "P", "start": "2024-01-01", "end": "2024-02-29", "rollout_units": 10,
        "costs": {"one_off": 1000, "monthly": 100, "run_monthly": 10},
        "goals": [{"name": "g", "kpis": [
            {"name": "sales", "direction": "up", "value_per_unit": 100, "benefit": "direct"},
            {"name": "handling", "direction": "down", "value_per_unit": 50,
             "benefit": "indirect", "role": "desk"}]}]}]})
    eff = pd.DataFrame({"phase": "P", "kpi": ["sales", "handling"], "effect": [3.0, -2.0],
                        "se": 0.0, "n_pilot": 2})
    costs, lines = cash_flows(plan, eff, pd.Timestamp("2024-12-01"), horizon=6)
    b = lines.pivot(index="t", columns="kpi", values="benefit")
    assert b["sales"].tolist() == [0, 600, 600, 3000, 3000, 3000, 3000]
    assert b["handling"].tolist() == [0, 200, 200, 1000, 1000, 1000, 1000]
    net = net_table(costs, lines)
    assert net["net"].tolist() == [-1000, 700, 700, 3990, 3990, 3990, 3990]
    r = 1.1 ** (1 / 12) - 1
    npv = -1000 + 700 / (1 + r) + 700 / (1 + r) ** 2 + sum(3990 / (1 + r) ** t for t in range(3, 7))
    m = horizon_metrics(net, 0.10, horizons=(6,)).set_index("horizon")
    assert m.at["6", "npv"] == pytest.approx(npv, rel=1e-12)


def test_planted_npv_is_what_the_roi_code_gives_with_the_planted_effects(fixture_dir):
    """TRUTH.md's NPVs come from an annuity formula on the plan (crmlib.demo.roi); the
    cash-flow code fed the planted effects without error must give the same money."""
    from crmlib.demo.roi import planted_finance
    from crmlib.roi import cash_flows, horizon_metrics, net_table

    plan = load_plan(fixture_dir / "phase_plan.yaml")
    panel = pd.read_csv(fixture_dir / "kpi_panel.csv")
    n_pilot = panel.loc[panel["group"] == "pilot", "unit_id"].nunique()
    truth = planted_finance(load_yaml(fixture_dir / "phase_plan.yaml"), n_pilot)
    eff = pd.DataFrame([{"phase": p.name, "kpi": k.name, "effect": TRUTH[k.name], "se": 0.0,
                         "n_pilot": n_pilot} for p in plan.phases for k in p.kpis])
    costs, lines = cash_flows(plan, eff, pd.Timestamp("2025-09-01"))
    m = horizon_metrics(net_table(costs, lines), plan.discount_rate_annual)
    m = m[m["horizon"] == "24"].set_index("phase")
    text = (fixture_dir / "TRUTH.md").read_text(encoding="utf-8")
    for name, f in truth.items():
        assert m.at[name, "npv"] == pytest.approx(f["npv"], rel=1e-9), name
        assert m.at[name, "pv_costs"] == pytest.approx(f["pv_costs"], rel=1e-9), name
        assert m.at[name, "roi"] == pytest.approx(f["roi"], rel=1e-9), name
        assert f"*{name}* (planted effects, plan's costs): EUR {f['npv']:,.0f}" in text
    # Service recovery ran five months (2024-09 to its actual end 2025-01), not three
    r = 1.1 ** (1 / 12) - 1
    p2 = plan.phase("Service recovery")
    pv_costs = (p2.costs.one_off + p2.costs.monthly * (1 - (1 + r) ** -5) / r
                + p2.costs.run_monthly * ((1 + r) ** -5 - (1 + r) ** -24) / r)
    assert truth["Service recovery"]["pv_costs"] == pytest.approx(pv_costs, rel=1e-12)
