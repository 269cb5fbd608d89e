"""Effect of each phase on each of its KPIs, from the monthly KPI panel.

For a phase starting in month g, the estimation window runs from
``pre_periods`` months before g to the phase's (actual) end or the as-of date,
whichever comes first. Pilot units may start later than the phase
(``unit_starts`` in the plan): each start month is a cohort, and a cohort is
compared only with units **not yet treated** in each month (control units,
and pilot units before their own start). The cohort samples are stacked with
cohort-specific unit and month fixed effects (Cengiz, Dube, Lindner & Zipperer
2019, QJE 134(3); the clean-control idea of Callaway & Sant'Anna 2021,
J. Econometrics 225(2)), avoiding the "forbidden comparisons" of two-way
fixed effects with staggered starts (Goodman-Bacon 2021). With one cohort this
is the ordinary two-way fixed-effects DiD.

With fewer than ``min_pilots_for_clusters`` pilot units the clustered
standard error is unreliable (Conley & Taber 2011; MacKinnon & Webb 2017), so a
placebo-in-space p-value is added: the pilot start dates are given to sets of
control units (the real pilots left out; all sets when there are at most B,
else B random ones), the model is refitted, and
p = (1 + #{|β_placebo| ≥ |β|}) / (1 + B) (Abadie, Diamond & Hainmueller 2010;
Bertrand, Duflo & Mullainathan 2004). The pre-trend Wald statistic gets the
same placebo p-value, because the clustered F-test over-rejects with few
treated clusters. Without untreated units after the start the phase is
measured before/after on pilot units, labelled as weaker evidence.

The event study (and with it the pre-trend test) is an optional section
(:mod:`crmlib.sections`): when it cannot be estimated — e.g. one pilot and one
control unit leave it no residual degrees of freedom — the effect stands, the
pre-trend p-value is missing and the note says the pre-trends were not tested.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..io import DataError
from ..sections import optional
from .effects import BeforeAfter, DiD, EventStudy, blas_single_thread
from .placebo import months_between, placebo_tests
from .plan import Phase, PhasePlan

METHOD_DID = "DiD: unit and month fixed effects, s.e. clustered by unit"
METHOD_STACKED = "stacked DiD: staggered starts, not-yet-treated controls, clustered s.e."
METHOD_BA = "before/after on pilot units only (no control group: weaker evidence)"
COLUMNS = ["phase", "goal", "kpi", "direction", "method", "effect", "se", "ci_low", "ci_high",
           "p_value", "perm_p", "p_gate", "pretrend_p", "pretrend_p_clustered", "pretrend_ok",
           "baseline", "effect_pct",
           "n_pilot", "n_control", "n_obs", "pre_months", "post_months", "note"]


def month_of(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).to_period("M").to_timestamp()


def unit_starts(d: pd.DataFrame, phase: Phase) -> pd.Series:
    """Start month per unit of ``d``: pilot units at the phase start (or their own
    ``unit_starts``), control units never (NaT)."""
    units = d.drop_duplicates("unit_id").set_index("unit_id")["group"]
    s = pd.Series(pd.NaT, index=units.index, dtype="datetime64[ns]")
    pilot = units.index[units == "pilot"]
    s[pilot] = month_of(phase.start)
    for u, t in phase.unit_starts.items():
        if u in s.index:
            s[u] = month_of(t)
    return s


def stacked_sample(d: pd.DataFrame, starts: pd.Series, pre: int,
                   last: pd.Timestamp) -> pd.DataFrame:
    """One sub-sample per cohort (start month ≤ ``last``): the cohort's units in the
    window plus every other unit's not-yet-treated months; stacked. Cohorts with no
    untreated unit after their start are left out (listed in ``attrs["dropped"]``)."""
    parts, dropped = [], []
    for g in sorted(starts.dropna().unique()):
        g = pd.Timestamp(g)
        if g > last:
            continue
        lo = g - pd.DateOffset(months=pre)
        w = d[(d["period"] >= lo) & (d["period"] <= last)]
        st = w["unit_id"].map(starts)
        member = (st == g).to_numpy()
        clean = (st.isna() | (w["period"] < st)).to_numpy() & ~member
        s = w[member | clean].copy()
        s["treated"] = (s["unit_id"].map(starts) == g).astype(int)
        s["post"] = (s["period"] >= g).astype(int)
        s["rel"] = np.where(s["treated"] == 1, months_between(s["period"], g), np.nan)
        s["stack"] = str(g.date())
        s = s[s["period"].isin(s.loc[s["treated"] == 0, "period"])]  # months with a comparison
        if not ((s["treated"] == 0) & (s["post"] == 1)).any():
            dropped.append(str(g.date()))  # no not-yet-treated unit to compare with
            continue
        parts.append(s)
    if not parts:
        out = d.iloc[:0].assign(treated=0, post=0, rel=np.nan, stack="", su="", sp="")
    else:
        out = pd.concat(parts, ignore_index=True)
        out["su"] = out["stack"] + "|" + out["unit_id"]
        out["sp"] = out["stack"] + "|" + out["period"].astype(str)
    out.attrs["dropped"] = dropped
    return out


def _check_sample(s: pd.DataFrame, phase: Phase, kpi: str, pre: int, file: str) -> None:
    treated = s[s["treated"] == 1]
    where = f"phase '{phase.name}', goal '{phase.goal_of(kpi)}', KPI '{kpi}'"
    if treated.empty or (treated["post"] == 0).sum() == 0:
        lo = month_of(phase.start) - pd.DateOffset(months=pre)
        raise DataError(f"{where}: no pre-period data for the pilot units (needs values in "
                        f"{lo:%Y-%m} to {month_of(phase.start) - pd.DateOffset(months=1):%Y-%m})",
                        file=file, column="date", value=kpi)


def _sample_info(s: pd.DataFrame) -> dict:
    return {"n_obs": len(s), "pre_months": int(-s["rel"].min()),
            "post_months": int(s["rel"].max()) + 1,
            "baseline": float(s.loc[(s["treated"] == 1) & (s["post"] == 0), "value"].mean())}


def _before_after_sample(d: pd.DataFrame, starts: pd.Series, pre: int,
                         last: pd.Timestamp) -> pd.DataFrame:
    """Pilot units only, months relative to each unit's own start."""
    st = d["unit_id"].map(starts)
    s = d[st.notna()].copy()
    st = st[st.notna()]
    rel = (s["period"].dt.year - st.dt.year) * 12 + (s["period"].dt.month - st.dt.month)
    s = s.assign(treated=1, post=(rel >= 0).astype(int), rel=rel.astype(float))
    return s[(s["rel"] >= -pre) & (s["period"] <= last)]


