"""Gap statistics at their edges, against hand computations and scipy.

Wilcoxon (1945) for the exact signed-rank p of identical gaps; Kish's effective n and the
linearisation s.e. of a weighted mean (Cochran 1977, §6); Games & Howell (1976) pairwise;
Benjamini & Hochberg (1995) step-up written out; percentile bootstrap (Efron &
Tibshirani 1993) replayed with the documented seed.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crmlib.io import DataError, DataQualityReport, ParameterError
from crmlib.satisfaction import (
    dimension_gaps,
    load_clv_table,
    overall_score,
    paired_gap,
    segment_gaps,
    segment_pairwise,
    value_weighted_gaps,
)
from crmlib.satisfaction.gaps import _lift_ci, _weighted_gap, identical_gaps_p
from crmlib.satisfaction.prepare import Survey


def _bh(p):
    """Benjamini–Hochberg adjusted p: min over j >= i of p_(j) m / j, capped at 1."""
    p = np.asarray(p, float)
    m, order = len(p), np.argsort(p)
    adj = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1)
    return out


def _holm(p):
    """Holm's step-down adjusted p: max over j <= i of p_(j) (m - j + 1), capped at 1."""
    p = np.asarray(p, float)
    m, order = len(p), np.argsort(p)
    adj = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1)
    out = np.empty(m)
    out[order] = adj
    return out


def _survey(e: pd.DataFrame, p: pd.DataFrame, dims: dict, segment=None, customer_id=None):
    cat = pd.DataFrame([{"item": i, "dimension": d, "label": i, "reverse": 0}
                        for d, its in dims.items() for i in its]).set_index("item")
    return Survey(expectations=e, perceptions=p, catalogue=cat, scale=(1, 7), segment=segment,
                  customer_id=customer_id)


def test_identical_gaps_p_is_two_over_two_to_the_n():
    assert identical_gaps_p(3) == 0.25 and identical_gaps_p(5) == 2 / 32
    assert identical_gaps_p(2) == 0.5 and identical_gaps_p(1) == 1.0


def test_paired_gap_without_pairs_or_spread():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        none = paired_gap(pd.Series([np.nan, 3.0]), pd.Series([4.0, np.nan]))
    assert none["n"] == 0 and np.isnan([none["gap"], none["expectation"],
                                        none["perception"]]).all()
    assert none["note"] == "0 complete pair(s): no test"
    one = paired_gap(pd.Series([5.0, np.nan]), pd.Series([3.0, 4.0]))
    assert (one["n"], one["gap"], one["note"]) == (1, 2.0, "1 complete pair(s): no test")
    same = paired_gap(pd.Series([5.0, 6, 4, 7]), pd.Series([6.0, 7, 5, 8]))
    assert same["wilcoxon_p"] == 2 / 2 ** 4 and np.isnan(same["t"])
    assert same["note"] == ("all 4 respondents show the same gap (-1): the t-test and its "
                            "interval are undefined (no spread); exact signed-rank p = 2/2^n")
    zero = paired_gap(pd.Series([5.0, 6, 4]), pd.Series([5.0, 6, 4]))
    assert zero["wilcoxon_p"] == 1.0 and "same gap (+0)" in zero["note"]
    ok = paired_gap(pd.Series([5.0, 6, 4]), pd.Series([4.0, 6, 5]))
    assert ok["note"] == ""


def test_wilcoxon_p_when_no_difference_is_zero():
    p = pd.Series([5.0, 6, 2, 7, 6, 3, 5])
    e = pd.Series([3.0, 5, 4, 4, 4, 4, 2])  # differences 2, 1, -2, 3, 2, -1, 3
    assert paired_gap(p, e)["wilcoxon_p"] == pytest.approx(stats.wilcoxon(p - e).pvalue)


