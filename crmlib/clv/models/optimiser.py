"""The optimiser of the maximum-likelihood fits and the state it stops in.

Every model minimises f(θ), the negative log-likelihood per customer, over the
parameters θ on the scale of estimation (log scale for positive parameters).
L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, through scipy) brings θ close to the
optimum; Newton's method with the observed information then polishes it.

Convergence is judged by the Newton decrement (Boyd & Vandenberghe 2004,
*Convex Optimization*, §9.5.1): with g the gradient of f and H its Hessian (the
observed information per customer), the Newton step is Δ = H⁻¹g and
n·gᵀH⁻¹g/2 is, to second order, the log-likelihood still to be gained over n
customers. A fit has converged when that gain is below :data:`LL_TOL` and the
step below :data:`STEP_TOL` in every parameter, with H positive definite and
computed at the final point. Two fits of the same data (rows in another order,
compressed differently, from other start values) then agree to about 1e-9 in
log-likelihood and 1e-7 in the log parameters.

Models without an analytic gradient get five-point central differences (error
O(h⁴), about 1e-11 here; forward or three-point differences leave about 1e-8,
too coarse for that tolerance on a weakly identified parameter).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from statsmodels.tools.numdiff import approx_fprime, approx_hess3

LL_TOL = 1e-9
"""Largest log-likelihood still to gain (n·gᵀH⁻¹g/2) at a converged fit."""
STEP_TOL = 1e-7
"""Largest Newton step (scale of estimation) at a converged fit."""
PRECISION_TOL = 1e-5
"""Largest Newton step accepted when no step raises the likelihood any more (its value is
flat to rounding there): the gradient's own precision, not the optimiser, limits θ."""
LOG_BOUND = 23.0
"""|θ| above this (a parameter beyond 1e±10) means the data do not identify it."""
_FRESH = 1e-4  # information computed this close to θ counts as computed at θ
_STALE = 0.1   # a Newton step failing this far from where H was computed recomputes H

Objective = Callable[[np.ndarray], Any]
"""Mean negative log-likelihood: ``(value, gradient)`` when analytic, else the value."""


