"""Customer lifetime value: discounted expected margin over a horizon, with intervals.

For customer i with calibration summary (x, t_x, T), a purchase model gives the
expected cumulative number of purchases E[Y_i(t)] in (T, T + t]
(Fader, Hardie & Lee 2005, eq. 10) and a Gamma-Gamma model the expected spend
per purchase E[Z_i | x, z̄] (Fader, Hardie & Lee 2005, JMR, eq. 5). Value is
counted month by month and discounted at the end of each month:

    CLV_i = margin · E[Z_i] · Σ_{m=1..H} (E[Y_i(t_m)] − E[Y_i(t_{m−1})]) / (1 + d)^m

with t_m = m months expressed in the model's time unit (1 month = 30.4375 days)
and the monthly discrete rate d = (1 + annual rate)^(1/12) − 1, so that twelve
monthly discounts equal the stated annual rate (Fader, Hardie & Lee 2005,
"RFM and CLV", use a continuous-time discount; we keep the discrete monthly
convention finance teams use and show the converted rate).

Intervals: parameter vectors of both models are drawn from their estimated
sampling distributions (``sample_params``), CLV is recomputed per draw, and
the 5th and 95th percentiles give the 90% interval of each customer's CLV and of
the total (in the draws E[Y(t)] is evaluated quarterly and interpolated monthly
by monotone cubic PCHIP, Fritsch & Butland 1984: :mod:`crmlib.clv.pchip`). A draw
whose value is not finite anywhere (parameters far out on a weakly identified ridge) is
dropped and counted (``CLVResult.n_draws_dropped``); the percentiles use the others. When
the purchase model's standard errors are unreliable the purchase parameters come
from a parametric bootstrap instead (:mod:`crmlib.clv.models.bootstrap`;
``CLVResult.interval_method`` says which). They express estimation uncertainty in the model parameters, not
the purchase-to-purchase randomness of a single customer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import pchip
from .summary_core import UNIT_DAYS, UNIT_NAMES

DRAW_STEP = 3
"""In the parameter draws E[Y(t)] is computed every 3 months and interpolated (PCHIP)
in between; the point estimate uses every month. Tested to agree within 1e-4."""


WALD = "Wald: log-normal parameter draws"
BOOTSTRAP = ("parametric bootstrap: purchase model refitted on {n} simulated data sets "
             "({failed} failed), used because its standard errors are unreliable")


def monthly_rate(annual_rate: float) -> float:
    """Monthly discrete discount rate equivalent to ``annual_rate``: (1 + a)^(1/12) − 1."""
    if not 0 <= annual_rate < 10:
        raise ValueError(f"annual discount rate must be in [0, 10), got {annual_rate!r}")
    return (1 + annual_rate) ** (1 / 12) - 1


@dataclass
class CLVResult:
    """Per-customer and total CLV with intervals, and the assumptions used."""

    customers: pd.DataFrame
    total: float
    total_ci: tuple[float, float]
    draws_total: np.ndarray
    margin: float
    annual_rate: float
    monthly_rate: float
    horizon_months: int
    time_unit: str
    level: float
    n_draws_dropped: int = 0
    interval_method: str = "Wald: log-normal parameter draws"

    def assumptions(self) -> pd.DataFrame:
        """The value assumptions as a table (for the report)."""
        h = self.horizon_months * UNIT_DAYS["M"] / UNIT_DAYS[self.time_unit]
        rows = [("margin", f"{self.margin:.1%}", "share of spend kept as margin"),
                ("annual discount rate", f"{self.annual_rate:.2%}", "parameter"),
                ("monthly discount rate", f"{self.monthly_rate:.4%}",
                 "(1 + annual)^(1/12) − 1, applied at the end of each month"),
                ("horizon", f"{self.horizon_months} months",
                 f"= {h:.1f} {UNIT_NAMES[self.time_unit]} (1 month = 30.4375 days)"),
                ("interval", f"{self.level:.0%}",
                 f"percentiles over {len(self.draws_total)} parameter draws"
                 + ("" if self.interval_method == WALD else f" ({self.interval_method})")
                 + (f" ({self.n_draws_dropped} draws with a non-finite value dropped)"
                    if self.n_draws_dropped else ""))]
        return pd.DataFrame(rows, columns=["assumption", "value", "note"])


def spend_count(customers: pd.DataFrame) -> str:
    """Column counting the repeat days behind ``monetary_value``: ``frequency_spend`` (days
    with a positive spend; $0 purchase days are left out of the spend model) if present."""
    return "frequency_spend" if "frequency_spend" in customers.columns else "frequency"


def _unique_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    cols = ["frequency", "recency", "T", "monetary_value"]
    cols += ["frequency_spend"] if "frequency_spend" in df.columns else []
    codes = df.groupby(cols, sort=False).ngroup().to_numpy()
    return df[cols].drop_duplicates().reset_index(drop=True), codes


@dataclass
class _Rows:
    """The columns of the unique rows as arrays, read once for every parameter draw:
    ``x, tx, T`` as column vectors, the distinct (x, T) pairs and each row's pair, and the
    spend model's inputs."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    pairs: np.ndarray
    pair_of_row: np.ndarray
    x_spend: np.ndarray
    monetary: np.ndarray

    @classmethod
    def of(cls, u: pd.DataFrame) -> _Rows:
        x, tx, T = (u[c].to_numpy(dtype=float)[:, None] for c in ("frequency", "recency", "T"))
        pairs, pair_of_row = np.unique(x[:, 0] + 1j * T[:, 0], return_inverse=True)
        return cls(x, tx, T, pairs, pair_of_row.ravel(), u[spend_count(u)].to_numpy(dtype=float),
                   u["monetary_value"].to_numpy(dtype=float))


