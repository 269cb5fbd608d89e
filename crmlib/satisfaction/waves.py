"""The satisfaction survey over waves: gaps per wave, their change, IPA moves, Kano shifts, reliability.

Each wave is a prepared :class:`~crmlib.satisfaction.prepare.Survey`. The change of a
gap (perception − expectation, per item and per dimension) from the baseline to the
latest wave is tested on the respondents' own gaps:

* **paired t-test** (:func:`scipy.stats.ttest_rel`) when respondent ids repeat: the
  respondents who answered both waves (and rated the item in both) are compared with
  themselves; used when at least half of the smaller wave answered both
  (``PAIRED_SHARE``).
* **Welch's t-test** (:func:`scipy.stats.ttest_ind` with ``equal_var=False``; Welch
  1947) otherwise, on every respondent of each wave. With a few repeat respondents
  the two samples are not quite independent; the positive correlation of a person's
  two answers makes Welch's standard error too large, so the test errs on the safe
  side.

Intervals are the t intervals of the test at level ``1 − significance``; p-values are
adjusted for multiplicity as the single-wave gap tests are
(:func:`~crmlib.satisfaction.gaps.adjust`: Holm by default, or Benjamini–Hochberg),
items forming one family and dimensions another.

**IPA movement** joins the waves' importance-performance tables (Martilla & James
1977) item by item. **Kano shifts** compare each feature's dominant category and test
the category shares for homogeneity across the two waves (chi-square,
:func:`scipy.stats.chi2_contingency`, adjusted over features). **Reliability**
(Cronbach's alpha, :func:`~crmlib.satisfaction.reliability.reliability_table`) is
computed per wave; a dimension whose alpha falls below 0.7 (the bar used in the
single-wave report) is flagged, and ``stopped_reliable`` marks one that reached it in
the previous wave.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..display import p_text
from ..io import DataError
from .gaps import adjust, dimension_gaps, item_gaps
from .prepare import Survey
from .reliability import reliability_table

PAIRED_SHARE = 0.5
ALPHA_THRESHOLD = 0.7


def shared_ids(baseline: Survey, latest: Survey) -> set[str]:
    """Respondent ids present in both waves."""
    return set(_ids(baseline)) & set(_ids(latest))


def _ids(survey: Survey) -> pd.Series:
    if survey.respondent_id is None:
        raise DataError("comparing waves needs the respondents' ids (respondent_id)",
                        file=survey.file, column="respondent_id")
    return survey.respondent_id.astype(str)


def is_paired(baseline: Survey, latest: Survey) -> bool:
    """Paired design: at least ``PAIRED_SHARE`` of the smaller wave answered both waves."""
    smaller = min(baseline.n_respondents, latest.n_respondents)
    return smaller > 0 and len(shared_ids(baseline, latest)) >= PAIRED_SHARE * smaller


def gaps_by_wave(surveys: Mapping[str, Survey], significance: float = 0.05,
                 correction: str = "holm") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Item and dimension gap tables of every wave, stacked with a leading ``wave`` column."""
    items = [item_gaps(s, significance, correction).assign(wave=w) for w, s in surveys.items()]
    dims = [dimension_gaps(s, significance, correction).assign(wave=w)
            for w, s in surveys.items()]
    first = lambda df: df[["wave", *[c for c in df.columns if c != "wave"]]]  # noqa: E731
    return first(pd.concat(items, ignore_index=True)), first(pd.concat(dims, ignore_index=True))


