"""Customer value over time: a run's fitted model saved with it, and last run's forecast checked.

A run of notebook 02 writes, next to its ``results.json``:

* ``model.json`` (:data:`FORMAT`, :data:`VERSION`): the purchase model refitted on the
  whole observation period and the spend model, each with its class, parameters and
  covariance (natural and log scale), and the conventions every number depends on (time
  unit, first purchase, calibration and observation end, margin, discount rates, CLV
  horizon and interval level) plus the CLV total with its parameter draws;
* ``predictions.parquet``: one row per customer with the summary the model scores
  (frequency, recency, T, monetary value), P(alive), expected purchases and CLV over the
  stated horizons (:data:`HORIZONS_MONTHS`), expected spend per purchase, CLV over the
  run's horizon with its interval and the RFM segment.

A later run rebuilds the model from ``model.json`` (:func:`load_run_model`), scores the
earlier customers over the time that has really elapsed since the earlier observation
end and sets that against what they bought (:func:`forecast_check`): totals, by decile
of the prediction and by segment, as the holdout checks of Fader, Hardie & Lee (2005),
"Counting your customers the easy way", Marketing Science 24(2), but on calendar time
between two runs. :func:`compare_parameters` sets the two fits side by side.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results import to_jsonable
from . import models as M
from .models.base import Z95
from .models.spend_fallback import ObservedMeanSpend
from .summary import UNIT_DAYS

FORMAT = "crmlib.clv.run_model"
VERSION = 1
MODEL_FILE = "model.json"
PREDICTIONS_FILE = "predictions.parquet"
STEM = "02_clv_modelling"
HORIZONS_MONTHS = (3, 6, 12, 24)
MONTH_DAYS = UNIT_DAYS["M"]


class RunModelError(ValueError):
    """A saved run model that cannot be read (unknown format, version or model class)."""


# -- saving ---------------------------------------------------------------------------------

def _model_record(model, label: str | None = None) -> dict[str, Any]:
    names = list(model.params_.index)
    cov = getattr(model, "covariance_", None)
    cov_log = getattr(model, "_cov_log", None)
    return {"class": type(model).__name__, "name": getattr(model, "name", ""),
            "label": label or getattr(model, "name", ""), "param_names": names,
            "params": {k: float(v) for k, v in model.params_.items()},
            "se": {k: float(v) for k, v in getattr(model, "se_", pd.Series(dtype=float)).items()},
            "covariance": None if cov is None else cov.loc[names, names].to_numpy().tolist(),
            "covariance_log": None if cov_log is None else np.asarray(cov_log).tolist(),
            "n": float(getattr(model, "n_", np.nan)),
            "log_likelihood": getattr(model, "log_likelihood_", None)}


def predictions(model, spend, customers: pd.DataFrame, summary: pd.DataFrame, time_unit: str,
                horizons_months=HORIZONS_MONTHS, value: dict | None = None) -> pd.DataFrame:
    """Per-customer predictions saved with a run.

    ``customers`` is notebook 02's customer table (``customer_id``, summary columns,
    ``p_alive``, ``expected_purchases``, ``clv``, ``clv_low``, ``clv_high``, ``segment``);
    ``summary`` the full-period summary (index ``customer_id``), for ``last_purchase`` and
    the spend count. Expected purchases over each horizon are E[Y(t)] of the purchase
    model (Fader, Hardie & Lee 2005, eq. 10) with t in the model's unit; with ``value``
    (``margin``, ``discount_rate_annual``) each horizon also gets its CLV
    (:func:`~crmlib.clv.value.customer_value`, point estimate).
    """
    c = customers.set_index("customer_id")
    out = c[["frequency", "recency", "T", "monetary_value", "total_spend", "p_alive"]].copy()
    x, tx, T = (c[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    for h in horizons_months:
        t = h * MONTH_DAYS / UNIT_DAYS[time_unit]
        out[f"expected_purchases_{h}m"] = np.asarray(model.expected_purchases(t, x, tx, T),
                                                     dtype=float)
    xs = summary["frequency_spend"] if "frequency_spend" in summary else summary["frequency"]
    out["frequency_spend"] = xs.reindex(c.index).to_numpy(float)
    out["expected_spend"] = np.asarray(spend.conditional_expected_value(
        out["frequency_spend"].to_numpy(), c["monetary_value"].to_numpy(float)), dtype=float)
    if value is not None:
        from .value import customer_value
        rows = summary.reindex(c.index)
        for h in horizons_months:
            out[f"clv_{h}m"] = customer_value(model, spend, rows, time_unit=time_unit,
                                              horizon_months=h, n_draws=0,
                                              **value).customers["clv"].to_numpy()
    for k in ("clv", "clv_low", "clv_high", "segment", "clv_decile"):
        out[k] = c[k]
    if "last_purchase" in summary:
        out["last_purchase"] = pd.to_datetime(summary["last_purchase"].reindex(c.index))
    out.index.name = "customer_id"
    return out.reset_index()


def run_model(analysis, currency: str | None = None,
              horizons_months=HORIZONS_MONTHS) -> dict[str, Any]:
    """The content of ``model.json`` for a fitted notebook-02 analysis
    (:class:`~crmlib.clv.pipeline.LocalAnalysis`)."""
    from .diagnostics import MODEL_LABELS
    s, v = analysis.full, analysis.value
    return {
        "format": FORMAT, "version": VERSION,
        "purchase_model": dict(_model_record(analysis.final_model,
                                             MODEL_LABELS.get(analysis.fit.name)),
                               choice=analysis.fit.name),
        "spend_model": _model_record(analysis.spend),
        "conventions": {
            "time_unit": s.time_unit, "unit_days": UNIT_DAYS[s.time_unit],
            "month_days": MONTH_DAYS, "first_purchase": s.first_date.isoformat(),
            "calibration_end": analysis.summary.calibration_end.isoformat()
            if analysis.summary.has_holdout else None,
            "observation_end": s.observation_end.isoformat(),
            "margin": v.margin, "discount_rate_annual": v.annual_rate,
            "discount_rate_monthly": v.monthly_rate, "horizon_months": v.horizon_months,
            "clv_interval_level": v.level, "horizons_months": list(horizons_months),
            "currency": currency},
        "totals": {"n_customers": int(len(analysis.customers)), "clv_total": v.total,
                   "clv_total_ci": list(v.total_ci),
                   "clv_total_draws": [float(d) for d in v.draws_total]},
        "predictions": PREDICTIONS_FILE}


def save_run_model(output_dir, analysis, currency: str | None = None,
                   horizons_months=HORIZONS_MONTHS) -> tuple[Path, Path]:
    """Write ``model.json`` and ``predictions.parquet`` into ``output_dir``; return both."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = run_model(analysis, currency, horizons_months)
    v = analysis.value
    pred = predictions(analysis.final_model, analysis.spend, analysis.customers,
                       analysis.full.customers, analysis.full.time_unit, horizons_months,
                       {"margin": v.margin, "discount_rate_annual": v.annual_rate})
    pred.to_parquet(out / PREDICTIONS_FILE, index=False)
    tmp = out / (MODEL_FILE + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(record), indent=1, allow_nan=False),
                   encoding="utf-8")  # a covariance that could not be estimated: null
    tmp.replace(out / MODEL_FILE)
    return out / MODEL_FILE, out / PREDICTIONS_FILE


