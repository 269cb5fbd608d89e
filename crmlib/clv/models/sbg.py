"""Shifted-beta-geometric (sBG) model of contract retention.

Fader & Hardie (2007), "How to project customer retention", Journal of
Interactive Marketing 21(1), 76-90; discounted expected residual lifetime from
Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the
perils of ignoring heterogeneity", Marketing Science 29(1), 85-93.

Each customer churns at the end of any period with probability θ ~ Beta(α, β),
so the duration T (the period in which she leaves, T = 1, 2, ...) follows::

    P(T = t) = B(α+1, β+t−1) / B(α, β)      S(t) = P(T > t) = B(α, β+t) / B(α, β)
    r(t) = S(t)/S(t−1) = (β+t−1) / (α+β+t−1)   (retention rises with tenure)

Data are either cohort survivor counts (n₀ customers at the start, n_t still
active after period t) or per-customer durations with right-censoring (a
customer still active after t periods contributes S(t)). Time unit: one
contract period (month, year) throughout.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from crmlib.io.errors import DataError, ParameterError

from .base import MLModel, as_array, compress, restore, wsum


class ShiftedBetaGeometric(MLModel):
    """sBG retention model (Fader & Hardie 2007). Parameters ``alpha``, ``beta``."""

    param_names = ("alpha", "beta")
    name = "sBG"

    def _has_gradient(self) -> bool:
        return False

    # ------------------------------------------------------------------ fitting
    def fit_survivors(self, survivors: Sequence[float]) -> ShiftedBetaGeometric:
        """Fit from a cohort's survivor counts ``[n₀, n₁, ..., n_k]``.

        ``n₀`` is the cohort size; ``n_t`` the number still active after period
        t (non-increasing whole numbers). Those lost in period t contribute
        ``ln P(T = t)``, the ``n_k`` still active ``ln S(k)``.
        """
        n = np.asarray(survivors, dtype=float)
        if n.ndim != 1 or len(n) < 2:
            raise DataError("need the cohort size and at least one later survivor count",
                            column="survivors", value=list(np.atleast_1d(n)))
        bad = np.flatnonzero(~np.isfinite(n) | (n < 0) | (n != np.round(n)))
        if len(bad):
            raise DataError(f"survivor counts must be whole numbers >= 0 (period {bad[0]})",
                            column="survivors", value=n[bad[0]])
        up = np.flatnonzero(np.diff(n) > 0)
        if len(up):
            raise DataError(f"survivor counts must not increase (period {up[0] + 1} has more "
                            "customers than the period before)", column="survivors",
                            value=n[up[0] + 1])
        t = np.arange(1, len(n))
        lost = n[:-1] - n[1:]
        durations = np.append(t, t[-1])
        censored = np.append(np.zeros(len(t), bool), True)
        return self._fit_arrays(durations.astype(float), censored, np.append(lost, n[-1]))

    def fit(self, durations: Any, censored: Any = None, weights: Any = None) -> ShiftedBetaGeometric:
        """Fit from per-customer durations.

        Parameters
        ----------
        durations : whole numbers >= 1. For a customer who left, the period in
            which she left (1 = did not renew after the first period); for one
            still active (``censored`` true), the number of periods completed.
        censored : booleans, true where the customer is still active
            (right-censored); default all false.
        weights : counts of identical customers, optional.
        """
        t = as_array(durations)
        c = np.zeros(len(t), bool) if censored is None else np.asarray(censored, dtype=bool)
        w = np.ones(len(t)) if weights is None else as_array(weights)
        if len(c) != len(t) or len(w) != len(t):
            raise DataError("durations, censored and weights must have the same length",
                            column="censored")
        for name, bad in (("durations", ~np.isfinite(t) | (t != np.round(t))
                           | (t < np.where(c, 0, 1))), ("weights", ~np.isfinite(w) | (w < 0))):
            pos = np.flatnonzero(bad)
            if len(pos):
                raise DataError(f"{name} must be whole numbers >= 1 (>= 0 if censored)"
                                if name == "durations" else "weights must be >= 0",
                                column=name, row=int(pos[0]) + 2, value=float(
                                    (t if name == "durations" else w)[pos[0]]), more=len(pos) - 1)
        return self._fit_arrays(t, c, w)

    def _fit_arrays(self, t: np.ndarray, c: np.ndarray, w: np.ndarray) -> ShiftedBetaGeometric:
        if not (~c & (w > 0)).any():
            raise DataError("no customer has left yet: retention cannot be estimated",
                            column="censored")
        data, w = compress({"t": t, "c": c.astype(float)}, w)
        state = self._optimise(data, w, np.zeros(2), w.sum())
        return self._finish(state, data, w)

    def _negll(self, theta: np.ndarray, data: dict, w: np.ndarray) -> tuple[float, None]:
        a, b = np.exp(theta)
        t, c = data["t"], data["c"] > 0
        ll = np.where(c, special.betaln(a, b + t), special.betaln(a + 1, b + t - 1))
        return -wsum(w, ll - special.betaln(a, b)), None

    # ------------------------------------------------------------------ predictions
    def survival(self, t: Any) -> Any:
        """S(t): share of a new cohort still active after t periods."""
        a, b = self._p()
        tt = as_array(t)
        return restore(np.exp(special.betaln(a, b + tt) - special.betaln(a, b)), t)

    def churn_probability(self, t: Any) -> Any:
        """P(T = t): share of a new cohort that leaves in period t (t >= 1)."""
        a, b = self._p()
        tt = as_array(t)
        return restore(np.exp(special.betaln(a + 1, b + tt - 1) - special.betaln(a, b)), t)

    def retention(self, t: Any) -> Any:
        """r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1): renewal rate in period t (t >= 1)."""
        a, b = self._p()
        tt = as_array(t)
        return restore((b + tt - 1) / (a + b + tt - 1), t)

    def projected_survivors(self, t: Any, cohort_size: float | None = None) -> Any:
        """n₀ · S(t); ``cohort_size`` defaults to the fitted cohort's size."""
        n0 = self.n_ if cohort_size is None else float(cohort_size)
        return restore(n0 * as_array(self.survival(t)), t)

    def expected_remaining_lifetime(self, renewals: Any = 0, discount_rate: float = 0.0) -> Any:
        """Discounted expected residual lifetime, DERL (Fader & Hardie 2010, eq. 6).

        For a customer who has made ``renewals`` renewals (so is in period
        n = renewals + 1) and is evaluated just before her next renewal
        decision: the expected number of future renewals, the k-th discounted
        by ``(1 + d)^−(k−1)``::

            DERL = B(α, β+n)/B(α, β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d))

        With ``discount_rate = 0`` this is the expected number of further
        periods, ``(β+n−1)/(α−1)``, infinite when α <= 1 (the heavy tail of
        loyal customers). ``discount_rate`` is per period. Multiply by the
        margin per period for the residual value of an existing customer.
        """
        a, b = self._p()
        if not np.isfinite(discount_rate) or discount_rate < 0:
            raise ParameterError("discount_rate", f"must be >= 0 per period, got {discount_rate!r}")
        n = as_array(renewals) + 1
        if discount_rate == 0:
            out = (b + n - 1) / (a - 1) if a > 1 else np.full_like(n, np.inf)
        else:
            lead = np.exp(special.betaln(a, b + n) - special.betaln(a, b + n - 1))
            out = lead * special.hyp2f1(1, b + n, a + b + n, 1 / (1 + discount_rate))
        return restore(out, renewals)

    def expected_lifetime(self, discount_rate: float = 0.0) -> float:
        """Discounted expected lifetime of a new customer, DEL (Fader & Hardie 2010, eq. 4).

        ``Σ_{t>=0} S(t)/(1+d)^t = ₂F₁(1, β; α+β; 1/(1+d))`` periods, counting the
        first (undiscounted) period; infinite without discounting when α <= 1.
        """
        a, b = self._p()
        if not np.isfinite(discount_rate) or discount_rate < 0:
            raise ParameterError("discount_rate", f"must be >= 0 per period, got {discount_rate!r}")
        if discount_rate == 0:
            return (a + b - 1) / (a - 1) if a > 1 else float("inf")
        return float(special.hyp2f1(1, b, a + b, 1 / (1 + discount_rate)))

    def projection(self, periods: Any, cohort_size: float | None = None) -> pd.DataFrame:
        """Table of survival, retention and projected survivors for ``periods``."""
        t = np.atleast_1d(as_array(periods))
        return pd.DataFrame({"period": t.astype(int), "survival": self.survival(t),
                             "retention": self.retention(t),
                             "survivors": self.projected_survivors(t, cohort_size)})
