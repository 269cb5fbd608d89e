"""What the data identify: the sentences the CLV report shows about the edges of the models.

* the limit a purchase model reached (:mod:`crmlib.clv.models.limits`), and for the
  no-dropout limit that value is an upper bound;
* parameters whose standard error exceeds the estimate (weak identification) and
  the parameter draws dropped from the value interval;
* a Gamma-Gamma q close to 1, where the model's mean spend p·v/(q−1) is unstable
  (Fader, Hardie & Lee 2005, JMR: the mean exists only for q > 1), with the
  observed mean beside it;
* a fit that stopped on a flat ridge of the likelihood short of its maximum
  (:mod:`crmlib.clv.models.optimiser`).
"""
from __future__ import annotations

import numpy as np

Q_UNSTABLE = 1.5
"""Gamma-Gamma q below this (or a 95% interval reaching 1) flags the mean spend as unstable."""

PURCHASE_PARAMS = ("r", "alpha")
"""Parameters of the purchase process (gamma-distributed rates)."""

RATE_PARAMS = ("lam",)
"""The one purchase rate of the one-rate limits; every other parameter describes dropout."""

UPPER_BOUND = ("customers show no sign of leaving within the window; value assumes they "
               "stay for the horizon: an upper bound")


def weak_parameters(model) -> list[str]:
    """Names of the parameters whose standard error exceeds the estimate."""
    se, est = model.se_, model.params_
    return [k for k in est.index if np.isfinite(se[k]) and se[k] > abs(est[k])]


def spend_unstable(spend) -> bool:
    """True when q is close to 1 (below :data:`Q_UNSTABLE` or its 95% interval reaches 1)."""
    q = float(spend.params_["q"])
    return q < Q_UNSTABLE or float(spend.summary().loc["q", "ci_low"]) <= 1.0


def ridge_parameters(model) -> list[str]:
    """Names of the parameters that move along the flat ridge a fit stopped on (may be empty)."""
    flat = model.optimiser_.flat
    if flat is None or not flat.shape[1]:
        return []
    weight = np.max(np.abs(flat), axis=1)
    return [p for p, v in zip(model.param_names, weight) if v >= 0.3]


def convergence_note(model) -> str:
    """A sentence when the fit of ``model`` did not converge to a maximum ('' when it did)."""
    if model.converged_:
        return ""
    names = ridge_parameters(model)
    if names:
        return (f"The {model.name} fit stopped on a flat ridge of the likelihood before "
                f"reaching a maximum: {', '.join(names)} can move together with almost no "
                "change in fit, so the data do not determine them; the estimates shown are "
                "one point on that ridge, and the maximum lies far out or at infinity "
                "(usually the limit of a simpler model).")
    return (f"The {model.name} fit did not meet the convergence test "
            f"({model.optimiser_.message}); its estimates are where the optimiser stopped.")


def notes(final_model, spend, value, observed_mean_spend: float | None = None) -> list[str]:
    """The report's sentences on identification, limits, convergence and unstable spend
    (may be empty)."""
    out = []
    ridge = convergence_note(final_model)
    if ridge:
        out.append(ridge)
    limit = getattr(final_model, "limit", "")
    if getattr(final_model, "upper_bound", False):
        out.append(f"Purchase model: {final_model.name}. The dropout process is not visible in "
                   f"the data: {UPPER_BOUND}.")
    elif limit:
        out.append(f"Purchase model: {final_model.name}, the limit {limit}; it fits as well as "
                   "the full model with fewer parameters, so the limit is used.")
    weak = weak_parameters(final_model)
    for names, what in (([k for k in weak if k in PURCHASE_PARAMS],
                         "how purchase rates vary between customers (at the limit r, α → ∞ "
                         "with r/α fixed, one purchase rate for everyone)"),
                        ([k for k in weak if k in RATE_PARAMS],
                         "how often customers buy"),
                        ([k for k in weak if k not in PURCHASE_PARAMS + RATE_PARAMS],
                         "how dropout varies between customers")):
        if names:
            out.append(f"The parameter(s) {', '.join(names)} of {final_model.name} are weakly "
                       f"identified (standard error above the estimate): the data say little "
                       f"about {what}, so the value interval is wide.")
    method = str(getattr(value, "interval_method", ""))
    if method.startswith("parametric bootstrap"):
        out.append(f"Value interval: {method}.")
    dropped = int(getattr(value, "n_draws_dropped", 0))
    if dropped:
        out.append(f"{dropped} of {dropped + len(value.draws_total)} parameter draws gave a "
                   "non-finite value and were dropped from the interval.")
    if getattr(spend, "limit", ""):
        obs = (f" ({spend.mean_spend():,.2f} per purchase, standard error "
               f"{float(spend.se_.iloc[0]):,.2f})")
        out.append(f"Spend: the Gamma-Gamma model could not be fitted; {spend.limit}{obs}.")
    elif spend is not None and spend_unstable(spend):
        q = float(spend.params_["q"])
        obs = (f"; observed mean spend per purchase {observed_mean_spend:,.2f}"
               if observed_mean_spend is not None else "")
        out.append(f"Gamma-Gamma q = {q:.3f} is close to 1: spend is heavy-tailed and the "
                   f"model's mean spend p·v/(q−1) = {spend.mean_spend():,.2f} is unstable{obs}.")
    return out


def observed_mean_spend(customers) -> float:
    """Mean spend per repeat purchase over repeat customers (weighted by their purchases)."""
    rep = customers[customers["frequency"] > 0]
    x = rep["frequency"].to_numpy(float)
    return float(np.sum(x * rep["monetary_value"].to_numpy(float)) / x.sum()) if len(rep) else \
        float("nan")
