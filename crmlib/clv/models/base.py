"""Shared machinery for the Buy-Till-You-Die models: input checks, compression,
maximum likelihood on the log scale, observed-information standard errors.

Why our own code: the maintained-library route was checked first. Lifetimes
0.11.3 (the reference implementation of these models) has had no release since
2020; on pandas 3 / numpy 2 parts of it fail (``calibration_and_holdout_data``,
``lifetimes.datasets`` needs ``pkg_resources``), it fits on every customer row
(about 230 s for a Pareto/NBD on a million customers) and its Gamma-Gamma fit
does not converge on large samples. PyMC-Marketing is Bayesian (MCMC) and
pulls in PyMC, far heavier than a maximum-likelihood fit needs; btyd (a
Lifetimes fork) is also unmaintained. The likelihoods themselves are short; the
numerics come from scipy (``gammaln``, ``betaln``, ``hyp2f1``, ``logsumexp``,
``minimize``) and statsmodels (numerical derivatives).

Conventions shared by every model
---------------------------------
* Parameters are estimated on the log scale (all are positive); ``params_``
  holds them on the natural scale, named as in the papers.
* Data are compressed to unique rows with a count before fitting, so the cost
  of a likelihood evaluation grows with the number of distinct rows, not
  customers. A ``weights`` column (counts of identical customers) is accepted.
* Standard errors come from the observed information: the numerical Hessian of
  the negative log-likelihood with respect to the log parameters, inverted,
  then mapped to the natural scale by the delta method
  (``se(θ) = θ · se(log θ)``). The 95% intervals are computed on the log scale
  and exponentiated (``θ · exp(±1.96 se(log θ))``), so they stay positive and
  are not symmetric around the estimate.
* The optimiser (:mod:`~crmlib.clv.models.optimiser`) returns its final state
  (:class:`~crmlib.clv.models.optimiser.OptimiserState`); the model turns it
  into its fitted attributes. Every fit ends with Newton steps on the full
  data until the log-likelihood is within 1e-9 of the maximum and the
  parameters within 1e-7 (Newton decrement), so fits of the same data by two
  routes agree.
* A fit that ends far from any maximum (gradient above 1e-4 per customer, a
  parameter drifting beyond 1e±10, an information matrix that is not positive
  definite, or flat in every direction) raises :class:`ConvergenceError`. A fit that
  stops on a flat ridge short of the maximum keeps its estimates with
  ``converged_ = False`` as long as the data inform some direction of the parameters.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from crmlib.io.contracts import source_row
from crmlib.io.errors import DataError, ParameterError

from . import optimiser as O
from .optimiser import LOG_BOUND, OptimiserState

Z95 = float(stats.norm.ppf(0.975))


class ConvergenceError(RuntimeError):
    """The maximum-likelihood fit did not converge; no estimates are returned."""


# --------------------------------------------------------------------------- input checks
def check_frame(df: Any, columns: Sequence[str], model: str) -> pd.DataFrame:
    """Return ``df`` as a DataFrame after checking the required columns exist and are numeric."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{model} expects a pandas DataFrame with columns "
                        f"{', '.join(columns)}; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{model}: missing column(s) {', '.join(map(repr, missing))}; "
                        f"found {', '.join(map(str, df.columns))}", column=missing[0])
    if len(df) == 0:
        raise DataError(f"{model}: no rows to fit")
    for c in columns:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            bad = ~np.isfinite(col.to_numpy(dtype=float, na_value=np.nan))
        else:
            values = pd.to_numeric(col, errors="coerce")
            bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            _raise_rows(df, bad, c, "must be a finite number")
    return df


def _raise_rows(df: pd.DataFrame, bad: np.ndarray, column: str, message: str) -> None:
    pos = np.flatnonzero(bad)
    first = int(pos[0])
    raise DataError(message, column=column, row=source_row(df, first),
                    value=df[column].iloc[first], more=len(pos) - 1)


def require(df: pd.DataFrame, bad: np.ndarray, column: str, message: str) -> None:
    """Raise a :class:`DataError` naming the first row where ``bad`` is true."""
    if np.any(bad):
        _raise_rows(df, np.asarray(bad), column, message)


