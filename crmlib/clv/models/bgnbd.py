"""BG/NBD and MBG/NBD: beta-geometric / negative-binomial models for non-contractual purchases.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284): while
alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after
each purchase she drops out with probability p ~ Beta(a, b).

MBG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation and
comparison of models for customer base analysis", IJRM 24(3), 201-209): the
same, but a customer may also drop out at time zero, so customers with no
repeat purchase can be inactive.

Time unit: ``recency``, ``T`` and every horizon ``t`` share one unit (days,
weeks or months, whatever the summary used); α is in that unit, so purchase
rates are per unit. The likelihood is evaluated in log space with
``gammaln``/``betaln``/``logaddexp`` and an analytic gradient; terms that depend
only on ``frequency`` or only on ``T`` are computed once per distinct value.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .base import MLModel, as_array, check_rft, restore, unique_index, wsum


def log_beta_ratio(a: float, b: float, n: np.ndarray) -> np.ndarray:
    """ln[B(a, b+n) / B(a, b)] for whole n >= 0.

    With a + b in the millions the difference of two ``betaln`` values cancels
    about seven digits; there the ratio is summed as Σ_{j<n} [ln(b+j) − ln(a+b+j)].
    """
    n = np.asarray(n, dtype=float)
    if a + b < 1e4 or n.size == 0:
        return special.betaln(a, b + n) - special.betaln(a, b)
    j = np.arange(int(n.max()))
    cs = np.concatenate([[0.0], np.cumsum(np.log(b + j) - np.log(a + b + j))])
    return cs[n.astype(np.int64)]


def beta_nodes(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes p_j and weights w_j (summing to one) with Σ w_j f(p_j) ≈ E f(p), p ~ Beta(a, b).

    The trapezoidal rule in y = logit p, where the density is proportional to
    exp(a y − (a+b) ln(1+e^y)): smooth, unimodal at ln(a/b), with tails e^(a y) and
    e^(−b y). For integrands analytic in the strip |Im y| < π (the density's and
    the BG/NBD integrands' nearest singularities) the rule converges geometrically
    in 1/h (Trefethen & Weideman 2014, SIAM Review 56(3)); with h <= 0.5 the error
    is below 1e-15. The range covers 40 e-folds of each tail and ten Laplace
    widths, so it holds for every a, b > 0, from a, b of 0.01 to 1e8.
    """
    sd = np.sqrt(1 / a + 1 / b)
    y0 = np.log(a) - np.log(b)
    h = min(0.5, sd / 4)
    lo = max(y0 - 40 / a - 10 * sd, -Y_CAP)
    hi = min(y0 + 40 / b + 10 * sd, Y_CAP)
    y = np.arange(lo, hi + h, h)
    y = y[y <= Y_CAP] if hi == Y_CAP else y
    logd = a * y - (a + b) * np.logaddexp(0.0, y)
    top = logd.max()
    w = h * np.exp(logd - top)
    # beyond ±Y_CAP p is 0 or 1 in floating point: the tails' mass goes there
    w0 = w1 = 0.0
    if lo == -Y_CAP:  # the trapezoid's end node, then the tail ∫ e^(a y) dy beyond it
        w[0] /= 2
        w0 = np.exp(a * lo - top) / a
    if hi == Y_CAP:
        w[-1] /= 2
        w1 = np.exp(-b * y[-1] - top) / b
    p = np.concatenate([[0.0], special.expit(y), [1.0]])
    w = np.concatenate([[w0], w, [w1]])
    return p, w / w.sum()


Y_CAP = 800.0
"""|logit p| beyond which p is 0 or 1 in double precision (:func:`beta_nodes`)."""


