"""Finance: numpy-financial agreement, Forrester TEI table, conventions."""
import numpy as np
import numpy_financial as npf
import pytest

from crmlib.roi import finance as F

TEI_COSTS = [53_150, 666_715, 636_772, 647_783]
TEI_BENEFITS = [0, 1_606_511, 3_061_331, 4_229_760]


def test_forrester_tei_table():
    r = F.evaluate(TEI_COSTS, TEI_BENEFITS, 0.10)
    assert r["pv_costs"] == pytest.approx(1_672_201, abs=1)
    assert r["pv_benefits"] == pytest.approx(7_168_371, abs=1)
    assert r["npv"] == pytest.approx(5_496_170, abs=1)
    assert 100 * r["roi"] == pytest.approx(328.7, abs=0.1)


@pytest.mark.parametrize("seed", range(5))
def test_npv_and_irr_agree_with_numpy_financial(seed):
    rng = np.random.default_rng(seed)
    flows = np.concatenate([[-rng.uniform(1e4, 1e5)], rng.normal(8e3, 5e3, 24)])
    rate = F.monthly_rate(rng.uniform(0.02, 0.2))
    assert F.present_value(rate, flows) == pytest.approx(npf.npv(rate, flows), rel=1e-9)
    assert F.irr(flows) == pytest.approx(npf.irr(flows), rel=1e-9)
    net = F.evaluate(np.maximum(-flows, 0), np.maximum(flows, 0), rate)
    assert net["npv"] == pytest.approx(npf.npv(rate, flows), rel=1e-9)


def test_batched_irr_equals_numpy_financial_row_by_row():
    """Risk-simulation-like flows (a one-off cost, then noisy net flows) with zero flows at
    either end, rows that never change sign and rows with several sign changes: the batch
    returns exactly what ``npf.irr`` returns for each row (NaN without a sign change)."""
    rng = np.random.default_rng(3)
    f = rng.normal(300, 1000, (600, 25))
    f[:, 0] = -rng.uniform(5e3, 2e4, 600)
    f[::7, -3:] = 0  # trailing zeros: a shorter polynomial
    f[::11, :2] = 0  # leading zeros: roots at zero, never a rate
    f[::13] = np.abs(f[::13])  # no sign change
    expected = np.array([npf.irr(r) if (r < 0).any() and (r > 0).any() else np.nan for r in f])
    assert 0 < np.isnan(expected).sum() < len(f) / 2
    np.testing.assert_array_equal(F.irr_many(f), expected)


def test_batched_irr_on_the_numpy_financial_examples():
    """The examples of npf.irr's documentation, a 4- and a 5-flow row in one call."""
    got = F.irr_many(np.array([[-100, 39, 59, 55, 20], [-100, 0, 0, 74, 0],
                               [-100, 100, 0, -7, 0], [-100, 100, 0, 7, 0],
                               [-5, 10.5, 1, -8, 1]]))
    np.testing.assert_allclose(got, [0.28095, -0.0955, -0.0833, 0.06206, 0.0886], atol=5e-6)


def test_conventions_first_flow_undiscounted_and_excel_offset():
    flows = [-100.0, 60.0, 60.0]
    # npf.npv (and ours) discounts the first flow at t = 0; Excel's NPV starts at t = 1
    excel_npv = sum(f / 1.1 ** (t + 1) for t, f in enumerate(flows))
    assert F.present_value(0.1, flows) == pytest.approx(excel_npv * 1.1, rel=1e-12)
    assert F.present_value(0.1, flows) == pytest.approx(-100 + 60 / 1.1 + 60 / 1.21)


def test_monthly_rate_compounds_to_the_annual_rate():
    r = F.monthly_rate(0.10)
    assert (1 + r) ** 12 == pytest.approx(1.10, rel=1e-12)
    assert F.annualise(r) == pytest.approx(0.10, rel=1e-12)
    flows_m = np.zeros(13)
    flows_m[12] = 110.0
    assert F.present_value(r, flows_m) == pytest.approx(100.0, rel=1e-12)


def test_discounted_payback():
    # cumulative discounted: -100, -100 + 55/1.1 = -50, -50 + 60.5/1.21 = 0 → exactly 2 periods
    assert F.discounted_payback(0.1, [-100, 55, 60.5, 10]) == pytest.approx(2.0)
    # half-way through period 2
    assert F.discounted_payback(0.0, [-100, 50, 100]) == pytest.approx(1.5)
    assert F.discounted_payback(0.1, [-100, 10, 10]) is None
    assert F.discounted_payback(0.1, [0, 10]) == 0.0


def test_roi_and_irr_edge_cases():
    assert np.isnan(F.roi(10.0, 0.0))
    assert np.isnan(F.irr([1.0, 2.0, 3.0]))  # no sign change


