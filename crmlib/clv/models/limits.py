"""The limiting forms of BG/NBD, MBG/NBD and Pareto/NBD at the edge of identification.

When the data do not separate heterogeneity in dropout from a common dropout,
the maximum likelihood of the full model lies at infinity and an optimiser stops
somewhere on a flat ridge. Those limits are models in their own right, with
closed forms, and are fitted as such:

* :class:`BGNBDCommonDropout` — BG/NBD (or MBG/NBD) with a, b → ∞ and
  a/(a+b) = p fixed: one dropout probability p for every customer. The beta
  moments become powers of p: B(a, b+x)/B(a, b) → (1−p)^x and
  B(a+1, b+x−1)/B(a, b) → p(1−p)^(x−1), and ₂F₁(r, b; a+b−1; z) → (1 − (1−p)z)^(−r),
  so E[X(t)] = [1 − (α/(α+pt))^r]/p (Fader, Hardie & Lee 2005, eq. 9 in the limit).
* :class:`ParetoNBDCommonDropout` — Pareto/NBD with s, β → ∞ and s/β = μ fixed:
  an exponential lifetime with one rate μ for everyone ((β/(β+t))^s → e^(−μt)).
* :class:`NBD` — no dropout at all (a → 0 in BG/NBD, s → 0 or β → ∞ in
  Pareto/NBD): the negative binomial distribution of Ehrenberg (1959) for the
  purchase process alone. Its value over a horizon assumes every customer stays
  for the whole horizon, so it is an upper bound.

Every class has the predictions of the full models (``p_alive``,
``expected_purchases_new``, ``expected_purchases``, ``p_purchases``) and a
likelihood on the same scale as the full model's, so log-likelihoods compare.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .base import MLModel, as_array, check_rft, restore, wsum

_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)
_GL_X, _GL_W = (_GL_X + 1) / 2, _GL_W / 2  # on [0, 1]
_GL_4LOGV = 4 * np.log(_GL_X)
_GL_LOGW = np.log(_GL_W)
_GL_LOGW4 = np.log(4 * _GL_W) + 3 * np.log(_GL_X)


class LimitModel(MLModel):
    """Shared fitting code of the limiting models (columns frequency, recency, T)."""

    _start: Callable[[float, float], np.ndarray]  # starting values from mean x and mean T

    limit: str = ""
    upper_bound = False
    _raw_keys = ("x", "tx", "T")
    logit_from: int | None = None
    """Parameters from this index on are probabilities, estimated on the logit scale (those
    before it on the log scale); None: all on the log scale."""

    def _has_gradient(self) -> bool:
        return False

    def _natural(self, theta):
        k = self.logit_from
        if k is None:
            return super()._natural(theta)
        th = np.asarray(theta, dtype=float)
        return np.concatenate([np.exp(th[..., :k]), special.expit(th[..., k:])], axis=-1)

    def _unnatural(self, values):
        k = self.logit_from
        if k is None:
            return super()._unnatural(values)
        v = np.asarray(values, dtype=float)
        return np.concatenate([np.log(v[..., :k]), special.logit(v[..., k:])], axis=-1)

    def _jacobian(self, est):
        k = self.logit_from
        if k is None:
            return super()._jacobian(est)
        e = np.asarray(est, dtype=float)
        return np.concatenate([e[..., :k], e[..., k:] * (1 - e[..., k:])], axis=-1)

    def _admissible(self, values) -> bool:
        k = self.logit_from
        if k is None:
            return super()._admissible(values)
        v = np.asarray(values, dtype=float)
        return bool(np.all(v[:k] > 0) and np.all((v[k:] > 0) & (v[k:] < 1)))

    def fit(self, df: pd.DataFrame, weights: str | None = None) -> LimitModel:
        """Fit by maximum likelihood; columns ``frequency``, ``recency``, ``T`` (see BGNBD.fit)."""
        data, w = check_rft(df, self.name, weights)
        mean_x = max(float(np.average(data["x"], weights=w)), 0.05)
        mean_T = float(np.average(data["T"], weights=w))
        state = self._optimise(data, w, self._start(mean_x, mean_T), w.sum())
        return self._finish(state, data, w)

    def log_likelihood(self, df: pd.DataFrame, weights: str | None = None) -> float:
        """Log-likelihood of ``df`` under the current parameters."""
        self._require_fitted()
        data, w = check_rft(df, self.name, weights)
        return -float(self._negll(self._theta, data, w)[0])

    @staticmethod
    def _nbd_part(r: float, al: float, x: np.ndarray) -> np.ndarray:
        """ln[Γ(r+x) α^r / Γ(r)], common to every model of the family."""
        return special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)


class NBD(LimitModel):
    """Purchases without dropout: Poisson(λ) with λ ~ Gamma(r, α) (Ehrenberg 1959).

    The limit of BG/NBD, MBG/NBD and Pareto/NBD when nobody leaves. ``p_alive``
    is one for everyone, so value over a horizon is an upper bound.
    """

    param_names = ("r", "alpha")
    name = "NBD (no dropout)"
    limit = ("no dropout: customers show no sign of leaving within the window; value "
             "assumes they stay for the horizon (an upper bound)")
    upper_bound = True

    def _start(self, mean_x: float, mean_T: float) -> np.ndarray:
        return np.log([1.0, mean_T / mean_x])

    def _negll(self, theta, data, w):
        r, al = np.exp(theta)
        x, T = data["x"], data["T"]
        return -wsum(w, self._nbd_part(r, al, x) - (r + x) * np.log(al + T)), None

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """One: without dropout every customer is alive."""
        x = np.broadcast_arrays(*(as_array(v) for v in (frequency, recency, T)))[0]
        return restore(np.ones_like(x), frequency, recency, T)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = r t / α."""
        r, al = self._p()
        return restore(r * as_array(t) / al, t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, T] = (r + x) t / (α + T) (the posterior mean rate times t)."""
        r, al = self._p()
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        return restore((r + x) * tt / (al + TT), frequency, recency, T, t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n): negative binomial with size r and success probability α/(α+t)."""
        r, al = self._p()
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        return restore(stats.nbinom.pmf(nn, r, al / (al + tt)), n, t)