def test_weighted_gap_identical_and_weightless():
    r = _weighted_gap(np.array([-1.0, -1, -1]), np.array([1.0, 2, 3]), 0.95)
    assert r == pytest.approx({"n": 3, "n_eff": 36 / 14, "gap_weighted": -1.0, "se": np.nan,
                               "ci_low": np.nan, "ci_high": np.nan, "p": np.nan}, nan_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = _weighted_gap(np.array([1.0, 2]), np.array([0.0, 0.0]), 0.95)
    assert z["n"] == 2 and np.isnan([z["n_eff"], z["gap_weighted"], z["se"], z["p"]]).all()


def _lift_by_hand(d, w, level, n_boot, rng):
    idx = rng.integers(0, len(d), (n_boot, len(d)))
    dd, ww = d[idx], w[idx]
    tot = ww.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = (dd * ww).sum(axis=1) / tot - dd.mean(axis=1)
    return tuple(np.quantile(lift[tot > 0], [(1 - level) / 2, (1 + level) / 2]))


def _lift_interval(d, w, level, n_boot, seed):
    """crmlib's lift interval with the lift at the hand interval's midpoint (so it is shown)."""
    by_hand = _lift_by_hand(d, w, level, n_boot, np.random.default_rng(seed))
    got = _lift_ci(d, w, float(np.mean(by_hand)), level, n_boot, np.random.default_rng(seed))
    return got[:2], by_hand


def test_lift_interval_small_weights_one_draw_and_two_respondents():
    d, w = np.array([1.0, -2, 0, 3, -1]), np.array([0.01, 0.02, 0.0, 0.03, 0.01])
    got, by_hand = _lift_interval(d, w, 0.9, 200, 3)
    assert got == pytest.approx(by_hand)
    one = _lift_ci(d, w + 1, 0.0, 0.9, 1, np.random.default_rng(4))  # one draw: no interval
    assert np.isnan(one[:2]).all() and "bootstrap resamples could be fitted" in one[2]
    got, by_hand = _lift_interval(d[:2], w[:2], 0.9, 50, 5)
    assert got == pytest.approx(by_hand)
    assert np.isnan(_lift_ci(d[:1], w[:1], 0.0, 0.9, 50, np.random.default_rng(5))[:2]).all()


def test_lift_interval_over_several_memory_chunks():
    rng = np.random.default_rng(0)
    d, w = rng.normal(size=25_000), rng.exponential(size=25_000)  # 80 draws per chunk
    got, by_hand = _lift_interval(d, w, 0.95, 130, 1)
    assert got == pytest.approx(by_hand)


def _segmented(seed=8):
    rng = np.random.default_rng(seed)
    seg = pd.Series(np.repeat(["a", "b", "c", None], [5, 9, 4, 7]), dtype=object)
    n = len(seg)
    e = pd.DataFrame({"x": rng.normal(5, 1, n), "y": rng.normal(5, 1, n)})
    p = pd.DataFrame({"x": e["x"] - 0.8 * (seg == "b") + rng.normal(0, 0.6, n),
                      "y": e["y"] + rng.normal(0, 0.3, n)})
    return _survey(e, p, {"D": ["x"], "E": ["y"]}, segment=seg)


def test_segment_pairwise_keeps_segments_of_min_size_and_names_the_missing_segment():
    s = _segmented()
    t = segment_pairwise(s)
    assert list(t.index) == list(range(len(t)))
    # a (5, = min_size), b (9), (no segment) (7); c (4) is too small
    assert set(t["A"]) | set(t["B"]) == {"a", "b", "(no segment)"}
    assert len(t) == 6 and list(t["dimension"]) == ["D"] * 3 + ["E"] * 3
    seg = s.segment.fillna("(no segment)")
    for r in t.itertuples():
        g = s.dimension_scores("gaps")[r.dimension]
        a, b = g[seg == r.A], g[seg == r.B]
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        half = stats.studentized_range.ppf(0.95, 3, df) / np.sqrt(2) * np.sqrt(va + vb)
        assert (r.ci_low, r.ci_high) == pytest.approx((r.diff - half, r.diff + half), rel=1e-6)
    assert len(segment_pairwise(s, min_size=6)) == 2  # only b and (no segment) left


def test_segment_pairwise_skips_a_dimension_and_can_be_empty():
    s = _segmented()
    s.perceptions["x"] = s.expectations["x"] + 1.0  # D: no spread in any segment
    t = segment_pairwise(s)
    assert set(t["dimension"]) == {"E"} and list(t.index) == [0, 1, 2]
    s.segment = pd.Series(np.repeat(["a", "b"], [3, 22]))
    empty = segment_pairwise(s)
    assert empty.empty and list(empty.columns) == ["dimension", "A", "B", "diff", "se", "ci_low",
                                                   "ci_high", "p_adj"]


def test_segment_gaps_min_size_correction_and_notes():
    s = _segmented()
    by, t = segment_gaps(s, correction="bh")
    t = t.set_index("dimension")
    assert list(t["segments"]) == [3, 3] and list(t["left_out"]) == ["c", "c"]
    assert list(t["note"]) == ["", ""]
    assert t["p_welch_adj"].to_numpy() == pytest.approx(_bh(t["p_welch"]))
    assert t["p_kruskal_adj"].to_numpy() == pytest.approx(_bh(t["p_kruskal"]))
    g = s.dimension_scores("gaps")["E"]
    seg = s.segment.fillna("(no segment)")
    groups = [g[seg == k] for k in ["(no segment)", "a", "b"]]
    assert t.loc["E", "H"] == pytest.approx(stats.kruskal(*groups).statistic)
    _, t6 = segment_gaps(s, min_size=6)
    assert list(t6["segments"]) == [2, 2]
    assert segment_gaps(s)[1]["segments"].tolist() == [3, 3]


def test_segment_test_with_small_spread_no_spread_and_two_values():
    seg = pd.Series(np.repeat(["a", "b"], [6, 6]))
    e = pd.DataFrame({"x": np.full(12, 4.0), "y": np.full(12, 4.0), "z": np.full(12, 4.0)})
    p = pd.DataFrame({"x": 4 + np.r_[0.1, 0.2, 0.1, 0.3, 0.2, 0.1, 0.5, 0.6, 0.4, 0.5, 0.7, 0.6],
                      "y": np.r_[np.full(6, 5.0), 4, 5, 4, 5, 4, 5],
                      "z": np.r_[np.full(6, 5.0), np.full(6, 4.0)]})
    _, t = segment_gaps(_survey(e, p, {"X": ["x"], "Y": ["y"], "Z": ["z"]}, segment=seg))
    t = t.set_index("dimension")
    gx = p["x"] - 4
    welch = stats.ttest_ind(gx[:6], gx[6:], equal_var=False)
    assert t.loc["X", "F"] == pytest.approx(welch.statistic ** 2)  # variances below 1
    assert t.loc["X", "p_welch"] == pytest.approx(welch.pvalue)
    assert t.loc["Y", "note"] == "Welch's ANOVA undefined: no spread in segment(s) a"
    assert np.isnan(t.loc["Y", "F"])
    assert t.loc["Y", "H"] == pytest.approx(stats.kruskal(p["y"][:6], p["y"][6:]).statistic)
    assert t.loc["Z", "note"] == "Welch's ANOVA undefined: no spread in segment(s) a, b"
    assert t.loc["Z", "H"] == pytest.approx(stats.kruskal(p["z"][:6], p["z"][6:]).statistic)


def test_dimension_gaps_correction_and_significance_reach_the_table():
    rng = np.random.default_rng(2)
    e = pd.DataFrame(rng.normal(5, 1, (40, 3)), columns=["a", "b", "c"])
    p = e + np.array([-0.6, -0.2, 0.05]) + rng.normal(0, 1, (40, 3))
    s = _survey(e, p, {"A": ["a"], "B": ["b"], "C": ["c"]})
    t = dimension_gaps(s, correction="bh")
    assert t["p_adj"].to_numpy() == pytest.approx(_bh(t["p"]))
    assert t["wilcoxon_p_adj"].to_numpy() == pytest.approx(_bh(t["wilcoxon_p"]))
    assert t["significant"].tolist() == (t["p_adj"] < 0.05).tolist()
    assert t["significant"].any()


def test_dimension_weights_must_be_non_negative_with_a_positive_sum():
    s = _segmented()
    for bad in ({"D": -1, "E": 2}, {"D": 0, "E": 0}):
        with pytest.raises(ParameterError, match="non-negative with a positive sum"):
            overall_score(s, bad)


def _valued(n=30, seed=4):
    rng = np.random.default_rng(seed)
    e = pd.DataFrame(rng.integers(3, 8, (n, 2)).astype(float), columns=["x", "y"])
    p = (e + rng.integers(-2, 2, (n, 2))).clip(1, 7)
    p.iloc[3, 0] = np.nan
    cid = pd.Series([f"C{i}" for i in range(n)], index=pd.RangeIndex(2, n + 2))
    e.index = p.index = cid.index
    return _survey(e, p, {"D": ["x"], "E": ["y"]}, customer_id=cid)


def test_value_weighted_lift_intervals_replay_the_seeded_bootstrap():
    s = _valued()
    clv = pd.DataFrame({"customer_id": [f"C{i}" for i in range(30)],
                        "clv": np.linspace(10, 300, 30)})
    items, dims = value_weighted_gaps(s, clv, correction="bh")
    rng = np.random.default_rng(0)  # defaults: seed 0, 500 resamples, 95 %
    w = pd.Series(np.linspace(10, 300, 30), index=s.customer_id.index)
    gaps = {"item": s.perceptions - s.expectations, "dimension": s.dimension_scores("gaps")}
    for table, key in ((items, "item"), (dims, "dimension")):
        for r in table.itertuples():
            g = gaps[key][getattr(r, key)]
            ok = g.notna()
            d, wv = g[ok].to_numpy(), w[ok].to_numpy()
            assert r.gap_unweighted == pytest.approx(d.mean())
            assert r.gap_weighted == pytest.approx(np.average(d, weights=wv))
            assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx(
                _lift_by_hand(d, wv, 0.95, 500, rng))
        assert table["p_adj"].to_numpy() == pytest.approx(_bh(table["p"]))


def test_value_weighted_gaps_count_exclusions_with_an_example_row():
    s = _valued()
    s.customer_id.iloc[4] = None  # spreadsheet row 6
    clv = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 30)],  # C0 (row 2) unknown
                        "clv": np.r_[np.nan, np.linspace(10, 300, 28)]})  # C1 (row 3) no value
    q = DataQualityReport()
    value_weighted_gaps(s, clv, quality=q, n_boot=0)
    assert q.read == {"value-weighted gaps (respondents)": 30}
    rows = {r["reason"]: (r["rows"], r["example"]) for r in q.rows}
    assert rows == {"no customer_id": (1, "row 6"),
                    "customer_id not in the CLV table": (1, "row 2"),
                    "customer has no CLV value": (1, "row 3")}
    clean = DataQualityReport()
    value_weighted_gaps(_valued(), pd.DataFrame({"customer_id": [f"C{i}" for i in range(30)],
                                                 "clv": 1.0}), quality=clean, n_boot=0)
    assert [r["example"] for r in clean.rows] == ["", "", ""]