# -- loading --------------------------------------------------------------------------------

def rebuild(record: dict[str, Any]):
    """A model that predicts with the saved parameters and draws from the saved covariance."""
    cls_name = record["class"]
    if cls_name == "ObservedMeanSpend":
        m = ObservedMeanSpend()
        m.n_ = record.get("n")  # type: ignore[assignment]  # as saved: None when unknown
        m.params_ = pd.Series(record["params"], name="estimate")[list(m.param_names)]
        m.se_ = pd.Series(record["se"], name="se")[list(m.param_names)]
        return m
    cls = getattr(M, cls_name, None)
    if cls is None:
        raise RunModelError(f"saved model class {cls_name!r} is not one of crmlib.clv.models")
    m = cls()
    values = np.array([record["params"][k] for k in record["param_names"]], dtype=float)
    cov_log = record.get("covariance_log")
    if cov_log is not None:
        cov_log = np.asarray(cov_log, dtype=float)
        cov_log = None if not np.isfinite(cov_log).all() else cov_log
    m._set_params(m._unnatural(values), cov_log)
    m.n_ = record.get("n")
    return m


@dataclass
class RunModel:
    """A run's saved model: ``meta`` (``model.json``), ``predictions`` (one row per customer),
    the rebuilt ``purchase_model`` and ``spend_model``, and the run it belongs to."""

    meta: dict[str, Any]
    predictions: pd.DataFrame
    purchase_model: Any
    spend_model: Any
    run_id: str | None = None

    @property
    def conventions(self) -> dict[str, Any]:
        return self.meta["conventions"]

    @property
    def observation_end(self) -> dt.date:
        return dt.date.fromisoformat(self.conventions["observation_end"])