class BGNBDCommonDropout(LimitModel):
    """BG/NBD at a, b → ∞ with a/(a+b) = p: one dropout probability for everyone.

    Parameters ``r, alpha`` (as in BG/NBD) and ``p`` (estimated on the logit
    scale). ``modified=True`` gives the MBG/NBD limit (dropout also possible at
    time zero).
    """

    param_names = ("r", "alpha", "p")
    logit_from = 2
    name = "BG/NBD (one dropout probability)"
    limit = ("a, b → ∞ with a/(a+b) fixed: the data show one dropout probability for "
             "every customer")

    def __init__(self, modified: bool = False, maxiter: int = 2000):
        super().__init__(maxiter)
        self.modified = modified
        if modified:
            self.name = "MBG/NBD (one dropout probability)"

    def _start(self, mean_x: float, mean_T: float) -> np.ndarray:
        return np.array([0.0, np.log(mean_T / mean_x), special.logit(0.2)])

    def _log_terms(self, r, al, p, x, tx, T):
        """Log of the alive and the dropped-out term of the likelihood, per row."""
        m = 1.0 if self.modified else 0.0
        lq = np.log1p(-p)
        alive = (x + m) * lq - (r + x) * np.log(al + T)
        with np.errstate(divide="ignore"):
            dead = np.where((x > 0) | self.modified,
                            np.log(p) + (x - 1 + m) * lq - (r + x) * np.log(al + tx), -np.inf)
        return alive, dead

    def _negll(self, theta, data, w):
        r, al = np.exp(theta[:2])
        p = special.expit(theta[2])
        x = data["x"]
        alive, dead = self._log_terms(r, al, p, x, data["tx"], data["T"])
        return -wsum(w, self._nbd_part(r, al, x) + np.logaddexp(alive, dead)), None

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive | x, t_x, T) = 1 / (1 + p/(1−p) ((α+T)/(α+t_x))^(r+x)) (1 for x = 0 in BG/NBD)."""
        r, al, p = self._p()
        x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (frequency, recency, T)))
        alive, dead = self._log_terms(r, al, p, x, tx, TT)
        return restore(special.expit(alive - dead), frequency, recency, T)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = c [1 − (α/(α+pt))^r], c = 1/p (BG/NBD) or (1−p)/p (MBG/NBD)."""
        r, al, p = self._p()
        tt = as_array(t)
        lead = (1 - p) / p if self.modified else 1 / p
        return restore(-lead * np.expm1(-r * np.log1p(p * tt / al)), t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T] = [1 − ((α+T)/(α+T+pt))^(r+x)] / p · P(alive)."""
        r, al, p = self._p()
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        grow = -np.expm1(-(r + x) * np.log1p(p * tt / (al + TT))) / p
        return restore(grow * np.asarray(self.p_alive(x, tx, TT)), frequency, recency, T, t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n): (1−p)^(n+m) NB(n) + p(1−p)^(n−1+m) P(NB ≥ n) (m = 1 for MBG/NBD)."""
        r, al, p = self._p()
        m = 1.0 if self.modified else 0.0
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        q = al / (al + tt)
        alive = np.exp((nn + m) * np.log1p(-p) + stats.nbinom.logpmf(nn, r, q))
        with np.errstate(divide="ignore", invalid="ignore"):
            died = np.exp(np.log(p) + (nn - 1 + m) * np.log1p(-p)) * stats.nbinom.sf(nn - 1, r, q)
        return restore(alive + np.where((nn > 0) | self.modified, died, 0.0), n, t)


