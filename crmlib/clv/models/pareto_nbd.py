"""Pareto/NBD model for non-contractual purchases in continuous time.

Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they
and what will they do next?", Management Science 33(1), 1-24. Likelihood and
predictions in the form of Fader, Hardie & Lee (2005), "A note on implementing
the Pareto/NBD model in MATLAB"; P(X(t) = x) after Fader & Hardie (2006),
"Deriving an expression for P(X(t) = x) under the Pareto/NBD model".

While alive a customer buys as Poisson(λ), λ ~ Gamma(r, α); her lifetime is
exponential(μ), μ ~ Gamma(s, β). For x repeat purchases, last at t_x, age T::

    L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A₀ ]
    A₀ = F(t_x) − F(T),  F(u) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+u)) / (α+u)^(r+s+x)  (α ≥ β)
                         F(u) = ₂F₁(r+s+x, r+x; r+s+x+1; (β−α)/(β+u)) / (β+u)^(r+s+x)  (α < β)

Numerical care: the argument of ₂F₁ is always in [0, 1) (the branch is chosen
by the larger of α, β), ₂F₁ is evaluated only once per distinct (x, t_x) and
(x, T) pair, the difference A₀ is formed in log space as
``log F(t_x) + log(−expm1(log F(T) − log F(t_x)))`` (no overflow, no negative
arguments to ``log``), and any ₂F₁ value scipy cannot return finitely is
replaced by Gauss-Legendre quadrature of its Euler integral. Above
``s = 30`` scipy's ₂F₁ loses digits (per customer's log-likelihood 3e-10 at
s = 100, 1e-6 at s = 300, 0.05 at s = 10⁷), so there the second term is taken from the integral it came from
(:func:`log_dropout_integral`), which agrees with mpmath to about 1e-11 for any
s; the two agree to 1e-12 at the hand-over. The gradient is
numerical (forward differences in L-BFGS-B, then Newton steps with a central
numerical Hessian to reach the optimum precisely).

Time unit: as for BG/NBD, ``recency``, ``T`` and horizons share one unit; α and
β are in that unit.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .base import MLModel, as_array, check_rft, restore, unique_index, wsum

_GL_X, _GL_W = np.polynomial.legendre.leggauss(128)
_GL_X, _GL_W = (_GL_X + 1) / 2, _GL_W / 2  # on [0, 1]


def _pairs(data: dict, kx: str, ku: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, u) pairs of columns ``kx``, ``ku``: their x, their u, each row's index."""
    x, u = data[kx], data[ku]
    cx = unique_index(data, kx)[1]
    uu, cu = unique_index(data, ku)
    code, _ = pd.factorize(cx.astype(np.int64) * len(uu) + cu)
    first = np.empty(code.max() + 1, dtype=np.int64)
    first[code[::-1]] = np.arange(len(code) - 1, -1, -1)
    return x[first], u[first], code


LAGUERRE_A, LAGUERRE_B = 100.0, 20.0
"""₂F₁(a, b; a+1; z) with a at least this large and b too (or z at most a/(a+10)) comes
from :func:`_log_hyp2f1_a1_laguerre`: scipy's series takes up to 0.1 ms per value there (a
fit walking out to r → ∞ on schedule-like buyers evaluated it for 30 s)."""
_LAG_X, _LAG_W = np.polynomial.laguerre.laggauss(64)
_LAG_LOGW = np.log(_LAG_W)


