"""BG/NBD with time-invariant covariates on the purchase and dropout processes.

Fader & Hardie (2007), "Incorporating time-invariant covariates into the
Pareto/NBD and BG/NBD models" (note). For customer i with covariates z_i::

    α_i = α₀ exp(−γ₁' z_i)      (purchase rate scale; a positive γ₁ means more purchases)
    a_i = a₀ exp(γ₂' z_i),  b_i = b₀ exp(γ₃' z_i)   (dropout; E[p] = a_i/(a_i+b_i))

and the BG/NBD likelihood (Fader, Hardie & Lee 2005) holds per customer with
(r, α_i, a_i, b_i). Covariates are taken as given (numeric, not centred), so
α₀, a₀, b₀ describe a customer with all covariates zero, the reference level
of categorical covariates, which are expanded to indicator columns (first
level dropped). The fit reports a likelihood-ratio test against the BG/NBD
without covariates (same customers), with as many degrees of freedom as
coefficients. Estimation: r, α₀, a₀, b₀ on the log scale, coefficients as
they are; analytic gradient; observed-information standard errors.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from crmlib.io.errors import DataError, ParameterError

from .base import MLModel, check_frame, check_rft, compress, weights_of, wsum
from .bgnbd import BGNBD


def design(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design columns for ``columns``: numbers as they are, categories as indicators."""
    parts = []
    for c in columns:
        if c not in df.columns:
            raise DataError(f"covariate column {c!r} not found; found {', '.join(map(str, df.columns))}",
                            column=c)
        col = df[c]
        if col.isna().any():
            pos = int(np.flatnonzero(col.isna().to_numpy())[0])
            raise DataError("covariate values must not be missing", column=c, row=pos + 2,
                            more=int(col.isna().sum()) - 1)
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            parts.append(col.astype(float).rename(c))
        else:
            levels = sorted(col.astype(str).unique())
            if len(levels) < 2:
                raise DataError("a categorical covariate needs at least two levels", column=c,
                                value=levels[0])
            for lv in levels[1:]:
                parts.append((col.astype(str) == lv).astype(float).rename(f"{c}={lv}"))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=df.index)


