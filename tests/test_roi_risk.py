"""Monte Carlo and tornado of the two-phase plan of test_roi_cashflow, by hand.

The simulation is replayed draw by draw from its seed (triangular realisation and
overrun per phase, Normal(effect, s.e.) per KPI) and every draw valued with
numpy-financial; the tornado's NPVs are the hand-built monthly flows at each driver's P10
and P90, the triangular quantiles from their closed form.
"""
import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from scipy import stats
from test_roi_cashflow import AS_OF, EFFECTS, PLAN, RATE

from crmlib.roi.cashflow import cash_flows
from crmlib.roi.risk import RiskAssumptions, Triangular, _quantiles, simulate, tornado

OFFSET = 8  # P2 starts in September, eight months after P1


def _tri_ppf(q, a, c, b):
    """Inverse of the triangular distribution function (closed form)."""
    fc = (c - a) / (b - a)
    return a + np.sqrt(q * (b - a) * (c - a)) if q < fc else b - np.sqrt((1 - q) * (b - a) * (b - c))


def _flows(h, e=None, k=1.0):
    """Monthly (cost, benefit) of each phase; e: effects by KPI, k: rollout-unit factor."""
    e = {"sales": 4.0, "hours": -2.0, "calls": -1.0, **(e or {})}
    t = np.arange(h + 1)
    run, after = (t >= 1) & (t <= 3), t >= 4
    c1 = np.where(t == 0, 1000.0, np.where(run, 100.0, 10.0))
    b1 = (2 * np.where(run, 5, 0) + 2 * 50 * k * after) * e["sales"] \
        - 3 * 50 * k * after * e["hours"]
    c2 = np.where(t == 0, 500.0, np.where(run, 50.0, 5.0))
    b2 = -0.5 * (np.where(run, 3, 0) + 20 * k * after) * e["calls"]
    return (c1, b1), (c2, b2)


def _npv(h=24, rate=RATE, real=1.0, over=1.0, **kw):
    r = (1 + rate) ** (1 / 12) - 1
    (c1, b1), (c2, b2) = _flows(h, **kw)
    return (real * (npf.npv(r, b1) + npf.npv(r, b2) / (1 + r) ** OFFSET)
            - over * (npf.npv(r, c1) + npf.npv(r, c2) / (1 + r) ** OFFSET))


def test_tornado_by_hand():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)
    t = tornado(PLAN, costs, lines).set_index("driver")
    z = stats.norm.ppf(0.9)
    assert t["base_npv"].to_numpy() == pytest.approx(np.full(8, _npv()))
    expect = {
        "P1: sales effect": (4 - z, 4 + z, _npv(e={"sales": 4 - z}), _npv(e={"sales": 4 + z})),
        "P1: hours effect": (-2 - 0.5 * z, -2 + 0.5 * z, _npv(e={"hours": -2 - 0.5 * z}),
                             _npv(e={"hours": -2 + 0.5 * z})),
        "P2: calls effect": (-1 - 0.2 * z, -1 + 0.2 * z, _npv(e={"calls": -1 - 0.2 * z}),
                             _npv(e={"calls": -1 + 0.2 * z})),
        "P2: nps effect": (0.0, 0.0, _npv(), _npv()),
        "benefit realisation": (_tri_ppf(0.1, 0.7, 0.95, 1.05), _tri_ppf(0.9, 0.7, 0.95, 1.05),
                                _npv(real=_tri_ppf(0.1, 0.7, 0.95, 1.05)),
                                _npv(real=_tri_ppf(0.9, 0.7, 0.95, 1.05))),
        "cost overrun": (_tri_ppf(0.1, 0.95, 1.0, 1.2), _tri_ppf(0.9, 0.95, 1.0, 1.2),
                         _npv(over=_tri_ppf(0.1, 0.95, 1.0, 1.2)),
                         _npv(over=_tri_ppf(0.9, 0.95, 1.0, 1.2))),
        "discount rate (annual)": (0.05, 0.15, _npv(rate=0.05), _npv(rate=0.15)),
        "rollout units": (0.8, 1.2, _npv(k=0.8), _npv(k=1.2)),
    }
    assert set(t.index) == set(expect)
    for driver, values in expect.items():
        got = t.loc[driver, ["setting_low", "setting_high", "npv_at_low", "npv_at_high"]]
        assert got.tolist() == pytest.approx(values, rel=1e-9), driver
        assert t.loc[driver, "swing"] == pytest.approx(abs(values[3] - values[2]), abs=1e-6)
    assert t["swing"].is_monotonic_decreasing and list(t.index)[-1] == "P2: nps effect"
    assert list(tornado(PLAN, costs, lines).index) == list(range(8))


