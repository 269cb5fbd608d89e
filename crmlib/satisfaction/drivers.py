"""Derived importance: Johnson's relative weights of the perceptions on overall satisfaction.

Johnson, J. W. (2000), "A heuristic method for estimating the relative weight
of predictor variables in multiple regression", Multivariate Behavioral
Research 35(1), 1–19. With the predictor correlation matrix R_xx = Q Λ Q',
the orthogonal counterparts Z of the predictors have correlations
Λ* = Q Λ^{1/2} Q' with them; regressing the outcome on Z gives
β = Λ*^{-1} r_xy, and predictor j's raw weight is ε_j = Σ_k Λ*_jk² β_k². The
raw weights add up to the model's R², so ε_j / R² is predictor j's share of
the explained variance. Unlike standardised betas, the weights stay positive
and stable when the ratings are correlated, as survey items are.

Own code because the computation is a few lines of linear algebra and the
PyPI packages that offer it are unmaintained; it is checked in the tests
against the defining identity (weights sum to R²) and against the exact
decomposition for uncorrelated predictors (weights = squared correlations).
Intervals are percentile bootstrap intervals over respondents (Johnson 2004,
"Factors affecting relative weights: the influence of sampling and
measurement error", Organizational Research Methods 7(3)). The weights are
biased upwards in small samples, so on thin data a weight can fall below its own
bootstrap interval: such an interval is not reported (blank, the reason in
``note``; :mod:`crmlib.satisfaction.bootstrap`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import DataError
from .bootstrap import interval_columns, join_notes
from .prepare import Survey


def _weights_from_corr(r: np.ndarray) -> np.ndarray:
    """Raw relative weights from the correlation matrix of (predictors..., outcome)."""
    rxx, rxy = r[:-1, :-1], r[:-1, -1]
    vals, vecs = np.linalg.eigh(rxx)
    lam = vecs @ np.diag(np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    beta = np.linalg.lstsq(lam, rxy, rcond=None)[0]
    return (lam ** 2) @ (beta ** 2)


def _corr(m: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray | None:
    """Correlation matrix of the columns of m (rows weighted by bootstrap counts); None if a
    column has no variance."""
    c = np.ones(len(m)) if counts is None else counts
    mc = m - c @ m / c.sum()
    cov = (mc * c[:, None]).T @ mc
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    if np.any(sd <= 1e-12 * max(1.0, sd.max())):
        return None
    return cov / np.outer(sd, sd)


def relative_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson's (2000) raw relative weights of the columns of x for y."""
    r = _corr(np.column_stack([x, y]))
    if r is None:
        raise DataError("no variance: relative weights need every predictor and the outcome "
                        "to vary")
    return _weights_from_corr(r)