def log_exp_power_integral(k: np.ndarray, c: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """log ∫₁^Y y^(−k) e^(−c(y−1)) dy for Y ≥ 1, c ≥ 0, k > 0.

    The power is integrated exactly by the substitution z = y^(1−k) (z = ln y
    when k = 1), which leaves a bounded integrand; Gauss-Legendre nodes are
    clustered (z = z_lo + span·v⁴) where y = z^(1/(1−k)) is steep, and the sum is
    taken in log space. Agrees with mpmath to about 1e-14 (tests).
    """
    return _power_integral(k, c, Y)[0]


def _power_integral(k, c, Y, moments: bool = False):
    """:func:`log_exp_power_integral` and, with ``moments``, the means of ln y and y − 1
    under the normalised integrand (same nodes), which give its derivatives:
    ∂/∂k = −E[ln y], ∂/∂c = −E[y − 1]. Rows with Y = 1 get −∞ and means 0."""
    k, c, Y = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, c, Y)))
    out = np.full(k.shape, -np.inf)
    mean_log, mean_excess = np.zeros(k.shape), np.zeros(k.shape)
    pos = Y > 1
    if not pos.any():
        return out, mean_log, mean_excess
    k, c, lY = k[pos], c[pos], np.log(Y[pos])
    one = np.abs(k - 1) < 1e-8
    e = np.where(one, 1.0, 1 - k)
    # z = y^(1−k) runs over [z_lo, z_lo + span]; span = |expm1((1−k) ln Y)|
    span = np.where(one, lY, np.abs(np.expm1(e * lY)))
    low = np.minimum(e * lY, 0.0)  # ln z_lo
    # nodes clustered at z_lo (z = z_lo + span v⁴): y = z^(1/(1−k)) is steep near z = 0
    lz = np.logaddexp(low[:, None], np.log(span)[:, None] + _GL_4LOGV)
    lz /= e[:, None]
    if one.any():
        lz[one] = _GL_X * lY[one, None]  # ln y at the nodes (k = 1: z = ln y)
    excess = np.expm1(lz)  # y − 1 at the nodes
    terms = excess * -c[:, None]
    terms += np.where(one[:, None], _GL_LOGW, _GL_LOGW4)
    top = terms.max(axis=1)
    terms -= top[:, None]
    share = np.exp(terms, out=terms)
    total = share.sum(axis=1)
    span = np.where(one, lY, span / np.abs(e))
    out[pos] = np.log(span) + top + np.log(total)
    if moments:
        mean_log[pos] = np.einsum("ij,ij->i", share, lz) / total
        mean_excess[pos] = np.einsum("ij,ij->i", share, excess) / total
    return out, mean_log, mean_excess


