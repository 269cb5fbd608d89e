"""Placebo-in-space p-values of a phase effect, all placebo assignments at once.

The pilots' start months are given to sets of control units, and the stacked DiD
(:mod:`crmlib.roi.phase_effects`) and the clustered pre-trend Wald statistic are
recomputed for each set; p = (1 + #{|β_placebo| ≥ |β|}) / (1 + B) (Abadie, Diamond &
Hainmueller 2010, JASA 105(490); Bertrand, Duflo & Mullainathan 2004, QJE 119(1)).

Every placebo assignment uses the same units and months, so the panel is held as a
units × months array and an assignment only changes which cells enter each cohort's
sub-sample (weights 0/1) and which are treated. The two-way fixed effects of a
sub-sample are absorbed exactly, for a batch of assignments at once: the unit effects
in closed form, the month effects from the small months × months normal equations
(Greene, *Econometric Analysis*, §11.4, the two-way model with missing cells). The
statistics are then sums over cells, and the cluster scores per unit follow from
per-unit cross-products, so no per-assignment regression is run.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

MAX_CELLS = 4_000_000
"""Numbers held at once per batch of assignments (about 32 MB); larger batches are split."""


def months_between(a: pd.Series | pd.Timestamp, b: pd.Timestamp):
    """Whole months from b to a (a − b)."""
    if isinstance(a, pd.Series):
        return (a.dt.year - b.year) * 12 + (a.dt.month - b.month)
    return (a.year - b.year) * 12 + (a.month - b.month)


def placebo_sets(controls: list[str], k: int, B: int, rng: np.random.Generator) -> list[list]:
    """All sets of ``k`` controls when there are at most ``B``, else ``B`` random ones."""
    if math.comb(len(controls), k) <= B:
        return [list(c) for c in combinations(controls, k)]
    return [list(rng.choice(controls, size=k, replace=False)) for _ in range(B)]


class Grid:
    """A KPI's monthly panel as units × months arrays; a missing value is a missing cell."""

    def __init__(self, d: pd.DataFrame, units: list[str]):
        d = d[d["unit_id"].isin(units) & d["value"].notna()]
        if d.duplicated(["unit_id", "period"]).any():
            raise ValueError("one value per unit and month expected (see prepare_panel)")
        self.t0 = d["period"].min()
        u = pd.Categorical(d["unit_id"], categories=units).codes
        t = months_between(d["period"], self.t0).to_numpy(int)
        self.y = np.zeros((len(units), t.max() + 1))
        self.obs = np.zeros(self.y.shape, bool)
        self.y[u, t] = d["value"].to_numpy(float)
        self.obs[u, t] = True

    def month(self, ts) -> int:
        return months_between(pd.Timestamp(ts), self.t0)


def _cohort_cells(grid: Grid, S: np.ndarray, g: int, pre: int, last: int):
    """Cells of cohort ``g``'s sub-sample for each assignment (rows of ``S``, start month
    per unit, inf = never): the cohort's units and every other unit's not-yet-treated
    months from ``g − pre`` to ``last``, in months with a comparison; none when no
    untreated unit is left after ``g``. Returns the months, weights and membership."""
    t = np.arange(max(g - pre, 0), last + 1)
    member = S == g
    W = grid.obs[None, :, t] & (member[:, :, None] | (t < S[:, :, None]))
    comparison = W & ~member[:, :, None]
    W &= comparison.any(axis=1)[:, None, :]
    keep = comparison[:, :, t >= g].any(axis=(1, 2))
    return t, W & keep[:, None, None], member


