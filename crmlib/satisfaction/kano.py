"""Kano analysis: evaluation table, categories, category strength, Better/Worse, Fong's test.

Each feature is asked twice: functional ("if the product has it") and
dysfunctional ("if it does not"), both answered 1 like, 2 must-be, 3 neutral,
4 live-with, 5 dislike. The pair maps to a category through the evaluation
table of Berger et al. (1993), "Kano's methods for understanding
customer-defined quality", Center for Quality Management Journal 2(4):

=========  ====  =======  =======  =========  =======
F \\ D      like  must-be  neutral  live-with  dislike
=========  ====  =======  =======  =========  =======
like       Q     A        A        A          O
must-be    R     I        I        I          M
neutral    R     I        I        I          M
live-with  R     I        I        I          M
dislike    R     R        R        R          Q
=========  ====  =======  =======  =========  =======

A attractive, O one-dimensional, M must-be, I indifferent, R reverse,
Q questionable. Per feature we report the counts, the dominant category
(ties broken M > O > A > I > R > Q, Berger et al.'s rule of taking the
category with the stronger influence on satisfaction), the category strength
(share of the first minus the second category; Lee & Newcomb 1997), the
Better and Worse coefficients

    Better = (A + O) / (A + O + M + I),   Worse = −(O + M) / (A + O + M + I)

(Berger et al. 1993; sign convention of Timko) with Wilson intervals
(:func:`statsmodels.stats.proportion.proportion_confint`), and Fong's test
(Fong 1996, "Using the self-stated importance questionnaire to interpret Kano
questionnaire results", CQM Journal 5(3)): the dominant category is a clear
winner when |a − b| ≥ z · sqrt((a + b)(2n − a − b) / (2n)), with a, b the two
largest counts and n the answers (Fong used z = 1.65, i.e. α = 0.10).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from .prepare import Survey

EVALUATION = np.array([list("QAAAO"), list("RIIIM"), list("RIIIM"), list("RIIIM"),
                       list("RRRRQ")])
CATEGORIES = ("A", "O", "M", "I", "R", "Q")  # display order
TIE_BREAK = ("M", "O", "A", "I", "R", "Q")
NAMES = {"A": "attractive", "O": "one-dimensional", "M": "must-be", "I": "indifferent",
         "R": "reverse", "Q": "questionable"}


def classify(functional: pd.Series, dysfunctional: pd.Series) -> pd.Series:
    """Kano category (A, O, M, I, R, Q) of each answer pair; missing where either is missing."""
    f, d = functional.to_numpy(float), dysfunctional.to_numpy(float)
    ok = np.isfinite(f) & np.isfinite(d)
    out = np.full(len(f), None, dtype=object)
    out[ok] = EVALUATION[f[ok].astype(int) - 1, d[ok].astype(int) - 1]
    return pd.Series(out, index=functional.index, name=functional.name)


def fong_test(counts: pd.Series, alpha: float = 0.10) -> tuple[bool, float, float]:
    """Fong's test on category counts: ``(clear_winner, |a − b|, critical value)``."""
    top = counts.sort_values(ascending=False, kind="stable").to_numpy(float)
    a, b = top[0], (top[1] if len(top) > 1 else 0.0)
    n = counts.sum()
    z = stats.norm.ppf(1 - alpha / 2)
    q = z * np.sqrt((a + b) * (2 * n - a - b) / (2 * n)) if n else np.nan
    return bool(abs(a - b) >= q), float(abs(a - b)), float(q)


def _feature_row(cats: pd.Series, alpha: float, level: float) -> dict:
    cats = cats.dropna()
    counts = cats.value_counts().reindex(list(CATEGORIES), fill_value=0)
    n = int(counts.sum())
    order = sorted(TIE_BREAK, key=lambda c: (-counts[c], TIE_BREAK.index(c)))
    first, second = order[0], order[1]
    clear, diff, crit = fong_test(counts[list(CATEGORIES)], alpha)
    aomi = int(counts[["A", "O", "M", "I"]].sum())
    row = {"n": n, **{c: int(counts[c]) for c in CATEGORIES}, "category": first,
           "category_name": NAMES[first], "second": second,
           "strength": (counts[first] - counts[second]) / n if n else np.nan,
           "fong_diff": diff, "fong_critical": crit, "clear_winner": clear}
    for key, num, sign in (("better", counts["A"] + counts["O"], 1),
                           ("worse", counts["O"] + counts["M"], -1)):
        if aomi:
            lo, hi = proportion_confint(int(num), aomi, alpha=1 - level, method="wilson")
            # Wilson's interval contains the estimate; min/max drops rounding residue
            lo, hi = min(lo, num / aomi), max(hi, num / aomi)
            est, lo, hi = num / aomi * sign, lo * sign, hi * sign
            row.update({key: est, f"{key}_ci_low": min(lo, hi), f"{key}_ci_high": max(lo, hi)})
        else:
            row.update({key: np.nan, f"{key}_ci_low": np.nan, f"{key}_ci_high": np.nan})
    if not n:
        row.update(category=None, category_name=None, second=None, clear_winner=False)
    return row


def kano_table(survey: Survey, alpha: float = 0.10, level: float = 0.95) -> pd.DataFrame:
    """One row per Kano feature: counts A/O/M/I/R/Q, dominant category, strength,
    Better/Worse with intervals, Fong's test at level ``alpha``."""
    rows = []
    functional, dysfunctional = _answers(survey)
    for feat in survey.kano_features:
        cats = classify(functional[feat], dysfunctional[feat])
        rows.append({"feature": feat, **_feature_row(cats, alpha, level)})
    return pd.DataFrame(rows)


def kano_categories(survey: Survey) -> pd.DataFrame:
    """Respondent x feature Kano categories (for cross-tabs by segment)."""
    functional, dysfunctional = _answers(survey)
    return pd.DataFrame({f: classify(functional[f], dysfunctional[f])
                         for f in survey.kano_features})


def _answers(survey: Survey) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Functional and dysfunctional answers (empty when the survey has no Kano questions)."""
    if survey.kano_functional is None or survey.kano_dysfunctional is None:
        return pd.DataFrame(), pd.DataFrame()
    return survey.kano_functional, survey.kano_dysfunctional
