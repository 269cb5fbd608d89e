"""SERVQUAL gaps: perception minus expectation, per item, per dimension and overall.

Sign convention: **gap = perception − expectation**; a negative gap is a
shortfall (Parasuraman, Zeithaml & Berry 1988, "SERVQUAL: a multiple-item
scale for measuring consumer perceptions of service quality", J. Retailing
64(1)).

Each gap is a paired comparison over the respondents who rated both sides:
the mean difference with its t interval, the paired t-test
(:func:`scipy.stats.ttest_rel`), the Wilcoxon signed-rank test
(:func:`scipy.stats.wilcoxon`, zero differences dropped as in Wilcoxon's
original method) and the paired effect size d_z = mean(d) / sd(d)
(Cohen 1988; Lakens 2013). p-values are adjusted for multiplicity
(:mod:`crmlib.multitest`: Holm's step-down method by
default (controls the family-wise error rate) or Benjamini–Hochberg (false
discovery rate); items form one family and dimensions another.

Dimension scores are each respondent's mean of the answered items of the
dimension. The weighted SERVQUAL score is sum_d w_d * gap_d with the client's
dimension weights normalised to sum to one (Parasuraman et al. 1988, the
weights from the points-allocation question); without weights, dimensions
count equally.

Segments are compared per dimension with Welch's ANOVA
(:func:`pingouin.welch_anova`; equal to Welch's t-test squared for two
segments) and the Kruskal–Wallis test, Holm/BH-adjusted over dimensions, next
to each segment's gap with its interval.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..io import DataError, DataQualityReport, ParameterError
from ..multitest import adjusted_p
from .bootstrap import percentile_interval
from .prepare import Survey
from .studentized import studentized_range_ppf

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni",
               "none": None}


def adjust(p: pd.Series | np.ndarray, correction: str = "holm") -> np.ndarray:
    """Adjust p-values for multiplicity (``"holm"`` default, ``"bh"``, ``"bonferroni"``, ``"none"``).

    Missing p-values stay missing and do not count in the family.
    """
    if correction not in CORRECTIONS:
        raise ParameterError("correction", f"must be one of {sorted(CORRECTIONS)}, got "
                                           f"{correction!r}")
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    method = CORRECTIONS[correction]
    if ok.any():
        out[ok] = p[ok] if method is None else adjusted_p(p[ok], method)
    return out


IDENTICAL_GAPS = ("all {n} respondents show the same gap ({gap:+g}): the t-test and its interval "
                  "are undefined (no spread); exact signed-rank p = 2/2^n")


def identical_gaps_p(n: int) -> float:
    """Exact two-sided Wilcoxon signed-rank p when all n differences are equal and non-zero.

    Under the null each of the 2^n sign patterns is equally likely; only "all positive"
    and "all negative" are as extreme as the data, so p = 2 / 2^n (Wilcoxon 1945).
    """
    return min(1.0, 2.0 / 2.0 ** n)


def paired_gap(perception: pd.Series, expectation: pd.Series,
               level: float = 0.95) -> dict[str, Any]:
    """Mean of perception − expectation over complete pairs, with interval and tests.

    When every respondent shows the same gap, the t statistic, its interval and d_z are
    undefined (zero spread) and stay NaN, so the gap is never flagged significant on
    them; ``wilcoxon_p`` is then the exact signed-rank p, 2/2^n (1 when the gap is 0),
    and ``note`` says why.
    """
    d = (perception - expectation).dropna().to_numpy(dtype=float)
    n = len(d)
    both = pd.concat([perception, expectation], axis=1).dropna()
    out = {"n": n, "expectation": both.iloc[:, 1].mean() if n else np.nan,
           "perception": both.iloc[:, 0].mean() if n else np.nan,
           "gap": d.mean() if n else np.nan, "se": np.nan, "ci_low": np.nan,
           "ci_high": np.nan, "t": np.nan, "p": np.nan, "wilcoxon_p": np.nan, "d_z": np.nan,
           "note": ""}
    if n < 2:
        out["note"] = f"{n} complete pair(s): no test"
        return out
    sd = d.std(ddof=1)
    if sd == 0:
        out.update(wilcoxon_p=identical_gaps_p(n) if d[0] != 0 else 1.0,
                   note=IDENTICAL_GAPS.format(gap=d[0], n=n))
        return out
    res = stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(level)
    out.update(se=sd / np.sqrt(n), ci_low=ci.low, ci_high=ci.high, t=res.statistic,
               p=res.pvalue, d_z=d.mean() / sd)
    if np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["wilcoxon_p"] = stats.wilcoxon(d, zero_method="wilcox").pvalue
    else:
        out["wilcoxon_p"] = 1.0
    return out


def _finish(df: pd.DataFrame, significance: float, correction: str) -> pd.DataFrame:
    df["p_adj"] = adjust(df["p"], correction)
    df["wilcoxon_p_adj"] = adjust(df["wilcoxon_p"], correction)
    df["significant"] = df["p_adj"] < significance
    df["direction"] = np.where(df["gap"] < 0, "shortfall", "exceeds")
    return df


def item_gaps(survey: Survey, significance: float = 0.05,
              correction: str = "holm") -> pd.DataFrame:
    """Gap per item: expectation, perception, gap, interval, t and Wilcoxon tests, d_z.

    Intervals are at level ``1 − significance``; ``p_adj`` is adjusted over
    the items (one family).
    """
    rows = []
    for item, meta in survey.catalogue.iterrows():
        g = paired_gap(survey.perceptions[item], survey.expectations[item], 1 - significance)
        rows.append({"item": item, "dimension": meta["dimension"], "label": meta["label"], **g})
    return _finish(pd.DataFrame(rows), significance, correction)


def dimension_gaps(survey: Survey, significance: float = 0.05,
                   correction: str = "holm") -> pd.DataFrame:
    """Gap per dimension (respondent means of the dimension's items), tests adjusted
    over the dimensions."""
    e, p = survey.dimension_scores("expectations"), survey.dimension_scores("perceptions")
    rows = [{"dimension": d, "n_items": len(survey.dimensions[d]),
             **paired_gap(p[d], e[d], 1 - significance)} for d in survey.dimensions]
    return _finish(pd.DataFrame(rows), significance, correction)


def _normalised_weights(survey: Survey, weights: Mapping[str, float] | None) -> pd.Series:
    dims = list(survey.dimensions)
    if weights is None:
        return pd.Series(1 / len(dims), index=dims)
    unknown = sorted(set(weights) - set(dims))
    if unknown:
        raise ParameterError("dimension_weights", f"unknown dimension {unknown[0]!r}; the "
                                                  f"catalogue's dimensions are {dims}")
    missing = [d for d in dims if d not in weights]
    if missing:
        raise ParameterError("dimension_weights", f"no weight for dimension {missing[0]!r}")
    w = pd.Series({d: float(weights[d]) for d in dims})
    if (w < 0).any() or w.sum() <= 0:
        raise ParameterError("dimension_weights", "weights must be non-negative with a "
                                                  "positive sum")
    return w / w.sum()


def overall_score(survey: Survey, dimension_weights: Mapping[str, float] | None = None,
                  significance: float = 0.05) -> pd.DataFrame:
    """Overall (weighted) SERVQUAL gap: sum of weighted dimension gaps per respondent.

    Respondents missing a whole dimension are left out of this score.
    Returns one row with ``weighting, n, expectation, perception, gap, ci_low, ci_high, p, d_z``.
    """
    w = _normalised_weights(survey, dimension_weights)
    e = survey.dimension_scores("expectations")[w.index] @ w
    p = survey.dimension_scores("perceptions")[w.index] @ w
    g = paired_gap(p, e, 1 - significance)
    g["weighting"] = "client weights" if dimension_weights else "equal"
    return pd.DataFrame([g])[["weighting", "n", "expectation", "perception", "gap", "se",
                              "ci_low", "ci_high", "t", "p", "wilcoxon_p", "d_z"]]


def segment_gaps(survey: Survey, significance: float = 0.05, correction: str = "holm",
                 min_size: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dimension gaps per segment, and tests of equal gaps across segments.

    Returns ``(by_segment, tests)``: ``by_segment`` has one row per dimension and
    segment (``n, gap, ci_low, ci_high``); ``tests`` one row per dimension with
    Welch's ANOVA (``F, p_welch``), Kruskal–Wallis (``H, p_kruskal``) and their
    adjusted p-values. Segments with fewer than ``min_size`` respondents with
    a gap are left out of the tests (listed in ``left_out``).
    """
    if survey.segment is None:
        raise ParameterError("segment_col", "the survey has no segment column to compare")
    gaps = survey.dimension_scores("gaps")
    seg = survey.segment.fillna("(no segment)").astype(str)
    rows, tests = [], []
    for d in gaps.columns:
        groups = {}
        for s, gd in gaps[d].groupby(seg):
            r = paired_gap(gd, pd.Series(0.0, index=gd.index), 1 - significance)
            rows.append({"dimension": d, "segment": s, "n": r["n"], "gap": r["gap"],
                         "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
            if r["n"] >= min_size:
                groups[s] = gd.dropna()
        tests.append(_segment_test(d, groups, sorted(set(seg) - set(groups))))
    t = pd.DataFrame(tests)
    t["p_welch_adj"] = adjust(t["p_welch"], correction)
    t["p_kruskal_adj"] = adjust(t["p_kruskal"], correction)
    t["significant"] = t["p_welch_adj"] < significance
    return pd.DataFrame(rows), t


def _segment_test(dim: str, groups: dict[str, pd.Series], left_out: list[str]) -> dict:
    import pingouin as pg  # deferred: pingouin imports its plotting stack
    out = {"dimension": dim, "segments": len(groups), "F": np.nan, "p_welch": np.nan,
           "H": np.nan, "p_kruskal": np.nan, "left_out": ", ".join(left_out), "note": ""}
    if len(groups) < 2:
        return out
    long = pd.DataFrame({"gap": pd.concat(groups.values()),
                         "segment": np.repeat(list(groups), [len(g) for g in groups.values()])})
    var = long.groupby("segment")["gap"].var()
    if not var.gt(0).all():  # Welch weights each segment by n / s²: undefined at s² = 0
        out["note"] = (f"Welch's ANOVA undefined: no spread in segment(s) "
                       f"{', '.join(var.index[~var.gt(0)])}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if var.gt(0).all():
            w = pg.welch_anova(data=long, dv="gap", between="segment")
            out.update(F=float(w["F"].iloc[0]), p_welch=float(w["p_unc"].iloc[0]
                                                               if "p_unc" in w else w["p-unc"].iloc[0]))
        if long["gap"].nunique() > 1:
            h = stats.kruskal(*groups.values())
            out.update(H=float(h.statistic), p_kruskal=float(h.pvalue))
    return out


# -- value-weighted gaps ---------------------------------------------------------------------
VALUE_INPUT = "value-weighted gaps (respondents)"


def _weighted_gap(d: np.ndarray, w: np.ndarray, level: float) -> dict[str, float]:
    """Weighted mean of d with the linearisation (sandwich) standard error."""
    n, tot = len(d), w.sum()
    if n < 2 or tot <= 0:
        return {"n": n, "n_eff": np.nan, "gap_weighted": np.nan, "se": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "p": np.nan}
    p = w / tot
    g = float(p @ d)
    se = float(np.sqrt(n / (n - 1) * np.sum(p ** 2 * (d - g) ** 2)))
    z = stats.norm.ppf(0.5 + level / 2)
    if se == 0:  # identical gaps: the test and interval are undefined, never "significant"
        return {"n": n, "n_eff": tot ** 2 / np.sum(w ** 2), "gap_weighted": g, "se": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "p": np.nan}
    return {"n": n, "n_eff": tot ** 2 / np.sum(w ** 2), "gap_weighted": g, "se": se,
            "ci_low": g - z * se, "ci_high": g + z * se, "p": 2 * stats.norm.sf(abs(g) / se)}


def _lift_ci(d: np.ndarray, w: np.ndarray, lift: float, level: float, n_boot: int,
             rng: np.random.Generator) -> tuple[float, float, str]:
    """Percentile bootstrap interval of weighted − unweighted mean (respondents resampled),
    blank with the reason when it would not contain the lift itself."""
    if n_boot <= 0 or len(d) < 2:
        return (np.nan, np.nan, "")
    chunk = max(1, 2_000_000 // len(d))  # bound memory on large surveys
    parts = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, len(d), (min(chunk, n_boot - start), len(d)))
        dd, ww = d[idx], w[idx]
        tot = ww.sum(axis=1)
        parts.append((dd * ww).sum(axis=1) / np.where(tot > 0, tot, np.nan) - dd.mean(axis=1))
    lo, hi, why = percentile_interval(lift, np.concatenate(parts), level)
    return lo, hi, f"value lift: {why}" if why else ""


def value_weighted_gaps(survey: Survey, clv: pd.DataFrame, significance: float = 0.05,
                        correction: str = "holm",
                        quality: DataQualityReport | None = None, n_boot: int = 500,
                        random_state: int | None = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item and dimension gaps weighted by customer lifetime value.

    Each respondent's gap counts in proportion to the CLV of their customer,
    so the mean is the shortfall felt per unit of customer value. The standard
    error is the linearisation (ratio-estimator) one used for survey weights
    (Cochran 1977, §6; Kish's effective n is reported); ``value_lift`` =
    weighted − unweighted gap on the same respondents (negative: valuable
    customers feel the shortfall more), with a percentile bootstrap interval
    (``lift_ci_low``, ``lift_ci_high``; ``n_boot`` resamples of respondents), left blank
    with the reason in ``note`` when it would not contain the lift (thin data).
    Respondents without ``customer_id``, without a CLV match or with an empty CLV
    are left out of these tables only and counted.
    """
    if survey.customer_id is None:
        raise DataError("value-weighted gaps need a 'customer_id' column in the survey",
                        file=survey.file, column="customer_id")
    quality = quality if quality is not None else DataQualityReport()
    values = clv.set_index("customer_id")["clv"]
    cid = survey.customer_id
    w = cid.map(values).astype(float)
    quality.add_read(VALUE_INPUT, len(cid))
    known = cid.isin(values.index)
    no_id, no_match = cid.isna(), cid.notna() & ~known
    no_value = known & w.isna()
    for mask, reason in ((no_id, "no customer_id"), (no_match, "customer_id not in the CLV table"),
                         (no_value, "customer has no CLV value")):
        ex = f"row {int(cid.index[mask.to_numpy()][0])}" if mask.any() else None
        quality.exclude(VALUE_INPUT, reason, int(mask.sum()), ex)
    if w.notna().sum() < 2 or w.sum() <= 0:
        raise DataError("fewer than two survey respondents match a customer with positive CLV",
                        file=survey.file, column="customer_id")
    level, rng = 1 - significance, np.random.default_rng(random_state)
    frames = {"item": (survey.perceptions - survey.expectations, survey.catalogue["dimension"]),
              "dimension": (survey.dimension_scores("gaps"), None)}
    out = []
    for key, (gaps, dims) in frames.items():
        rows = []
        for col in gaps.columns:
            ok = gaps[col].notna() & w.notna()
            d, wv = gaps[col][ok].to_numpy(float), w[ok].to_numpy(float)
            r = _weighted_gap(d, wv, level)
            r["gap_unweighted"] = d.mean() if len(d) else np.nan
            r["value_lift"] = r["gap_weighted"] - r["gap_unweighted"]
            r["lift_ci_low"], r["lift_ci_high"], note = _lift_ci(
                d, wv, r["value_lift"], level, n_boot, rng)
            rows.append({key: col, **({"dimension": dims[col]} if dims is not None else {}), **r,
                         "note": note})
        t = pd.DataFrame(rows)
        t["p_adj"] = adjust(t["p"], correction)
        t["significant"] = t["p_adj"] < significance
        out.append(t)
    return out[0], out[1]


def segment_pairwise(survey: Survey, significance: float = 0.05,
                     min_size: int = 5) -> pd.DataFrame:
    """Pairwise segment differences in each dimension's gap (Games–Howell).

    Games & Howell (1976): Welch-type standard errors and the studentized range, so the
    p-values and intervals hold for all pairs of segments of a dimension together without
    assuming equal variances (:func:`pingouin.pairwise_gameshowell`). Columns: ``dimension,
    A, B, diff`` (gap of A − gap of B), ``se, ci_low, ci_high, p_adj``.
    """
    import pingouin as pg  # deferred: pingouin imports its plotting stack
    if survey.segment is None:
        raise ParameterError("segment_col", "the survey has no segment column to compare")
    gaps = survey.dimension_scores("gaps")
    seg = survey.segment.fillna("(no segment)").astype(str)
    rows = []
    for d in gaps.columns:
        long = pd.DataFrame({"gap": gaps[d], "segment": seg}).dropna()
        size = long.groupby("segment")["gap"].agg(["size", "var"])
        keep = size.index[(size["size"] >= min_size) & (size["var"] > 0)]
        long = long[long["segment"].isin(keep)]
        if len(keep) < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gh = pg.pairwise_gameshowell(data=long, dv="gap", between="segment")
        q = np.array([studentized_range_ppf(1 - significance, len(keep), df)
                      for df in gh["df"]]) / np.sqrt(2)
        rows.append(pd.DataFrame({
            "dimension": d, "A": gh["A"], "B": gh["B"], "diff": gh["diff"], "se": gh["se"],
            "ci_low": gh["diff"] - q * gh["se"], "ci_high": gh["diff"] + q * gh["se"],
            "p_adj": gh["pval"]}))
    cols = ["dimension", "A", "B", "diff", "se", "ci_low", "ci_high", "p_adj"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