def expected_growth(a: float, b: Any, k: Any, u: Any) -> np.ndarray:
    """E over p ~ Beta(a, b) of [1 − (1 + p u)^(−k)] / p, elementwise in b, k, u.

    The expected number of purchases in the next u·(α+T) time units of a customer
    alive now with gamma rate posterior (k, α+T) and dropout probability p
    (FHL 2005, eq. 7 integrated over λ; eqs. 9 and 10 are its closed forms
    (a+b−1)/(a−1)·[1 − (1−z)^k ₂F₁(k, b; a+b−1; z)], z = u/(1+u)). Evaluated by
    :func:`beta_nodes` per distinct b, which stays finite and accurate where the
    closed form does not: a, b in the millions (the hypergeometric term
    overflows), a near 1, and z near 1.
    """
    b, k, u = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (b, k, u)))
    out = np.empty(b.shape)
    for bv in np.unique(b):
        rows = b == bv
        p, w = beta_nodes(float(a), float(bv))
        kk, uu = k[rows][:, None], u[rows][:, None]
        pu = p * uu
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(pu > 1e-8, -np.expm1(-kk * np.log1p(pu)) / p,
                         kk * uu * (1 - (kk + 1) / 2 * pu))  # series where p underflows
        out[rows] = g @ w
    return out


HYP_LIMIT = 1e3
"""Above a + b = 1e3 E[Y(t)] is taken from :func:`expected_growth`, not from scipy's ``hyp2f1``."""