def test_value_weighted_gaps_need_two_valued_customers_with_positive_value():
    s = _valued()
    for clv in (pd.DataFrame({"customer_id": ["C1"], "clv": [50.0]}),
                pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "clv": [0.0, 0.0, 0.0]})):
        with pytest.raises(DataError, match="fewer than two survey respondents"):
            value_weighted_gaps(s, clv)


def test_clv_table_errors_name_their_source(tmp_path):
    bad = pd.DataFrame({"customer_id": ["C1", "C2"], "clv": [3.0, -1.0]})
    with pytest.raises(DataError) as e:
        load_clv_table(bad)
    assert e.value.file == "CLV table (DataFrame)"
    path = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": ["C1", "C1"], "clv": [3.0, 4.0]}).to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        load_clv_table(path)
    assert e.value.file == str(path)
    q = DataQualityReport()
    load_clv_table(pd.DataFrame({"customer_id": ["C1", "C2"], "clv": [3.0, 4.0]}), quality=q)
    assert q.read == {"CLV table": 2}


def test_clv_table_from_a_database_is_named_by_its_variable(tmp_path, monkeypatch):
    import sqlite3
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        pd.DataFrame({"customer_id": ["C1", "C2"], "clv": [3.0, 4.0]}).to_sql("good", con)
        pd.DataFrame({"customer_id": ["C1", "C2"], "clv": [3.0, -4.0]}).to_sql("bad", con)
    monkeypatch.setenv("CLV_DB", f"sqlite:///{db}")
    good = load_clv_table({"database": "CLV_DB", "table": "good"})
    assert good["clv"].tolist() == [3.0, 4.0]
    with pytest.raises(DataError) as e:
        load_clv_table({"database": "CLV_DB", "table": "bad"})
    assert e.value.file == "database $CLV_DB table bad" and e.value.row == 3


