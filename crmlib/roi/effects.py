"""Effect estimators: difference-in-differences, event study, before/after.

All estimators are ordinary least squares in statsmodels with fixed effects
as dummy variables and (by default) standard errors clustered by unit, with
t-based inference on G − 1 degrees of freedom (G clusters).

* :class:`DiD` — ``y = α_unit + λ_period + β·D + x'γ + ε`` with ``D = treated × post``
  (Card & Krueger 1994; Angrist & Pischke 2009, ch. 5; Wooldridge,
  *Introductory Econometrics*, §13.2). Without unit/period identifiers the group
  and post dummies take the place of the fixed effects, which is the pooled
  cross-section form of Wooldridge's Examples 13.3 and 13.4.
* :class:`EventStudy` — leads and lags of the start relative to the month before
  it, and the joint Wald test that all leads are zero (parallel pre-trends;
  Autor 2003; Roth 2022 on its limited power).
* :class:`BeforeAfter` — pilot units only, unit fixed effects and a post dummy:
  the weaker design used when there is no control group.
* :func:`twfe_point` — the DiD point estimate by alternating projections
  (Guimarães & Portugal 2010), for many treatment assignments on the same rows
  at once; it agrees with :class:`DiD` to numerical precision (tested). The
  placebo tests of the phase effects refit in batch in :mod:`crmlib.roi.placebo`.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from ..io import DataError

COV_TYPES = ("cluster", "classical", "HC1")
MIN_CLUSTERS_PER_ARM = 2
"""Clustered inference needs treated and control clusters: with one treated (or one
control) cluster the cluster-robust variance collapses (with unit effects the single
cluster's scores sum to zero), and its test rejects far too often (Conley & Taber 2011,
"Inference with 'difference in differences' with a small number of policy changes",
REStat 93(1); MacKinnon & Webb 2017, "Wild bootstrap inference for wildly different
cluster sizes", J. Applied Econometrics 32(2))."""


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """Many small least-squares fits run faster on one BLAS thread than on many, above all
    on a busy machine; threadpoolctl, when installed, limits the threads meanwhile."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _dummies(s: pd.Series, prefix: str, nest: pd.Series | None = None) -> pd.DataFrame:
    """Dummies of ``s`` without the first level (without the first level of each ``nest``
    group when fixed effects are nested in stacks, to keep the design full rank)."""
    d = pd.get_dummies(s.astype(str), prefix=prefix, drop_first=nest is None, dtype=float)
    if nest is not None:
        first = s.astype(str).groupby(nest.astype(str)).min()
        d = d.drop(columns=[f"{prefix}_{v}" for v in first])
    return d


def _ols(y: pd.Series, X: pd.DataFrame, cov_type: str, groups: pd.Series | None):
    model = OLS(y.astype(float), X.astype(float))
    kw = {"cov_type": "nonrobust" if cov_type == "classical" else cov_type, "use_t": True}
    if cov_type == "cluster":
        codes = pd.factorize(groups)[0]
        if codes.max() < 1:
            raise DataError("clustered standard errors need at least two clusters")
        kw["cov_kwds"] = {"groups": codes}
    with blas_single_thread():
        try:  # QR is fast on full-rank designs; the pseudo-inverse copes with the rest
            return model.fit(method="qr", **kw)
        except np.linalg.LinAlgError:
            return model.fit(method="pinv", **kw)


class _Absorbed:
    """OLS of FE-demeaned data (Frisch–Waugh–Lovell) with the inference of the full
    dummy-variable regression: variances scaled by (N − K) / (N − K − rank of the fixed
    effects), t on the same degrees of freedom (G − 1 when clustered). Scales to many
    units, where dummy matrices would not fit in memory."""

    def __init__(self, y: np.ndarray, X: pd.DataFrame, a: np.ndarray, b: np.ndarray,
                 cov_type: str, groups: pd.Series | None):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        M = twfe_demean(np.column_stack([y, X.to_numpy(float)]), a, b)
        na, nb = a.max() + 1, b.max() + 1
        graph = coo_matrix((np.ones(len(a)), (a, na + b)), shape=(na + nb, na + nb))
        k_fe = int(na + nb - connected_components(graph, directed=False)[0])
        n, k = len(y), X.shape[1]
        if n - k - k_fe <= 0:
            raise DataError(f"no residual degrees of freedom: {n} observations for {k + k_fe} "
                            "coefficients and fixed effects (too few units or months)")
        self.result = _ols(pd.Series(M[:, 0]), pd.DataFrame(M[:, 1:], columns=X.columns),
                           cov_type, groups)
        self.scale = (n - k) / (n - k - k_fe)
        self.df = (self.result.df_resid_inference if cov_type == "cluster" else n - k - k_fe)
        self.r2 = float(1 - self.result.ssr / np.sum((y - y.mean()) ** 2))
        self.names = list(X.columns)

    def row(self, name: str, alpha: float) -> dict:
        i = self.names.index(name)
        est = float(np.asarray(self.result.params)[i])
        se = float(np.sqrt(self.scale) * np.asarray(self.result.bse)[i])
        q = stats.t.ppf(1 - alpha / 2, self.df)
        return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se,
                "p_value": float(2 * stats.t.sf(abs(est / se), self.df)) if se > 0 else np.nan}

    def wald(self, names: Sequence[str]) -> tuple[float, float]:
        """F statistic and p-value that the coefficients ``names`` are all zero."""
        idx = [self.names.index(n) for n in names]
        beta = np.asarray(self.result.params)[idx]
        V = self.scale * np.asarray(self.result.cov_params())[np.ix_(idx, idx)]
        f = float(beta @ np.linalg.pinv(V) @ beta / len(idx))
        return f, float(stats.f.sf(f, len(idx), self.df))


def _row(res, name: str, alpha: float) -> dict:
    if isinstance(res, _Absorbed):
        return res.row(name, alpha)
    i = res.model.exog_names.index(name)
    ci = np.asarray(res.conf_int(alpha))[i]
    return {"estimate": float(np.asarray(res.params)[i]), "se": float(np.asarray(res.bse)[i]),
            "ci_low": float(ci[0]), "ci_high": float(ci[1]),
            "p_value": float(np.asarray(res.pvalues)[i])}


class _Estimator:
    alpha: float
    table_: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Estimates with ``estimate``, ``se``, ``ci_low``, ``ci_high`` and ``p_value``."""
        if not hasattr(self, "table_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        return self.table_.copy()


class DiD(_Estimator):
    """Difference-in-differences with unit and period fixed effects.

    Parameters
    ----------
    cov_type : ``"cluster"`` (default, by ``cluster`` or else ``unit``), ``"classical"``
        (homoskedastic, as in Wooldridge's examples) or ``"HC1"``.
    alpha : 1 − confidence level of the interval.
    absorb : with unit and period effects, absorb them by demeaning (default) instead of
        dummy variables; estimates and inference are identical, memory stays small.

    Attributes
    ----------
    effect_, se_, ci_, p_value_ : the DiD estimate β, its standard error, interval and p-value.
    r2_, nobs_, n_clusters_ : fit statistics (R² of the full model).
    result_ : the statsmodels results (of the demeaned regression when absorbed).

    References
    ----------
    Card, D. & Krueger, A. (1994). Minimum wages and employment. AER 84(4).
    Wooldridge, J. M. Introductory Econometrics, §13.2, Examples 13.3 and 13.4.
    Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust
    differences-in-differences estimates? QJE 119(1) (clustering by unit).
    """

    def __init__(self, cov_type: str = "cluster", alpha: float = 0.05, absorb: bool = True):
        if cov_type not in COV_TYPES:
            raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}")
        self.cov_type, self.alpha, self.absorb = cov_type, alpha, absorb

    def fit(self, data: pd.DataFrame, *, outcome: str, treated: str, post: str,
            unit: str | None = None, period: str | None = None,
            covariates: Sequence[str] = (), cluster: str | None = None,
            stack: str | None = None) -> DiD:
        """Fit on a long frame; ``treated`` and ``post`` are 0/1 columns; ``stack`` names the
        column of stacked sub-samples when unit and period effects are stack-specific."""
        cols = [outcome, treated, post, *covariates] + [c for c in (unit, period, cluster, stack)
                                                         if c]
        d = data[cols].dropna()
        X = pd.DataFrame({"const": 1.0, "did": d[treated].astype(float) * d[post].astype(float)},
                         index=d.index)
        if X["did"].nunique() < 2:
            raise DataError("the treatment indicator does not vary: need treated units "
                            "observed before and after the start")
        groups = d[cluster or unit] if self.cov_type == "cluster" and (cluster or unit) else None
        if self.cov_type == "cluster" and groups is None:
            raise ValueError("cov_type='cluster' needs a unit or cluster column")
        if self.absorb and unit and period:
            fit = _Absorbed(d[outcome].to_numpy(float),
                            pd.concat([X[["did"]], d[list(covariates)].astype(float)], axis=1),
                            pd.factorize(d[unit])[0], pd.factorize(d[period])[0],
                            self.cov_type, groups)
            self.result_, r2 = fit.result, fit.r2
        else:
            fit = self.result_ = self._dummy_fit(d, X, outcome, treated, post, unit, period,
                                                 covariates, stack, groups)
            r2 = float(fit.rsquared)
        row = _row(fit, "did", self.alpha)
        self.inference_note_ = ""
        if groups is not None:
            ever = X["did"].groupby(groups.to_numpy()).max()
            self.n_treated_clusters_ = int((ever > 0).sum())
            self.n_control_clusters_ = int((ever == 0).sum())
            if min(self.n_treated_clusters_, self.n_control_clusters_) < MIN_CLUSTERS_PER_ARM:
                row.update(se=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan)
                self.inference_note_ = (
                    f"{self.n_treated_clusters_} pilot and {self.n_control_clusters_} control "
                    f"unit(s): clustered inference needs at least {MIN_CLUSTERS_PER_ARM} of "
                    "each, so the effect is not tested")
        self.effect_, self.se_, self.p_value_ = row["estimate"], row["se"], row["p_value"]
        self.ci_ = (row["ci_low"], row["ci_high"])
        self.r2_, self.nobs_ = r2, int(len(d))
        self.n_clusters_ = int(groups.nunique()) if groups is not None else None
        self.table_ = pd.DataFrame([row], index=pd.Index(["did"], name="term"))
        return self

    def _dummy_fit(self, d, X, outcome, treated, post, unit, period, covariates, stack, groups):
        parts = [_dummies(d[unit], "u") if unit else d[[treated]].astype(float),
                 _dummies(d[period], "t", d[stack] if stack else None) if period
                 else d[[post]].astype(float),
                 d[list(covariates)].astype(float)]
        return _ols(d[outcome], pd.concat([X, *parts], axis=1), self.cov_type, groups)


class EventStudy(_Estimator):
    """Event-study regression: unit and period fixed effects plus one dummy per month
    relative to the start (``rel``), the month before the start (−1) as reference.

    Attributes
    ----------
    coef_ : DataFrame of ``rel``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``
        (the reference month is included with estimate 0).
    pretrend_f_, pretrend_p_ : joint Wald test (F) that all leads (rel ≤ −2) are zero.
    pretrend_ok_ : False when ``pretrend_p_ < alpha`` (a warning is issued).

    References
    ----------
    Autor, D. (2003). Outsourcing at will. J. Labor Economics 21(1).
    Roth, J. (2022). Pretest with caution. AER: Insights 4(3).
    """

    def __init__(self, reference: int = -1, alpha: float = 0.05, absorb: bool = True):
        self.reference, self.alpha, self.absorb = reference, alpha, absorb

    def fit(self, data: pd.DataFrame, *, outcome: str, unit: str, period: str, rel: str,
            cluster: str | None = None, stack: str | None = None) -> EventStudy:
        """``rel``: months since the start for treated rows, missing for controls."""
        d = data[[outcome, unit, period, rel] + [c for c in (cluster, stack) if c]]
        d = d.dropna(subset=[outcome])
        r = d[rel]
        ks = sorted(int(k) for k in r.dropna().unique() if int(k) != self.reference)
        X = pd.DataFrame({f"rel{k:+d}": (r == k).astype(float) for k in ks}, index=d.index)
        if self.absorb:
            fit = _Absorbed(d[outcome].to_numpy(float), X, pd.factorize(d[unit])[0],
                            pd.factorize(d[period])[0], "cluster", d[cluster or unit])
            self.result_ = fit.result
        else:
            X = pd.concat([pd.DataFrame({"const": 1.0}, index=d.index), X,
                           _dummies(d[unit], "u"),
                           _dummies(d[period], "t", d[stack] if stack else None)], axis=1)
            fit = self.result_ = _ols(d[outcome], X, "cluster", d[cluster or unit])
        rows = [{"rel": k, **_row(fit, f"rel{k:+d}", self.alpha)} for k in ks]
        rows.append({"rel": self.reference, "estimate": 0.0, "se": 0.0, "ci_low": 0.0,
                     "ci_high": 0.0, "p_value": np.nan})
        self.coef_ = pd.DataFrame(rows).sort_values("rel").reset_index(drop=True)
        self.table_ = self.coef_.set_index("rel")
        leads = [f"rel{k:+d}" for k in ks if k < self.reference]
        self.pretrend_f_ = self.pretrend_p_ = np.nan
        if leads and isinstance(fit, _Absorbed):
            self.pretrend_f_, self.pretrend_p_ = fit.wald(leads)
        elif leads:
            names = self.result_.model.exog_names
            R = np.zeros((len(leads), len(names)))
            for j, name in enumerate(leads):
                R[j, names.index(name)] = 1.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # rank warnings of the clustered covariance
                test = self.result_.f_test(R)
            self.pretrend_f_ = float(np.squeeze(test.fvalue))
            self.pretrend_p_ = float(test.pvalue)
        self.pretrend_ok_ = not (self.pretrend_p_ < self.alpha)
        return self


class BeforeAfter(_Estimator):
    """Before/after on treated units only: ``y = α_unit + β·post + ε``, clustered by unit.

    Weaker than :class:`DiD`: with no control group any change common to all
    units (season, market, price) is attributed to the phase.
    """

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    def fit(self, data: pd.DataFrame, *, outcome: str, post: str, unit: str) -> BeforeAfter:
        d = data[[outcome, post, unit]].dropna()
        if d[post].nunique() < 2:
            raise DataError("before/after needs observations before and after the start")
        X = pd.concat([pd.DataFrame({"const": 1.0, "did": d[post].astype(float)}, index=d.index),
                       _dummies(d[unit], "u")], axis=1)
        cov = "cluster" if d[unit].nunique() > 1 else "HC1"
        self.result_ = _ols(d[outcome], X, cov, d[unit])
        row = _row(self.result_, "did", self.alpha)
        self.effect_, self.se_, self.p_value_ = row["estimate"], row["se"], row["p_value"]
        self.ci_ = (row["ci_low"], row["ci_high"])
        self.nobs_ = int(self.result_.nobs)
        self.table_ = pd.DataFrame([row], index=pd.Index(["before_after"], name="term"))
        return self


class _Groups:
    """Group sums of many columns at once (sorted rows and ``np.add.reduceat``)."""

    def __init__(self, codes: np.ndarray):
        self.codes = np.asarray(codes)
        self.order = np.argsort(self.codes, kind="stable")
        sc = self.codes[self.order]
        self.starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
        self.ids = sc[self.starts]
        self.counts = np.diff(np.r_[self.starts, len(sc)]).astype(float)

    def demean(self, M: np.ndarray) -> np.ndarray:
        means = np.zeros((self.ids.max() + 1, M.shape[1]))
        means[self.ids] = np.add.reduceat(M[self.order], self.starts, axis=0) / self.counts[:, None]
        return M - means[self.codes]


def twfe_demean(M: np.ndarray, a: np.ndarray, b: np.ndarray, tol: float = 1e-11,
                max_iter: int = 10_000) -> np.ndarray:
    """Residuals of the columns of ``M`` on two sets of fixed effects (codes ``a``, ``b``)
    by alternating projections (Guimarães & Portugal 2010, Stata J. 10(4))."""
    ga, gb = _Groups(a), _Groups(b)
    out = np.asarray(M, float).reshape(len(a), -1).copy()
    for _ in range(max_iter):
        prev = out
        out = gb.demean(ga.demean(out))
        if np.max(np.abs(out - prev)) < tol * (1 + np.max(np.abs(out))):
            return out
    return out


def twfe_point(y: np.ndarray, a: np.ndarray, b: np.ndarray, D: np.ndarray) -> np.ndarray:
    """DiD point estimate(s) with two-way fixed effects; ``D`` may hold one treatment
    assignment per column (placebo assignments)."""
    D = np.asarray(D, float).reshape(len(y), -1)
    R = twfe_demean(np.column_stack([y, D]), a, b)
    ry, rd = R[:, :1], R[:, 1:]
    den = np.sum(rd * rd, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 1e-12, np.sum(rd * ry, axis=0) / den, np.nan)