class BGNBD(MLModel):
    """BG/NBD model (Fader, Hardie & Lee 2005).

    Parameters ``r, alpha`` (gamma purchase rate; mean rate r/α per time unit)
    and ``a, b`` (beta dropout probability after each purchase; mean a/(a+b)).

    Examples
    --------
    >>> m = BGNBD().fit(summary)                      # doctest: +SKIP
    >>> m.summary()                                   # doctest: +SKIP
    >>> m.expected_purchases(39, s.frequency, s.recency, s.T)  # doctest: +SKIP
    """

    param_names = ("r", "alpha", "a", "b")
    name = "BG/NBD"
    _raw_keys = ("x", "tx", "T")
    _modified = False

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame, weights: str | None = None) -> BGNBD:
        """Fit by maximum likelihood.

        Parameters
        ----------
        df : DataFrame with ``frequency`` (repeat purchases), ``recency`` (time of
            the last purchase since the first) and ``T`` (time since the first
            purchase), one row per customer or per group of identical customers.
        weights : name of a column counting identical customers, optional.
        """
        data, w = check_rft(df, self.name, weights)
        x0 = self._start(data, w)
        state = self._optimise(data, w, x0, w.sum())
        return self._finish(state, data, w)

    def log_likelihood(self, df: pd.DataFrame, weights: str | None = None) -> float:
        """Log-likelihood of ``df`` (same columns as ``fit``) under the current parameters,
        e.g. of a holdout sample, or of the data under another tool's estimates."""
        self._require_fitted()
        data, w = check_rft(df, self.name, weights)
        self._prepare(data, w)
        return -float(self._negll(self._theta, data, w)[0])

    def _start(self, data: dict, w: np.ndarray) -> np.ndarray:
        mean_x = max(float(np.average(data["x"], weights=w)), 0.05)
        mean_T = float(np.average(data["T"], weights=w))
        return np.log([1.0, mean_T / mean_x, 1.0, 1.0])

    def _prepare(self, data: dict, w: np.ndarray) -> None:
        """Index distinct x, T and t_x values and pre-aggregate weights by them.

        Terms in x only are evaluated per distinct x, the (α+T)^−(r+x) term is
        summed per distinct T, and only rows that carry the second likelihood
        term (x > 0; every row for MBG/NBD) are visited per evaluation.
        """
        x = data["x"]
        data["xu"], data["x_i"] = unique_index(data, "x")
        data["Tu"], data["T_i"] = unique_index(data, "T")
        data["txu"], data["tx_i"] = unique_index(data, "tx")
        data["W_x"] = np.bincount(data["x_i"], weights=w, minlength=len(data["xu"]))
        data["W_T"] = np.bincount(data["T_i"], weights=w, minlength=len(data["Tu"]))
        data["WX_T"] = np.bincount(data["T_i"], weights=w * x, minlength=len(data["Tu"]))
        sub = np.ones(len(x), bool) if self._modified else x > 0
        for k in ("x", "x_i", "T_i", "tx_i"):
            data["s_" + k] = data[k][sub]
        data["s_w"] = w[sub]

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, np.ndarray]:
        r, al, a, b = np.exp(theta)
        m = 1.0 if self._modified else 0.0
        xu, Wx, W = data["xu"], data["W_x"], float(w.sum())
        # terms in x only: lnΓ(r+x) − lnΓ(r) + ln B(a, b+x+m) − ln B(a, b)
        A = special.gammaln(r + xu) - special.gammaln(r) + log_beta_ratio(a, b, xu + m)
        psi_ab = special.digamma(a + b + xu + m)
        gA = np.array([wsum(Wx, special.digamma(r + xu) - special.digamma(r)), 0.0,
                       wsum(Wx, special.digamma(a + b) - psi_ab),
                       wsum(Wx, special.digamma(b + xu + m) - psi_ab - special.digamma(b)
                            + special.digamma(a + b))])
        # first term (α+T)^−(r+x), summed per distinct T
        lTu, iTu = np.log(al + data["Tu"]), 1.0 / (al + data["Tu"])
        S_lT, SX_lT = wsum(data["W_T"], lTu), wsum(data["WX_T"], lTu)
        S_iT, SX_iT = wsum(data["W_T"], iTu), wsum(data["WX_T"], iTu)
        # second term relative to the first: d = ln a − ln(b+x−1+m) + (r+x) ln((α+T)/(α+t_x))
        has = (xu > 0) | self._modified
        bxu = np.where(has, b + xu - 1 + m, 1.0)
        cx = np.where(has, np.log(a) - np.log(bxu), 0.0)
        sx, sw = data["s_x"], data["s_w"]
        lTs = lTu[data["s_T_i"]]
        diff = lTs - np.log(al + data["txu"])[data["s_tx_i"]]
        rx = r + sx
        d = cx[data["s_x_i"]] + rx * diff
        p2 = special.expit(d)
        wp2 = sw * p2
        ll = wsum(Wx, A) + W * r * np.log(al) - (r * S_lT + SX_lT) + wsum(sw, np.logaddexp(0.0, d))
        inv_gap = (1.0 / (al + data["txu"]))[data["s_tx_i"]] - iTu[data["s_T_i"]]
        WP2x = np.bincount(data["s_x_i"], weights=wp2, minlength=len(xu))
        grad = gA + np.array([
            W * np.log(al) - S_lT + wsum(wp2, diff),
            W * r / al - (r * S_iT + SX_iT) - wsum(wp2 * rx, inv_gap),
            wp2.sum() / a,
            -(WP2x / bxu).sum(),
        ])
        return -float(ll), -grad * np.array([r, al, a, b])

    # ------------------------------------------------------------------ predictions
    def _log_odds_dead(self, x, tx, T):
        r, al, a, b = self._p()
        m = 1.0 if self._modified else 0.0
        has2 = (x > 0) | self._modified
        bx = np.where(has2, b + x - 1 + m, 1.0)
        return np.where(has2, np.log(a) - np.log(bx) + (r + x) * (np.log(al + T) - np.log(al + tx)),
                        -np.inf)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(customer still alive at T | x, t_x, T) (FHL 2005 eq. 11; Batislam et al. 2007)."""
        x, tx, TT = (as_array(v) for v in (frequency, recency, T))
        return restore(special.expit(-self._log_odds_dead(x, tx, TT)), frequency, recency, T)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)]: expected purchases of a new customer in (0, t] (FHL 2005 eq. 9).

        For MBG/NBD the leading factor is b/(a−1) and the hypergeometric term
        ₂F₁(r, b+1; a+b; t/(α+t)) (Batislam et al. 2007, eq. 8). Evaluated as the
        expectation over p that the closed form sums (:func:`expected_growth`), which
        stays accurate for a <= 1, a near 1, a, b in the millions and α tiny.
        """
        r, al, a, b = self._p()
        tt = as_array(t)
        if self._modified:  # E[(1−p) g(p)] over Beta(a, b) = b/(a+b) E[g] over Beta(a, b+1)
            out = b / (a + b) * expected_growth(a, b + 1, r, tt / al)
        else:
            out = expected_growth(a, b, r, tt / al)
        return restore(np.asarray(out).reshape(np.shape(tt)), t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (FHL 2005 eq. 10).

        The hypergeometric term is evaluated after Euler's transformation,
        ``((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) =
        ((α+T)/(α+T+t))^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)`` (MBG/NBD: b and
        c one larger), which keeps its
        parameters small for customers with many purchases.
        """
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        out = self._if_alive(tt, x, TT) * special.expit(-self._log_odds_dead(x, tx, TT))
        return restore(out, frequency, recency, T, t)

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> Any:
        """E[Y(t) | alive at T, x, T]: :meth:`expected_purchases` is this times
        :meth:`p_alive` (the future of a customer alive at T depends on x and T only)."""
        tt, x, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, T)))
        return restore(self._if_alive(tt, x, TT), frequency, T, t)

    def _if_alive(self, tt, x, TT) -> np.ndarray:
        r, al, a, b = self._p()
        m = 1.0 if self._modified else 0.0
        z = tt / (al + TT + tt)
        c = a + b + x - 1 + m
        with np.errstate(all="ignore"):
            tail = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 + m - r, a - 1, c, z)
            num = c / (a - 1) * (1 - tail)
        # the closed form loses accuracy (or overflows) for large a, b and near a = 1
        hard = ~np.isfinite(num) | (a + b > HYP_LIMIT) | (abs(a - 1) < 1e-3) | (z > 0.9)
        if hard.any():
            num = np.array(num, dtype=float)
            num[hard] = expected_growth(a, (b + x + m)[hard], (r + x)[hard],
                                        (tt / (al + TT))[hard])
        return num

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n) for a new customer (FHL 2005 eq. 8; MBG/NBD analogue)."""
        r, al, a, b = self._p()
        m = 1.0 if self._modified else 0.0
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        p = al / (al + tt)
        alive = np.exp(special.betaln(a, b + nn + m) - special.betaln(a, b)
                       + stats.nbinom.logpmf(nn, r, p))
        died = np.exp(special.betaln(a + 1, b + nn - 1 + m) - special.betaln(a, b)) \
            * stats.nbinom.sf(nn - 1, r, p)
        out = alive + np.where((nn > 0) | self._modified, died, 0.0)
        return restore(out, n, t)


class MBGNBD(BGNBD):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

    Same parameters as :class:`BGNBD`; the dropout coin is also tossed at time
    zero, so P(alive) of a customer without repeat purchases is below one.
    """

    name = "MBG/NBD"
    _modified = True


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: Any,
                   rng: np.random.Generator | int | None = None, modified: bool = False,
                   resolution: float | None = None) -> pd.DataFrame:
    """Simulate (frequency, recency, T) for ``n`` customers from BG/NBD (or MBG/NBD).

    Purchases arrive as Poisson(λ), λ ~ Gamma(r, α); after each purchase (and,
    for MBG/NBD, at time zero) the customer drops out with p ~ Beta(a, b).
    ``T`` is a scalar or one age per customer. ``resolution`` rounds recency
    and T to a grid (e.g. 1/7 for daily data in weeks), as a real summary does.
    Used for tests, benchmarks and model checking.
    """
    rng = np.random.default_rng(rng)
    TT = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    if resolution:
        TT = np.maximum(np.round(TT / resolution) * resolution, resolution)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    dead0 = (rng.random(n) < p) if modified else np.zeros(n, bool)
    arrivals = rng.poisson(lam * TT)
    survive = rng.geometric(p)  # purchases up to and including the one after which she leaves
    x = np.where(dead0, 0, np.minimum(arrivals, survive))
    tx = np.where(x > 0, TT * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1)), 0.0)
    if resolution:
        tx = np.minimum(np.round(tx / resolution) * resolution, TT)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": TT})
