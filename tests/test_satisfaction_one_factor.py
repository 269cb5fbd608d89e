"""Batched one-factor ML fits (omega's bootstrap) against statsmodels, matrix by matrix."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.multivariate.factor import Factor

from crmlib.satisfaction.one_factor import correlations, fit_one_factor
from crmlib.satisfaction.reliability import _resampled_omegas


def _items(n: int, loadings, seed: int, reverse: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    lam = np.asarray(loadings)
    x = np.clip(np.round(4 + 1.3 * (lam * f[:, None] + np.sqrt(1 - lam ** 2)
                                     * rng.normal(size=(n, len(lam))))), 1, 7)
    if reverse is not None:
        x[:, reverse] = 8 - x[:, reverse]
    return x


def _statsmodels(corr: np.ndarray, nobs: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(corr)
    load = vectors[:, -1] * np.sqrt(values[-1])
    load = load if load.sum() >= 0 else -load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Factor(corr=corr, n_factor=1, method="ml", nobs=nobs).fit(
            start=(load[:, None], np.clip(1 - load ** 2, 0.05, 0.95)))
    lam = np.asarray(res.loadings)[:, 0]
    return (lam if lam.sum() >= 0 else -lam), np.asarray(res.uniqueness)


def test_correlations_and_sds_of_a_batch_are_numpys():
    x = _items(80, [0.7, 0.6, 0.5, 0.4], seed=1)
    rng = np.random.default_rng(2)
    draws = np.array([rng.integers(0, 80, 80) for _ in range(5)])
    corr, sd = correlations(x[draws])
    for b, rows in enumerate(draws):
        assert corr[b] == pytest.approx(np.corrcoef(x[rows], rowvar=False), abs=1e-12)
        assert sd[b] == pytest.approx(x[rows].std(axis=0, ddof=1), rel=1e-12)


@pytest.mark.parametrize("loadings,reverse,share", [([0.8, 0.7, 0.6, 0.5], None, 0.95),
                                                    ([0.7, 0.7, 0.6, 0.5, 0.4], None, 0.95),
                                                    ([0.7, 0.6, 0.6, 0.5], 3, 0.95),
                                                    ([0.5, 0.4, 0.3], None, 0.5)])
def test_batched_maxima_are_statsmodels(loadings, reverse, share):
    """Share: resamples fitted in the batch; three weak items often reach a Heywood case,
    left to statsmodels."""
    x = _items(300, loadings, seed=7, reverse=reverse)
    rng = np.random.default_rng(3)
    draws = np.array([rng.integers(0, 300, 300) for _ in range(40)])
    corr, _ = correlations(x[draws])
    lam, psi, ok = fit_one_factor(corr)
    assert ok.mean() >= share
    for b in np.flatnonzero(ok):
        ref_lam, ref_psi = _statsmodels(corr[b], 300)
        assert lam[b] == pytest.approx(ref_lam, abs=2e-5)
        assert psi[b] == pytest.approx(ref_psi, abs=2e-5)


def test_a_heywood_case_is_left_to_statsmodels():
    # r(0, j) = 0.85 with every other item, 0.5 among them: item 0's loading would be
    # sqrt(0.85² / 0.5) > 1, so its uniqueness is driven to the boundary
    corr = np.full((4, 4), 0.5)
    corr[0, :] = corr[:, 0] = 0.85
    np.fill_diagonal(corr, 1.0)
    assert _statsmodels(corr, 200)[1][0] < 0.05
    assert not fit_one_factor(corr[None])[2][0]


def test_a_constant_item_in_a_resample_is_not_fitted():
    x = _items(50, [0.7, 0.6, 0.5], seed=9)
    x[:, 1] = 4.0
    corr, _ = correlations(x[None])
    assert not fit_one_factor(corr)[2][0]


def test_resampled_omegas_equal_one_fit_at_a_time_with_statsmodels():
    x = _items(120, [0.7, 0.6, 0.5, 0.6], seed=11)
    x[:8] = _items(8, [0.2, 0.2, 0.2, 0.2], seed=12)  # a few noisy respondents
    rng = np.random.default_rng(0)
    draws = np.array([rng.integers(0, 120, 120) for _ in range(60)])
    got = _resampled_omegas(x, draws)
    for b, rows in enumerate(draws):
        corr = np.corrcoef(x[rows], rowvar=False)
        sd = x[rows].std(axis=0, ddof=1)
        lam, psi = _statsmodels(corr, 120)
        lam, psi = lam * sd, psi * sd ** 2
        assert got[b] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()), abs=1e-6)


def test_resampled_omegas_in_several_batches_equal_one_batch(monkeypatch):
    import crmlib.satisfaction.reliability as R
    x = _items(90, [0.7, 0.6, 0.5, 0.6], seed=13)
    rng = np.random.default_rng(1)
    draws = np.array([rng.integers(0, 90, 90) for _ in range(25)])
    whole = R._resampled_omegas(x, draws)
    monkeypatch.setattr(R, "BATCH_CELLS", x.size * 4)  # batches of four resamples
    assert R._resampled_omegas(x, draws) == pytest.approx(whole, abs=1e-12)
    assert np.isnan(R._resampled_omegas(x[:3], draws[:, :3] % 3)).all()  # n <= items
    assert pd.isna(R._resampled_omegas(x, draws[:0])).all()