def _expected_purchases(model, t: np.ndarray, rows: _Rows) -> np.ndarray:
    """``model.expected_purchases`` of the rows at the times ``t`` (a row).

    Where the model factors it as P(alive | x, t_x, T) · E[Y(t) | alive, x, T], the second
    factor, the costly one, is computed once per distinct (x, T) — customers of one
    cohort with the same number of repeat purchases — instead of once per customer; the
    product is the same number."""
    if not hasattr(model, "expected_purchases_if_alive"):
        return np.asarray(model.expected_purchases(t, rows.x, rows.tx, rows.T), dtype=float)
    alive = np.asarray(model.expected_purchases_if_alive(t, rows.pairs.real[:, None],
                                                         rows.pairs.imag[:, None]), dtype=float)
    return alive[rows.pair_of_row] * np.asarray(model.p_alive(rows.x, rows.tx, rows.T),
                                                dtype=float)


def _knots(grid: np.ndarray, step: int) -> np.ndarray:
    """Indices of the grid points where E[Y(t)] is computed: all, or with ``step`` > 1
    every ``step`` months and the last."""
    at = np.arange(len(grid))
    if step > 1 and len(grid) > 2 * step:
        at = np.unique(np.r_[at[step - 1::step], at[-1]])
    return at


def _cumulative(model, rows: _Rows, grid: np.ndarray, at: np.ndarray) -> np.ndarray:
    """E[Y(t)] at 0 and at the grid points ``at`` (rows × (1 + len(at)))."""
    cum = _expected_purchases(model, grid[at][None, :], rows)
    return np.concatenate([np.zeros((len(rows.x), 1)),
                           np.broadcast_to(cum, (len(rows.x), len(at)))], 1)


def _discounting(grid: np.ndarray, at: np.ndarray, disc: np.ndarray):
    """The discounted monthly increments Σ_m disc_m (E[Y(t_m)] − E[Y(t_{m−1})]) as a
    function of E[Y] at 0 and the grid points ``at`` (:func:`_cumulative`): summed directly
    when every month is a knot, else taken from the monotone cubic (PCHIP) interpolant
    through the knots, which is smooth in t (:mod:`crmlib.clv.pchip`)."""
    if len(at) == len(grid):
        return lambda cum: np.diff(cum, axis=1) @ disc
    knots = np.r_[0.0, grid[at]]
    w = np.zeros(len(grid) + 1)
    w[1:] += disc
    w[:-1] -= disc
    a, b = pchip.hermite_form(knots, np.r_[0.0, grid], w)

    def discounted(cum: np.ndarray) -> np.ndarray:
        y = np.ascontiguousarray(cum.T)  # knots × rows: each knot's values contiguous
        return a @ y + b @ pchip.slopes(knots, y)
    return discounted


def _spend(spend_model, rows: _Rows) -> np.ndarray:
    return np.asarray(spend_model.conditional_expected_value(rows.x_spend, rows.monetary),
                      dtype=float)