@dataclass(frozen=True)
class OptimiserState:
    """Where the optimiser stopped.

    Attributes
    ----------
    theta : parameters on the scale of estimation.
    value : negative log-likelihood per customer at ``theta``.
    gradient : gradient of ``value`` at ``theta``.
    information : Hessian of ``value`` at ``theta`` (observed information per
        customer), or None when it was not computed there.
    n : number of customers (sum of the weights).
    iterations : L-BFGS-B iterations plus Newton steps.
    converged : True when the convergence test of the module docstring passed.
    message : why the optimiser stopped, in words.
    flat : unit vectors (columns) of the flat ridge the fit stopped on, when it did.
    """

    theta: np.ndarray
    value: float
    gradient: np.ndarray
    information: np.ndarray | None
    n: float
    iterations: int
    converged: bool
    message: str
    flat: np.ndarray | None = None

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood at ``theta``."""
        return -self.value * self.n

    @property
    def on_ridge(self) -> bool:
        """True when the fit stopped on a flat ridge short of the maximum."""
        return self.flat is not None and self.flat.shape[1] > 0

    def newton_step(self) -> np.ndarray | None:
        """H⁻¹g, or None when the information is missing or not positive definite."""
        return None if self.information is None else _solve(self.information, self.gradient)

    def remaining_gain(self) -> float:
        """n·gᵀH⁻¹g/2: the log-likelihood still to be gained (NaN without a usable H)."""
        step = self.newton_step()
        return float("nan") if step is None else 0.5 * self.n * float(self.gradient @ step)


def evaluate(fun: Objective, theta: np.ndarray, analytic: bool) -> tuple[float, np.ndarray]:
    """Value and gradient of ``fun`` at ``theta`` (five-point differences when not analytic)."""
    if analytic:
        f, g = fun(theta)
        return float(f), np.asarray(g, dtype=float)
    return float(fun(theta)), five_point_gradient(fun, theta)


def value_of(fun: Objective, theta: np.ndarray, analytic: bool) -> float:
    """Value of ``fun`` at ``theta``."""
    out = fun(theta)
    return float(out[0] if analytic else out)


def five_point_gradient(fun: Callable, theta: np.ndarray, rel: float = 1e-3) -> np.ndarray:
    """Gradient by the five-point stencil [f(−2h) − 8f(−h) + 8f(h) − f(2h)] / 12h."""
    th = np.asarray(theta, dtype=float)
    g = np.empty(len(th))
    for j, h in enumerate(rel * np.maximum(np.abs(th), 1.0)):
        e = np.zeros(len(th))
        e[j] = h
        g[j] = (fun(th - 2 * e) - 8 * fun(th - e) + 8 * fun(th + e) - fun(th + 2 * e)) / (12 * h)
    return g


def information(fun: Objective, theta: np.ndarray, analytic: bool) -> np.ndarray:
    """Hessian of ``fun`` at ``theta``: central differences of the analytic gradient, or of
    the value (steps relative to max(|θ|, 1), well above the rounding noise of f)."""
    th = np.asarray(theta, dtype=float)
    if analytic:
        step = 6e-6 * np.maximum(np.abs(th), 1.0)
        jac = approx_fprime(th, lambda t: fun(t)[1], epsilon=step, centered=True)
        return 0.5 * (jac + jac.T)
    return approx_hess3(th, fun, epsilon=1e-4 * np.maximum(np.abs(th), 1.0))


def _solve(h: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """H⁻¹g through a Cholesky factor; None when H is not positive definite."""
    try:
        c = np.linalg.cholesky(0.5 * (h + h.T))
    except np.linalg.LinAlgError:
        return None
    step = np.linalg.solve(c.T, np.linalg.solve(c, g))
    return step if np.all(np.isfinite(step)) else None


def lbfgs(fun: Objective, x0: np.ndarray, analytic: bool, n: float, maxiter: int,
          gtol: float = 1e-8, ftol: float = 1e-13) -> OptimiserState:
    """L-BFGS-B within ±:data:`LOG_BOUND`; the state has no information matrix."""
    if not analytic:  # forward-difference gradients: L-BFGS-B cannot go below ~1e-7
        gtol, ftol = max(gtol, 1e-6), max(ftol, 1e-10)
    res = optimize.minimize(fun, x0, jac=True if analytic else "2-point", method="L-BFGS-B",
                            bounds=[(-LOG_BOUND, LOG_BOUND)] * len(x0),
                            options={"maxiter": maxiter, "ftol": ftol, "gtol": gtol, "maxcor": 20})
    grad = res.jac if analytic else np.full(len(x0), np.nan)
    return OptimiserState(np.asarray(res.x, dtype=float), float(res.fun), np.asarray(grad), None,
                          n, int(res.nit), False, f"L-BFGS-B: {res.message}")


def inside_bounds(theta: np.ndarray) -> bool:
    """True when ``theta`` is finite and clear of ±:data:`LOG_BOUND`."""
    return bool(np.all(np.isfinite(theta)) and np.all(np.abs(theta) < LOG_BOUND - 1e-3))


def newton(fun: Objective, theta: np.ndarray, analytic: bool, n: float,
           h0: np.ndarray | None = None, max_steps: int = 50, iterations: int = 0) -> OptimiserState:
    """Newton steps with the observed information until the fit has converged.

    ``h0`` (a subsample's information per customer at ``theta``) is used until
    a step fails or the point has moved by more than 0.1; a converged fit always
    has its information computed on the data at the final point. Steps are cut
    back until the value does not rise.

    On a flat ridge (see :func:`flat_directions`), where the information is not
    positive definite or more than :data:`RIDGE_STEPS` steps in a row walk along
    a flat direction, the maximum lies far away or at infinity: the steps are then
    taken in the other directions only, until those have converged, and the state
    reports the ridge (``converged`` False, ``flat`` its directions).
    """
    th = np.asarray(theta, dtype=float).copy()
    f, g = evaluate(fun, th, analytic)
    exact = h0 is None  # False while h is the subsample's
    h_at, h = th.copy(), (information(fun, th, analytic) if h0 is None else h0)
    flat, walked, last_pd = np.zeros((len(th), 0)), 0, None
    message, converged, k = f"no convergence in {max_steps} Newton steps", False, 0
    while k < max_steps:
        k += 1
        fresh = exact and float(np.max(np.abs(th - h_at))) <= _FRESH
        step, flat_here, walks = _step(h, g, n, ridge=walked > RIDGE_STEPS)
        if step is None:
            if not fresh:
                h_at, h, exact = th.copy(), information(fun, th, analytic), True
                continue
            message = "the observed information is not positive definite"
            break
        flat = flat_here
        if fresh and _solve(h, g) is not None:
            last_pd = (th, f, g, h)
        walked = walked + 1 if walks else (walked if flat.shape[1] else 0)
        if walked > RIDGE_STEPS and not flat.shape[1]:
            continue  # restrict the next step to the directions off the ridge
        gain = 0.5 * n * float(g @ step)
        if gain < LL_TOL and np.max(np.abs(step)) < STEP_TOL:
            if fresh:
                converged = flat.shape[1] == 0
                message = (f"converged: log-likelihood within {LL_TOL:g} of the maximum, "
                           f"parameters within {STEP_TOL:g}") if converged else RIDGE
                break
            h_at, h, exact = th.copy(), information(fun, th, analytic), True
            continue
        cand = _line_search(fun, th, step, f, analytic)
        if cand is None:
            if not fresh:
                h_at, h, exact = th.copy(), information(fun, th, analytic), True
                continue
            converged = not flat.shape[1] and gain < LL_TOL and np.max(np.abs(step)) < PRECISION_TOL
            message = RIDGE if flat.shape[1] else (
                "converged to the precision of the likelihood's evaluation: "
                f"log-likelihood within {LL_TOL:g} of the maximum" if converged else
                "no step along the Newton direction raises the likelihood (flat to the "
                f"precision of its evaluation); {gain:.2g} left to gain")
            break
        th, (f, g) = cand, evaluate(fun, cand, analytic)
        if np.max(np.abs(th - h_at)) > _STALE:
            h_at, h, exact = th.copy(), information(fun, th, analytic), True
    if not (exact and np.max(np.abs(th - h_at)) <= _FRESH):
        h = information(fun, th, analytic)
    if flat.shape[1] and last_pd is not None and _solve(h, g) is None:
        th, f, g, h = last_pd  # the last point on the ridge with a positive definite information
        flat = vecs_flat(h, n)
    return OptimiserState(th, f, g, h, n, iterations + k, converged, message, flat)


RIDGE_STEPS = 1
"""Consecutive Newton steps walking along a flat direction after which the fit is taken to
be on a ridge whose maximum lies far out or at infinity."""
RIDGE = ("stopped on a flat ridge of the likelihood: it still rises along a direction the "
         "data barely inform, so its maximum lies far out or at infinity")


def flat_directions(h: np.ndarray, n: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the information per customer ``h``, and a mask of
    the flat ones: information over all ``n`` customers below one, i.e. the
    log-likelihood changes by less than ½ over a unit step (a factor e) that way."""
    vals, vecs = np.linalg.eigh(0.5 * (h + h.T))
    return vals, vecs, n * vals < 1.0


def vecs_flat(h: np.ndarray, n: float) -> np.ndarray:
    """Unit vectors (columns) of the flat directions of ``h`` (see :func:`flat_directions`)."""
    _, vecs, is_flat = flat_directions(h, n)
    return vecs[:, is_flat]


def _step(h: np.ndarray, g: np.ndarray, n: float, ridge: bool) -> tuple[np.ndarray | None, np.ndarray, bool]:
    """The Newton step, the ridge directions it leaves out (none off a ridge), and whether
    it walks along a flat direction (more than 0.1 that way).

    Off a ridge this is H⁻¹g. On one (``ridge``, or flat directions of negative
    curvature) the step is restricted to the other directions. None at a saddle
    (curvature clearly negative: below −1 over all customers).
    """
    vals, vecs, is_flat = flat_directions(h, n)
    none = np.zeros((len(g), 0))
    if np.any(n * vals <= -1.0):
        return None, none, False
    coef = vecs.T @ g
    full = _solve(h, g) if np.all(vals > 0) else None
    if not ridge and full is not None:
        walks = bool(is_flat.any() and np.max(np.abs(vecs[:, is_flat].T @ full)) > _STALE)
        return full, none, walks
    keep = ~is_flat
    return vecs[:, keep] @ (coef[keep] / vals[keep]), vecs[:, is_flat], False


def _line_search(fun: Objective, th: np.ndarray, step: np.ndarray, f: float,
                 analytic: bool) -> np.ndarray | None:
    """First of θ − tΔ (t = 1, ½, ¼, 0.1, 0.01) whose value is not above ``f``."""
    for t in (1.0, 0.5, 0.25, 0.1, 0.01):
        cand = th - t * step
        fc = value_of(fun, cand, analytic)
        if np.isfinite(fc) and fc <= f:
            return cand
    return None
