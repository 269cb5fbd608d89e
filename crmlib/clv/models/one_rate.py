"""The one-purchase-rate limits of BG/NBD, MBG/NBD and Pareto/NBD (r, α → ∞, r/α = λ).

Customers who buy on a schedule (a weekly delivery, a monthly standing order) differ
less in their purchase rates than any gamma distribution allows: their counts are
less dispersed than Poisson, the maximum likelihood of r lies at infinity, and an
optimiser walks out along r and α together until rounding stops it. In the limit the
gamma distribution of the rates collapses onto λ = r/α, (α/(α+t))^r → e^(−λt), and
the models become one rate λ for everyone with one dropout process:

* :class:`PoissonCommonDropout` — BG/NBD (or MBG/NBD) with one purchase rate λ and
  one dropout probability p after each purchase (a, b → ∞ as well):
  L = λ^x [(1−p)^(x+m) e^(−λT) + p(1−p)^(x−1+m) e^(−λt_x)], m = 1 for MBG/NBD and the
  second term absent for x = 0 in BG/NBD (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way", Marketing Science 24(2), eq. 3 with both mixtures degenerate).
* :class:`PoissonExponentialDropout` — Pareto/NBD with one purchase rate λ and one
  exponential dropout rate μ (s, β → ∞ as well): the individual-level likelihood of
  Schmittlein, Morrison & Colombo (1987), L = λ^x e^(−(λ+μ)T)
  + λ^x μ/(λ+μ) [e^(−(λ+μ)t_x) − e^(−(λ+μ)T)].

Heterogeneous dropout with one purchase rate has no limit class here: such data reach
the full model's ridge, which the report labels as such. The likelihoods are on the
scale of the full models' (the same ``λ^x`` factor, no x! term), so log-likelihoods
compare in :func:`~crmlib.clv.models.identified.fit_identified`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special, stats

from .base import as_array, restore, wsum
from .limits import LimitModel

RATE_LIMIT = "r, α → ∞ with r/α fixed: the data show one purchase rate for every customer"


class OneRateModel(LimitModel):
    """Shared likelihood and predictions of the one-rate limits: per customer λ^x times
    the sum of an alive term and a dropped-out term (``_log_terms``), and E[Y(t)] of a
    customer still alive at T the same for everyone (``_alive_growth``)."""

    def _log_terms(self, lam, q, x, tx, T):
        """Log of the alive and the dropped-out term per row (``q``: the dropout parameter)."""
        raise NotImplementedError

    def _alive_growth(self, t: np.ndarray) -> np.ndarray:
        """E[Y(t) | alive at T]."""
        raise NotImplementedError

    def _negll(self, theta, data, w):
        lam, q = self._natural(theta)
        x = data["x"]
        alive, dead = self._log_terms(lam, q, x, data["tx"], data["T"])
        return -wsum(w, x * np.log(lam) + np.logaddexp(alive, dead)), None

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive | x, t_x, T): the alive term over the sum of both terms."""
        x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (frequency, recency, T)))
        lam, q = self._p()
        alive, dead = self._log_terms(lam, q, x, tx, TT)
        return restore(special.expit(alive - dead), frequency, recency, T)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T] = E[Y(t) | alive at T] · P(alive)."""
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        out = self._alive_growth(tt) * np.asarray(self.p_alive(x, tx, TT))
        return restore(out, frequency, recency, T, t)


class PoissonCommonDropout(OneRateModel):
    """BG/NBD with one purchase rate ``lam`` and one dropout probability ``p``.

    ``modified=True`` gives the MBG/NBD limit (dropout also possible at time zero).
    ``lam`` is estimated on the log scale, ``p`` on the logit scale.
    P(alive | x, t_x, T) = 1 / (1 + p/(1−p) e^(λ(T−t_x))) (1 for x = 0 in BG/NBD);
    E[Y(t) | alive at T] = (1 − e^(−λpt)) / p.
    """

    param_names = ("lam", "p")
    logit_from = 1
    name = "BG/NBD (one purchase rate, one dropout probability)"
    limit = f"{RATE_LIMIT}, and a, b → ∞: one dropout probability"

    def __init__(self, modified: bool = False, maxiter: int = 2000):
        super().__init__(maxiter)
        self.modified = modified
        if modified:
            self.name = "MBG/NBD (one purchase rate, one dropout probability)"

    def _start(self, mean_x: float, mean_T: float) -> np.ndarray:
        return np.array([np.log(mean_x / mean_T), special.logit(0.2)])

    def _log_terms(self, lam, p, x, tx, T):
        m = 1.0 if self.modified else 0.0
        lq = np.log1p(-p)
        alive = (x + m) * lq - lam * T
        with np.errstate(divide="ignore"):
            dead = np.where((x > 0) | self.modified,
                            np.log(p) + (x - 1 + m) * lq - lam * tx, -np.inf)
        return alive, dead

    def _alive_growth(self, t):
        lam, p = self._p()
        return -np.expm1(-lam * p * t) / p

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = c (1 − e^(−λpt)), c = 1/p (BG/NBD) or (1−p)/p (MBG/NBD)."""
        lead = 1 - self._p()[1] if self.modified else 1.0
        return restore(lead * self._alive_growth(as_array(t)), t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n) = (1−p)^(n+m) Pois(n; λt) + p(1−p)^(n−1+m) P(Pois(λt) ≥ n)."""
        lam, p = self._p()
        m = 1.0 if self.modified else 0.0
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        alive = np.exp((nn + m) * np.log1p(-p) + stats.poisson.logpmf(nn, lam * tt))
        with np.errstate(divide="ignore", invalid="ignore"):
            died = np.exp(np.log(p) + (nn - 1 + m) * np.log1p(-p)) * stats.poisson.sf(nn - 1,
                                                                                       lam * tt)
        return restore(alive + np.where((nn > 0) | self.modified, died, 0.0), n, t)


class PoissonExponentialDropout(OneRateModel):
    """Pareto/NBD with one purchase rate ``lam`` and one dropout rate ``mu`` (both per
    time unit, estimated on the log scale).
    P(alive | x, t_x, T) = 1 / (1 + μ/(λ+μ) (e^((λ+μ)(T−t_x)) − 1));
    E[Y(t) | alive at T] = E[X(t)] = λ/μ (1 − e^(−μt)).
    """

    param_names = ("lam", "mu")
    name = "Pareto/NBD (one purchase rate, one dropout rate)"
    limit = f"{RATE_LIMIT}, and s, β → ∞: one dropout rate"

    def _start(self, mean_x: float, mean_T: float) -> np.ndarray:
        return np.log([mean_x / mean_T, 0.5 / mean_T])

    @staticmethod
    def _log_terms(lam, mu, x, tx, T):
        """ln[e^(−(λ+μ)T)] and ln[μ/(λ+μ) (e^(−(λ+μ)t_x) − e^(−(λ+μ)T))], per row."""
        k = lam + mu
        alive = -k * T
        with np.errstate(divide="ignore"):
            dead = (np.log(mu) - np.log(k) - k * tx
                    + np.log(-np.expm1(-k * (np.asarray(T) - np.asarray(tx)))))
        return alive, dead

    def _alive_growth(self, t):
        lam, mu = self._p()
        return -lam / mu * np.expm1(-mu * t)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = λ/μ (1 − e^(−μt))."""
        return restore(self._alive_growth(as_array(t)), t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n) = Pois(n; λt) e^(−μt) + μ/(λ+μ) (λ/(λ+μ))^n P(Gamma(n+1, λ+μ) ≤ t):
        alive at t, or gone at τ < t having bought n times before."""
        lam, mu = self._p()
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        k = lam + mu
        alive = stats.poisson.pmf(nn, lam * tt) * np.exp(-mu * tt)
        dead = mu / k * np.exp(nn * np.log(lam / k)) * special.gammainc(nn + 1, k * tt)
        return restore(alive + dead, n, t)
