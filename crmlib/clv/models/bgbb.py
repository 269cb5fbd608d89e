"""BG/BB: beta-geometric / beta-Bernoulli model for discrete transaction opportunities.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time
noncontractual setting", Marketing Science 29(6), 1086-1108.

At each of n opportunities (yearly donation drives, weekly issues, events) an
alive customer transacts with probability p ~ Beta(α, β) and, after each
opportunity, dies with probability θ ~ Beta(γ, δ). A customer's history is
summarised by x (transactions), t_x (opportunity of the last one, 0 if none)
and n (opportunities since the first, which is not counted). Equation numbers
refer to the paper::

    L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
        + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)     (eq. 5)

evaluated with ``betaln`` and ``logsumexp`` on the distinct (x, t_x, n) rows.
Time unit: one opportunity; horizons ``t`` are numbers of future opportunities.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .base import MLModel, as_array, check_frame, compress, require, restore, weights_of, wsum


def _log_terms(params, x, tx, n):
    """log of the "alive through n" term and of each "died after t_x + i" term (eq. 5)."""
    al, be, ga, de = params
    bab, bgd = special.betaln(al, be), special.betaln(ga, de)
    alive = special.betaln(al + x, be + n - x) - bab + special.betaln(ga, de + n) - bgd
    k = int(np.max(n - tx)) if np.size(n) else 0
    i = np.arange(max(k, 1))
    xi, txi, ni = x[..., None], tx[..., None], n[..., None]
    died = (special.betaln(al + xi, be + txi - xi + i) - bab
            + special.betaln(ga + 1, de + txi + i) - bgd)
    died = np.where(i <= ni - txi - 1, died, -np.inf)
    return alive, died


def _log_lik(params, x, tx, n):
    alive, died = _log_terms(params, x, tx, n)
    return np.logaddexp(alive, special.logsumexp(died, axis=-1))


class BGBB(MLModel):
    """BG/BB model (Fader, Hardie & Shang 2010).

    Parameters ``alpha, beta`` (beta distribution of the transaction
    probability) and ``gamma, delta`` (beta distribution of the dropout
    probability per opportunity).
    """

    param_names = ("alpha", "beta", "gamma", "delta")
    name = "BG/BB"

    def _has_gradient(self) -> bool:
        return False

    def fit(self, df: pd.DataFrame, weights: str | None = None) -> BGBB:
        """Fit by maximum likelihood.

        Parameters
        ----------
        df : DataFrame with whole-number columns ``frequency`` (x),
            ``recency`` (t_x, 0 when x = 0) and ``periods`` (n), one row per
            customer or per group of identical customers.
        weights : name of a column counting identical customers (e.g.
            ``"weights"`` in the donations data), optional.
        """
        cols = ["frequency", "recency", "periods"]
        df = check_frame(df, cols, self.name)
        x, tx, n = (df[c].to_numpy(dtype=float) for c in cols)
        for c, v in zip(cols, (x, tx, n)):
            require(df, (v < 0) | (v != np.round(v)), c, f"{c} must be a whole number >= 0")
        require(df, n < 1, "periods", "periods must be >= 1")
        require(df, tx > n, "recency", "recency must not exceed periods")
        require(df, x > tx, "frequency", "frequency must not exceed recency (the last "
                "transaction opportunity)")
        require(df, (x == 0) & (tx != 0), "recency", "recency must be 0 when frequency is 0")
        data, w = compress({"x": x, "tx": tx, "n": n}, weights_of(df, weights))
        state = self._optimise(data, w, np.zeros(4), w.sum())
        return self._finish(state, data, w)

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, None]:
        ll = _log_lik(np.exp(theta), data["x"], data["tx"], data["n"])
        return -wsum(w, ll), None

    # ------------------------------------------------------------------ predictions
    def _args(self, *values):
        return np.broadcast_arrays(*(as_array(v) for v in values))

    def p_alive(self, frequency: Any, recency: Any, periods: Any) -> Any:
        """P(alive at opportunity n+1 | x, t_x, n) (FHS 2010, eq. 11)."""
        al, be, ga, de = p = self._p()
        x, tx, n = self._args(frequency, recency, periods)
        num = (special.betaln(al + x, be + n - x) - special.betaln(al, be)
               + special.betaln(ga, de + n + 1) - special.betaln(ga, de))
        return restore(np.exp(num - _log_lik(p, x, tx, n)), frequency, recency, periods)

    def expected_purchases_new(self, t: Any) -> Any:
        """E[X(n)]: expected transactions of a new customer in n opportunities (eq. 7)."""
        al, be, ga, de = self._p()
        n = as_array(t)
        ratio = np.exp(special.gammaln(ga + de) - special.gammaln(ga + de + n)
                       + special.gammaln(1 + de + n) - special.gammaln(1 + de))
        return restore(al / (al + be) * de / (ga - 1) * (1 - ratio), t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, periods: Any) -> Any:
        """E[X(n, n+t) | x, t_x, n]: expected transactions in the next t opportunities (eq. 13)."""
        al, be, ga, de = p = self._p()
        tt, x, tx, n = self._args(t, frequency, recency, periods)
        lead = (special.betaln(al + x + 1, be + n - x) - special.betaln(al, be)
                + special.gammaln(ga + de) - special.gammaln(1 + de) - _log_lik(p, x, tx, n))
        g1 = np.exp(special.gammaln(1 + de + n) - special.gammaln(ga + de + n))
        g2 = np.exp(special.gammaln(1 + de + n + tt) - special.gammaln(ga + de + n + tt))
        out = np.exp(lead) * de / (ga - 1) * (g1 - g2)
        return restore(out, frequency, recency, periods, t)

    def p_purchases(self, n: Any, t: Any) -> Any:
        """P(X(t) = n): probability of n transactions in t opportunities (eq. 8)."""
        al, be, ga, de = self._p()
        x, m = self._args(n, t)
        bab, bgd = special.betaln(al, be), special.betaln(ga, de)
        with np.errstate(invalid="ignore"):
            lc = special.gammaln(m + 1) - special.gammaln(x + 1) - special.gammaln(m - x + 1)
            first = np.exp(lc + special.betaln(al + x, be + m - x) - bab
                           + special.betaln(ga, de + m) - bgd)
        k = int(np.max(m)) if np.size(m) else 0
        i = np.arange(max(k, 1))
        xi, mi = x[..., None], m[..., None]
        with np.errstate(invalid="ignore"):
            lci = special.gammaln(i + 1) - special.gammaln(xi + 1) - special.gammaln(i - xi + 1)
            terms = (lci + special.betaln(al + xi, be + i - xi) - bab
                     + special.betaln(ga + 1, de + i) - bgd)
        terms = np.where((i >= xi) & (i <= mi - 1), terms, -np.inf)
        out = np.where(x <= m, first + np.exp(special.logsumexp(terms, axis=-1)), 0.0)
        return restore(out, n, t)