def _mv(Z: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Z @ g without BLAS (see base.wsum)."""
    return (Z * g).sum(axis=1)


def _row_ll_grad(r, al, a, b, x, tx, T):
    """Per-row BG/NBD log-likelihood and its derivatives in (r, α, a, b)."""
    has2 = x > 0
    bx = np.where(has2, b + x - 1, 1.0)
    lT, ltx = np.log(al + T), np.log(al + tx)
    l1 = -(r + x) * lT
    l2 = np.where(has2, np.log(a) - np.log(bx) - (r + x) * ltx, -np.inf)
    p2 = special.expit(l2 - l1)
    p1 = 1 - p2
    ll = (special.gammaln(r + x) - special.gammaln(r) + r * np.log(al)
          + special.betaln(a, b + x) - special.betaln(a, b) + np.logaddexp(l1, l2))
    dr = special.digamma(r + x) - special.digamma(r) + np.log(al) - (p1 * lT + p2 * ltx)
    dal = r / al - (r + x) * (p1 / (al + T) + p2 / (al + tx))
    dab = special.digamma(a + b) - special.digamma(a + b + x)
    da = dab + p2 / a
    db = dab + special.digamma(b + x) - special.digamma(b) - p2 / bx
    return ll, dr, dal, da, db


class BGNBDCovariates(MLModel):
    """BG/NBD with static covariates (Fader & Hardie 2007 note).

    Parameters ``r, alpha0, a0, b0`` and coefficients ``purchase:<z>`` (γ₁),
    ``dropout_a:<z>`` (γ₂) and ``dropout_b:<z>`` (γ₃). After ``fit``,
    ``lr_test_`` holds the likelihood-ratio test against the BG/NBD without
    covariates: ``{"statistic", "df", "p_value", "log_likelihood_without"}``.
    """

    name = "BG/NBD with covariates"

    def _log_mask(self) -> np.ndarray:
        return np.arange(len(self.param_names)) < 4

    def fit(self, df: pd.DataFrame, purchase_covariates: Sequence[str] = (),
            dropout_covariates: Sequence[str] = (), weights: str | None = None) -> BGNBDCovariates:
        """Fit by maximum likelihood.

        Parameters
        ----------
        df : DataFrame with ``frequency``, ``recency``, ``T`` and the covariate columns.
        purchase_covariates : columns acting on the purchase rate (through α).
        dropout_covariates : columns acting on the dropout probability (through a and b).
        weights : name of a column counting identical customers, optional.
        """
        if not purchase_covariates and not dropout_covariates:
            raise ParameterError("purchase_covariates", "name at least one covariate column "
                                 "(use BGNBD for the model without covariates)")
        check_rft(df, self.name, weights)  # validates the RFM columns, naming rows
        df = check_frame(df, ["frequency", "recency", "T"], self.name)
        z1, z2 = design(df, purchase_covariates), design(df, dropout_covariates)
        self.purchase_covariates_, self.dropout_covariates_ = list(z1.columns), list(z2.columns)
        self._covariate_columns = (list(purchase_covariates), list(dropout_covariates))
        self.param_names = (("r", "alpha0", "a0", "b0")
                            + tuple(f"purchase:{c}" for c in z1.columns)
                            + tuple(f"dropout_a:{c}" for c in z2.columns)
                            + tuple(f"dropout_b:{c}" for c in z2.columns))
        cols = {"x": df["frequency"].to_numpy(float), "tx": df["recency"].to_numpy(float),
                "T": df["T"].to_numpy(float)}
        cols |= {f"z1_{i}": z1.iloc[:, i].to_numpy(float) for i in range(z1.shape[1])}
        cols |= {f"z2_{i}": z2.iloc[:, i].to_numpy(float) for i in range(z2.shape[1])}
        data, w = compress(cols, weights_of(df, weights))
        data["Z1"] = np.column_stack([data[f"z1_{i}"] for i in range(z1.shape[1])] or
                                     [np.zeros((len(w), 0))])
        data["Z2"] = np.column_stack([data[f"z2_{i}"] for i in range(z2.shape[1])] or
                                     [np.zeros((len(w), 0))])
        base = BGNBD(maxiter=self.maxiter).fit(
            pd.DataFrame({"frequency": data["x"], "recency": data["tx"], "T": data["T"], "w": w}),
            weights="w")
        x0 = np.concatenate([np.log(base.params_.to_numpy()),
                             np.zeros(len(self.param_names) - 4)])
        state = self._optimise(data, w, x0, w.sum())
        self._finish(state, data, w)
        k = len(self.param_names) - 4
        stat = max(2 * (self.log_likelihood_ - base.log_likelihood_), 0.0)
        self.lr_test_ = {"statistic": stat, "df": k, "p_value": float(stats.chi2.sf(stat, k)),
                         "log_likelihood_without": base.log_likelihood_}
        return self

    def _split(self, theta: np.ndarray, k1: int, k2: int):
        lr, la, lA, lB = theta[:4]
        g1, g2, g3 = theta[4:4 + k1], theta[4 + k1:4 + k1 + k2], theta[4 + k1 + k2:]
        return np.exp([lr, la, lA, lB]), g1, g2, g3

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, np.ndarray]:
        Z1, Z2 = data["Z1"], data["Z2"]
        (r, al0, a0, b0), g1, g2, g3 = self._split(theta, Z1.shape[1], Z2.shape[1])
        al, a, b = al0 * np.exp(-_mv(Z1, g1)), a0 * np.exp(_mv(Z2, g2)), b0 * np.exp(_mv(Z2, g3))
        ll, dr, dal, da, db = _row_ll_grad(r, al, a, b, data["x"], data["tx"], data["T"])
        wal, wa, wb = w * al * dal, w * a * da, w * b * db
        grad = np.concatenate([[r * wsum(w, dr), wal.sum(), wa.sum(), wb.sum()],
                               -(Z1 * wal[:, None]).sum(0), (Z2 * wa[:, None]).sum(0),
                               (Z2 * wb[:, None]).sum(0)])
        return -wsum(w, ll), -grad

    # ------------------------------------------------------------------ predictions
    def customer_params(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per-customer (r, alpha, a, b) implied by the covariates in ``df``."""
        self._require_fitted()
        z1 = design(df, self._covariate_columns[0]).reindex(columns=self.purchase_covariates_,
                                                            fill_value=0.0)
        z2 = design(df, self._covariate_columns[1]).reindex(columns=self.dropout_covariates_,
                                                            fill_value=0.0)
        (r, al0, a0, b0), g1, g2, g3 = self._split(self._theta, z1.shape[1], z2.shape[1])
        return pd.DataFrame({"r": r, "alpha": al0 * np.exp(-z1.to_numpy() @ g1),
                             "a": a0 * np.exp(z2.to_numpy() @ g2),
                             "b": b0 * np.exp(z2.to_numpy() @ g3)}, index=df.index)

    def p_alive(self, df: pd.DataFrame) -> pd.Series:
        """P(alive at T) per customer of ``df`` (frequency, recency, T and covariates)."""
        p = self.customer_params(df)
        x, tx, T = (df[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        lo = np.where(x > 0, np.log(p.a) - np.log(np.where(x > 0, p.b + x - 1, 1.0))
                      + (p.r + x) * (np.log(p.alpha + T) - np.log(p.alpha + tx)), -np.inf)
        return pd.Series(special.expit(-lo), index=df.index, name="p_alive")

    def expected_purchases(self, t: float, df: pd.DataFrame) -> pd.Series:
        """E[Y(t) | x, t_x, T, z] per customer of ``df`` (FHL 2005 eq. 10 with α_i, a_i, b_i)."""
        p = self.customer_params(df)
        r, al, a, b = (p[c].to_numpy() for c in ("r", "alpha", "a", "b"))
        x, T = df["frequency"].to_numpy(float), df["T"].to_numpy(float)
        z = t / (al + T + t)
        c = a + b + x - 1
        tail = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        out = c / (a - 1) * (1 - tail) * self.p_alive(df).to_numpy()
        return pd.Series(out, index=df.index, name="expected_purchases")