def absorb_two_way(Z: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``Z`` (batch × units × months × columns, zero outside
    the sample) on unit and month fixed effects, in the cells where ``W`` (batch × units ×
    months, 0/1) is 1; zero elsewhere. ``Z`` is overwritten. Exact: the unit effects are
    eliminated in closed form, the month effects solve (diag(m) − Wᵀ diag(1/n) W) λ = b.
    That matrix is singular (unit and month effects share a level, once per connected
    part of the sample), so λ comes from its pseudo-inverse, with a cutoff far above
    rounding: numpy's default (1e-15) keeps a null eigenvalue that rounding lifted to
    1e-14 and errs by percents."""
    W = W.astype(float)
    n, m = W.sum(axis=2), W.sum(axis=1)
    inv_n = np.divide(1.0, n, out=np.zeros_like(n), where=n > 0)
    by_unit, by_month = Z.sum(axis=2), Z.sum(axis=1)
    Wn = W * inv_n[:, :, None]
    A = -np.matmul(Wn.transpose(0, 2, 1), W)
    idx = np.arange(W.shape[2])
    A[:, idx, idx] += m
    b = by_month - np.matmul(Wn.transpose(0, 2, 1), by_unit)
    lam = np.matmul(np.linalg.pinv(A, rcond=1e-10, hermitian=True), b)
    alpha = inv_n[..., None] * (by_unit - np.matmul(W, lam))
    Z -= alpha[:, :, None, :]
    Z -= lam[:, None, :, :]
    Z *= W[..., None]
    return Z


def event_times(grid: Grid, start: np.ndarray, pre: int, last: int) -> list[int]:
    """Months relative to the start observed for treated units, the reference −1 left out."""
    S = start[None, :]
    ks: set[int] = set()
    for g in np.unique(S[np.isfinite(S)]).astype(int):
        if g <= last:
            t, W, member = _cohort_cells(grid, S, g, pre, last)
            ks |= {int(x) for x in t[(W[0] & member[0][:, None]).any(axis=0)] - g}
    return sorted(ks - {-1})


def statistics(grid: Grid, S: np.ndarray, pre: int, last: int, ks: list[int],
               max_cells: int = MAX_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """DiD estimate and clustered pre-trend Wald statistic for each assignment of starts.

    Parameters
    ----------
    grid : the panel of the units assigned.
    S : assignments × units start months (months since ``grid.t0``; inf = never treated).
    pre, last : months before each start in the window; last month used.
    ks : event times of the event study (leads ``k < −1`` are tested).

    Returns
    -------
    beta : stacked DiD estimate per assignment (NaN when the treatment does not vary).
    f : Wald statistic / number of restrictions that all leads are zero, from the
        cluster-robust covariance (by unit, CR0: the permutation p-value does not need the
        constant small-sample factor); NaN without leads.
    """
    S = np.atleast_2d(np.asarray(S, float))
    per = sum(last - max(g - pre, 0) + 1 for g in _cohorts(S, last)) * S.shape[1] * (2 + len(ks))
    chunk = max(1, max_cells // max(per, 1))
    parts = [_statistics(grid, S[i:i + chunk], pre, last, ks) for i in range(0, len(S), chunk)]
    return np.concatenate([b for b, _ in parts]), np.concatenate([f for _, f in parts])


def _cohorts(S: np.ndarray, last: int) -> list[int]:
    return [int(g) for g in np.unique(S[np.isfinite(S)]) if g <= last]


def _statistics(grid: Grid, S: np.ndarray, pre: int, last: int, ks: list[int]):
    B, U, K = len(S), S.shape[1], len(ks)
    num, den = np.zeros(B), np.zeros(B)
    G, h = np.zeros((B, U, K, K)), np.zeros((B, U, K))  # per-unit cross-products
    for g in _cohorts(S, last):
        t, W, member = _cohort_cells(grid, S, g, pre, last)
        Z = np.zeros(W.shape + (2 + K,))
        np.multiply(grid.y[None, :, t], W, out=Z[..., 0])
        Z[..., 1] = W & member[:, :, None] & (t >= g)
        for j, k in enumerate(ks):
            Z[..., 2 + j] = W & member[:, :, None] & (t == g + k)
        R = absorb_two_way(Z, W)
        num += np.einsum("but,but->b", R[..., 1], R[..., 0])
        den += np.einsum("but,but->b", R[..., 1], R[..., 1])
        rx = R[..., 2:]
        G += np.matmul(rx.transpose(0, 1, 3, 2), rx)
        h += np.einsum("butj,but->buj", rx, R[..., 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(den > 1e-12, num / den, np.nan)
    leads = [j for j, k in enumerate(ks) if k < -1]
    f = _cluster_wald(G, h, leads) if leads else np.full(B, np.nan)
    return beta, f


def _cluster_wald(G: np.ndarray, h: np.ndarray, leads: list[int]) -> np.ndarray:
    """Wald statistics from per-cluster cross-products G_c = Σ xxᵀ and h_c = Σ x·y of
    residualised regressors; the scores of cluster c are h_c − G_c β. Regressors without
    variation in an assignment are left out of it."""
    XtX, Xty = G.sum(axis=1), h.sum(axis=1)
    ok = np.diagonal(XtX, axis1=1, axis2=2) > 1e-12
    both = ok[:, :, None] & ok[:, None, :]
    bread = np.linalg.pinv(np.where(both, XtX, 0.0))
    beta = np.matmul(bread, np.where(ok, Xty, 0.0)[..., None])[..., 0]
    scores = np.where(ok[:, None, :], h - np.matmul(G, beta[:, None, :, None])[..., 0], 0.0)
    V = bread @ np.matmul(scores.transpose(0, 2, 1), scores) @ bread
    tested = ok[:, leads]
    Vt = np.where(tested[:, :, None] & tested[:, None, :], V[:, leads][:, :, leads], 0.0)
    bt = np.where(tested, beta[:, leads], 0.0)
    f = np.einsum("bi,bij,bj->b", bt, np.linalg.pinv(Vt), bt)
    n_tested = tested.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_tested > 0, f / n_tested, np.nan)


def placebo_statistics(d: pd.DataFrame, starts: pd.Series, pre: int, last: pd.Timestamp,
                       n_permutations: int, rng: np.random.Generator) -> dict | None:
    """Observed and placebo statistics: ``beta``, ``f`` (observed) and ``betas``, ``fs``
    (one per placebo assignment, in the order drawn); None when there are no more
    control than pilot units. With several start months each placebo set receives the
    start months in a random order."""
    pilot_starts = starts.dropna()
    controls = sorted(starts.index[starts.isna()])
    k = len(pilot_starts)
    if len(controls) <= k:
        return None
    full = Grid(d, list(starts.index))
    real = np.array([full.month(s) if pd.notna(s) else np.inf for s in starts])
    lastm = full.month(last)
    ks = event_times(full, real, pre, lastm)
    beta0, f0 = statistics(full, real, pre, lastm, ks)
    grid = Grid(d, controls)
    cohorts = np.array([grid.month(x) for x in pilot_starts], float)
    pos = {c: i for i, c in enumerate(controls)}
    sets = [[pos[c] for c in s] for s in placebo_sets(controls, k, n_permutations, rng)]
    S = np.full((len(sets), len(controls)), np.inf)
    staggered = len(np.unique(cohorts)) > 1
    for i, s in enumerate(sets):
        S[i, s] = rng.permutation(cohorts) if staggered else cohorts
    # the months are counted from each grid's own first month
    betas, fs = statistics(grid, S, pre, grid.month(last), ks)
    return {"beta": float(beta0[0]), "f": float(f0[0]), "betas": betas, "fs": fs}


def placebo_tests(d: pd.DataFrame, starts: pd.Series, pre: int, last: pd.Timestamp,
                  n_permutations: int, rng: np.random.Generator) -> dict:
    """Placebo-in-space p-values of the DiD effect and of the pre-trend test.

    The pilots' start months are given to sets of control units (the real pilots left
    out; all sets when there are at most ``n_permutations``, else random ones), and the
    DiD estimate and the clustered pre-trend Wald statistic are recomputed. p = (1 +
    #{placebo ≥ observed}) / (1 + B), in absolute value for the effect.
    """
    out = {"perm_p": np.nan, "pretrend_perm_p": np.nan, "n_placebos": 0}
    st = placebo_statistics(d, starts, pre, last, n_permutations, rng)
    if st is None:
        return out
    betas = st["betas"][np.isfinite(st["betas"])]
    out["n_placebos"] = len(betas)
    out["perm_p"] = float((1 + np.sum(np.abs(betas) >= abs(st["beta"]) * (1 - 1e-9)))
                          / (1 + len(betas)))
    fs = st["fs"][np.isfinite(st["fs"])]
    if np.isfinite(st["f"]) and len(fs):
        out["pretrend_perm_p"] = float((1 + np.sum(fs >= st["f"] * (1 - 1e-9)))
                                       / (1 + len(fs)))
    return out