class RelativeWeights:
    """Johnson's (2000) relative weights with bootstrap intervals.

    Parameters
    ----------
    n_boot : bootstrap resamples (0 = no intervals).
    ci : interval level.
    random_state : seed for the bootstrap.

    Attributes (after ``fit``)
    --------------------------
    weights_ : raw weights (Series; they add up to ``r2_``).
    shares_ : weights / R² (Series; add up to 1).
    r2_ : R² of the linear regression on all predictors.
    n_ : respondents used (complete cases).
    boot_weights_ : bootstrap draws of the raw weights (n_boot × predictors).
    """

    def __init__(self, n_boot: int = 500, ci: float = 0.95, random_state: int | None = 0):
        self.n_boot, self.ci, self.random_state = n_boot, ci, random_state

    def fit(self, X: pd.DataFrame, y: pd.Series) -> RelativeWeights:
        """Fit on predictors ``X`` (columns) and outcome ``y``; rows with a missing value are left out."""
        data = pd.concat([X, y.rename("__y__")], axis=1).dropna()
        if len(data) < X.shape[1] + 3:
            raise DataError(f"relative weights need more complete respondents ({len(data)}) than "
                            f"predictors + 2 ({X.shape[1] + 2})", column=str(y.name))
        const = [c for c in data.columns if data[c].std() == 0]
        if const:
            name = str(y.name) if const[0] == "__y__" else str(const[0])
            raise DataError("no variance: relative weights need every predictor and the "
                            "outcome to vary", column=name)
        m = data.to_numpy(float)  # predictors..., outcome
        r = _corr(m)
        if r is None:   # a column varies too little to be told from a constant
            raise DataError("no variance: relative weights need every predictor and the "
                            "outcome to vary")
        w = _weights_from_corr(r)
        self.n_, self.r2_ = len(data), float(w.sum())
        self.weights_ = pd.Series(w, index=X.columns, name="raw_weight")
        self.shares_ = (self.weights_ / self.r2_).rename("share")
        rng = np.random.default_rng(self.random_state)
        draws = []
        for _ in range(self.n_boot):  # resamples as row multiplicities: no copies of the data
            counts = np.bincount(rng.integers(0, len(m), len(m)), minlength=len(m))
            r = _corr(m, counts.astype(float))
            if r is not None:
                draws.append(_weights_from_corr(r))
        self.boot_weights_ = pd.DataFrame(draws, columns=X.columns)
        return self

    def summary(self) -> pd.DataFrame:
        """One row per predictor: raw weight (estimate, se, interval) and share of R² (with
        interval); an interval that would not contain its estimate is blank, ``note`` says why."""
        b = self.boot_weights_
        shares = b.div(b.sum(axis=1), axis=0) if len(b) else b
        lo, hi, why = interval_columns(self.weights_.to_numpy(), b, self.ci, "weight")
        slo, shi, swhy = interval_columns(self.shares_.to_numpy(), shares, self.ci, "share")
        out = pd.DataFrame({
            "predictor": self.weights_.index, "estimate": self.weights_.to_numpy(),
            "se": b.std().reindex(self.weights_.index).to_numpy() if len(b) else np.nan,
            "ci_low": lo, "ci_high": hi, "share": self.shares_.to_numpy(),
            "share_ci_low": slo, "share_ci_high": shi, "note": join_notes(why, swhy)})
        out["rank"] = out["estimate"].rank(ascending=False, method="min").astype(int)
        return out


def derived_importance(survey: Survey, level: str = "item", n_boot: int = 500,
                       ci: float = 0.95, random_state: int | None = 0,
                       strict: bool = True) -> tuple[pd.DataFrame | None, float, int]:
    """Relative weights of perceptions (``level="item"`` or ``"dimension"``) on overall satisfaction.

    Constant items are left out (see ``survey.notes``). Returns
    ``(summary, r2, n)`` where summary has one row per item or dimension. With
    ``strict=False`` a survey that cannot support the analysis (no overall
    satisfaction, too few complete respondents, no variance) returns
    ``(None, nan, 0)`` and the reason is added to ``survey.notes`` (prefix
    ``"drivers:"``) instead of raising.
    """
    try:
        return _derived_importance(survey, level, n_boot, ci, random_state)
    except DataError as exc:
        if strict:
            raise
        survey.notes.append(f"drivers: {level}-level key drivers not estimated: {exc.message}")
        return None, float("nan"), 0


def _derived_importance(survey, level, n_boot, ci, random_state):
    if survey.overall is None:
        raise DataError("derived importance needs an 'overall_satisfaction' column",
                        file=survey.file, column="overall_satisfaction")
    if level == "item":
        X = survey.perceptions[[i for i in survey.items if i not in survey.constant_items]]
    else:
        X = survey.dimension_scores("perceptions")
    try:
        rw = RelativeWeights(n_boot=n_boot, ci=ci, random_state=random_state).fit(X, survey.overall)
    except DataError as exc:
        exc.file = survey.file
        raise DataError(exc.message, file=survey.file, column=exc.column) from None
    s = rw.summary().rename(columns={"predictor": level})
    if level == "item":
        s.insert(1, "dimension", survey.catalogue.loc[s["item"], "dimension"].to_numpy())
        s.insert(2, "label", survey.catalogue.loc[s["item"], "label"].to_numpy())
    return s, rw.r2_, rw.n_