def _fit_one(d: pd.DataFrame, phase: Phase, kpi: str, pre: int, last: pd.Timestamp,
             n_perm: int, min_pilots: int, alpha: float, rng, file: str):
    starts = unit_starts(d, phase)
    s = stacked_sample(d, starts, pre, last)
    n_pilot, controls = int(starts.notna().sum()), starts.index[starts.isna()]
    out: dict[str, Any] = {"n_pilot": n_pilot, "n_control": len(controls), "perm_p": np.nan,
                           "pretrend_p": np.nan, "pretrend_p_clustered": np.nan,
                           "pretrend_ok": True, "note": ""}
    if s.empty:  # no unit left untreated after the start: before/after on the pilots
        s = _before_after_sample(d, starts, pre, last)
        _check_sample(s, phase, kpi, pre, file)
        ba = BeforeAfter(alpha).fit(s, outcome="value", post="post", unit="unit_id")
        out.update(_sample_info(s), method=METHOD_BA,
                   note="no untreated unit observed after the start")
        return ba, out, None
    _check_sample(s, phase, kpi, pre, file)
    out.update(_sample_info(s))
    m = DiD("cluster", alpha).fit(s, outcome="value", treated="treated", post="post",
                                  unit="su", period="sp", cluster="unit_id", stack="stack")
    out["method"] = METHOD_STACKED if starts.dropna().nunique() > 1 else METHOD_DID
    es = optional(f"event study of {phase.name}, {kpi}", EventStudy(alpha=alpha).fit, s,
                  outcome="value", unit="su", period="sp", rel="rel", cluster="unit_id",
                  stack="stack")
    notes = [f"cohort(s) starting {', '.join(s.attrs['dropped'])} left out: no not-yet-treated "
             "unit to compare with"] if s.attrs.get("dropped") else []
    if es is not None:
        out.update(pretrend_p=es.pretrend_p_, pretrend_p_clustered=es.pretrend_p_)
    if m.inference_note_:
        notes.append(m.inference_note_)
    if n_pilot < min_pilots:
        pt = placebo_tests(d, starts, pre, last, n_perm, rng)
        out["perm_p"] = pt["perm_p"]
        if es is not None:
            out["pretrend_p"] = pt["pretrend_perm_p"]
        if pt["n_placebos"]:
            notes.append(f"{n_pilot} pilot units: placebo p-values from {pt['n_placebos']} "
                         "placebo assignments")
        else:  # the few pilots' clustered p-value is not trusted alone
            out["untestable"] = True
            notes.append(f"{n_pilot} pilot and {len(controls)} control units: no placebo "
                         "assignment possible (more control than pilot units needed), so the "
                         "effect is not tested")
    out["pretrend_ok"] = not (out["pretrend_p"] < alpha)
    if es is None:  # an optional section: the effect stands, pre-trends go untested
        notes.insert(0, "event study not computed: pre-trends not tested")
    if not out["pretrend_ok"]:
        notes.insert(0, "pre-trends differ (parallel-trends test fails): treat the effect "
                        "with caution")
    out["note"] = "; ".join(notes)
    return m, out, es


