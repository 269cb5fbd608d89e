"""One-factor maximum-likelihood fits of many correlation matrices at once.

Omega's bootstrap interval refits the one-factor model on every resample of
respondents: a thousand fits per report. :class:`statsmodels.multivariate.factor.Factor`
fits one matrix per call (about 1.5 ms, most of it the optimiser's Python overhead);
no maintained library fits a batch, so this module does, for one factor only:

* EM iterations for factor analysis (Rubin & Thayer 1982, "EM algorithms for ML factor
  analysis", *Psychometrika* 47(1)) from the first principal component, all matrices
  together, to come near the maximum;
* then Newton steps on the discrepancy ``log|Σ| + tr(Σ⁻¹R)``, ``Σ = λλ' + diag(s²)``
  (statsmodels' parameters: loadings and square roots of the uniquenesses), with the
  analytic gradient and a central-difference Hessian of it, until the gradient vanishes.

A matrix whose fit does not end at a maximum with a vanishing gradient, or ends near the
boundary (a uniqueness below 0.05: a near-Heywood case, where the likelihood can have
several maxima) is marked unconverged; the caller refits it with statsmodels, as before. The
maxima are statsmodels' to its own tolerance (tested matrix by matrix).
"""
from __future__ import annotations

import numpy as np

EM_STEPS = 150
NEWTON_STEPS = 25
GRADIENT_TOL = 1e-9
MIN_UNIQUENESS = 0.05


def correlations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrices and standard deviations (ddof 1) of a batch ``x`` of shape
    (batch, respondents, items)."""
    centred = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("bni,bnj->bij", centred, centred) / (x.shape[1] - 1)
    sd = np.sqrt(np.einsum("bii->bi", cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / sd[:, :, None] / sd[:, None, :], sd


def _start(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(corr)
    lam = vectors[..., -1] * np.sqrt(np.maximum(values[..., -1:], 1e-6))
    lam *= np.where(lam.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    return lam, np.clip(1 - lam ** 2, 0.05, 0.95)


def _inverse(lam: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Σ⁻¹ of Σ = λλ' + diag(ψ) by Sherman–Morrison."""
    u = lam / psi
    c = 1 + (lam * u).sum(axis=1)
    inv = -u[:, :, None] * u[:, None, :] / c[:, None, None]
    idx = np.arange(lam.shape[1])
    inv[:, idx, idx] += 1 / psi
    return inv


def _em(corr: np.ndarray, lam: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diag = np.einsum("bii->bi", corr)
    for _ in range(EM_STEPS):
        beta = np.einsum("bi,bij->bj", lam, _inverse(lam, psi))   # λ'Σ⁻¹
        r_beta = np.einsum("bij,bj->bi", corr, beta)               # Rβ'
        czz = 1 - (beta * lam).sum(axis=1) + (beta * r_beta).sum(axis=1)
        lam = r_beta / czz[:, None]
        psi = np.maximum(diag - lam * r_beta, 1e-8)
    return lam, psi


def _gradient(theta: np.ndarray, corr: np.ndarray) -> np.ndarray:
    k = corr.shape[1]
    lam, s = theta[:, :k], theta[:, k:]
    inv = _inverse(lam, s ** 2)
    omega = inv - inv @ corr @ inv                                 # dF/dΣ
    return np.concatenate([2 * np.einsum("bij,bj->bi", omega, lam),
                           2 * s * np.einsum("bii->bi", omega)], axis=1)


def _hessian(theta: np.ndarray, corr: np.ndarray) -> np.ndarray:
    h = 1e-5 * np.maximum(np.abs(theta), 1.0)
    cols = []
    for j in range(theta.shape[1]):
        step = np.zeros_like(theta)
        step[:, j] = h[:, j]
        cols.append((_gradient(theta + step, corr) - _gradient(theta - step, corr))
                    / (2 * h[:, j:j + 1]))
    hess = np.stack(cols, axis=2)
    return (hess + np.swapaxes(hess, 1, 2)) / 2


def fit_one_factor(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings and uniquenesses (correlation scale) of the one-factor ML model of each
    matrix in ``corr`` (batch, items, items), and whether each fit converged.

    Loadings are oriented to sum to a non-negative number (a factor's sign is arbitrary).
    """
    corr = np.asarray(corr, dtype=float)
    k = corr.shape[1]
    finite = np.isfinite(corr).all(axis=(1, 2))
    work = np.where(finite[:, None, None], corr, np.eye(k))
    lam, psi = _em(work, *_start(work))
    theta = np.concatenate([lam, np.sqrt(psi)], axis=1)
    done = np.zeros(len(corr), dtype=bool)
    for _ in range(NEWTON_STEPS):
        grad = _gradient(theta, work)
        done = np.abs(grad).max(axis=1) < GRADIENT_TOL
        if done.all():
            break
        hess = _hessian(theta, work)
        definite = np.linalg.eigvalsh(hess)[:, 0] > 0
        move = ~done & definite
        if not move.any():
            break
        theta[move] -= np.linalg.solve(hess[move], grad[move][:, :, None])[:, :, 0]
    lam, psi = theta[:, :k], theta[:, k:] ** 2
    converged = (done & finite & (psi.min(axis=1) >= MIN_UNIQUENESS)
                 & (np.linalg.eigvalsh(_hessian(theta, work))[:, 0] > 0))
    lam = lam * np.where(lam.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)
    return lam, psi, converged
