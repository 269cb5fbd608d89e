"""Scale reliability per dimension: Cronbach's alpha, item statistics, McDonald's omega.

Alpha is the **raw** coefficient (Cronbach 1951) computed from the item
covariance matrix, as :func:`pingouin.cronbach_alpha` reports it, with the
F-distribution confidence interval of Feldt, Woodruff & Salih (1987) that
pingouin gives. (R ``plspm`` and some survey tools report the standardised
alpha computed from correlations instead; the two differ when item variances
differ.) Respondents missing any item of a dimension are left out of that
dimension's statistics (listwise), so alpha, item statistics and omega use
the same respondents.

Omega total (McDonald 1999) comes from a one-factor maximum-likelihood factor
model (:class:`statsmodels.multivariate.factor.Factor`) on the item
correlations; loadings are put back on the item scale, so omega is the
reliability of the unweighted item sum:

    omega = (sum_i lambda_i)^2 / ((sum_i lambda_i)^2 + sum_i psi_i).

It needs at least three items (a one-factor model on two items is not
identified); its interval is a percentile bootstrap over respondents.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
from statsmodels.multivariate.factor import Factor

from .prepare import Survey


def cronbach_alpha(data: pd.DataFrame, ci: float = 0.95) -> tuple[float, float, float]:
    """Raw Cronbach's alpha of the columns of ``data`` with its Feldt interval (pingouin).

    Returns ``(alpha, ci_low, ci_high)``; NaNs when fewer than two items or
    respondents remain.
    """
    data = data.dropna()
    if data.shape[1] < 2 or len(data) < 3 or (data.var() == 0).all():
        return (np.nan, np.nan, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alpha, (lo, hi) = pg.cronbach_alpha(data=data, ci=ci, nan_policy="listwise")
    return float(alpha), float(lo), float(hi)


def omega_total(data: pd.DataFrame) -> float:
    """McDonald's omega total from a one-factor ML model (NaN below three items).

    Reference: McDonald, R. P. (1999), *Test theory: a unified treatment*, ch. 6.
    """
    data = data.dropna()
    if data.shape[1] < 3 or len(data) <= data.shape[1]:
        return np.nan
    sd = data.std(ddof=1).to_numpy()
    if (sd == 0).any():
        return np.nan
    corr = np.corrcoef(data.to_numpy(), rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = Factor(corr=corr, n_factor=1, method="ml", nobs=len(data)).fit()
        except (np.linalg.LinAlgError, ValueError):
            return np.nan
    lam = np.abs(np.asarray(res.loadings)[:, 0]) * sd
    psi = np.asarray(res.uniqueness) * sd ** 2
    return float(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()))


def _omega_ci(data: pd.DataFrame, n_boot: int, ci: float, rng) -> tuple[float, float]:
    if n_boot <= 0 or data.shape[1] < 3:
        return (np.nan, np.nan)
    x = data.dropna().to_numpy()
    vals = [omega_total(pd.DataFrame(x[rng.integers(0, len(x), len(x))]))
            for _ in range(n_boot)]
    vals = np.asarray(vals)[np.isfinite(vals)]
    if len(vals) < n_boot / 2:
        return (np.nan, np.nan)
    a = (1 - ci) / 2
    return tuple(float(v) for v in np.quantile(vals, [a, 1 - a]))


def item_statistics(data: pd.DataFrame) -> pd.DataFrame:
    """Per item: mean, sd, corrected item-total correlation, alpha if the item is deleted."""
    data = data.dropna()
    rows = []
    for col in data.columns:
        rest = data.drop(columns=col)
        total = rest.sum(axis=1)
        r = (np.corrcoef(data[col], total)[0, 1]
             if data[col].std() > 0 and total.std() > 0 else np.nan)
        rows.append({"item": col, "mean": data[col].mean(), "sd": data[col].std(),
                     "item_total_r": r,
                     "alpha_if_deleted": cronbach_alpha(rest)[0] if rest.shape[1] >= 2 else np.nan})
    return pd.DataFrame(rows)


def reliability_table(survey: Survey, which: str = "perceptions", ci: float = 0.95,
                      n_boot: int = 200, random_state: int | None = 0) -> pd.DataFrame:
    """Alpha (with interval) and omega (bootstrap interval) per dimension.

    Parameters
    ----------
    survey : a prepared :class:`~crmlib.satisfaction.prepare.Survey`.
    which : ``"perceptions"`` or ``"expectations"``.
    ci : interval level.
    n_boot : bootstrap resamples for omega's interval (0 = no interval).

    Returns one row per dimension: ``dimension, n_items, n, alpha, alpha_ci_low,
    alpha_ci_high, omega, omega_ci_low, omega_ci_high, note``.
    """
    rng = np.random.default_rng(random_state)
    frame = getattr(survey, which)
    rows = []
    for dim, its in survey.dimensions.items():
        use = [i for i in its if i not in survey.constant_items]
        data = frame[use].dropna()
        note = ""
        if len(its) == 1:
            note = "one item: alpha and omega undefined"
        elif len(use) < 2:
            note = "fewer than two items with variance: alpha undefined"
        elif len(use) == 2:
            note = "two items: omega undefined (one-factor model not identified)"
        if len(use) < len(its):
            note = "; ".join(filter(None, [note, f"constant item(s) left out: "
                                                f"{sorted(set(its) - set(use))}"]))
        a, lo, hi = cronbach_alpha(data, ci)
        om = omega_total(data)
        olo, ohi = _omega_ci(data, n_boot, ci, rng) if np.isfinite(om) else (np.nan, np.nan)
        rows.append({"dimension": dim, "n_items": len(use), "n": len(data), "alpha": a,
                     "alpha_ci_low": lo, "alpha_ci_high": hi, "omega": om,
                     "omega_ci_low": olo, "omega_ci_high": ohi, "note": note})
    return pd.DataFrame(rows)


def item_reliability(survey: Survey, which: str = "perceptions") -> pd.DataFrame:
    """Item statistics (corrected item-total r, alpha if deleted) for every dimension."""
    frame = getattr(survey, which)
    out = []
    for dim, its in survey.dimensions.items():
        use = [i for i in its if i not in survey.constant_items]
        if len(use) < 2:
            continue
        t = item_statistics(frame[use])
        t.insert(0, "dimension", dim)
        out.append(t)
    cols = ["dimension", "item", "mean", "sd", "item_total_r", "alpha_if_deleted"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)