def _by_id(survey: Survey, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis(_ids(survey).to_numpy(), axis=0)


def _test(b: pd.Series, lt: pd.Series, paired: bool, level: float) -> dict:
    out = {"test": "paired t" if paired else "Welch t", "n_baseline": int(b.notna().sum()),
           "n_latest": int(lt.notna().sum()), "n_pairs": 0, "change": np.nan, "se": np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "t": np.nan, "df": np.nan, "p": np.nan}
    if paired:
        both = pd.concat([b, lt], axis=1, join="inner").dropna()
        x, y = both.iloc[:, 0].to_numpy(float), both.iloc[:, 1].to_numpy(float)
        out["n_pairs"] = len(both)
        if len(both) < 2 or np.std(y - x) == 0:
            out["change"] = float(np.mean(y - x)) if len(both) else np.nan
            return out
        res = stats.ttest_rel(y, x)
        se = np.std(y - x, ddof=1) / np.sqrt(len(both))
        change = float(np.mean(y - x))
    else:
        x, y = b.dropna().to_numpy(float), lt.dropna().to_numpy(float)
        if len(x) < 2 or len(y) < 2 or (np.var(x) == 0 and np.var(y) == 0):
            out["change"] = float(y.mean() - x.mean()) if len(x) and len(y) else np.nan
            return out
        res = stats.ttest_ind(y, x, equal_var=False)
        se = np.sqrt(np.var(x, ddof=1) / len(x) + np.var(y, ddof=1) / len(y))
        change = float(y.mean() - x.mean())
    ci = res.confidence_interval(level)
    out.update(change=change, se=float(se), ci_low=float(ci.low), ci_high=float(ci.high),
               t=float(res.statistic), df=float(res.df), p=float(res.pvalue))
    return out


def _change_table(key: str, gb: pd.DataFrame, gl: pd.DataFrame, paired: bool,
                  significance: float, correction: str, extra: dict | None = None) -> pd.DataFrame:
    rows = []
    for col in [c for c in gl.columns if c in gb.columns]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r = _test(gb[col], gl[col], paired, 1 - significance)
        rows.append({key: col, **({"dimension": extra[col]} if extra else {}),
                     "gap_baseline": gb[col].mean(), "gap_latest": gl[col].mean(), **r})
    df = pd.DataFrame(rows)
    df["p_adj"] = adjust(df["p"], correction)
    df["significant"] = df["p_adj"] < significance
    df["direction"] = np.select([~df["significant"], df["change"] > 0],
                                ["no clear change", "closer to expectations (or beyond)"],
                                "further below expectations")
    return df


def gap_change(baseline: Survey, latest: Survey, significance: float = 0.05,
               correction: str = "holm") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Change of every item's and dimension's gap, latest − baseline, with test and interval.

    Returns ``(items, dimensions)``: ``gap_baseline, gap_latest`` (each wave's mean gap over
    all its respondents), ``change`` (mean of the paired differences, or difference of the
    means for Welch), ``se, ci_low, ci_high, t, df, p, p_adj, significant, test, n_baseline,
    n_latest, n_pairs, direction``. A positive change moves perception up relative to
    expectation (a shortfall that closes).
    """
    paired = is_paired(baseline, latest)
    ib = _by_id(baseline, baseline.perceptions - baseline.expectations)
    il = _by_id(latest, latest.perceptions - latest.expectations)
    db = _by_id(baseline, baseline.dimension_scores("gaps"))
    dl = _by_id(latest, latest.dimension_scores("gaps"))
    dims = latest.catalogue["dimension"].to_dict()
    return (_change_table("item", ib, il, paired, significance, correction, dims),
            _change_table("dimension", db, dl, paired, significance, correction))


def ipa_movement(baseline: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """Items' places in the two waves' IPA tables (:func:`~crmlib.satisfaction.ipa.ipa_table`)
    and whether their quadrant changed. Crosshair of each wave as its own table states."""
    cols = ["item", "performance", "importance", "quadrant", "quadrant_certain"]
    m = baseline[cols].merge(latest[["dimension", "label", *cols]], on="item",
                             suffixes=("_baseline", "_latest"))
    m["moved"] = m["quadrant_baseline"] != m["quadrant_latest"]
    m["performance_change"] = m["performance_latest"] - m["performance_baseline"]
    m["importance_change"] = m["importance_latest"] - m["importance_baseline"]
    m.attrs.update(latest.attrs)
    return m[["item", "dimension", "label", "performance_baseline", "performance_latest",
              "importance_baseline", "importance_latest", "performance_change",
              "importance_change", "quadrant_baseline", "quadrant_latest", "moved",
              "quadrant_certain_baseline", "quadrant_certain_latest"]]


KANO_CATEGORIES = ["A", "O", "M", "I", "R", "Q"]


def kano_shifts(baseline: pd.DataFrame, latest: pd.DataFrame, significance: float = 0.05,
                correction: str = "holm") -> pd.DataFrame:
    """Dominant Kano category per feature in both waves (:func:`~crmlib.satisfaction.kano.kano_table`),
    ``shifted`` when it differs, and a chi-square test that the category shares are the same
    in both waves (categories empty in both left out), adjusted over features."""
    rows = []
    b, lt = baseline.set_index("feature"), latest.set_index("feature")
    for f in [f for f in lt.index if f in b.index]:
        table = np.array([[b.loc[f, c] for c in KANO_CATEGORIES],
                          [lt.loc[f, c] for c in KANO_CATEGORIES]], dtype=float)
        table = table[:, table.sum(0) > 0]
        chi2, p = np.nan, np.nan
        if table.shape[1] >= 2 and (table.sum(1) > 0).all():
            res = stats.chi2_contingency(table, correction=False)
            chi2, p = float(res.statistic), float(res.pvalue)
        rows.append({"feature": f, "category_baseline": b.loc[f, "category"],
                     "category_latest": lt.loc[f, "category"],
                     "shifted": b.loc[f, "category"] != lt.loc[f, "category"],
                     "clear_winner_latest": bool(lt.loc[f, "clear_winner"]),
                     "better_baseline": b.loc[f, "better"], "better_latest": lt.loc[f, "better"],
                     "worse_baseline": b.loc[f, "worse"], "worse_latest": lt.loc[f, "worse"],
                     "chi2": chi2, "p": p})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["p_adj"] = adjust(df["p"], correction)
    df["shares_differ"] = df["p_adj"] < significance
    return df


def reliability_by_wave(surveys: Mapping[str, Survey], threshold: float = ALPHA_THRESHOLD,
                        ci: float = 0.95, n_boot: int = 0,
                        random_state: int | None = 0) -> pd.DataFrame:
    """Cronbach's alpha (and omega) per dimension and wave, with ``below_threshold`` and
    ``stopped_reliable`` (alpha at or above ``threshold`` in the previous wave, below now)."""
    parts = [reliability_table(s, ci=ci, n_boot=n_boot, random_state=random_state).assign(wave=w)
             for w, s in surveys.items()]
    df = pd.concat(parts, ignore_index=True)
    df["below_threshold"] = df["alpha"] < threshold
    prev = df.groupby("dimension", sort=False)["alpha"].shift(1)
    df["stopped_reliable"] = (prev >= threshold) & df["below_threshold"]
    return df[["wave", "dimension", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high",
               "omega", "below_threshold", "stopped_reliable", "note"]]


CORRECTION_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg", "bonferroni": "Bonferroni"}


def change_sentences(dims: pd.DataFrame, significance: float, correction: str) -> list[str]:
    """One plain sentence per dimension whose gap changed (adjusted p below the level)."""
    out = []
    correction = CORRECTION_NAMES.get(correction, correction)
    for r in dims.loc[dims["significant"]].itertuples():
        what = "closed by" if r.change > 0 and r.gap_baseline < 0 else (
            "widened by" if r.change < 0 and r.gap_baseline < 0 else "moved by")
        out.append(f"The {r.dimension} gap {what} {abs(r.change):.2f} scale points "
                   f"({r.gap_baseline:+.2f} → {r.gap_latest:+.2f}; {1 - significance:.0%} "
                   f"interval {r.ci_low:+.2f} to {r.ci_high:+.2f}, {r.test}, "
                   f"{correction}-adjusted p {p_text(r.p_adj)}).")
    if not out:
        out.append(f"No dimension's gap changed clearly ({correction}-adjusted p ≥ "
                   f"{significance:g} for every dimension).")
    return out


def waves_payload(labels: list[str], paired: bool, n_shared: int, items: pd.DataFrame,
                  dims: pd.DataFrame, reliability: pd.DataFrame, kano: pd.DataFrame | None,
                  ipa: pd.DataFrame | None, significance: float, correction: str) -> dict:
    """The ``over_time`` entry of ``results.json`` (added only when there are two waves or more)."""
    cols = ["gap_baseline", "gap_latest", "change", "ci_low", "ci_high", "p", "p_adj",
            "significant", "test", "n_pairs"]

    def rec(df, key):
        return {str(r[key]): {c: (None if not isinstance(r[c], str) and pd.isna(r[c]) else r[c])
                              for c in cols} for _, r in df.iterrows()}

    out = {"waves": labels, "baseline": labels[0], "latest": labels[-1],
           "design": "paired" if paired else "independent", "n_shared_respondents": n_shared,
           "test": "paired t" if paired else "Welch t", "correction": correction,
           "ci_level": 1 - significance,
           "gap_change_by_dimension": rec(dims, "dimension"),
           "gap_change_by_item": rec(items, "item"),
           "gaps_closing": dims.loc[dims["significant"] & (dims["change"] > 0)
                                    & (dims["gap_baseline"] < 0), "dimension"].tolist(),
           "reliability_by_wave": {w: dict(zip(g["dimension"], g["alpha"]))
                                   for w, g in reliability.groupby("wave", sort=False)},
           "reliability_flags": reliability.loc[reliability["stopped_reliable"],
                                                "dimension"].tolist(),
           "sentences": change_sentences(dims, significance, correction)}
    if kano is not None and len(kano):
        out["kano_shifts"] = {r.feature: {"from": r.category_baseline, "to": r.category_latest,
                                          "p_adj": None if pd.isna(r.p_adj) else r.p_adj}
                              for r in kano.loc[kano["shifted"]].itertuples()}
    if ipa is not None:
        out["ipa_moves"] = {r.item: {"from": r.quadrant_baseline, "to": r.quadrant_latest}
                            for r in ipa.loc[ipa["moved"]].itertuples()}
    return out


ONE_WAVE = ("One wave of responses: this run is the baseline. A later run with a follow-up "
            "wave will show what changed since.")


@dataclass
class SurveyWaves:
    """The satisfaction survey over waves (first wave against the latest)."""

    labels: list[str]
    paired: bool
    n_shared: int
    item_gaps: pd.DataFrame
    dimension_gaps: pd.DataFrame
    item_change: pd.DataFrame
    dimension_change: pd.DataFrame
    reliability: pd.DataFrame
    ipa: pd.DataFrame | None
    kano: pd.DataFrame | None
    significance: float
    correction: str

    def payload(self) -> dict:
        """The ``over_time`` entry of ``results.json``."""
        return waves_payload(self.labels, self.paired, self.n_shared, self.item_change,
                             self.dimension_change, self.reliability, self.kano, self.ipa,
                             self.significance, self.correction)

    def sentences(self) -> list[str]:
        return change_sentences(self.dimension_change, self.significance, self.correction)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables written next to ``results.json`` (added only with two waves or more)."""
        t = {"gaps_by_wave_item": self.item_gaps, "gaps_by_wave_dimension": self.dimension_gaps,
             "gap_change_item": self.item_change, "gap_change_dimension": self.dimension_change,
             "reliability_by_wave": self.reliability}
        if self.ipa is not None:
            t["ipa_movement"] = self.ipa
        if self.kano is not None:
            t["kano_shifts"] = self.kano
        return t


def compare_waves(surveys: Mapping[str, Survey], significance: float = 0.05,
                  correction: str = "holm", crosshair: str = "mean") -> SurveyWaves:
    """Gaps per wave and the first wave against the latest: gap change, IPA movement (stated
    importance, when both waves have ``I_`` items), Kano shifts, reliability per wave."""
    from .ipa import ipa_table
    from .kano import kano_table
    if len(surveys) < 2:
        raise ValueError("a comparison needs two waves or more")
    labels = list(surveys)
    b, lt = surveys[labels[0]], surveys[labels[-1]]
    items, dims = gaps_by_wave(surveys, significance, correction)
    ic, dc = gap_change(b, lt, significance, correction)
    ipa = (ipa_movement(ipa_table(b, crosshair=crosshair, level=1 - significance),
                        ipa_table(lt, crosshair=crosshair, level=1 - significance))
           if b.importance is not None and lt.importance is not None else None)
    kano = (kano_shifts(kano_table(b, level=1 - significance),
                        kano_table(lt, level=1 - significance), significance, correction)
            if b.kano_features and lt.kano_features else None)
    return SurveyWaves(labels, is_paired(b, lt), len(shared_ids(b, lt)), items, dims, ic, dc,
                       reliability_by_wave(surveys), ipa, kano, significance, correction)