def _log_hyp2f1_a1_laguerre(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log ₂F₁(a, b; a+1; z) for large a and b (see :data:`LAGUERRE_A`).

    With t = e^(−v/a) the Euler integral a ∫₀¹ t^(a−1) (1 − zt)^(−b) dt becomes
    (1 − z)^(−b) ∫₀^∞ e^(−v + D(v)) dv, D(v) = −b ln(1 − z·expm1(−v/a)/(1 − z)) ≤ 0,
    whose integrand falls like e^(−kv) at first, k = 1 + bz/(a(1 − z)). Scaled by k it is
    e^(−u) times a smooth factor: 64-point Gauss-Laguerre, in log space. Agrees with
    mpmath to 1e-14 for a ≥ 100 and b ≥ 20 (0 ≤ z ≤ 1 − 10⁻⁹), or a(1 − z) ≥ 10z (tests);
    for small b with z near 1 the factor decays algebraically and the rule is not used.
    """
    a, b, z = (v[:, None] for v in (a, b, z))
    k = 1 + b * z / (a * (1 - z))
    d = -b * np.log1p(-z * np.expm1(-_LAG_X / (k * a)) / (1 - z))
    terms = _LAG_X * (1 - 1 / k) + d + _LAG_LOGW
    return (-b * np.log1p(-z) - np.log(k))[:, 0] + special.logsumexp(terms, axis=1)


def _log_hyp2f1_a1_near_one(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log ₂F₁(a, b; a+1; z) for a ≥ 100 with b < 20 and z within 10/a of 1, where the
    Laguerre rule's factor decays algebraically and scipy loses digits (seventh digit at
    z = 0.999, the second at z = 1 − 10⁻⁹).

    In (1 − z)^(−b) ∫₀^∞ e^(−v) (1 + s/ε)^(−b) dv, s = 1 − e^(−v/a), ε = (1 − z)/z, the
    substitution y = ln(1 + s/ε) turns the algebraic factor into e^(−by) on a finite range;
    e^(−v) then cuts the integrand off doubly exponentially where v ≈ 200. 128-point
    Gauss-Legendre over [0, that point], in log space: agrees with mpmath to 1e-13 (tests).
    """
    a, b, z = (v[:, None] for v in (a, b, z))
    eps = (1 - z) / z
    hi = np.minimum(-np.log1p(-z), np.log1p(np.minimum(1 / eps, 200 / (a * eps))))
    y = hi * _GL_X
    inner = np.log1p(-eps * np.expm1(y))  # ln(1 − s)
    terms = a * inner - b * y + np.log(a * eps) + y - inner + np.log(_GL_W * hi)
    return (-b * np.log1p(-z))[:, 0] + special.logsumexp(terms, axis=1)


def log_hyp2f1_a1(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log ₂F₁(a, b; a+1; z) for 0 <= z < 1, a > 0.

    For a ≥ 100 a Gauss-Laguerre rule (:func:`_log_hyp2f1_a1_laguerre`) or, for small b and
    z near 1, Gauss-Legendre after a substitution (:func:`_log_hyp2f1_a1_near_one`); otherwise
    scipy's ``hyp2f1`` where finite, else the Euler integral
    ``∫₀¹ (1 − z y^(1/a))^(−b) dy`` by Gauss-Legendre quadrature in log space.
    """
    a, b, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, z)))
    a, b, z = (np.atleast_1d(v) for v in (a, b, z))
    large = a >= LAGUERRE_A
    lag = large & ((b >= LAGUERRE_B) | (a * (1 - z) >= 10 * z))
    near_one = large & ~lag
    val = np.empty(a.shape)
    val[lag] = _log_hyp2f1_a1_laguerre(a[lag], b[lag], z[lag])
    val[near_one] = _log_hyp2f1_a1_near_one(a[near_one], b[near_one], z[near_one])
    with np.errstate(all="ignore"):
        val[~large] = np.log(special.hyp2f1(a[~large], b[~large], a[~large] + 1, z[~large]))
    bad = ~np.isfinite(val)
    if bad.any():
        ab, bb, zb = (np.broadcast_to(v, val.shape)[bad] for v in (a, b, z))
        y = _GL_X[None, :] ** (1 / ab[:, None])
        terms = -bb[:, None] * np.log1p(-zb[:, None] * y) + np.log(_GL_W)[None, :]
        val[bad] = special.logsumexp(terms, axis=1)
    return val.reshape(np.shape(a)) if val.size > 1 or np.ndim(a) else val


S_INTEGRAL = 30.0
"""Above this s the likelihood's second term comes from :func:`log_dropout_integral`."""

_L_CUTS = np.array([0.0, 0.5, 2.0, 6.0, 15.0, 30.0, 50.0])  # e^−50 is below double precision
_GL16_X, _GL16_W = np.polynomial.legendre.leggauss(16)
_GL16_X, _GL16_W = (_GL16_X + 1) / 2, _GL16_W / 2


def _solve_theta(L: np.ndarray, k_m, k_M, g, lam0, th_max) -> np.ndarray:
    """θ ≥ 0 with G(θ) = k_m θ + k_M ln(1 + g(e^θ − 1)) = L, by Newton's method.

    G is increasing and convex, so Newton from a point right of the root
    (min(θ at T, L/G'(0))) converges monotonically from the right.
    """
    th = np.minimum(th_max, L / lam0)
    for _ in range(100):
        em = np.expm1(th)
        G = k_m * th + k_M * np.log1p(g * em) - L
        step = G / (k_m + k_M * g * (em + 1) / (1 + g * em))
        th = np.maximum(th - step, 0.0)
        if np.all(np.abs(step) <= 1e-15 * (1 + th)):
            break
    return th


def log_dropout_integral(r: float, al: float, s: float, be: float, x: np.ndarray,
                         tx: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both Pareto/NBD likelihood terms in log space, times β^s, without ₂F₁.

    With k = r + x and f(τ) = (α+τ)^−k (1+τ/β)^−s, the terms are f(T) and
    β^s s ∫_{t_x}^T (α+τ)^−k (β+τ)^−(s+1) dτ (Schmittlein, Morrison & Colombo
    1987, the integral behind A₀). Substituting L = ln f(t_x) − ln f(τ), which
    gives −df = f(t_x) e^−L dL, the integral is f(t_x) ∫₀^{L_T} ρ e^−L dL with
    ρ = (s/(β+τ)) / (k/(α+τ) + s/(β+τ)) in (0, 1), smooth in L. It is summed by
    16-point Gauss-Legendre on each of six pieces of [0, min(L_T, 50)], τ(L)
    found by Newton's method. No term overflows or cancels for any s, β.

    Returns ``(l1, l2)``: ln f(T) and the log of the integral term, per row.
    """
    k = r + x
    A, B, D = al + tx, be + tx, T - tx
    LT = k * np.log1p(D / A) + s * np.log1p(D / B)
    a_small = A <= B
    m, M = np.where(a_small, A, B), np.where(a_small, B, A)
    k_m, k_M = np.where(a_small, k, s), np.where(a_small, s, k)
    g = m / M
    lo = np.minimum(_L_CUTS[:-1], LT[:, None])
    width = np.minimum(_L_CUTS[1:], LT[:, None]) - lo
    L = (lo[:, :, None] + width[:, :, None] * _GL16_X).reshape(len(LT), -1)
    with np.errstate(divide="ignore"):
        lw = np.log(width[:, :, None] * _GL16_W).reshape(len(LT), -1)
    col = (lambda v: np.asarray(v)[:, None])  # noqa: E731
    th = _solve_theta(L, col(k_m), col(k_M), col(g), col(k_m + k_M * g), col(np.log1p(D / m)))
    d = col(m) * np.expm1(th)
    sa, kb = s * (col(A) + d), col(k) * (col(B) + d)
    lJ = special.logsumexp(np.log(sa) - np.log(sa + kb) - L + lw, axis=1)
    lf = -k * np.log(A) - s * np.log1p(tx / be)
    return lf - LT, lf + lJ


class ParetoNBD(MLModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

    Parameters ``r, alpha`` (gamma purchase rate, mean r/α per time unit) and
    ``s, beta`` (gamma dropout rate, mean s/β per time unit).
    """

    param_names = ("r", "alpha", "s", "beta")
    name = "Pareto/NBD"
    _raw_keys = ("x", "tx", "T")

    def _has_gradient(self) -> bool:
        return False

    def fit(self, df: pd.DataFrame, weights: str | None = None) -> ParetoNBD:
        """Fit by maximum likelihood; columns ``frequency``, ``recency``, ``T`` (see BGNBD.fit)."""
        data, w = check_rft(df, self.name, weights)
        mean_x = max(float(np.average(data["x"], weights=w)), 0.05)
        mean_T = float(np.average(data["T"], weights=w))
        x0 = np.log([1.0, mean_T / mean_x, 1.0, mean_T])
        state = self._optimise(data, w, x0, w.sum())
        return self._finish(state, data, w)

    def log_likelihood(self, df: pd.DataFrame, weights: str | None = None) -> float:
        """Log-likelihood of ``df`` (same columns as ``fit``) under the current parameters,
        e.g. of a holdout sample, or of the data under another tool's estimates."""
        self._require_fitted()
        data, w = check_rft(df, self.name, weights)
        self._prepare(data, w)
        return -float(self._negll(self._theta, data, w)[0])

    def _prepare(self, data: dict, w: np.ndarray) -> None:
        data["xu"], data["x_i"] = unique_index(data, "x")
        data["ptx_x"], data["ptx_u"], data["ptx_i"] = _pairs(data, "x", "tx")
        data["pT_x"], data["pT_u"], data["pT_i"] = _pairs(data, "x", "T")
        data["W_x"] = np.bincount(data["x_i"], weights=w, minlength=len(data["xu"]))
        data["W_pT"] = np.bincount(data["pT_i"], weights=w, minlength=len(data["pT_x"]))

    @staticmethod
    def _log_F(r, al, s, be, x, u):
        a = r + s + x
        if al >= be:
            return log_hyp2f1_a1(a, s + 1, (al - be) / (al + u)) - a * np.log(al + u)
        return log_hyp2f1_a1(a, r + x, (be - al) / (be + u)) - a * np.log(be + u)

    @classmethod
    def _row_terms(cls, params, x, tx, T):
        """Log of the two likelihood terms per row, times β^s (without the other common factors)."""
        r, al, s, be = params
        x, tx, T = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float))
                                         for v in (x, tx, T)))
        if s > S_INTEGRAL:
            terms = log_dropout_integral(r, al, s, be, x.ravel(), tx.ravel(), T.ravel())
            return tuple(t.reshape(x.shape) for t in terms)
        l1 = -(r + x) * np.log(al + T) - s * np.log1p(T / be)
        lF_tx, lF_T = cls._log_F(r, al, s, be, x, tx), cls._log_F(r, al, s, be, x, T)
        d = np.minimum(lF_T - lF_tx, 0.0)
        with np.errstate(divide="ignore"):
            l2 = np.log(s) - np.log(r + s + x) + lF_tx + np.log(-np.expm1(d)) + s * np.log(be)
        return l1, l2

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, None]:
        r, al, s, be = np.exp(theta)
        xu = data["xu"]
        common = (wsum(data["W_x"], special.gammaln(r + xu) - special.gammaln(r))
                  + w.sum() * r * np.log(al))
        if s > S_INTEGRAL:
            l1, l2 = log_dropout_integral(r, al, s, be, data["x"], data["tx"], data["T"])
            return -float(common + wsum(w, np.logaddexp(l1, l2))), None
        # per distinct (x, T): l1 = ln[(α+T)^−(r+x) (β+T)^−s], ln F(T), ln s/(r+s+x)
        px, pu = data["pT_x"], data["pT_u"]
        l1 = -(r + px) * np.log(al + pu) - s * np.log(be + pu)
        lF_T = self._log_F(r, al, s, be, px, pu)
        lead = np.log(s) - np.log(r + s + px) - l1
        lF_tx = self._log_F(r, al, s, be, data["ptx_x"], data["ptx_u"])[data["ptx_i"]]
        pi = data["pT_i"]
        with np.errstate(divide="ignore"):
            gap = np.log(-np.expm1(np.minimum(lF_T[pi] - lF_tx, 0.0)))
        d = lead[pi] + lF_tx + gap  # ln(second term / first term) per row
        l1_beta = -(r + px) * np.log(al + pu) - s * np.log1p(pu / be)  # l1 + s ln β
        return -float(common + wsum(data["W_pT"], l1_beta) + wsum(w, np.logaddexp(0.0, d))), None

    # ------------------------------------------------------------------ predictions
    def p_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive at T | x, t_x, T) (Schmittlein et al. 1987, eq. 11)."""
        x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (frequency, recency, T)))
        l1, l2 = self._row_terms(self._p(), x, tx, TT)
        return restore(special.expit(l1 - l2), frequency, recency, T)

    @staticmethod
    def _growth(s: float, base: Any, t: Any) -> np.ndarray:
        """[1 − (base/(base+t))^(s−1)] / (s−1), with its limit ln(1 + t/base) at s = 1."""
        lg = np.log1p(t / base)
        if abs(s - 1) < 1e-10:
            return lg
        return -np.expm1(-(s - 1) * lg) / (s - 1)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^(s−1)] (Schmittlein et al. 1987, eq. 17)."""
        r, al, s, be = self._p()
        return restore(r * be / al * self._growth(s, be, as_array(t)), t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (Schmittlein et al. 1987, eq. 22)."""
        tt, x, tx, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, recency, T)))
        l1, l2 = self._row_terms(self._p(), x, tx, TT)
        out = self._if_alive(tt, x, TT) * special.expit(l1 - l2)
        return restore(out, frequency, recency, T, t)

    def expected_purchases_if_alive(self, t: Any, frequency: Any, T: Any) -> Any:
        """E[Y(t) | alive at T, x, T] = (r+x)(β+T)/(α+T) · [1 − ((β+T)/(β+T+t))^(s−1)]/(s−1):
        :meth:`expected_purchases` is this times :meth:`p_alive`."""
        tt, x, TT = np.broadcast_arrays(*(as_array(v) for v in (t, frequency, T)))
        return restore(self._if_alive(tt, x, TT), frequency, T, t)

    def _if_alive(self, tt, x, TT) -> np.ndarray:
        r, al, s, be = self._p()
        return (r + x) * (be + TT) / (al + TT) * self._growth(s, be + TT, tt)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n) for a new customer (Fader & Hardie 2006).

        Computed as ``NBD(n; t) (β/(β+t))^s + ∫₀ᵗ g(τ) NBD(n; τ) dτ`` with g the
        Pareto (Lomax) density of the lifetime; after the substitution
        ``v = 1 − (β/(β+τ))^s`` the integral is ``∫₀^V NBD(n; τ(v)) dv``,
        evaluated by 128-point Gauss-Legendre quadrature.
        """
        r, al, s, be = self._p()
        nn, tt = np.broadcast_arrays(as_array(n), as_array(t))
        alive = stats.nbinom.pmf(nn, r, al / (al + tt)) * (be / (be + tt)) ** s
        V = -np.expm1(-s * np.log1p(tt / be))
        v = V[..., None] * _GL_X
        tau = be * np.expm1(-np.log1p(-v) / s)
        dead = V * np.sum(_GL_W * stats.nbinom.pmf(nn[..., None], r, al / (al + tau)), axis=-1)
        return restore(alive + dead, n, t)


def simulate_pareto_nbd(n: int, r: float, alpha: float, s: float, beta: float, T: Any,
                        rng: np.random.Generator | int | None = None,
                        resolution: float | None = None) -> pd.DataFrame:
    """Simulate (frequency, recency, T) for ``n`` customers from Pareto/NBD.

    λ ~ Gamma(r, α), μ ~ Gamma(s, β), lifetime τ ~ Exp(μ); purchases are
    Poisson(λ) on (0, min(τ, T)]. ``resolution`` rounds recency and T to a grid.
    """
    rng = np.random.default_rng(rng)
    TT = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    if resolution:
        TT = np.maximum(np.round(TT / resolution) * resolution, resolution)
    lam, mu = rng.gamma(r, 1 / alpha, n), rng.gamma(s, 1 / beta, n)
    active = np.minimum(rng.exponential(1 / mu), TT)
    x = rng.poisson(lam * active)
    tx = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    if resolution:
        tx = np.minimum(np.round(tx / resolution) * resolution, TT)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": TT})
