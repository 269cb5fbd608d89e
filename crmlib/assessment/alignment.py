"""Alignment: agreement within groups, reliability of group means, differences between groups.

* **Within-group agreement** r_wg (James, Demaree & Wolf, 1984): for one item on an
  A-point scale, ``r_wg = 1 − s² / σ²_EU`` with the uniform ("no agreement") null
  variance ``σ²_EU = (A² − 1) / 12`` (1.25 for the four stages) and ``s²`` the
  sample variance (n − 1) of the group's ratings. For J items (a driver's
  capabilities), ``r_wg(J) = J(1 − s̄²/σ²_EU) / [J(1 − s̄²/σ²_EU) + s̄²/σ²_EU]`` with
  ``s̄²`` the mean of the item variances. Values are truncated to 0 when the
  observed variance exceeds the null variance, as James et al. recommend. A group
  with one respondent has no agreement statistic. Conventional threshold: 0.70
  (LeBreton & Senter, 2008). No maintained Python library computes r_wg (the
  reference implementation is R's ``multilevel``), so it is written here.
* **Reliability of group means** ICC(1) and ICC(2) (Bliese, 2000) from a one-way
  ANOVA of respondents by group (:func:`scipy.stats.f_oneway`):
  ``ICC(1) = (F − 1) / (F + k − 1)``, ``ICC(2) = (F − 1) / F`` with ``k`` the group
  size (``k0 = (N − Σn²/N)/(G − 1)`` for unequal groups). These are Shrout &
  Fleiss's ICC(1,1) and ICC(1,k) with groups as targets. Intervals use the F
  distribution as in Shrout & Fleiss (1979). ICC(2) ≥ 0.70 supports reporting
  group means.
* **Shrout & Fleiss ICCs** for fully crossed designs come from pingouin's
  ``intraclass_corr`` (used for the agreement of group profiles).
* **Between departments**, per capability: Kruskal–Wallis H (:func:`scipy.stats.kruskal`)
  across the groups shown, effect size ``ε² = H / ((n² − 1)/(n + 1))`` (Tomczak &
  Tomczak, 2014), Holm-corrected p-values across capabilities
  (:func:`crmlib.multitest.holm`, equal to statsmodels' ``multipletests``).

**Misalignment: two separate findings** (:func:`flag_misaligned`), each ranked by its size:

(a) *internal disagreement*: the departments (staff groups shown; never the customer
    group) differ (Kruskal–Wallis, Holm-adjusted p < ``alpha``) and their means span at
    least ``min_difference`` stage; ranked by that span, widest first. These are the
    *misaligned* capabilities.
(b) *staff-versus-customer gap*: the staff − customer gap is at least ``min_difference``
    stage in size and differs from 0 (two-sided bootstrap p-value, Holm-adjusted across
    capabilities, below ``alpha``); ranked by |gap|, largest first.

Customers usually rate the company lower than staff do everywhere; testing them together
with the departments would flag nearly every capability and hide a real disagreement
between departments, so the two questions are tested apart.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..display import p_text
from ..multitest import holm
from .catalogue import DRIVERS, N_STAGES, driver_order
from .scoring import resample_counts

RWG_THRESHOLD = 0.70
ICC2_THRESHOLD = 0.70
ONE_RESPONDENT = "one respondent: no agreement statistic"


def null_variance(n_options: int = N_STAGES) -> float:
    """Variance of the uniform null on an A-point scale, ``(A² − 1) / 12``."""
    return (n_options ** 2 - 1) / 12.0


def rwg(ratings, n_options: int = N_STAGES, truncate: bool = True) -> float:
    """Within-group agreement on one item (James, Demaree & Wolf, 1984).

    Parameters
    ----------
    ratings : one group's ratings of the item (NaN ignored).
    n_options : number of scale points A.
    truncate : set values below 0 (variance above the null) to 0.

    Returns NaN for fewer than two ratings.
    """
    x = np.asarray(ratings, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return float("nan")
    value = 1.0 - np.var(x, ddof=1) / null_variance(n_options)
    return float(max(value, 0.0) if truncate else value)


def rwg_j(ratings, n_options: int = N_STAGES, truncate: bool = True) -> float:
    """Within-group agreement on J parallel items, r_wg(J) (James, Demaree & Wolf, 1984).

    ``ratings`` is respondents × items (NaN allowed); items with fewer than two
    ratings are left out of J. Returns NaN when no item has two ratings.
    """
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2:
        raise ValueError("ratings must be a respondents × items matrix")
    ok = (~np.isnan(x)).sum(0) >= 2
    if not ok.any():
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        s2 = float(np.nanmean(np.nanvar(x[:, ok], axis=0, ddof=1)))
    J, ratio = int(ok.sum()), s2 / null_variance(n_options)
    if truncate and ratio > 1:
        return 0.0
    return float(J * (1 - ratio) / (J * (1 - ratio) + ratio))


def _boot_agreement(x: np.ndarray, driver_cols: list[np.ndarray], n_boot: int,
                    rng: np.random.Generator, n_options: int) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of r_wg (B × K) and r_wg(J) (B × D), respondents resampled.

    A resample is a vector of draw counts per respondent, so item variances come from
    weighted sums: ``s² = (Σw x² − (Σw x)² / Σw) / (Σw − 1)``.
    """
    w = resample_counts(rng, len(x), n_boot)
    ok = ~np.isnan(x)
    x0 = np.where(ok, x, 0.0)
    cnt, s1, s2 = w @ ok.astype(float), w @ x0, w @ x0 ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(cnt >= 2, (s2 - s1 ** 2 / np.maximum(cnt, 1)) / (cnt - 1), np.nan)
    ratio = np.clip(var, 0, None) / null_variance(n_options)
    r1 = np.clip(1 - ratio, 0, None)
    rj = []
    for cols in driver_cols:
        v = ratio[:, cols]
        J = (~np.isnan(v)).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.nansum(np.where(np.isnan(v), 0, v), 1) / np.where(J > 0, J, np.nan)
            val = J * (1 - m) / (J * (1 - m) + m)
        rj.append(np.where(m > 1, 0.0, val))
    return r1, np.stack(rj, 1) if rj else np.empty((n_boot, 0))


