"""The model the data identify: a full Buy-Till-You-Die model or the limit its fit reached.

The limits are models in their own right (:mod:`~crmlib.clv.models.limits`,
:mod:`~crmlib.clv.models.one_rate`); each is fitted beside the full model and the
simplest that fits as well is kept.
"""
from __future__ import annotations

import pandas as pd

from .limits import NBD, BGNBDCommonDropout, ParetoNBDCommonDropout
from .one_rate import PoissonCommonDropout, PoissonExponentialDropout
from .registry import MODELS


def limits_of(name: str) -> list:
    """Unfitted limiting models of the model named ``name`` (a key of ``MODELS``)."""
    if name == "pnbd":
        return [NBD(), ParetoNBDCommonDropout(), PoissonExponentialDropout()]
    modified = {"bgnbd": False, "mbgnbd": True}[name]
    return [NBD(), BGNBDCommonDropout(modified), PoissonCommonDropout(modified)]


LIMIT_TOL = 1e-3
"""A limiting model is kept when its log-likelihood is within this of the full model's."""


def fit_identified(name: str, df: pd.DataFrame, weights: str | None = None,
                   tol: float = LIMIT_TOL):
    """Fit the model ``name`` (a key of ``MODELS``) or the limit the data reached.

    The full model and its limits (:func:`limits_of`) are fitted; the model with
    the fewest parameters whose log-likelihood is within ``tol`` of the best is
    returned. A full model whose optimum lies at infinity (an optimiser stopped
    on a flat ridge, or ``ConvergenceError``) thus gives way to the limit it was
    heading for, whose optimum is a proper one. The returned model's ``limit``
    says which limit (empty for the full model); ``ridge_`` is set when the full
    model converged to a finite point that its limit matches (a flat ridge).

    Raises the full model's :class:`ConvergenceError` (or ``DataError``) when no
    candidate can be fitted.
    """
    fitted, errors = [], []
    for est in [MODELS[name](), *limits_of(name)]:
        try:
            fitted.append(est.fit(df, weights=weights))
        except (RuntimeError, ValueError) as exc:  # ConvergenceError, DataError
            errors.append(exc)
    if not fitted:
        raise errors[0]
    best = max(m.log_likelihood_ for m in fitted)
    chosen = min((m for m in fitted if m.log_likelihood_ >= best - tol),
                 key=lambda m: len(m.param_names))
    full = next((m for m in fitted if not getattr(m, "limit", "")), None)
    chosen.ridge_ = bool(full is not None and chosen is not full)
    chosen.full_model_note_ = ("" if full is not None else f"full model not fitted: {errors[0]}")
    return chosen