def test_the_chosen_correction_reaches_segment_and_value_tables():
    rng = np.random.default_rng(6)
    n, cols = 40, ["a", "b", "c", "d"]
    seg = pd.Series(np.repeat(["x", "y"], [20, 20]))
    e = pd.DataFrame(rng.normal(5, 1, (n, 4)), columns=cols)
    shift = np.outer((seg == "y").to_numpy(), [0.9, 0.6, 0.45, 0.1])
    p = e - shift + rng.normal(0, 0.8, (n, 4))
    cid = pd.Series([f"C{i}" for i in range(n)])
    s = _survey(e, p, {c.upper(): [c] for c in cols}, segment=seg, customer_id=cid)
    _, t = segment_gaps(s, correction="bh")
    assert t["p_welch_adj"].to_numpy() == pytest.approx(_bh(t["p_welch"]))
    assert t["p_kruskal_adj"].to_numpy() == pytest.approx(_bh(t["p_kruskal"]))
    for q in (t["p_welch"], t["p_kruskal"]):  # these p-values tell BH from Holm's default
        assert not np.allclose(_bh(q), _holm(q))
    clv = pd.DataFrame({"customer_id": cid, "clv": np.linspace(1, 80, n)})
    items, dims = value_weighted_gaps(s, clv, correction="bh", n_boot=0)
    for table in (items, dims):
        assert table["p_adj"].to_numpy() == pytest.approx(_bh(table["p"]))
        assert not np.allclose(_bh(table["p"]), _holm(table["p"]))