def within_group_agreement(data: pd.DataFrame, catalogue: pd.DataFrame,
                           shown: list[str] | None = None, *, n_boot: int = 1000,
                           ci: float = 0.90, random_state: int | None = 0,
                           n_options: int = N_STAGES) -> pd.DataFrame:
    """r_wg per group × capability and r_wg(J) per group × driver, with bootstrap intervals.

    Returns a long table: group, level (``capability``/``driver``), name, n, statistic,
    value, ci_low, ci_high (percentile bootstrap over the group's respondents), note.
    ``shown`` limits the table to the groups that may be shown.
    """
    rng = np.random.default_rng(random_state)
    lo, hi = (1 - ci) / 2 * 100, (1 + ci) / 2 * 100
    rows = []
    for group, part in data.groupby("group", sort=True):
        if shown is not None and group not in shown:
            continue
        wide = part.pivot_table(index="respondent_id", columns="capability", values="current",
                                aggfunc="first")
        caps = [c for c in catalogue.index if c in wide.columns]
        drivers = [d for d in driver_order(catalogue)
                   if any(catalogue.loc[c, "driver"] == d for c in caps)]
        cols = [np.array([i for i, c in enumerate(caps) if catalogue.loc[c, "driver"] == d])
                for d in drivers]
        x = wide[caps].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            b1, bj = _boot_agreement(x, cols, n_boot, rng, n_options)
            q1, qj = np.nanpercentile(b1, [lo, hi], 0), np.nanpercentile(bj, [lo, hi], 0)
        for k, cap in enumerate(caps):
            n = int((~np.isnan(x[:, k])).sum())
            rows.append({"group": group, "level": "capability", "name": cap, "n": n,
                         "statistic": "r_wg", "value": rwg(x[:, k], n_options),
                         "ci_low": q1[0, k] if n >= 2 else np.nan,
                         "ci_high": q1[1, k] if n >= 2 else np.nan,
                         "note": ONE_RESPONDENT if n < 2 else ""})
        for d, (drv, c) in enumerate(zip(drivers, cols)):
            sub = x[:, c][~np.isnan(x[:, c]).all(1)]
            rows.append({"group": group, "level": "driver", "name": drv, "n": len(sub),
                         "statistic": "r_wg(J)", "value": rwg_j(sub, n_options),
                         "ci_low": qj[0, d] if len(sub) >= 2 else np.nan,
                         "ci_high": qj[1, d] if len(sub) >= 2 else np.nan,
                         "note": ONE_RESPONDENT if len(sub) < 2 else ""})
    return pd.DataFrame(rows, columns=["group", "level", "name", "n", "statistic", "value",
                                       "ci_low", "ci_high", "note"])