def estimate_effects(monthly: pd.DataFrame, plan: PhasePlan, pre_periods: int = 6,
                     n_permutations: int = 999, seed: int = 0, min_pilots_for_clusters: int = 10,
                     alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimate each phase's effect on each of its KPIs.

    Parameters
    ----------
    monthly : output of :func:`crmlib.roi.panel.prepare_panel`.
    plan : the validated phase plan.
    pre_periods : months before a phase start used as its baseline.
    n_permutations : placebo assignments when pilot units < ``min_pilots_for_clusters``.
    seed : seed of the placebo draws.
    alpha : 1 − confidence level.

    Returns
    -------
    effects : one row per phase and KPI (columns :data:`COLUMNS`); ``p_gate`` is the
        larger of the clustered and the placebo p-value, the one the gate uses.
    event_study : coefficients per phase, KPI and month relative to the start.
    """
    with blas_single_thread():
        return _estimate_effects(monthly, plan, pre_periods, n_permutations, seed,
                                 min_pilots_for_clusters, alpha)


def _estimate_effects(monthly, plan, pre_periods, n_permutations, seed, min_pilots_for_clusters,
                      alpha):
    rng = np.random.default_rng(seed)
    as_of = monthly.attrs.get("as_of", monthly["period"].max())
    file = monthly.attrs.get("source", "KPI panel")
    rows, events = [], []
    for phase in plan.phases:
        last = month_of(min(phase.effective_end, as_of))
        for goal in phase.goals:
            for k in goal.kpis:
                base = {"phase": phase.name, "goal": goal.name, "kpi": k.name,
                        "direction": k.direction}
                d = monthly[monthly["kpi"] == k.name]
                d.attrs = {}  # pandas copies attrs on every operation
                if month_of(phase.start) > month_of(as_of):
                    rows.append({**base, "method": "not started by the as-of date",
                                 "note": f"starts {phase.start.date()}"})
                    continue
                try:
                    m, info, es = _fit_one(d, phase, k.name, pre_periods, last, n_permutations,
                                           min_pilots_for_clusters, alpha, rng, file)
                except DataError as exc:
                    if exc.message.startswith("phase '"):
                        raise
                    raise DataError(f"phase '{phase.name}', goal '{goal.name}', KPI '{k.name}': "
                                    f"{exc.message}", file=file, column="kpi",
                                    value=k.name) from exc
                rows.append({**base, **info, "effect": m.effect_, "se": m.se_,
                             "ci_low": m.ci_[0], "ci_high": m.ci_[1], "p_value": m.p_value_})
                if es is not None:
                    events.append(es.coef_.assign(phase=phase.name, kpi=k.name))
                    if not info["pretrend_ok"]:
                        warnings.warn(f"phase '{phase.name}', KPI '{k.name}': pre-trends of "
                                      f"pilot and control differ (p = {info['pretrend_p']:.3f})",
                                      stacklevel=2)
    eff = pd.DataFrame(rows)
    untestable = (eff["untestable"].eq(True) if "untestable" in eff
                  else pd.Series(False, index=eff.index))
    eff = eff.reindex(columns=COLUMNS)
    eff["p_gate"] = eff[["p_value", "perm_p"]].max(axis=1, skipna=True).mask(untestable)
    eff["effect_pct"] = eff["effect"] / eff["baseline"].where(eff["baseline"] != 0)
    ev = (pd.concat(events, ignore_index=True)[["phase", "kpi", "rel", "estimate", "se",
                                                  "ci_low", "ci_high", "p_value"]]
          if events else pd.DataFrame(columns=["phase", "kpi", "rel", "estimate", "se",
                                               "ci_low", "ci_high", "p_value"]))
    return eff, ev
