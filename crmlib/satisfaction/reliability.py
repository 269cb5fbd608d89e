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
reliability of the unweighted item sum (the bootstrap's refits are batched by
:mod:`crmlib.satisfaction.one_factor`, which reaches statsmodels' maxima):

    omega = (sum_i lambda_i)^2 / ((sum_i lambda_i)^2 + sum_i psi_i).

It needs at least three items (a one-factor model on two items is not
identified); its interval is a percentile bootstrap over respondents, reported
only when it contains the estimate (otherwise NaN, with the reason in ``note``).
Loadings keep their sign (the factor is flipped as a whole when the loadings sum
to a negative number); an item that still loads negatively is named in ``note``
and in a :class:`NegativeLoadingWarning`: most likely a reverse-keyed item whose
``reverse`` flag is missing in the item catalogue.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.multivariate.factor import Factor

from .bootstrap import percentile_interval
from .one_factor import correlations, fit_one_factor
from .prepare import Survey


def cronbach_alpha(data: pd.DataFrame, ci: float = 0.95) -> tuple[float, float, float]:
    """Raw Cronbach's alpha of the columns of ``data`` with its Feldt interval (pingouin).

    Returns ``(alpha, ci_low, ci_high)``; NaNs when fewer than two items or
    respondents remain.
    """
    import pingouin as pg  # deferred: pingouin imports its plotting stack
    data = data.dropna()
    if data.shape[1] < 2 or len(data) < 3 or (data.var() == 0).all():
        return (np.nan, np.nan, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alpha, (lo, hi) = pg.cronbach_alpha(data=data, ci=ci, nan_policy="listwise")
    return float(alpha), float(lo), float(hi)


class NegativeLoadingWarning(UserWarning):
    """An item loads negatively on its dimension's factor (a reverse-keyed item not reversed?)."""


def _one_factor(data: pd.DataFrame) -> tuple[float, pd.Series]:
    """Omega total and signed loadings (item scale) of a one-factor ML model; NaNs if undefined."""
    data = data.dropna()
    nan = (np.nan, pd.Series(np.nan, index=data.columns, dtype=float))
    if data.shape[1] < 3 or len(data) <= data.shape[1]:
        return nan
    sd = data.std(ddof=1).to_numpy()
    if (sd == 0).any():
        return nan
    corr = np.corrcoef(data.to_numpy(), rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = Factor(corr=corr, n_factor=1, method="ml", nobs=len(data)).fit(
                start=_start(corr))
        except (np.linalg.LinAlgError, ValueError):
            return nan
    lam = np.asarray(res.loadings)[:, 0] * sd
    if lam.sum() < 0:  # the factor's sign is arbitrary: orient it with the items
        lam = -lam
    psi = np.asarray(res.uniqueness) * sd ** 2
    omega = float(lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum()))
    return omega, pd.Series(lam, index=data.columns, dtype=float)


def _start(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starting loadings and uniquenesses from the first principal component of ``corr``:
    fixed, so that a fit is reproducible (statsmodels ≥ 0.15 draws random starts)."""
    values, vectors = np.linalg.eigh(corr)
    load = vectors[:, -1] * np.sqrt(max(values[-1], 1e-6))
    load = load if load.sum() >= 0 else -load
    return load[:, None], np.clip(1 - load ** 2, 0.05, 0.95)


def negative_loading_items(data: pd.DataFrame) -> list:
    """Items whose one-factor loading is negative once the factor is oriented with the items."""
    _, lam = _one_factor(data)
    return lam.index[lam < 0].tolist()


def omega_total(data: pd.DataFrame) -> float:
    """McDonald's omega total of the unweighted item sum (NaN below three items).

    Loadings keep their sign: the whole factor is flipped only when the loadings
    sum to a negative number (a factor's sign is arbitrary), never item by item.
    An item that still loads negatively lowers omega, as it lowers the reliability
    of the sum, and raises a :class:`NegativeLoadingWarning` naming it: the item is
    most likely reverse-keyed and missing its ``reverse`` flag.

    Reference: McDonald, R. P. (1999), *Test theory: a unified treatment*, ch. 6.
    """
    omega, lam = _one_factor(data)
    negative = lam.index[lam < 0].tolist()
    if negative:
        warnings.warn(f"item(s) {negative} load negatively on their dimension's factor: "
                      "reverse-keyed items not flagged `reverse`? Omega and alpha are low "
                      "because the sum mixes opposite directions.", NegativeLoadingWarning,
                      stacklevel=2)
    return omega


def _omega_ci(data: pd.DataFrame, omega: float, n_boot: int, ci: float,
              rng) -> tuple[float, float, str]:
    if n_boot <= 0 or data.shape[1] < 3:
        return (np.nan, np.nan, "")
    x = data.dropna().to_numpy(dtype=float)
    draws = np.array([rng.integers(0, len(x), len(x)) for _ in range(n_boot)])
    vals = _resampled_omegas(x, draws)
    if np.isfinite(vals).sum() < n_boot / 2:
        return (np.nan, np.nan, "omega: fewer than half the bootstrap resamples could be fitted")
    lo, hi, why = percentile_interval(omega, vals, ci)
    return lo, hi, f"omega: {why}" if why else ""


BATCH_CELLS = 4_000_000  # resampled values held at once


def _resampled_omegas(x: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Omega of each resample ``x[draws[b]]``: fitted in batches
    (:func:`crmlib.satisfaction.one_factor.fit_one_factor`), a resample whose batch fit
    is not a clear interior maximum refitted alone with statsmodels."""
    out = np.full(len(draws), np.nan)
    step = max(1, BATCH_CELLS // max(x.size, 1))
    if len(x) <= x.shape[1]:
        return out
    for start in range(0, len(draws), step):
        rows = draws[start:start + step]
        corr, sd = correlations(x[rows])
        lam, psi, ok = fit_one_factor(corr)
        lam, psi = lam * sd, psi * sd ** 2
        total = lam.sum(axis=1) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + step] = np.where(ok, total / (total + psi.sum(axis=1)), np.nan)
        for j in np.flatnonzero(~ok):
            out[start + j] = _one_factor(pd.DataFrame(x[rows[j]]))[0]
    return out


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
        om, lam = _one_factor(data)
        negative = lam.index[lam < 0].tolist()
        flipped = (f"negative loading: {negative} (reverse-keyed, `reverse` flag missing?)"
                   if negative else "")
        olo, ohi, why = (_omega_ci(data, om, n_boot, ci, rng) if np.isfinite(om)
                         else (np.nan, np.nan, ""))
        note = "; ".join(filter(None, [note, flipped, why]))
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
