"""Studentized-range quantiles: scipy's, found from Gleason's approximation."""
from __future__ import annotations

import pytest
from scipy import stats

from crmlib.satisfaction import studentized as S


@pytest.mark.parametrize("p,k,df", [(0.95, 3, 150.3), (0.95, 3, 40.2), (0.99, 5, 12.7),
                                    (0.95, 2, 3.1), (0.90, 10, 300.0), (0.95, 4, 2.5)])
def test_quantile_is_scipys(p, k, df):
    assert S.studentized_range_ppf(p, k, df) == pytest.approx(
        stats.studentized_range.ppf(p, k, df), abs=1e-11)


def test_outside_the_approximation_scipy_answers(monkeypatch):
    calls = []
    real = stats.studentized_range.ppf
    monkeypatch.setattr(stats.studentized_range, "ppf",
                        lambda *a: calls.append(a) or real(*a))
    assert S.studentized_range_ppf(0.05, 3, 20) == pytest.approx(real(0.05, 3, 20), abs=1e-9)
    assert calls == [(0.05, 3, 20)]          # p below Gleason's range
    assert S._approximate(0.95, 3, 20.0) == pytest.approx(real(0.95, 3, 20), rel=1e-2)


@pytest.mark.parametrize("p,k,df", [(0.95, 3, 40.2), (0.99, 5, 12.7), (0.90, 10, 300.0)])
def test_four_cdf_evaluations_at_most(monkeypatch, p, k, df):
    calls = []
    real = stats.studentized_range.cdf
    monkeypatch.setattr(stats.studentized_range, "cdf", lambda *a: calls.append(a) or real(*a))
    S.studentized_range_ppf(p, k, df)
    assert len(calls) <= 4          # start, the Newton-step point, one secant step, the check