def clv_rows(model, spend_model, u: pd.DataFrame, grid: np.ndarray, disc: np.ndarray,
             margin: float, step: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CLV, expected purchases over the horizon and expected spend for unique rows."""
    rows, at = _Rows.of(u), _knots(grid, step)
    cum = _cumulative(model, rows, grid, at)
    spend = _spend(spend_model, rows)
    return margin * spend * _discounting(grid, at, disc)(cum), cum[:, -1], spend


def draw_values(model, spend_model, u, grid, disc, margin, n_draws, rng, keep=None,
                purchase_draws=None):
    """CLV of the rows ``u`` per parameter draw (None for a draw skipped or not finite).
    ``purchase_draws`` (e.g. bootstrap replicates) replace the purchase model's draws.
    The rows' columns are read once for all draws."""
    gen = np.random.default_rng(rng)
    pm, ps = model.sample_params(n_draws, gen), spend_model.sample_params(n_draws, gen)
    if purchase_draws is not None:
        pm = purchase_draws
    rows, at = _Rows.of(u), _knots(grid, DRAW_STEP)
    discounted = _discounting(grid, at, disc)
    for k in range(n_draws):
        if keep is not None and not keep[k]:
            yield None
            continue
        with np.errstate(all="ignore"):
            try:
                cum = _cumulative(model.with_params(pm.iloc[k]), rows, grid, at)
                v = margin * _spend(spend_model.with_params(ps.iloc[k]), rows) * discounted(cum)
            except ValueError:  # a draw at 0 is inadmissible
                v = None
        yield v if v is not None and np.all(np.isfinite(v)) else None


def value_draws(model, spend_model, u: pd.DataFrame, grid: np.ndarray, disc: np.ndarray,
                margin: float, n_draws: int, rng, keep: np.ndarray | None = None,
                purchase_draws: pd.DataFrame | None = None) -> tuple[np.ndarray, int]:
    """CLV of the unique rows ``u`` under ``n_draws`` parameter draws of both models.

    Returns the values (rows × kept draws) and the number of draws dropped because
    a value was not finite. ``keep`` (a boolean per draw, from :func:`finite_draws` on
    every customer) drops draws decided elsewhere, so that batches of customers scored
    apart (the Spark engine) keep the same draws as one pass over all of them.
    """
    kept = [v for v in draw_values(model, spend_model, u, grid, disc, margin, n_draws, rng,
                                    keep, purchase_draws) if v is not None]
    values = np.column_stack(kept) if kept else np.empty((len(u), 0))
    return values, n_draws - len(kept)


def finite_draws(model, spend_model, u: pd.DataFrame, grid: np.ndarray, disc: np.ndarray,
                 margin: float, n_draws: int, rng) -> np.ndarray:
    """Boolean per draw: True where the CLV of every row of ``u`` is finite (the draws
    :func:`value_draws` keeps)."""
    return np.array([v is not None for v in draw_values(model, spend_model, u, grid, disc,
                                                         margin, n_draws, rng)], dtype=bool)


def purchase_draws(model, T: np.ndarray, n_draws: int, interval_method: str = "auto",
                   n_boot: int = 60, rng=0) -> tuple[pd.DataFrame | None, int, str]:
    """The purchase parameters of the value draws: ``(draws, n_draws, method)``.

    ``draws`` is None for the Wald draws (``model.sample_params``, drawn with the spend
    draws), else the parametric bootstrap replicates (:mod:`crmlib.clv.models.bootstrap`),
    used when ``interval_method`` is ``"bootstrap"``, or ``"auto"`` and the Wald errors are
    unreliable; ``n_draws`` is then the number of replicates that converged. ``T`` holds
    every customer's age, in any order (they are sorted, so every engine simulates the
    same data sets).
    """
    if not n_draws or interval_method == "wald" or not hasattr(model, "_cov_log"):
        return None, n_draws, WALD
    from .models.bootstrap import bootstrap_params, unreliable
    if interval_method != "bootstrap" and not unreliable(model):
        return None, n_draws, WALD
    boot, failed = bootstrap_params(model, np.sort(np.asarray(T, dtype=float)), n_boot, rng)
    if not len(boot):
        return None, n_draws, WALD
    return boot, len(boot), BOOTSTRAP.format(n=len(boot) + failed, failed=failed)


def customer_value(model, spend_model, customers: pd.DataFrame, *, time_unit: str,
                   margin: float, discount_rate_annual: float, horizon_months: int,
                   n_draws: int = 200, level: float = 0.90,
                   rng: np.random.Generator | int | None = 0,
                   draw_keep: np.ndarray | None = None,
                   interval_method: str = "auto", n_boot: int = 60,
                   boot_draws: pd.DataFrame | None = None) -> CLVResult:
    """Per-customer and total CLV with ``level`` intervals from parameter draws.

    Parameters
    ----------
    model : fitted purchase model (BG/NBD, MBG/NBD, Pareto/NBD) in ``time_unit``.
    spend_model : fitted :class:`~crmlib.clv.models.GammaGamma`.
    customers : summary with frequency, recency, T, monetary_value (index = customer).
    time_unit : the unit of recency and T (``"D"``, ``"W"``, ``"M"``).
    margin : share of spend kept (0..1).
    discount_rate_annual : annual rate, converted to monthly discrete.
    horizon_months : number of months valued.
    n_draws : parameter draws for the intervals (0 = no intervals).
    interval_method : ``"wald"`` (purchase parameters drawn from the log-normal of the
        observed information), ``"bootstrap"`` (refitted on ``n_boot`` data sets simulated
        from the model, :mod:`crmlib.clv.models.bootstrap`) or ``"auto"``: the bootstrap
        when the Wald errors are unreliable (:func:`~crmlib.clv.models.bootstrap.unreliable`).
        The method used is ``CLVResult.interval_method``.
    draw_keep : boolean per draw, draws already known to give a non-finite value for
        some customer set to False (see :func:`value_draws`); None decides here.
    boot_draws : purchase parameters already drawn by :func:`purchase_draws` for all
        customers (the Spark engine scores batches with them); ``interval_method`` is
        then not consulted.
    """
    if not 0 <= margin <= 1:
        raise ValueError(f"margin must be between 0 and 1, got {margin!r}")
    if int(horizon_months) < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months!r}")
    d = monthly_rate(discount_rate_annual)
    months = np.arange(1, int(horizon_months) + 1)
    grid = months * UNIT_DAYS["M"] / UNIT_DAYS[time_unit]
    disc = (1 + d) ** -months.astype(float)
    u, codes = _unique_rows(customers)
    value, purchases, spend = clv_rows(model, spend_model, u, grid, disc, margin)
    if boot_draws is not None:
        boot, n_draws, method = boot_draws, len(boot_draws), "given purchase draws"
    else:
        boot, n_draws, method = purchase_draws(model, customers["T"].to_numpy(float), n_draws,
                                               interval_method, n_boot, rng)
    out = pd.DataFrame({"expected_purchases": purchases[codes], "expected_spend": spend[codes],
                        "clv": value[codes]}, index=customers.index)
    draws, dropped = value_draws(model, spend_model, u, grid, disc, margin, n_draws, rng,
                                  draw_keep, boot) \
        if n_draws else (np.empty((len(u), 0)), 0)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    counts = np.bincount(codes, minlength=len(u))
    totals = counts @ draws if draws.shape[1] else np.array([])
    if draws.shape[1]:
        q = np.quantile(draws, [lo, hi], axis=1)
        out["clv_low"], out["clv_high"] = q[0][codes], q[1][codes]
        t_lo, t_hi = np.quantile(totals, [lo, hi])
        total_ci = (float(t_lo), float(t_hi))
    else:
        out["clv_low"] = out["clv_high"] = np.nan
        total_ci = (float("nan"), float("nan"))
    return CLVResult(out, float(out["clv"].sum()), total_ci, totals, float(margin),
                     float(discount_rate_annual), d, int(horizon_months), time_unit, level,
                     int(dropped), method)


def describe_total(value: CLVResult, mean: float, currency: str | None = None) -> str:
    """The CLV total with its 90% interval and the mean per customer, money in ``currency``."""
    from .. import display
    money = lambda x: display.number(x, "money", currency)  # noqa: E731
    return (f"Total CLV: {money(value.total)} (90% interval "
            f"{display.interval(value.total_ci[0], value.total_ci[1], 'money', currency)}); "
            f"mean per customer {money(mean)}.")