def weights_of(df: pd.DataFrame, weights: str | None) -> np.ndarray:
    """Return the weight (count) column as floats, or ones; weights must be positive integers."""
    if weights is None:
        return np.ones(len(df))
    check_frame(df, [weights], "weights")
    w = df[weights].to_numpy(dtype=float)
    require(df, (w < 0) | (w != np.round(w)), weights, "weights must be whole counts >= 0")
    return w


def compress(columns: dict[str, np.ndarray], w: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Collapse identical rows of ``columns`` into unique rows with summed weights ``w``."""
    n = len(w)
    codes, size = np.zeros(n, dtype=np.int64), 1
    per_column = {}
    for key, v in columns.items():
        c, uniq = pd.factorize(np.asarray(v), sort=False)
        per_column[key] = (np.asarray(uniq, dtype=float), c)
        if size * len(uniq) >= 2**62:  # re-number before the combined code overflows
            codes, size = pd.factorize(codes, sort=False)[0], int(codes.max()) + 1
        codes, size = codes * len(uniq) + c, size * len(uniq)
    codes = pd.factorize(codes, sort=False)[0]
    k = int(codes.max()) + 1 if n else 0
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)
    counts = np.bincount(codes, weights=w, minlength=k)
    keep = counts > 0
    rows = first[keep]
    out = {key: np.asarray(v)[rows] for key, v in columns.items()}
    for key, (uniq, c) in per_column.items():  # reused by unique_index
        out[key + "@u"], out[key + "@i"] = uniq, c[rows]
    return out, counts[keep]


def unique_index(data: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of column ``key`` and each row's index into them (from compress if known)."""
    if key + "@i" in data and len(data[key + "@i"]) == len(data[key]):
        return data[key + "@u"], data[key + "@i"]
    return index_unique(data[key])


def index_unique(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique values of ``v`` and the index of each element into them."""
    inv, uniq = pd.factorize(v, sort=False)
    return np.asarray(uniq, dtype=float), inv


def wsum(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b without BLAS: a threaded ``ddot`` stalls badly on a busy machine."""
    return float(np.multiply(a, b).sum())


def as_array(v: Any) -> np.ndarray:
    """Float array view of a scalar, list, Series or array."""
    return np.asarray(v.to_numpy() if isinstance(v, (pd.Series, pd.Index)) else v, dtype=float)


def restore(out: np.ndarray, *inputs: Any) -> Any:
    """Return a float for scalar inputs, a Series if the first input was a Series, else an array."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(np.asarray(out).reshape(-1)[0])
    first = next((i for i in inputs if isinstance(i, pd.Series)), None)
    if first is not None and np.shape(out) == (len(first),):
        return pd.Series(out, index=first.index)
    return out


# --------------------------------------------------------------------------- estimator base
class MLModel:
    """Base class: maximum likelihood on log parameters with observed-information errors.

    Subclasses define ``param_names`` and ``_negll(theta, data, w) -> (value, grad)``
    (``grad`` may be None when no analytic gradient exists), operating on
    compressed data, with ``theta`` the log parameters and the value the total
    negative log-likelihood. ``fit`` checks and compresses the data, calls
    :meth:`_optimise` (which returns an :class:`~.optimiser.OptimiserState`) and
    :meth:`_finish` (which turns that state into the fitted attributes).

    Parameters
    ----------
    maxiter : iterations allowed to L-BFGS-B.
    start_params : starting values on the natural scale (named as ``params_``, or
        in that order); by default each model starts from moments of the data.

    Fitted attributes
    -----------------
    params_, se_, covariance_ : estimates on the natural scale, their standard errors
        and covariance (delta method).
    log_likelihood_, n_, n_rows_ : log-likelihood, customers and distinct rows fitted.
    converged_ : True when the optimiser met the convergence test of
        :mod:`~crmlib.clv.models.optimiser`; False when it stopped on a flat ridge
        of the likelihood short of a maximum (the estimates are then a point on the
        ridge; :func:`crmlib.clv.identification.convergence_note` says so in words).
    optimiser_ : the :class:`~.optimiser.OptimiserState` the fit ended in.
    """

    param_names: tuple[str, ...] = ()
    name: str = "model"

    def __init__(self, maxiter: int = 2000, start_params: Any = None):
        self.maxiter = maxiter
        self.start_params = start_params

    # -- fitting -------------------------------------------------------------------------
    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, np.ndarray | None]:
        raise NotImplementedError

    def _has_gradient(self) -> bool:
        return True

    def _prepare(self, data: dict, w: np.ndarray) -> None:
        """Add model-specific indexes and aggregates to compressed data (optional)."""

    _raw_keys: tuple[str, ...] | None = None  # columns a subsample needs (warm start)
    _warm_rows = 40_000

    def _objective(self, data: dict, w: np.ndarray) -> Callable:
        """Mean negative log-likelihood per customer (and its gradient when analytic)."""
        scale = 1.0 / float(w.sum())
        analytic = self._has_gradient()

        def fun(th):
            v, g = self._negll(th, data, w)
            if not np.isfinite(v):
                return (1e300, np.zeros_like(th)) if analytic else 1e300
            return (v * scale, g * scale) if analytic else v * scale
        return fun

    def _optimise(self, data: dict, w: np.ndarray, x0: np.ndarray, n: float) -> OptimiserState:
        """Maximise the likelihood over the log parameters (see ``_maximise``).

        ``x0`` is the model's own start, replaced by ``start_params`` when given.
        BLAS is held to one thread meanwhile: the optimiser's tiny vector
        operations gain nothing from threads, and on a busy machine OpenBLAS's
        thread hand-offs made L-BFGS-B over a hundred times slower.
        """
        if self.start_params is not None:
            x0 = self._start_theta(self.start_params)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._maximise(data, w, np.asarray(x0, dtype=float), float(n))

    def _start_theta(self, values: Any) -> np.ndarray:
        """``start_params`` on the scale of estimation, checked."""
        vals = self._values(values, "start_params")
        return self._unnatural(vals)

    def _maximise(self, data: dict, w: np.ndarray, x0: np.ndarray, n: float) -> OptimiserState:
        """Maximise the likelihood over the log parameters.

        Small inputs: L-BFGS-B, then Newton steps with the observed information.
        Large inputs (many distinct rows): a warm start from an L-BFGS-B fit on
        a weighted subsample of the rows, then Newton steps on all of them, so
        the full data are visited only a few dozen times; L-BFGS-B on the full
        data is the fallback if Newton does not converge from the warm start.
        """
        analytic = self._has_gradient()
        if self._raw_keys and len(w) > self._warm_rows:
            x1, h1 = self._warm_start(data, w, x0)
            self._prepare(data, w)
            state = O.newton(self._objective(data, w), x1, analytic, n, h1)
            if state.converged:
                return state
        self._prepare(data, w)
        fun = self._objective(data, w)
        state = O.lbfgs(fun, x0, analytic, n, self.maxiter)
        if O.inside_bounds(state.theta):
            state = O.newton(fun, state.theta, analytic, n, iterations=state.iterations)
        return state

    def _warm_start(self, data: dict, w: np.ndarray, x0: np.ndarray) -> tuple:
        """Fit a weighted subsample of rows; return its estimate and information per customer.

        The subsample's information per customer estimates the full data's to a
        few per cent, enough for Newton steps on the full data to converge fast.
        """
        rng = np.random.default_rng(20050101)
        draw = rng.multinomial(min(int(w.sum()), 2 * self._warm_rows), w / w.sum())
        keep = draw > 0
        sub = {k: data[k][keep] for k in self._raw_keys or ()}
        ws = draw[keep].astype(float)
        self._prepare(sub, ws)
        fun = self._objective(sub, ws)
        state = O.lbfgs(fun, x0, self._has_gradient(), float(ws.sum()), self.maxiter,
                        gtol=1e-5, ftol=1e-9)
        if not O.inside_bounds(state.theta):
            return x0, None
        return state.theta, O.information(fun, state.theta, self._has_gradient())

    def _finish(self, state: OptimiserState, data: dict, w: np.ndarray) -> Self:
        """Store estimates, log-likelihood, the observed-information covariance and the
        optimiser's state; raise :class:`ConvergenceError` when there is no estimate."""
        self._check_state(state)
        self.n_ = float(w.sum())
        self.n_rows_ = int(len(w))
        self.log_likelihood_ = state.log_likelihood
        hess = None if state.information is None else state.information * self.n_
        if state.flat is not None and state.flat.shape[1] == len(state.theta):
            raise ConvergenceError(f"{self.name}: the optimiser {state.message}, and the data "
                                   "inform no direction of the parameters (parameters not "
                                   "identified); no estimates returned")
        if hess is None or not np.all(np.linalg.eigvalsh(0.5 * (hess + hess.T)) > 0):
            where = f"where the optimiser {state.message}" if state.on_ridge else "at the optimum"
            raise ConvergenceError(f"{self.name}: the observed information is not positive "
                                   f"definite {where} (parameters not identified); "
                                   "no estimates returned")
        cov_log = np.linalg.inv(hess)
        self._set_params(state.theta, 0.5 * (cov_log + cov_log.T))
        self.converged_ = state.converged
        self.optimiser_ = state
        return self

    def _check_state(self, state: OptimiserState) -> None:
        """Raise :class:`ConvergenceError` when the optimiser ended far from any maximum."""
        th = state.theta
        if not np.all(np.isfinite(th)) or not np.isfinite(state.value) or state.value >= 1e299:
            raise ConvergenceError(f"{self.name}: the likelihood could not be evaluated at the "
                                   f"optimiser's last point ({state.message}); no estimates "
                                   "returned")
        at_bound = np.abs(th) > LOG_BOUND - 1e-3
        if at_bound.any():
            names = [p for p, b in zip(self.param_names, at_bound) if b]
            raise ConvergenceError(
                f"{self.name}: parameter(s) {', '.join(names)} drifted to {self._natural(th)[at_bound]} "
                "(the data do not identify them: too few repeat purchases or a degenerate "
                "sample); no estimates returned")
        grad = state.gradient
        if state.flat is not None:  # along a ridge the likelihood still rises, by definition
            grad = grad - state.flat @ (state.flat.T @ grad)
        gnorm = float(np.max(np.abs(grad)))
        if not gnorm <= 1e-4:
            raise ConvergenceError(
                f"{self.name}: the optimiser stopped ({state.message}) with gradient "
                f"{gnorm:.2g} per customer at {dict(zip(self.param_names, self._natural(th)))}; "
                "no estimates returned")

    def _log_mask(self) -> np.ndarray:
        """True for parameters estimated on the log scale (all, unless a subclass says otherwise)."""
        return np.ones(len(self.param_names), dtype=bool)

    def _natural(self, theta: np.ndarray) -> np.ndarray:
        return np.where(self._log_mask(), np.exp(np.where(self._log_mask(), theta, 0.0)), theta)

    def _unnatural(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`_natural` (natural-scale values to the scale of estimation)."""
        mask = self._log_mask()
        return np.where(mask, np.log(np.where(mask, values, 1.0)), values)

    def _jacobian(self, est: np.ndarray) -> np.ndarray:
        """d(natural)/d(estimation scale) at ``est``, for the delta method."""
        return np.where(self._log_mask(), est, 1.0)

    def _admissible(self, values: np.ndarray) -> bool:
        return not np.any(np.asarray(values)[self._log_mask()] <= 0)

    def _set_params(self, theta: np.ndarray, cov_log: np.ndarray | None) -> None:
        est = self._natural(np.asarray(theta, dtype=float))
        names = list(self.param_names)
        self.params_ = pd.Series(est, index=names, name="estimate")
        self._theta = np.asarray(theta, dtype=float)
        if cov_log is None:
            self._cov_log = None
            self.covariance_ = pd.DataFrame(np.nan, index=names, columns=names)
            self.se_ = pd.Series(np.nan, index=names, name="se")
            return
        self._cov_log = cov_log
        jac = self._jacobian(est)  # delta method
        self.covariance_ = pd.DataFrame(cov_log * np.outer(jac, jac), index=names, columns=names)
        self.se_ = pd.Series(jac * np.sqrt(np.diag(cov_log)), index=names, name="se")

    # -- reporting ----------------------------------------------------------------------
    @property
    def aic_(self) -> float:
        """Akaike information criterion, ``2k − 2 LL``."""
        return 2 * len(self.param_names) - 2 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion, ``k ln n − 2 LL`` with n the number of customers."""
        return len(self.param_names) * np.log(self.n_) - 2 * self.log_likelihood_

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% intervals.

        Intervals are Wald intervals on the scale of estimation: for positive
        parameters on the log scale, exponentiated; for coefficients as they are.
        """
        self._require_fitted()
        se_log = np.sqrt(np.diag(self._cov_log)) if self._cov_log is not None else np.nan
        out = pd.DataFrame({"estimate": self.params_, "se": self.se_,
                            "ci_low": self._natural(self._theta - Z95 * se_log),
                            "ci_high": self._natural(self._theta + Z95 * se_log)})
        out.index.name = "parameter"
        return out

    def sample_params(self, n_draws: int, rng: np.random.Generator | int | None = None) -> pd.DataFrame:
        """Draw parameter vectors from the asymptotic normal of the log parameters
        (of the coefficients themselves for covariate effects).

        Returns a DataFrame (one row per draw, columns named as ``params_``), for
        propagating estimation uncertainty into predictions.
        """
        self._require_fitted()
        if self._cov_log is None:
            raise ParameterError("n_draws", "this model has no covariance (built by with_params)")
        rng = np.random.default_rng(rng)
        draws = rng.multivariate_normal(self._theta, self._cov_log, size=int(n_draws),
                                        method="eigh")
        return pd.DataFrame(self._natural(draws), columns=list(self.param_names))

    def with_params(self, params: Any) -> Self:
        """Return a copy predicting with ``params`` (mapping, Series or sequence).

        The copy keeps the fit's covariance, so ``summary`` still describes the
        original estimate; use it for uncertainty propagation over
        :meth:`sample_params` draws.
        """
        self._require_fitted()
        new = copy.copy(self)
        new._set_params(self._unnatural(self._values(params, "params")), self._cov_log)
        return new

    def _values(self, params: Any, name: str) -> np.ndarray:
        """A natural-scale parameter vector from a mapping, Series or sequence, checked."""
        try:
            if isinstance(params, (dict, pd.Series)):
                vals = np.array([float(params[p]) for p in self.param_names])
            else:
                vals = np.array([float(v) for v in params])
        except (KeyError, TypeError, ValueError):
            vals = np.array([])
        if len(vals) != len(self.param_names) or not np.all(np.isfinite(vals)) \
                or not self._admissible(vals):
            raise ParameterError(name, f"expected {', '.join(self.param_names)} (positive "
                                       f"where estimated on the log scale); got {params!r}")
        return vals

    def _require_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{self.name} is not fitted yet: call fit() first")

    def _p(self) -> tuple[float, ...]:
        self._require_fitted()
        return tuple(float(v) for v in self.params_.to_numpy())

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}()"
        inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({inner})"


# --------------------------------------------------------------------------- RFM inputs
def check_rft(df: Any, model: str, weights: str | None = None,
              columns: tuple[str, str, str] = ("frequency", "recency", "T")) -> tuple[dict, np.ndarray]:
    """Validate a frequency/recency/age table and return compressed arrays and counts.

    ``frequency`` must be a whole number >= 0, ``0 <= recency <= T``, ``T > 0``
    and ``recency == 0`` when ``frequency == 0``. The first offending row is
    named in a :class:`DataError`.
    """
    f, r, t = columns
    df = check_frame(df, list(columns), model)
    x = df[f].to_numpy(dtype=float)
    tx = df[r].to_numpy(dtype=float)
    T = df[t].to_numpy(dtype=float)
    require(df, (x < 0) | (x != np.round(x)), f, "frequency must be a whole number >= 0")
    require(df, tx < 0, r, "recency must be >= 0")
    require(df, T <= 0, t, f"{t} (customer age) must be > 0")
    require(df, tx > T * (1 + 1e-9) + 1e-12, r, f"recency must not exceed {t}")
    require(df, (x == 0) & (tx != 0), r, "recency must be 0 when frequency is 0")
    w = weights_of(df, weights)
    return compress({"x": x, "tx": tx, "T": T}, w)
