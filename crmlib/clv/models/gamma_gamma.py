"""Gamma-Gamma model of spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer
base analysis", Journal of Marketing Research 42(4), 415-430; the likelihood as
in Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note).

A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across
customers (γ is called ``v`` here, as in Lifetimes, to avoid a clash with
Python's gamma function). For a customer with x repeat transactions of mean
m̄ the likelihood is that of the mean of x gamma variables::

    ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m̄ + px ln x − (px+q) ln(γ + x m̄)

The model assumes spend is independent of the purchase process;
:meth:`GammaGamma.independence_check` reports the correlation between
frequency and mean spend among repeat customers, to be shown with the fit.
Fitting minimises the per-customer mean negative log-likelihood on log
parameters with an analytic gradient, which converges on samples of any size.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .base import (
    MLModel,
    as_array,
    check_frame,
    compress,
    require,
    restore,
    unique_index,
    weights_of,
    wsum,
)


class GammaGamma(MLModel):
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013).

    Parameters ``p`` (shape of spend per transaction), ``q`` and ``v`` (shape and
    scale of the gamma distribution of the transaction rate ν). Mean spend per
    transaction across customers is ``p v / (q − 1)``.
    """

    param_names = ("p", "q", "v")
    name = "Gamma-Gamma"
    _raw_keys = ("x", "m")

    def fit(self, df: pd.DataFrame, weights: str | None = None) -> GammaGamma:
        """Fit on repeat customers.

        Parameters
        ----------
        df : DataFrame with ``frequency`` (repeat transactions, > 0) and
            ``monetary_value`` (mean value of those transactions, > 0).
            Customers without repeat purchases carry no spend information for
            this model: filter ``frequency > 0`` first; any such row is
            rejected with a count.
        weights : name of a column counting identical customers, optional.
        """
        df = check_frame(df, ["frequency", "monetary_value"], self.name)
        x = df["frequency"].to_numpy(dtype=float)
        m = df["monetary_value"].to_numpy(dtype=float)
        require(df, x != np.round(x), "frequency", "frequency must be a whole number")
        require(df, x <= 0, "frequency", "Gamma-Gamma is fitted on repeat customers only "
                "(frequency > 0); filter them first")
        require(df, m <= 0, "monetary_value", "monetary_value must be > 0 for repeat customers")
        data, w = compress({"x": x, "m": m}, weights_of(df, weights))
        state = self._optimise(data, w, self._start(data, w), w.sum())
        return self._finish(state, data, w)

    def _prepare(self, data: dict, w: np.ndarray) -> None:
        data["xu"], data["x_i"] = unique_index(data, "x")
        data["lm"] = np.log(data["m"])

    @staticmethod
    def _start(data: dict, w: np.ndarray) -> np.ndarray:
        mean_m = float(np.average(data["m"], weights=w))
        p, q = 1.0, 3.0
        return np.log([p, q, mean_m * (q - 1) / p])

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(theta)
        xu, x, lm = data["xu"], data["x"], data["lm"]
        wx = np.bincount(data["x_i"], weights=w, minlength=len(xu))
        W = float(w.sum())
        pxu = p * xu
        A = special.gammaln(pxu + q) - special.gammaln(pxu) + pxu * np.log(xu)
        ll_x = wsum(wx, A) - W * special.gammaln(q) + W * q * np.log(v)
        lvx = np.log(v + x * data["m"])
        px = p * x
        ll = ll_x + wsum(w, (px - 1) * lm - (px + q) * lvx)
        psi_pq = special.digamma(pxu + q)
        gp = wsum(wx, xu * (psi_pq - special.digamma(pxu) + np.log(xu))) + wsum(w, x * (lm - lvx))
        gq = wsum(wx, psi_pq) - W * special.digamma(q) + W * np.log(v) - wsum(w, lvx)
        gv = W * q / v - wsum(w, (px + q) / (v + x * data["m"]))
        return -float(ll), -np.array([gp, gq, gv]) * np.array([p, q, v])

    # ------------------------------------------------------------------ predictions
    def conditional_expected_value(self, frequency: Any, monetary_value: Any) -> Any:
        """E[M | x, m̄]: expected spend per future transaction (FHL 2005, eq. 3).

        A weighted mean of the population mean ``p v / (q − 1)`` and the
        customer's own mean, ``(v + x m̄) p / (p x + q − 1)``; customers with
        ``frequency == 0`` get the population mean.
        """
        p, q, v = self._p()
        x, m = as_array(frequency), as_array(monetary_value)
        m = np.where(x > 0, m, 0.0)
        return restore((v + x * m) * p / (p * x + q - 1), frequency, monetary_value)

    def mean_spend(self) -> float:
        """Population mean spend per transaction, ``p v / (q − 1)`` (infinite if q <= 1)."""
        p, q, v = self._p()
        return p * v / (q - 1) if q > 1 else float("inf")

    @staticmethod
    def independence_check(frequency: Any, monetary_value: Any) -> dict:
        """Correlation between frequency and mean spend among repeat customers.

        The Gamma-Gamma model assumes spend is independent of the purchase
        process (FHL 2005 report a correlation of 0.11 on CDNOW). Returns
        ``{"corr", "p_value", "n", "method"}`` (Pearson, two-sided test of zero
        correlation); customers with ``frequency == 0`` are left out.
        """
        x, m = as_array(frequency), as_array(monetary_value)
        keep = (x > 0) & np.isfinite(m)
        n = int(keep.sum())
        if n < 3 or np.ptp(x[keep]) == 0 or np.ptp(m[keep]) == 0:
            return {"corr": float("nan"), "p_value": float("nan"), "n": n, "method": "pearson"}
        res = stats.pearsonr(x[keep], m[keep])
        return {"corr": float(res.statistic), "p_value": float(res.pvalue), "n": n,
                "method": "pearson"}
