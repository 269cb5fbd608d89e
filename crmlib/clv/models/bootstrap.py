"""Parametric bootstrap of a purchase model's parameters, for intervals when the
observed information cannot be trusted.

Wald intervals and log-normal parameter draws (``MLModel.sample_params``) rest on
a likelihood that is close to quadratic on the log scale. At the edge of
identification (a standard error above its estimate, an information matrix close
to singular) it is not, and draws from the normal approximation wander far out
on a flat ridge. The parametric bootstrap (Efron & Tibshirani 1993, "An
Introduction to the Bootstrap", ch. 6) does not use the curvature: data sets of
the same size and the same customer ages are simulated from the fitted model, the
model is refitted on each, and the refitted parameter vectors replace the draws.
Replicates whose fit fails are counted and left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import ConvergenceError
from .bgnbd import BGNBD, MBGNBD, simulate_bgnbd
from .limits import NBD, BGNBDCommonDropout, ParetoNBDCommonDropout
from .one_rate import PoissonCommonDropout, PoissonExponentialDropout
from .pareto_nbd import ParetoNBD, simulate_pareto_nbd

CONDITION_LIMIT = 1e8
"""An information matrix (log scale) with condition number above this counts as near singular."""

BIG = 1e9  # a, b or s, β standing in for infinity when simulating a limiting model


def unreliable(model) -> bool:
    """True when the model's Wald errors cannot be trusted: a standard error above its
    estimate, or an observed information (on the scale of estimation) near singular."""
    se, est = model.se_, model.params_
    if any(np.isfinite(se[k]) and se[k] > abs(est[k]) for k in est.index):
        return True
    cov = getattr(model, "_cov_log", None)
    if cov is None:
        return False
    ev = np.linalg.eigvalsh(cov)
    return bool(ev.min() <= 0 or ev.max() / ev.min() > CONDITION_LIMIT)


def simulate_like(model, T: np.ndarray, rng) -> pd.DataFrame:
    """(frequency, recency, T) for customers of ages ``T`` drawn from the fitted ``model``."""
    p, n = model.params_, len(T)
    if isinstance(model, BGNBD):  # BG/NBD and MBG/NBD
        return simulate_bgnbd(n, p["r"], p["alpha"], p["a"], p["b"], T, rng=rng,
                              modified=isinstance(model, MBGNBD))
    if isinstance(model, BGNBDCommonDropout):
        return simulate_bgnbd(n, p["r"], p["alpha"], BIG * p["p"], BIG * (1 - p["p"]), T,
                              rng=rng, modified=model.modified)
    if isinstance(model, PoissonCommonDropout):
        return simulate_bgnbd(n, BIG, BIG / p["lam"], BIG * p["p"], BIG * (1 - p["p"]), T,
                              rng=rng, modified=model.modified)
    if isinstance(model, PoissonExponentialDropout):
        return simulate_pareto_nbd(n, BIG, BIG / p["lam"], BIG, BIG / p["mu"], T, rng=rng)
    if isinstance(model, ParetoNBD):
        return simulate_pareto_nbd(n, p["r"], p["alpha"], p["s"], p["beta"], T, rng=rng)
    if isinstance(model, ParetoNBDCommonDropout):
        return simulate_pareto_nbd(n, p["r"], p["alpha"], BIG, BIG / p["mu"], T, rng=rng)
    if isinstance(model, NBD):
        return simulate_pareto_nbd(n, p["r"], p["alpha"], 1.0, 1e300, T, rng=rng)
    raise TypeError(f"no simulator for {type(model).__name__}")


def _refit(model, df: pd.DataFrame):
    limit = isinstance(model, (BGNBDCommonDropout, PoissonCommonDropout))
    new = type(model)(model.modified) if limit else type(model)()
    return new.fit(df)


def bootstrap_params(model, T, n_boot: int = 100, rng=0) -> tuple[pd.DataFrame, int]:
    """Parameter vectors of ``model`` refitted on ``n_boot`` data sets simulated from it
    with the customer ages ``T``; returns them (one row per replicate that converged,
    columns as ``params_``) and the number of replicates whose fit failed."""
    gen = np.random.default_rng(rng)
    T = np.asarray(T, dtype=float)
    rows, failed = [], 0
    for _ in range(int(n_boot)):
        try:
            rows.append(_refit(model, simulate_like(model, T, gen)).params_.to_numpy())
        except (ConvergenceError, ValueError):
            failed += 1
    return pd.DataFrame(rows, columns=list(model.param_names)), failed