def load_run_model(folder, run_id: str | None = None) -> RunModel:
    """Read ``model.json`` and ``predictions.parquet`` from a results folder."""
    folder = Path(folder)
    meta = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise RunModelError(f"{folder / MODEL_FILE}: not a saved CLV run model")
    if int(meta.get("version", 0)) > VERSION:
        raise RunModelError(f"{folder / MODEL_FILE}: version {meta.get('version')} is newer "
                            f"than this crmlib reads ({VERSION})")
    pred = pd.read_parquet(folder / meta.get("predictions", PREDICTIONS_FILE))
    pred["customer_id"] = pred["customer_id"].astype(str)
    return RunModel(meta, pred, rebuild(meta["purchase_model"]), rebuild(meta["spend_model"]),
                    run_id)


def previous_run_model(previous_run: str | None) -> RunModel | None:
    """The saved CLV model of the run whose ``run.json`` is ``previous_run``; None when
    there is no previous run (empty) or it saved no model (an older run, or 02 not run)."""
    if not previous_run:
        return None
    run_dir = Path(previous_run).parent
    folder = run_dir / "results" / STEM
    if not (folder / MODEL_FILE).is_file() or not (folder / PREDICTIONS_FILE).is_file():
        return None
    return load_run_model(folder, run_dir.name)


# -- the forecast check ---------------------------------------------------------------------

def elapsed(previous: RunModel, observation_end) -> float:
    """Time from the earlier observation end to ``observation_end``, in the earlier model's
    time unit."""
    days = (pd.Timestamp(observation_end) - pd.Timestamp(previous.observation_end)).days
    return days / UNIT_DAYS[previous.conventions["time_unit"]]


def expected_since(previous: RunModel, t: float, model=None) -> np.ndarray:
    """Each earlier customer's expected repeat purchases in the ``t`` units after the
    earlier observation end (E[Y(t) | x, t_x, T], Fader, Hardie & Lee 2005, eq. 10)."""
    p = previous.predictions
    m = model if model is not None else previous.purchase_model
    return np.asarray(m.expected_purchases(t, p["frequency"].to_numpy(float),
                                           p["recency"].to_numpy(float),
                                           p["T"].to_numpy(float)), dtype=float)


def _decile(values: pd.Series) -> pd.Series:
    rank = values.rank(ascending=False, method="first").to_numpy()
    return pd.Series(np.floor((rank - 1) * 10 / len(values)).astype(int) + 1, index=values.index)