def test_tornado_options_horizon_swings_and_a_floor_at_zero_rate():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)
    risk = RiskAssumptions(Triangular(0.5, 0.9, 1.0), Triangular(1.0, 1.1, 1.5), 0.2, 0.5)
    t = tornado(PLAN, costs, lines, horizon=12, risk=risk).set_index("driver")
    assert t.loc["discount rate (annual)", ["setting_low", "setting_high"]].tolist() == \
        pytest.approx([0.0, 0.3])
    assert t.loc["discount rate (annual)", "npv_at_low"] == pytest.approx(_npv(12, rate=0.0))
    assert t.loc["rollout units", "npv_at_high"] == pytest.approx(_npv(12, k=1.5))
    assert t.loc["benefit realisation", "setting_low"] == pytest.approx(_tri_ppf(0.1, .5, .9, 1))
    assert t.loc["cost overrun", "npv_at_high"] == pytest.approx(
        _npv(12, over=_tri_ppf(0.9, 1.0, 1.1, 1.5)))


def _replay(n, seed, horizons=(6, 12, 24), n_irr=1000):
    """Each draw's flows valued with numpy-financial; returns per phase and horizon the
    (pv benefits, pv costs) arrays, and per phase the payback and IRR of each draw."""
    rng = np.random.default_rng(seed)
    r = 1.1 ** (1 / 12) - 1
    H = max(horizons)
    out, extra = {}, {}
    for p, kpis in (("P1", [("sales", 4.0, 1.0), ("hours", -2.0, 0.5)]),
                    ("P2", [("calls", -1.0, 0.2), ("nps", 0.0, 0.0)])):
        real = rng.triangular(0.70, 0.95, 1.05, n)
        over = rng.triangular(0.95, 1.00, 1.20, n)
        E = rng.normal([k[1] for k in kpis], [k[2] for k in kpis], (n, len(kpis)))
        pvb, pvc, nets = {h: [] for h in horizons}, {h: [] for h in horizons}, []
        for i in range(n):
            flows = _flows(H, e=dict(zip([k[0] for k in kpis], E[i])))[0 if p == "P1" else 1]
            cost, ben = over[i] * flows[0], real[i] * flows[1]
            nets.append(ben - cost)
            for h in horizons:
                pvb[h].append(npf.npv(r, ben[:h + 1]))
                pvc[h].append(npf.npv(r, cost[:h + 1]))
        out[p] = {h: (np.array(pvb[h]), np.array(pvc[h])) for h in horizons}
        disc = np.array(nets) * (1 + r) ** -np.arange(H + 1)
        cum = np.cumsum(disc, axis=1)
        pay = []
        for row, d in zip(cum, disc):
            hit = np.flatnonzero(row >= 0)
            pay.append(np.inf if not len(hit) else 0.0 if hit[0] == 0
                       else hit[0] - 1 + -row[hit[0] - 1] / d[hit[0]])
        irr = [(1 + npf.irr(f)) ** 12 - 1 for f in nets[:n_irr]]
        extra[p] = (np.array(pay), np.array(irr))
    return out, extra


def test_simulation_replays_from_its_seed():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)
    sim = simulate(PLAN, costs, lines, n=300, seed=7, n_irr=40)
    got = sim.set_index(["phase", "horizon", "metric"])
    pv, extra = _replay(300, 7, n_irr=40)
    d8 = (1.1 ** (1 / 12)) ** -OFFSET
    for h in (6, 12, 24):
        for p in ("P1", "P2", "programme"):
            if p == "programme":
                pvb = pv["P1"][h][0] + pv["P2"][h][0] * d8
                pvc = pv["P1"][h][1] + pv["P2"][h][1] * d8
            else:
                pvb, pvc = pv[p][h]
            npv = pvb - pvc
            row = got.loc[(p, str(h), "npv")]
            assert row[["p10", "p50", "p90"]].tolist() == pytest.approx(
                np.percentile(npv, [10, 50, 90]).tolist())
            assert row["mean"] == pytest.approx(npv.mean())
            assert row["p_npv_positive"] == pytest.approx(np.mean(npv > 0))
            roi = got.loc[(p, str(h), "roi")]
            assert roi[["p10", "p50", "p90", "mean"]].tolist() == pytest.approx(
                [*np.percentile(npv / pvc, [10, 50, 90]), (npv / pvc).mean()])
    for p in ("P1", "P2"):
        pay, irr = extra[p]
        row = got.loc[(p, "24", "payback_months")]
        q = np.percentile(np.minimum(pay, 1e300), [10, 50, 90])
        assert row[["p10", "p50", "p90"]].tolist() == pytest.approx(
            np.where(q > 1e200, np.nan, q).tolist(), nan_ok=True)
        ir = got.loc[(p, "24", "irr")]
        assert ir[["p10", "p50", "p90"]].tolist() == pytest.approx(
            np.percentile(irr, [10, 50, 90]).tolist(), rel=1e-6)
        assert ir["p_npv_positive"] == got.loc[(p, "24", "npv"), "p_npv_positive"]
    assert {m for _, _, m in got.index} == {"npv", "roi", "payback_months", "irr"}