class ParetoNBDCommonDropout(LimitModel):
    """Pareto/NBD at s, β → ∞ with s/β = μ: one exponential dropout rate for everyone.

    Parameters ``r, alpha`` (as in Pareto/NBD) and ``mu`` (dropout rate per time unit).
    """

    param_names = ("r", "alpha", "mu")
    name = "Pareto/NBD (one dropout rate)"
    limit = ("s, β → ∞ with s/β fixed: the data show one dropout rate for every customer")

    def _start(self, mean_x: float, mean_T: float) -> np.ndarray:
        return np.log([1.0, mean_T / mean_x, 0.5 / mean_T])

    @staticmethod
    def _log_terms(r, al, mu, x, tx, T, moments: bool = False):
        """ln[e^(−μT) (α+T)^(−(r+x))] and ln[μ ∫_{t_x}^T e^(−μτ) (α+τ)^(−(r+x)) dτ]; with
        ``moments``, also the integral's log and means (:func:`_power_integral`)."""
        k, base = r + x, al + tx
        integral = _power_integral(k, mu * base, (al + T) / base, moments)
        alive = -mu * T - k * np.log(al + T)
        dead = np.log(mu) - mu * tx + (1 - k) * np.log(base) + integral[0]
        return (alive, dead, integral) if moments else (alive, dead)

    def _has_gradient(self) -> bool:
        return True

    def _negll(self, theta, data, w):
        """Negative log-likelihood and its gradient in (ln r, ln α, ln μ).

        With b = α + t_x, c = μb, Y = (α+T)/b and I the integral of the dropped-out
        term (:func:`log_exp_power_integral`), ∂ln I/∂k = −E[ln y], ∂ln I/∂c = −E[y−1]
        and ∂ln I/∂Y = Y^(−k) e^(−c(Y−1)) / I; each row's two terms are weighted by
        their shares of its likelihood."""
        r, al, mu = np.exp(theta)
        x, tx, T = data["x"], data["tx"], data["T"]
        k, base, aT = r + x, al + tx, al + T
        Y = aT / base
        alive, dead, (log_int, mean_log, mean_excess) = self._log_terms(r, al, mu, x, tx, T,
                                                                        moments=True)
        ll = self._nbd_part(r, al, x) + np.logaddexp(alive, dead)
        p_alive = special.expit(alive - dead)
        p_dead = 1.0 - p_alive
        has_dead = np.isfinite(log_int)
        with np.errstate(over="ignore", invalid="ignore"):
            edge = np.where(has_dead, np.exp(-k * np.log(Y) - mu * base * (Y - 1) - log_int), 0.0)
        d_r = (special.digamma(r + x) - special.digamma(r) + np.log(al)
               - p_alive * np.log(aT) + p_dead * (-mean_log - np.log(base)))
        d_al = (r / al - p_alive * k / aT
                + p_dead * ((1 - k) / base - mu * mean_excess + edge * (tx - T) / base ** 2))
        d_mu = -p_alive * T + p_dead * (1 / mu - tx - base * mean_excess)
        grad = np.array([r * wsum(w, d_r), al * wsum(w, d_al), mu * wsum(w, d_mu)])
        return -wsum(w, ll), -grad

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive | x, t_x, T): the alive term over the sum of both terms."""
        r, al, mu = self._p()
        x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (frequency, recency, T)))
        alive, dead = self._log_terms(r, al, mu, x, tx, TT)
        return restore(special.expit(alive - dead), frequency, recency, T)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = r/α · (1 − e^(−μt))/μ."""
        r, al, mu = self._p()
        return restore(-r / al * np.expm1(-mu * as_array(t)) / mu, t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T] = (r+x)/(α+T) · (1 − e^(−μt))/μ · P(alive)."""
        r, al, mu = self._p()
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        out = (r + x) / (al + TT) * -np.expm1(-mu * tt) / mu * np.asarray(self.p_alive(x, tx, TT))
        return restore(out, frequency, recency, T, t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n) = NB(n; t) e^(−μt) + ∫₀^V NB(n; τ(v)) dv, V = 1 − e^(−μt),
        τ(v) = −ln(1−v)/μ (Gauss-Legendre)."""
        r, al, mu = self._p()
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        alive = stats.nbinom.pmf(nn, r, al / (al + tt)) * np.exp(-mu * tt)
        V = -np.expm1(-mu * tt)
        tau = -np.log1p(-V[..., None] * _GL_X) / mu
        dead = V * np.sum(_GL_W * stats.nbinom.pmf(nn[..., None], r, al / (al + tau)), axis=-1)
        return restore(alive + dead, n, t)
