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
