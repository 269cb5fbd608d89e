"""Observed mean spend: the labelled fallback when the Gamma-Gamma model cannot be fitted.

When spend per purchase varies little between customers, the Gamma-Gamma
maximum lies at q, v → ∞ with v/q fixed, where every customer's expected spend
(v + x m̄) p / (p x + q − 1) tends to the population mean (Fader, Hardie & Lee
2005, JMR, eq. 3). That limit is estimated directly by the observed mean spend
per repeat purchase (a ratio estimator over customers, with its standard error),
and every customer is valued at it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .base import Z95, as_array, restore


class ObservedMeanSpend:
    """Spend model at the no-heterogeneity limit: one mean spend per purchase for everyone.

    ``fit`` takes ``frequency`` (> 0) and ``monetary_value`` of repeat customers;
    ``params_`` holds ``mean_spend``, ``se_`` its standard error (customers as
    clusters), and ``sample_params`` draws it log-normally for value intervals.
    """

    name = "observed mean spend (Gamma-Gamma not identified)"
    param_names = ("mean_spend",)
    limit = "no spend heterogeneity identified: every customer is valued at the observed mean spend"

    def fit(self, df: pd.DataFrame) -> ObservedMeanSpend:
        x = df["frequency"].to_numpy(float)
        m = df["monetary_value"].to_numpy(float)
        mean = float(np.sum(x * m) / x.sum())
        se = float(np.sqrt(np.sum((x * (m - mean)) ** 2)) / x.sum())
        self.n_ = len(x)
        self.params_ = pd.Series([mean], index=list(self.param_names), name="estimate")
        self.se_ = pd.Series([se], index=list(self.param_names), name="se")
        return self

    def summary(self) -> pd.DataFrame:
        """Estimate, standard error and a 95% interval (log scale, as for the other models)."""
        mean, se = float(self.params_.iloc[0]), float(self.se_.iloc[0])
        s = se / mean
        out = pd.DataFrame({"estimate": [mean], "se": [se], "ci_low": [mean * np.exp(-Z95 * s)],
                            "ci_high": [mean * np.exp(Z95 * s)]}, index=list(self.param_names))
        out.index.name = "parameter"
        return out

    def mean_spend(self) -> float:
        return float(self.params_.iloc[0])

    def conditional_expected_value(self, frequency: Any, monetary_value: Any) -> Any:
        """The observed mean spend for every customer."""
        x = np.broadcast_arrays(as_array(frequency), as_array(monetary_value))[0]
        return restore(np.full(x.shape, self.mean_spend()), frequency, monetary_value)

    def sample_params(self, n_draws: int, rng=None) -> pd.DataFrame:
        """Log-normal draws of the mean spend with its standard error."""
        rng = np.random.default_rng(rng)
        mean, se = self.mean_spend(), float(self.se_.iloc[0])
        s = se / mean
        draws = mean * np.exp(rng.normal(-s * s / 2, s, int(n_draws)))
        return pd.DataFrame({"mean_spend": draws})

    def with_params(self, params: Any) -> ObservedMeanSpend:
        new = ObservedMeanSpend()
        new.n_, new.se_ = self.n_, self.se_
        v = float(params["mean_spend"] if isinstance(params, (dict, pd.Series)) else params[0])
        new.params_ = pd.Series([v], index=list(self.param_names), name="estimate")
        return new

    def __repr__(self) -> str:
        return f"ObservedMeanSpend(mean_spend={self.mean_spend():.4g})" \
            if hasattr(self, "params_") else "ObservedMeanSpend()"