def test_vectorised_payback_matches_the_scalar_one():
    from crmlib.roi.risk import _payback

    rng = np.random.default_rng(4)
    flows = np.column_stack([-rng.uniform(50, 150, 40), rng.normal(10, 8, (40, 24))])
    df = F.discount_factors(F.monthly_rate(0.1), 25)
    vec = _payback(flows * df)
    for row, v in zip(flows, vec):
        ref = F.discounted_payback(F.monthly_rate(0.1), row)
        assert (ref is None and np.isinf(v)) or v == pytest.approx(ref, rel=1e-12)


def _triangular_ppf(u, a, c, b):
    """Closed-form quantile of the triangular(low a, mode c, high b) distribution."""
    u = np.asarray(u, float)
    return np.where(u < (c - a) / (b - a), a + np.sqrt(u * (b - a) * (c - a)),
                    b - np.sqrt((1 - u) * (b - a) * (b - c)))


@pytest.mark.parametrize("low,mode,high", [(0.70, 0.95, 1.05), (0.95, 1.00, 1.20), (1, 1, 3)])
def test_triangular_quantiles_and_draws_match_the_closed_form(low, mode, high):
    from crmlib.roi.risk import Triangular

    tri = Triangular(low, mode, high)
    u = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
    np.testing.assert_allclose(tri.dist.ppf(u), _triangular_ppf(u, low, mode, high), rtol=1e-12)
    assert tri.dist.mean() == pytest.approx((low + mode + high) / 3, rel=1e-12)
    n, u = 200_000, np.array([0.1, 0.9])
    x = tri.draw(np.random.default_rng(0), n)
    q = _triangular_ppf(u, low, mode, high)
    pdf = np.where(q < mode, 2 * (q - low) / ((high - low) * (mode - low or 1)),
                   2 * (high - q) / ((high - low) * (high - mode or 1)))
    se = np.sqrt(u * (1 - u) / n) / pdf  # asymptotic s.e. of a sample quantile
    np.testing.assert_array_less(np.abs(np.quantile(x, u) - q), 4 * se)


def test_tornado_swings_realisation_and_overrun_between_closed_form_p10_and_p90():
    import pandas as pd

    from crmlib.roi import cash_flows, validate_plan
    from crmlib.roi.risk import tornado

    plan = validate_plan({"currency": "EUR", "discount_rate_annual": 0.10, "phases": [{
        "name": "P", "start": "2024-01-01", "end": "2024-02-29", "rollout_units": 10,
        "costs": {"one_off": 1000, "monthly": 100, "run_monthly": 10},
        "goals": [{"name": "g", "kpis": [
            {"name": "sales", "direction": "up", "value_per_unit": 100, "benefit": "direct"}]}]}]})
    eff = pd.DataFrame({"phase": "P", "kpi": ["sales"], "effect": [3.0], "se": 0.5, "n_pilot": 2})
    costs, lines = cash_flows(plan, eff, pd.Timestamp("2024-12-01"), horizon=24)
    t = tornado(plan, costs, lines).set_index("driver")
    for driver, (a, c, b) in {"benefit realisation": (0.70, 0.95, 1.05),
                              "cost overrun": (0.95, 1.00, 1.20)}.items():
        assert t.loc[driver, ["setting_low", "setting_high"]].tolist() == pytest.approx(
            _triangular_ppf([0.1, 0.9], a, c, b).tolist(), rel=1e-12)


def test_finance_edges_by_hand():
    # ROI with costs below one currency unit: (3 − 0.5) / 0.5
    assert F.roi(3.0, 0.5) == pytest.approx(5.0)
    # cumulative reaches exactly zero at the end of period 1 (rate 0): payback 1, not "never"
    assert F.discounted_payback(0.0, [-100, 100]) == 1.0
    assert F.discounted_payback(0.0, [-100, 40, 60, 5]) == 2.0
    # a sign change with a small inflow: −1 now, 0.5 later loses half, IRR −50%
    assert F.irr([-1.0, 0.5]) == pytest.approx(-0.5)
    assert F.irr([-100, 0.0, 121.0]) == pytest.approx(0.10)
    assert np.isnan(F.annualise(np.inf)) and np.isnan(F.annualise(np.nan))
    # integer flows are money too
    assert F.present_value(0.1, [-100, 110]) == pytest.approx(0.0, abs=1e-12)
    m = F.evaluate([100, 0, 0], [0, 60, 60], 0.0)
    assert (m["pv_costs"], m["pv_benefits"], m["npv"]) == (100, 120, 20)
    assert m["payback"] == pytest.approx(1 + 40 / 60)  # −100, −40 after month 1, +20 after 2
    # −100 + 60x + 60x² = 0 with x = 1/(1 + irr): x = (−1 + √(1 + 20/3)) / 2
    assert m["irr"] == pytest.approx(2 / (np.sqrt(1 + 20 / 3) - 1) - 1, rel=1e-10)
    assert m["roi"] == pytest.approx(0.2)