@dataclass
class ForecastCheck:
    """The earlier run's forecast for the period since against what happened.

    Attributes
    ----------
    customers : per earlier customer: ``predicted`` and ``actual`` repeat purchase days,
        ``predicted_spend`` (expected purchases × expected spend per purchase, not
        discounted) and ``actual_spend``, ``segment``, ``decile`` of the prediction
        (1 = the 10% expected to buy most), ``past_frequency``.
    totals : one row: customers, predicted and actual purchases with the parameter
        interval of the prediction, the same for spend, the relative error.
    by_decile, by_segment, by_frequency : sums and means per group.
    period : length of the period in the earlier model's unit; ``unit`` that unit.
    """

    customers: pd.DataFrame
    totals: pd.DataFrame
    by_decile: pd.DataFrame
    by_segment: pd.DataFrame
    by_frequency: pd.DataFrame
    period: float
    unit: str
    start: dt.date
    end: dt.date
    level: float

    def summary(self) -> dict[str, Any]:
        """The totals as a mapping (for ``results.json``)."""
        r = self.totals.iloc[0]
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "period": self.period, "unit": self.unit, "n_customers": int(r["customers"]),
                "predicted": float(r["predicted"]),
                "predicted_ci": [float(r["predicted_low"]), float(r["predicted_high"])],
                "actual": float(r["actual"]), "error_share": float(r["error_share"]),
                "predicted_spend": float(r["predicted_spend"]),
                "actual_spend": float(r["actual_spend"]), "ci_level": self.level}


def _groups(df: pd.DataFrame, by: str) -> pd.DataFrame:
    g = df.groupby(by, observed=True)
    out = pd.DataFrame({"customers": g.size(), "predicted": g["predicted"].sum(),
                        "actual": g["actual"].sum(), "predicted_mean": g["predicted"].mean(),
                        "actual_mean": g["actual"].mean(),
                        "predicted_spend": g["predicted_spend"].sum(),
                        "actual_spend": g["actual_spend"].sum()})
    return out.reset_index()


def forecast_check(previous: RunModel, actual: pd.DataFrame, observation_end,
                   n_draws: int = 200, level: float = 0.9, rng=0,
                   max_frequency: int = 7) -> ForecastCheck:
    """Check the earlier run's per-customer forecast against the period since.

    Parameters
    ----------
    previous : the earlier run's saved model (:func:`previous_run_model`).
    actual : per customer (index ``customer_id``) ``purchases``, the repeat purchase days
        after the earlier observation end up to ``observation_end``, and ``spend``, their
        spend. An earlier customer missing from it made none.
    observation_end : the end of the period checked (this run's observation end).
    n_draws, level : parameter draws from the saved covariance for the interval of the
        predicted total (estimation uncertainty only, as for CLV: the purchase-to-purchase
        randomness of each customer is not in it).
    """
    t = elapsed(previous, observation_end)
    if t <= 0:
        raise ValueError(f"observation end {observation_end} is not after the earlier run's "
                         f"({previous.observation_end}): there is no period to check")
    p = previous.predictions.set_index("customer_id")
    act = actual.reindex(p.index).fillna(0.0)
    df = pd.DataFrame({"predicted": expected_since(previous, t),
                       "actual": act["purchases"].to_numpy(float),
                       "actual_spend": act["spend"].to_numpy(float),
                       "segment": p["segment"].to_numpy(),
                       "past_frequency": p["frequency"].to_numpy(int)}, index=p.index)
    df["predicted_spend"] = df["predicted"] * p["expected_spend"].to_numpy(float)
    df["decile"] = _decile(df["predicted"])
    df["frequency_group"] = np.minimum(df["past_frequency"], max_frequency)
    lo, hi = _draw_interval(previous, t, n_draws, level, rng)
    pred, act_total = float(df["predicted"].sum()), float(df["actual"].sum())
    totals = pd.DataFrame([{
        "customers": len(df), "predicted": pred, "predicted_low": lo, "predicted_high": hi,
        "actual": act_total, "error_share": (pred - act_total) / act_total if act_total
        else np.nan, "predicted_spend": float(df["predicted_spend"].sum()),
        "actual_spend": float(df["actual_spend"].sum())}])
    freq = _groups(df, "frequency_group").rename(columns={"frequency_group": "past_frequency"})
    freq["past_frequency"] = [f"{v}+" if v == max_frequency else str(v)
                              for v in freq["past_frequency"]]
    return ForecastCheck(df.reset_index(), totals, _groups(df, "decile"),
                         _groups(df, "segment").sort_values("predicted", ascending=False)
                         .reset_index(drop=True), freq, t,
                         previous.conventions["time_unit"], previous.observation_end,
                         pd.Timestamp(observation_end).date(), level)