def test_simulation_defaults_and_other_assumptions():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)
    a = simulate(PLAN, costs, lines, n=200, n_irr=10)
    b = simulate(PLAN, costs, lines, n=200, seed=0, n_irr=10)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 2 * (3 * 2 + 2) + 3 * 2  # phases: npv, roi per horizon, payback, irr
    sure = RiskAssumptions(Triangular(0.999, 1.0, 1.001), Triangular(0.999, 1.0, 1.001))
    s = simulate(PLAN, costs, lines, n=300, seed=1, risk=sure, horizons=(12,), n_irr=5)
    prog = s.set_index(["phase", "metric"]).loc[("programme", "npv")]
    # with multipliers fixed near 1 the mean NPV is the NPV at the mean effects
    assert prog["mean"] == pytest.approx(_npv(12), rel=0.02)
    assert set(s["horizon"]) == {"12"}


def test_quantiles_of_paybacks_not_reached():
    never = _quantiles("P", 24, "payback_months", np.array([3.0, 4, 5, 6, np.inf, np.nan]), 0.4)
    assert np.isnan([never["p90"], never["mean"]]).all()  # P90 not reached
    assert (never["p10"], never["p50"]) == pytest.approx((3.4, 5.0))
    some = _quantiles("P", 24, "payback_months", np.array([3.0, 5.0, np.nan]), 0.4)
    assert some["mean"] == 4.0 and some["p50"] == 4.0 and some["horizon"] == "24"
    empty = _quantiles("P", 24, "irr", np.array([np.nan]), 0.4)
    assert np.isnan([empty["p10"], empty["p50"], empty["p90"], empty["mean"]]).all()


def test_triangular_checks_its_three_points():
    Triangular(0.9, 1.0, 1.0)  # mode at the high end is a valid triangle
    Triangular(0.9, 0.9, 1.0)
    for bad in ((0.9, 1.2, 1.0), (1.0, 0.9, 1.2), (1.0, 1.0, 1.0)):
        with pytest.raises(ValueError, match="low ≤ mode ≤ high"):
            Triangular(*bad)


def test_vectorised_payback_edges_by_hand():
    from crmlib.roi.risk import _payback
    disc = np.array([[10.0, -5, 20], [-100, 150, 10], [-100, 50, 100], [-100, 10, 10]])
    assert _payback(disc).tolist() == pytest.approx([0.0, 100 / 150, 1.5, np.inf])


def test_zero_cost_phase_has_no_roi_and_payback_rows_carry_p_npv():
    from dataclasses import replace
    free = replace(PLAN.phases[1], costs=type(PLAN.phases[1].costs)(0.0, 0.0, 0.0))
    plan = type(PLAN)("EUR", RATE, (PLAN.phases[0], free))
    costs, lines = cash_flows(plan, EFFECTS, AS_OF, horizon=12)
    s = simulate(plan, costs, lines, n=200, seed=2, horizons=(12,), n_irr=5)
    got = s.set_index(["phase", "metric"])
    assert np.isnan(got.loc[("P2", "roi"), ["p10", "p50", "p90", "mean"]].astype(float)).all()
    assert got.loc[("P1", "roi"), ["p10", "p50", "p90"]].notna().all()
    for p in ("P1", "P2"):
        assert got.loc[(p, "payback_months"), "p_npv_positive"] == \
            got.loc[(p, "npv"), "p_npv_positive"]


def test_offsets_across_a_year_end_in_simulation_and_tornado():
    from dataclasses import replace
    p2 = replace(PLAN.phases[1], start=pd.Timestamp("2026-02-01"),
                 end=pd.Timestamp("2026-04-30"), actual_end=None)
    plan = type(PLAN)("EUR", RATE, (PLAN.phases[0], p2))
    costs, lines = cash_flows(plan, EFFECTS, AS_OF, horizon=30)
    r = 1.1 ** (1 / 12) - 1
    (c1, b1), (c2, b2) = _flows(24)
    npv = npf.npv(r, b1 - c1) + npf.npv(r, b2 - c2) / (1 + r) ** 13  # February 2026
    t = tornado(plan, costs, lines)  # 24 months by default, though the lines run to 30
    assert t["base_npv"].iloc[0] == pytest.approx(npv)
    assert list(t.columns) == ["driver", "setting_low", "setting_high", "npv_at_low",
                               "npv_at_high", "base_npv", "swing"]
    sure = RiskAssumptions(Triangular(0.99999, 1.0, 1.00001), Triangular(0.99999, 1.0, 1.00001))
    s = simulate(plan, costs, lines, n=4000, seed=3, risk=sure, horizons=(24,), n_irr=2)
    mean = s.set_index(["phase", "metric"]).loc[("programme", "npv"), "mean"]
    assert mean == pytest.approx(npv, rel=0.01)


def test_rollout_swing_scales_every_month_with_units_when_lines_do_not_say_running():
    costs, lines = cash_flows(PLAN, EFFECTS, AS_OF)
    t = tornado(PLAN, costs, lines.drop(columns="running")).set_index("driver")
    r = 1.1 ** (1 / 12) - 1
    (c1, b1), (c2, b2) = _flows(24)
    pvc = npf.npv(r, c1) + npf.npv(r, c2) / (1 + r) ** OFFSET
    for k, col in ((0.8, "npv_at_low"), (1.2, "npv_at_high")):  # pilot months scaled too
        assert t.loc["rollout units", col] == pytest.approx(
            k * (npf.npv(r, b1) + npf.npv(r, b2) / (1 + r) ** OFFSET) - pvc)