def agreement_summary(agreement: pd.DataFrame) -> pd.DataFrame:
    """Per group: respondents, median r_wg, share of capabilities with r_wg ≥ 0.70, r_wg(J) by driver."""
    rows = []
    for group, part in agreement.groupby("group", sort=False):
        cap = part.loc[part["level"] == "capability", "value"]
        drv = part.loc[part["level"] == "driver"].set_index("name")["value"]
        row = {"group": group, "n_respondents": int(part["n"].max()),
               "median_rwg": float(cap.median()) if cap.notna().any() else np.nan,
               "share_rwg_ge_070": float((cap >= RWG_THRESHOLD).mean()) if cap.notna().any()
               else np.nan}
        row.update({f"rwg_j: {k}": v for k, v in drv.items()})
        row["note"] = ONE_RESPONDENT if row["n_respondents"] < 2 else ""
        rows.append(row)
    found = agreement.loc[agreement["level"] == "driver", "name"].unique()
    drivers = [d for d in DRIVERS if d in found] + [d for d in found if d not in DRIVERS]
    cols = ["group", "n_respondents", "median_rwg", "share_rwg_ge_070"] + \
        [f"rwg_j: {d}" for d in drivers] + ["note"]
    return pd.DataFrame(rows, columns=cols)


def icc_oneway(values, groups, ci: float = 0.90) -> dict[str, float]:
    """ICC(1) and ICC(2) of group means from a one-way ANOVA (Bliese, 2000).

    Parameters
    ----------
    values : respondents' scores.
    groups : each respondent's group.
    ci : level of the F-based intervals (Shrout & Fleiss, 1979).

    Returns a dict with ``icc1``, ``icc2``, their interval bounds, ``F``, ``df1``,
    ``df2``, ``p``, ``k0`` and ``n_groups``. NaN where undefined (fewer than two
    groups, or no group with two respondents).
    """
    s = pd.DataFrame({"v": np.asarray(values, dtype=float), "g": np.asarray(groups)}).dropna()
    samples = [p["v"].to_numpy() for _, p in s.groupby("g")]
    n = np.array([len(x) for x in samples])
    N, G = int(n.sum()), len(samples)
    out = dict.fromkeys(["icc1", "icc1_low", "icc1_high", "icc2", "icc2_low", "icc2_high",
                         "F", "p"], float("nan"))
    out.update(df1=G - 1, df2=N - G, n_groups=G, n=N, k0=float("nan"))
    if G < 2 or N - G < 1:
        return out
    k0 = (N - (n ** 2).sum() / N) / (G - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F, p = stats.f_oneway(*samples)
    if not np.isfinite(F):
        return {**out, "k0": k0}
    a = 1 - ci
    fl = F / stats.f.ppf(1 - a / 2, G - 1, N - G)
    fu = F * stats.f.ppf(1 - a / 2, N - G, G - 1)
    icc1 = lambda f: (f - 1) / (f + k0 - 1)  # noqa: E731
    icc2 = lambda f: 1 - 1 / f  # noqa: E731
    out.update(icc1=icc1(F), icc1_low=icc1(fl), icc1_high=icc1(fu), icc2=icc2(F),
               icc2_low=icc2(fl), icc2_high=icc2(fu), F=float(F), p=float(p), k0=float(k0))
    return out


def group_mean_reliability(data: pd.DataFrame, catalogue: pd.DataFrame,
                           ci: float = 0.90) -> pd.DataFrame:
    """ICC(1)/ICC(2) for every capability, every driver and overall (all groups, hidden ones too).

    Driver and overall scores of a respondent are the means of the capabilities they
    rated. ``reliable`` marks ICC(2) ≥ 0.70.
    """
    rows = []
    answered = set(data["capability"])
    for cap in [c for c in catalogue.index if c in answered]:
        part = data.loc[data["capability"] == cap]
        rows.append({"level": "capability", "name": cap,
                     **icc_oneway(part["current"], part["group"], ci)})
    per_resp = data.groupby(["respondent_id", "group", "driver"], as_index=False)["current"].mean()
    for drv in driver_order(catalogue):
        part = per_resp.loc[per_resp["driver"] == drv]
        if len(part):
            rows.append({"level": "driver", "name": drv,
                         **icc_oneway(part["current"], part["group"], ci)})
    overall = data.groupby(["respondent_id", "group"], as_index=False)["current"].mean()
    rows.append({"level": "overall", "name": "all capabilities",
                 **icc_oneway(overall["current"], overall["group"], ci)})
    df = pd.DataFrame(rows)
    df["reliable"] = df["icc2"] >= ICC2_THRESHOLD
    return df


def shrout_fleiss_icc(data: pd.DataFrame, targets: str, raters: str, ratings: str,
                      ci: float = 0.95) -> pd.DataFrame:
    """The six Shrout & Fleiss (1979) ICCs of a fully crossed targets × raters design.

    Computed by :func:`pingouin.intraclass_corr`; its ICC(A,·)/ICC(C,·) labels are
    returned as Shrout & Fleiss's ICC(2,·)/ICC(3,·). Columns: type, icc, F, df1, df2,
    p, ci_low, ci_high (pingouin's intervals are 95%; ``ci`` other than 0.95 is
    rejected rather than silently ignored).
    """
    import pingouin as pg

    if abs(ci - 0.95) > 1e-12:
        raise ValueError("pingouin's intraclass_corr gives 95% intervals only")
    with warnings.catch_warnings():  # pingouin 0.7 uses dropna(inplace=True), deprecated in pandas 3.1
        warnings.filterwarnings("ignore", message="The inplace keyword")
        res = pg.intraclass_corr(data=data, targets=targets, raters=raters, ratings=ratings)
    k = data[raters].nunique()
    names = {"ICC(1,1)": "ICC(1,1)", "ICC(A,1)": "ICC(2,1)", "ICC(C,1)": "ICC(3,1)",
             "ICC(1,k)": f"ICC(1,{k})", "ICC(A,k)": f"ICC(2,{k})", "ICC(C,k)": f"ICC(3,{k})",
             "ICC1": "ICC(1,1)", "ICC2": "ICC(2,1)", "ICC3": "ICC(3,1)",  # pingouin < 0.6
             "ICC1k": f"ICC(1,{k})", "ICC2k": f"ICC(2,{k})", "ICC3k": f"ICC(3,{k})"}
    ci95 = np.vstack(res["CI95"].to_numpy())
    return pd.DataFrame({"type": res["Type"].map(names).to_numpy(), "icc": res["ICC"].to_numpy(),
                         "F": res["F"].to_numpy(), "df1": res["df1"].to_numpy(),
                         "df2": res["df2"].to_numpy(), "p": res["pval"].to_numpy(),
                         "ci_low": ci95[:, 0], "ci_high": ci95[:, 1]})


def profile_agreement(group_capability_scores: pd.DataFrame) -> pd.DataFrame:
    """Do the groups shown rank the capabilities alike? ICC(3,1) and ICC(2,1) of their profiles.

    Capabilities are the targets and groups the raters; only capabilities every
    group rated enter (pingouin requires a complete design). Empty when fewer than
    two groups or three capabilities remain.
    """
    wide = group_capability_scores.pivot_table(index="capability", columns="group",
                                               values="estimate").dropna()
    if wide.shape[1] < 2 or wide.shape[0] < 3:
        return pd.DataFrame(columns=["type", "icc", "F", "df1", "df2", "p", "ci_low", "ci_high"])
    long = wide.reset_index().melt(id_vars="capability", var_name="group", value_name="score")
    out = shrout_fleiss_icc(long, "capability", "group", "score")
    return out.loc[out["type"].isin(["ICC(2,1)", "ICC(3,1)"])].reset_index(drop=True)


def between_group_differences(data: pd.DataFrame, shown: list[str],
                              alpha: float = 0.05) -> pd.DataFrame:
    """Kruskal–Wallis per capability across the groups shown, ε² and Holm-adjusted p.

    Capabilities rated by fewer than two shown groups get NaN. When all ratings
    are identical, H = 0 and p = 1 (scipy refuses that case).
    """
    rows = []
    for cap, part in data.loc[data["group"].isin(shown)].groupby("capability", sort=False):
        samples = {g: p["current"].to_numpy() for g, p in part.groupby("group")}
        means = pd.Series({g: x.mean() for g, x in samples.items()})
        n = sum(len(x) for x in samples.values())
        row = {"capability": cap, "driver": part["driver"].iloc[0], "n_groups": len(samples),
               "n": n, "H": np.nan, "df": len(samples) - 1, "p": np.nan, "epsilon2": np.nan,
               "lowest_group": means.idxmin(), "highest_group": means.idxmax(),
               "range": float(means.max() - means.min())}
        if len(samples) >= 2:
            values = np.concatenate(list(samples.values()))
            if np.ptp(values) == 0:
                row.update(H=0.0, p=1.0, epsilon2=0.0)
            else:
                H, p = stats.kruskal(*samples.values())
                row.update(H=float(H), p=float(p), epsilon2=float(H / ((n ** 2 - 1) / (n + 1))))
        rows.append(row)
    df = pd.DataFrame(rows, columns=["capability", "driver", "n_groups", "n", "H", "df", "p",
                                     "epsilon2", "lowest_group", "highest_group", "range"])
    df["p_holm"] = np.nan
    ok = df["p"].notna()
    if ok.any():
        df.loc[ok, "p_holm"] = holm(df.loc[ok, "p"])
    df["significant"] = df["p_holm"] < alpha
    df["effect"] = pd.cut(df["epsilon2"], [-np.inf, 0.01, 0.08, 0.26, np.inf],
                          labels=["negligible", "small", "medium", "large"], right=False)
    return df


def flag_misaligned(between: pd.DataFrame, gap: pd.DataFrame, *, alpha: float = 0.05,
                    min_difference: float = 0.5) -> pd.DataFrame:
    """Apply the two findings of the misalignment rule (module docstring), saying why.

    Parameters
    ----------
    between : :func:`between_group_differences` output over the **departments** (staff
        groups) only, so that a customer group rating everything lower does not make
        every capability look disputed.
    gap : ``StageScorer.staff_customer_gap_`` (may be empty).
    alpha : level for the Holm-adjusted p-values.
    min_difference : smallest difference (in stages) that matters.

    Returns one row per capability (catalogue order) with ``groups_differ`` (internal
    disagreement), ``staff_customer_gap`` (the second, separate finding), ``misaligned``
    (= internal disagreement), ``internal_rank`` (1 = widest span of department means among
    the flagged), ``gap_rank`` (1 = largest |staff − customer gap| among the flagged) and
    ``reason``.
    """
    out = between[["capability", "driver", "range", "p_holm"]].copy()
    out["gap"], out["gap_p_holm"] = np.nan, np.nan
    g = gap.loc[gap["capability"] != "overall"].set_index("capability") if len(gap) else None
    if g is not None and len(g):
        g = g.assign(p_holm=holm(g["p_boot"].fillna(1.0)))
        out["gap"] = out["capability"].map(g["estimate"])
        out["gap_p_holm"] = out["capability"].map(g["p_holm"])
    groups_differ = (out["p_holm"] < alpha) & (out["range"] >= min_difference)
    gap_real = (out["gap_p_holm"] < alpha) & (out["gap"].abs() >= min_difference)
    out["groups_differ"] = groups_differ.fillna(False).astype(bool)
    out["staff_customer_gap"] = gap_real.fillna(False).astype(bool)
    out["misaligned"] = out["groups_differ"]
    out["internal_rank"] = _rank(out["range"].where(out["groups_differ"]))
    out["gap_rank"] = _rank(out["gap"].abs().where(out["staff_customer_gap"]))
    out["reason"] = [
        "; ".join(filter(None, [
            f"departments differ (Holm p {p_text(p)}, range {r:.2f} stages)" if a else "",
            f"staff − customer gap {d:+.2f} stages (Holm p {p_text(q)})" if b else ""]))
        for a, b, p, r, d, q in zip(out["groups_differ"], out["staff_customer_gap"],
                                    out["p_holm"], out["range"], out["gap"], out["gap_p_holm"])]
    return out


def _rank(size: pd.Series) -> pd.Series:
    """1 = largest; NaN (not flagged) stays unranked."""
    return size.rank(ascending=False, method="first").astype("Int64")


def internal_disagreement(misaligned: pd.DataFrame) -> pd.DataFrame:
    """Capabilities the departments disagree on, widest span of department means first."""
    cols = ["capability", "driver", "range", "p_holm", "reason"]
    return (misaligned.loc[misaligned["groups_differ"]].sort_values("internal_rank")[cols]
            .reset_index(drop=True))


def staff_customer_gaps(misaligned: pd.DataFrame) -> pd.DataFrame:
    """Capabilities with a real staff − customer gap, largest |gap| first."""
    cols = ["capability", "driver", "gap", "gap_p_holm", "reason"]
    return (misaligned.loc[misaligned["staff_customer_gap"]].sort_values("gap_rank")[cols]
            .reset_index(drop=True))