def _draw_interval(previous: RunModel, t: float, n_draws: int, level: float,
                   rng) -> tuple[float, float]:
    m = previous.purchase_model
    if not n_draws or getattr(m, "_cov_log", None) is None:
        return np.nan, np.nan
    totals = []
    for _, d in m.sample_params(n_draws, rng).iterrows():
        with np.errstate(all="ignore"):
            v = expected_since(previous, t, m.with_params(d)).sum()
        if np.isfinite(v):
            totals.append(v)
    if not totals:
        return np.nan, np.nan
    q = np.quantile(totals, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(q[0]), float(q[1])


# -- comparing two fits ---------------------------------------------------------------------

def compare_parameters(previous: RunModel, model, model_name: str) -> pd.DataFrame:
    """The earlier and the current purchase-model parameters side by side, with 95%
    intervals (log scale, as :meth:`MLModel.summary`) and the z statistic of the change on
    the log scale treating the two fits as independent; both fits share the earlier data,
    so the true standard error of the change is smaller and z is conservative."""
    rec = previous.meta["purchase_model"]
    same = rec["class"] == type(model).__name__
    rows = []
    now = model.summary()
    cov_before = rec.get("covariance_log")
    se_b = np.sqrt(np.diag(cov_before)) if cov_before is not None else None
    se_n = np.sqrt(np.diag(model._cov_log)) if getattr(model, "_cov_log", None) is not None \
        else None
    for i, name in enumerate(rec["param_names"]):
        before = rec["params"][name]
        row = {"parameter": name, "before": before,
               "before_low": before * np.exp(-Z95 * se_b[i]) if se_b is not None else np.nan,
               "before_high": before * np.exp(Z95 * se_b[i]) if se_b is not None else np.nan,
               "now": np.nan, "now_low": np.nan, "now_high": np.nan, "z": np.nan}
        if same and name in now.index:
            row.update(now=now.loc[name, "estimate"], now_low=now.loc[name, "ci_low"],
                       now_high=now.loc[name, "ci_high"])
            if se_b is not None and se_n is not None:
                row["z"] = (np.log(row["now"]) - np.log(before)) / np.hypot(se_b[i], se_n[i])
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["same_model"] = same
    out.attrs["models"] = (rec.get("choice") or rec["class"], model_name)
    return out


def convention_changes(previous: RunModel, current: dict[str, Any]) -> list[str]:
    """Sentences on the conventions that differ between the earlier run and ``current``
    (``model.json``'s ``conventions`` of this run): values made under different
    conventions are not like for like."""
    words = {"time_unit": "time unit", "margin": "margin",
             "discount_rate_annual": "annual discount rate",
             "horizon_months": "CLV horizon (months)", "currency": "currency"}
    out = []
    for key, name in words.items():
        a, b = previous.conventions.get(key), current.get(key)
        if a != b and not (isinstance(a, float) and isinstance(b, float) and np.isclose(a, b)):
            out.append(f"The {name} changed from {a} to {b}: values of the two runs are not "
                       "like for like.")
    return out


def change_interval(draws_before, draws_now, level: float = 0.9) -> tuple[float, float]:
    """Interval of (total now − total before) from the two runs' parameter draws, each draw
    of one run paired with every draw of the other (the runs' estimation errors treated as
    independent; they share data, so the interval is wider than the true one)."""
    a, b = np.asarray(draws_before, float), np.asarray(draws_now, float)
    if not (a.size and b.size):
        return (np.nan, np.nan)
    diff = (b[None, :] - a[:, None]).ravel()
    q = np.quantile(diff, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(q[0]), float(q[1])


__all__ = ["FORMAT", "ForecastCheck", "RunModel", "RunModelError", "VERSION",
           "change_interval", "compare_parameters", "convention_changes", "elapsed",
           "expected_since", "forecast_check", "load_run_model", "predictions",
           "previous_run_model", "rebuild", "run_model", "save_run_model"]
