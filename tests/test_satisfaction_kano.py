"""Kano tables from a survey, Fong's test at its edges, Wilson intervals at other levels: by hand.

References: Berger et al. (1993) for the evaluation table and Better/Worse, Fong (1996) for
the test |a - b| >= z sqrt((a + b)(2n - a - b) / 2n), Wilson (1927) for the interval.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmlib.satisfaction import classify, fong_test
from crmlib.satisfaction.kano import _feature_row, kano_categories, kano_table
from crmlib.satisfaction.prepare import Survey


def _wilson(k: int, n: int, level: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _fong(a: float, b: float, n: float, alpha: float) -> float:
    return stats.norm.ppf(1 - alpha / 2) * np.sqrt((a + b) * (2 * n - a - b) / (2 * n))


def _kano_survey() -> Survey:
    # rows are respondents 10..17 (spreadsheet rows); answers 1 like … 5 dislike
    idx = pd.Index(range(10, 18), name="source_row")
    kf = pd.DataFrame({"app": [1, 1, 1, 1, 2, 5, 1, np.nan],
                       "chat": [2, 3, 1, 4, 2, 1, 1, 3]}, index=idx, dtype=float)
    kd = pd.DataFrame({"app": [3, 5, 2, 4, 5, 1, 3, 5],
                       "chat": [5, 5, 5, 3, 3, 5, 3, 3]}, index=idx, dtype=float)
    ratings = pd.DataFrame({"x": np.full(8, 4.0)}, index=idx)
    cat = pd.DataFrame({"dimension": ["D"], "label": ["x"], "reverse": [0]}, index=["x"])
    return Survey(expectations=ratings, perceptions=ratings, catalogue=cat, scale=(1, 7),
                  kano_functional=kf, kano_dysfunctional=kd)


def test_kano_categories_per_respondent_by_hand():
    c = kano_categories(_kano_survey())
    assert list(c.columns) == ["app", "chat"]
    assert list(c.index) == list(range(10, 18))
    # app: (1,3)A (1,5)O (1,2)A (1,4)A (2,5)M (5,1)R (1,3)A (-,5)missing
    assert list(c["app"][:7]) == ["A", "O", "A", "A", "M", "R", "A"]
    assert pd.isna(c["app"].iloc[7])
    # chat: (2,5)M (3,5)M (1,5)O (4,3)I (2,3)I (1,5)O (1,3)A (3,3)I
    assert list(c["chat"]) == ["M", "M", "O", "I", "I", "O", "A", "I"]


def test_classify_keeps_the_index_and_name():
    f = pd.Series([1.0, 2.0], index=[7, 3], name="app")
    c = classify(f, pd.Series([5.0, 5.0], index=[7, 3]))
    assert list(c.index) == [7, 3] and c.name == "app"
    assert list(c) == ["O", "M"]


def test_kano_table_by_hand():
    t = kano_table(_kano_survey(), alpha=0.05, level=0.80).set_index("feature")
    assert list(t.index) == ["app", "chat"]
    app, chat = t.loc["app"], t.loc["chat"]
    # app: A 4, O 1, M 1, R 1 of n = 7
    assert (app.n, app.A, app.O, app.M, app.I, app.R, app.Q) == (7, 4, 1, 1, 0, 1, 0)
    assert (app.category, app.category_name, app.second) == ("A", "attractive", "M")
    assert app.strength == pytest.approx(3 / 7)
    assert app.better == pytest.approx(5 / 6) and app.worse == pytest.approx(-2 / 6)
    assert (app.better_ci_low, app.better_ci_high) == pytest.approx(_wilson(5, 6, 0.80))
    lo, hi = _wilson(2, 6, 0.80)
    assert (app.worse_ci_low, app.worse_ci_high) == pytest.approx((-hi, -lo))
    assert app.fong_critical == pytest.approx(_fong(4, 1, 7, 0.05))
    assert app.clear_winner == bool(3 >= _fong(4, 1, 7, 0.05))
    # chat: I 3, M 2, O 2, A 1 of n = 8; M beats O on the tie for second place
    assert (chat.n, chat.A, chat.O, chat.M, chat.I) == (8, 1, 2, 2, 3)
    assert (chat.category, chat.second) == ("I", "M")
    assert chat.better == pytest.approx(3 / 8) and chat.worse == pytest.approx(-4 / 8)
    assert chat.fong_critical == pytest.approx(_fong(3, 2, 8, 0.05))
    # defaults: Fong at alpha 0.10, intervals at 95 %
    d = kano_table(_kano_survey()).set_index("feature").loc["app"]
    assert d.fong_critical == pytest.approx(_fong(4, 1, 7, 0.10))
    assert (d.better_ci_low, d.better_ci_high) == pytest.approx(_wilson(5, 6, 0.95))


def test_no_kano_questions_give_empty_tables():
    s = _kano_survey()
    s.kano_functional = s.kano_dysfunctional = None
    assert kano_table(s).empty and kano_categories(s).empty


def test_feature_row_passes_its_level_and_alpha_on():
    cats = pd.Series(list("A" * 9 + "O" * 4 + "M" * 3 + "I" * 6 + "Q"))
    r = _feature_row(cats, alpha=0.05, level=0.90)
    assert r["fong_critical"] == pytest.approx(_fong(9, 6, 23, 0.05))
    assert (r["better_ci_low"], r["better_ci_high"]) == pytest.approx(_wilson(13, 22, 0.90))
    lo, hi = _wilson(7, 22, 0.90)
    assert (r["worse_ci_low"], r["worse_ci_high"]) == pytest.approx((-hi, -lo))
    assert r["better"] == pytest.approx(13 / 22) and r["worse"] == pytest.approx(-7 / 22)


def test_fong_with_one_or_two_categories_and_at_the_boundary():
    clear, diff, crit = fong_test(pd.Series({"A": 5}))
    assert (clear, diff) == (True, 5.0) and crit == pytest.approx(_fong(5, 0, 5, 0.10))
    clear, diff, crit = fong_test(pd.Series({"A": 6, "O": 2}))
    assert diff == 4.0 and crit == pytest.approx(_fong(6, 2, 8, 0.10))
    assert clear == bool(4 >= _fong(6, 2, 8, 0.10))
    # alpha = 1 makes z = 0: a tie meets |a - b| >= 0, so Fong's rule (>=) calls it clear
    assert fong_test(pd.Series({"A": 3, "O": 3}), alpha=1.0)[0] is True


def test_empty_feature_is_quiet_and_blank():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = _feature_row(pd.Series([None, None], dtype=object), 0.10, 0.95)
        clear, diff, crit = fong_test(pd.Series({c: 0 for c in "AOMIRQ"}))
    assert r["category"] is None and r["category_name"] is None and r["second"] is None
    assert r["clear_winner"] is False and np.isnan(r["strength"]) and np.isnan(r["worse"])
    assert clear is False and diff == 0 and np.isnan(crit)
