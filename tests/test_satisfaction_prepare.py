"""Survey preparation and bad input: clear errors naming file, column, row and value, or counted exclusions."""
import numpy as np
import pandas as pd
import pytest

from crmlib.io import DataError, DataQualityReport, ParameterError, load_items, load_survey
from crmlib.satisfaction import (
    derived_importance,
    dimension_gaps,
    item_gaps,
    load_clv_table,
    overall_score,
    prepare_survey,
    reliability_table,
    value_weighted_gaps,
)


def _frames(n=30, seed=0):
    rng = np.random.default_rng(seed)
    items = pd.DataFrame({"item": ["a1", "a2", "a3", "b1", "b2", "c1"],
                          "dimension": ["A", "A", "A", "B", "B", "C"],
                          "label": list("uvwxyz"), "reverse": [0, 0, 1, 0, 0, 0]})
    f = rng.normal(size=n)
    data = {"respondent_id": [f"R{i}" for i in range(n)],
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "segment": rng.choice(["x", "y"], n)}
    for it in items.item:
        data[f"E_{it}"] = np.clip(np.rint(5 + rng.normal(size=n)), 1, 7)
        data[f"P_{it}"] = np.clip(np.rint(4 + f + rng.normal(size=n) * 0.7), 1, 7)
    data["overall_satisfaction"] = np.clip(np.rint(4 + f), 1, 7)
    return pd.DataFrame(data), items


def _prep(survey, items, **kw):
    q = kw.pop("quality", DataQualityReport())
    return prepare_survey(load_survey(survey, quality=q), load_items(items, quality=q),
                          quality=q, **kw), q


def test_clean_survey_prepares():
    s, q = _prep(*_frames(), dont_know_codes=[99])
    assert s.n_respondents == 30 and s.items == ["a1", "a2", "a3", "b1", "b2", "c1"]
    assert s.dimensions == {"A": ["a1", "a2", "a3"], "B": ["b1", "b2"], "C": ["c1"]}
    assert "dimension 'C' has one item" in " ".join(s.notes)


def test_reverse_coded_items_are_flipped():
    survey, items = _frames()
    s, _ = _prep(survey, items)
    assert s.perceptions["a3"].tolist() == (8 - survey["P_a3"]).tolist()
    assert s.expectations["a1"].tolist() == survey["E_a1"].tolist()


def test_dont_know_codes_become_missing_and_are_counted():
    survey, items = _frames()
    survey.loc[3, "P_a1"] = 99
    survey.loc[4, "E_b2"] = 99
    s, q = _prep(survey, items, dont_know_codes=[99])
    assert np.isnan(s.perceptions.loc[5, "a1"])  # spreadsheet row 5 = position 3
    assert q.excluded("survey ratings (cells)") == {"don't-know code set to missing": 2}


def test_rating_outside_the_scale_names_row_item_and_value():
    survey, items = _frames()
    survey.loc[6, "P_b1"] = 9
    with pytest.raises(DataError) as e:
        _prep(survey, items, dont_know_codes=[99])
    assert e.value.column == "P_b1" and e.value.row == 8 and e.value.value == 9
    assert "scale 1..7" in str(e.value)


def test_missing_item_column_is_named():
    survey, items = _frames()
    with pytest.raises(DataError, match="'P_b2'.*") as e:
        _prep(survey.drop(columns="P_b2"), items)
    assert "item catalogue" in str(e.value) and e.value.column == "P_b2"


def test_survey_item_not_in_catalogue_is_named():
    survey, items = _frames()
    survey["E_zz"] = 3
    survey["P_zz"] = 3
    with pytest.raises(DataError, match="not in the item catalogue") as e:
        _prep(survey, items)
    assert e.value.column == "E_zz"


def test_unpaired_kano_column_is_named():
    survey, items = _frames()
    survey["KF_app"] = 1
    with pytest.raises(DataError, match="KD_app"):
        _prep(survey, items)


def test_missing_segment_column_is_named():
    survey, items = _frames()
    with pytest.raises(DataError, match="segment column 'region'"):
        _prep(survey, items, segment_col="region")


def test_empty_and_thin_respondents_are_excluded_and_counted():
    survey, items = _frames()
    ep = [c for c in survey.columns if c[:2] in ("E_", "P_")]
    survey.loc[0, ep] = np.nan
    survey.loc[1, ep] = 99
    survey.loc[2, ep[:9]] = np.nan  # 3 of 12 answered
    s, q = _prep(survey, items, dont_know_codes=[99])
    assert s.n_respondents == 27
    ex = q.excluded("satisfaction survey")
    assert ex["no ratings at all (all missing or don't know)"] == 2
    assert ex["fewer than 50% of ratings answered"] == 1


def test_constant_item_is_noted_and_left_out_of_reliability():
    survey, items = _frames()
    survey["P_a2"] = 5.0
    s, _ = _prep(survey, items)
    assert s.constant_items == ["a2"]
    rel = reliability_table(s, n_boot=0).set_index("dimension")
    assert "constant item" in rel.loc["A", "note"] and rel.loc["A", "n_items"] == 2
    assert np.isfinite(rel.loc["A", "alpha"])
    assert np.isnan(rel.loc["C", "alpha"]) and "one item" in rel.loc["C", "note"]
    d, r2, n = derived_importance(s, n_boot=0)
    assert "a2" not in set(d["item"])
    g = item_gaps(s).set_index("item")
    assert np.isfinite(g.loc["a2", "gap"])  # gap still reported


def test_parameters_are_checked():
    survey, items = _frames()
    with pytest.raises(ParameterError, match="scale_min"):
        _prep(survey, items, scale_min=7, scale_max=1)
    with pytest.raises(ParameterError, match="dont_know_codes"):
        _prep(survey, items, dont_know_codes=[3])
    s, _ = _prep(survey, items)
    with pytest.raises(ParameterError, match="dimension_weights.*'Z'"):
        overall_score(s, {"A": 1, "B": 1, "C": 1, "Z": 1})
    with pytest.raises(ParameterError, match="no weight for dimension 'C'"):
        overall_score(s, {"A": 1, "B": 1})
    with pytest.raises(ParameterError, match="correction"):
        dimension_gaps(s, correction="sidak")


def test_weighted_overall_score_uses_normalised_weights():
    s, _ = _prep(*_frames())
    g = dimension_gaps(s).set_index("dimension")["gap"]
    o = overall_score(s, {"A": 2, "B": 1, "C": 1}).iloc[0]
    assert o["gap"] == pytest.approx(0.5 * g["A"] + 0.25 * g["B"] + 0.25 * g["C"])
    assert o["ci_low"] < o["gap"] < o["ci_high"]


def test_clv_table_checks_and_unmatched_counts(tmp_path):
    survey, items = _frames()
    survey.loc[0, "customer_id"] = np.nan
    survey.loc[1, "customer_id"] = "C99999"
    s, q = _prep(survey, items)
    bad = tmp_path / "customers.csv"
    pd.DataFrame({"customer_id": ["C00002", "C00003"], "clv": [10, -5]}).to_csv(bad, index=False)
    with pytest.raises(DataError) as e:
        load_clv_table(bad)
    assert e.value.column == "clv" and e.value.row == 3
    values = np.linspace(1, 300, 30)
    values[5] = np.nan
    clv = load_clv_table(pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(30)],
                                       "clv": values}), quality=q)
    items_, dims = value_weighted_gaps(s, clv, quality=q)
    ex = q.excluded("value-weighted gaps (respondents)")
    assert ex == {"no customer_id": 1, "customer_id not in the CLV table": 1,
                  "customer has no CLV value": 1}
    assert (items_["n"] <= 27).all() and set(dims["dimension"]) == {"A", "B", "C"}


def test_minimal_survey_runs_the_chain_without_optional_parts():
    """No overall satisfaction, no I_ items, no Kano, no segment, no customer ids."""
    survey, items = _frames()
    survey = survey.drop(columns=["overall_satisfaction", "customer_id", "segment"])
    s, q = _prep(survey, items, segment_col=None)
    assert s.overall is None and s.importance is None and s.kano_features == []
    from crmlib.satisfaction import build_results, ipa_auto, priority_list
    assert ipa_auto(s, None) is None
    ig, dg = item_gaps(s), dimension_gaps(s)
    pr = priority_list(ig, 0.05, scale=s.scale)
    assert (pr["importance_source"] == "equal").all()
    res, tables = build_results({"significance": 0.05}, s, q, {
        "reliability": reliability_table(s, n_boot=0), "dimension_gaps": dg, "item_gaps": ig,
        "overall": overall_score(s), "priorities": pr, "ipa": None, "drivers": None,
        "kano": None, "segment_gaps": None})
    assert "kano" not in res and "drivers" not in res and "value_weighted_gaps" not in res
    assert res["n_respondents"] == 30 and len(res["headline"]) >= 4
    with pytest.raises(DataError, match="overall_satisfaction"):
        derived_importance(s)
    with pytest.raises(DataError, match="customer_id"):
        value_weighted_gaps(s, pd.DataFrame({"customer_id": ["C1"], "clv": [1.0]}))


def test_constant_overall_satisfaction_is_named():
    survey, items = _frames()
    survey["overall_satisfaction"] = 4
    s, _ = _prep(survey, items)
    with pytest.raises(DataError, match="overall_satisfaction.*no variance") as e:
        derived_importance(s, n_boot=0)
    assert e.value.file is not None


def test_small_survey_skips_drivers_and_model_with_a_reason():
    from crmlib.satisfaction import narrative as N
    from crmlib.satisfaction import satisfaction_model
    survey, items = _frames(n=8)
    s, _ = _prep(survey, items)
    d, r2, n = derived_importance(s, n_boot=0, strict=False)
    assert d is None and n == 0
    assert "more complete respondents" in N.drivers(d, r2, notes=s.notes)
    assert satisfaction_model(s, n_boot=0, strict=False) is None
    assert "complete respondents" in N.skipped(s.notes, "pls")
    with pytest.raises(DataError):
        satisfaction_model(s, n_boot=0)


def test_empty_overall_satisfaction_counts_as_absent():
    survey, items = _frames()
    survey["overall_satisfaction"] = np.nan
    s, _ = _prep(survey, items)
    assert s.overall is None and any("overall_satisfaction is empty" in n for n in s.notes)


def _holm(p):
    """Holm's step-down adjustment written out: sorted p_(i)·(m − i + 1), running max, ≤ 1."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    adj = np.maximum.accumulate(p[order] * (len(p) - np.arange(len(p))))
    out = np.empty_like(p)
    out[order] = np.minimum(adj, 1)
    return out


def test_gap_tables_by_hand():
    from scipy import stats

    survey, items = _frames(n=40, seed=3)
    s, _ = _prep(survey, items)
    ig = item_gaps(s, significance=0.10)
    assert list(ig.columns) == ["item", "dimension", "label", "n", "expectation", "perception",
                                "gap", "se", "ci_low", "ci_high", "t", "p", "wilcoxon_p", "d_z",
                                "note", "p_adj", "wilcoxon_p_adj", "significant", "direction"]
    for r in ig.itertuples():
        d = (s.perceptions[r.item] - s.expectations[r.item]).dropna()
        lo, hi = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-10)
        assert r.se == pytest.approx(d.std(ddof=1) / np.sqrt(len(d)), rel=1e-12)
        assert r.t == pytest.approx(d.mean() / stats.sem(d), rel=1e-10)
        assert r.d_z == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-12)
        if (d != 0).all():
            assert r.wilcoxon_p == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-10)
        assert r.direction == ("shortfall" if r.gap < 0 else "exceeds")
    np.testing.assert_allclose(ig["p_adj"], _holm(ig["p"]), rtol=1e-12)
    np.testing.assert_allclose(ig["wilcoxon_p_adj"], _holm(ig["wilcoxon_p"]), rtol=1e-12)
    assert (ig["significant"] == (ig["p_adj"] < 0.10)).all()
    dg = dimension_gaps(s, significance=0.10)
    assert dg.set_index("dimension")["n_items"].to_dict() == {"A": 3, "B": 2, "C": 1}
    e, p = s.dimension_scores("expectations"), s.dimension_scores("perceptions")
    for r in dg.itertuples():
        d = (p[r.dimension] - e[r.dimension]).dropna()
        lo, hi = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-10)
    np.testing.assert_allclose(dg["p_adj"], _holm(dg["p"]), rtol=1e-12)


def test_paired_gap_needs_two_pairs_and_adjust_options():
    from crmlib.satisfaction import adjust
    from crmlib.satisfaction.gaps import paired_gap

    one = paired_gap(pd.Series([5.0, np.nan]), pd.Series([3.0, 4.0]))
    assert (one["n"], one["gap"], one["perception"], one["expectation"]) == (1, 2.0, 5.0, 3.0)
    assert all(np.isnan(one[k]) for k in ("se", "ci_low", "ci_high", "t", "p", "wilcoxon_p",
                                          "d_z"))
    two = paired_gap(pd.Series([5.0, 4.0]), pd.Series([3.0, 3.0]))
    assert two["n"] == 2 and two["gap"] == 1.5 and two["t"] == pytest.approx(3.0)
    assert two["se"] == pytest.approx(0.5) and two["perception"] == 4.5
    p = np.array([0.01, 0.04, np.nan, 0.03])
    np.testing.assert_array_equal(adjust(p, "none"), p)
    holm = adjust(p)
    assert np.isnan(holm[2])
    np.testing.assert_allclose(holm[[0, 1, 3]], _holm([0.01, 0.04, 0.03]))


def test_overall_score_weights():
    survey, items = _frames(n=40, seed=5)
    s, _ = _prep(survey, items)
    g = dimension_gaps(s).set_index("dimension")["gap"]
    eq = overall_score(s).iloc[0]
    assert eq["weighting"] == "equal"
    e, p = s.dimension_scores("expectations"), s.dimension_scores("perceptions")
    ok = e.notna().all(axis=1) & p.notna().all(axis=1)
    assert eq["gap"] == pytest.approx((p[ok] - e[ok]).mean(axis=1).mean(), rel=1e-12)
    w = overall_score(s, {"A": 0.5, "B": 0.0, "C": 0.25}).iloc[0]
    assert w["weighting"] == "client weights"
    assert w["gap"] == pytest.approx((2 * (p[ok]["A"] - e[ok]["A"])
                                      + (p[ok]["C"] - e[ok]["C"])).mean() / 3, rel=1e-12)
    assert set(g.index) == {"A", "B", "C"}
    lo, hi = overall_score(s, significance=0.2).iloc[0][["ci_low", "ci_high"]]
    assert eq["ci_low"] < lo < hi < eq["ci_high"]  # an 80% interval inside the 95% one


def test_weighted_gap_small_samples():
    from scipy import stats

    from crmlib.satisfaction.gaps import _weighted_gap

    r = _weighted_gap(np.array([1.0]), np.array([2.0]), 0.95)
    assert r["n"] == 1 and set(r) == {"n", "n_eff", "gap_weighted", "se", "ci_low", "ci_high",
                                      "p"}
    assert all(np.isnan(r[k]) for k in r if k != "n")
    # two respondents and weights summing to less than one are enough
    r = _weighted_gap(np.array([1.0, -1.0]), np.array([0.3, 0.1]), 0.95)
    assert r["gap_weighted"] == pytest.approx(0.5)
    se = np.sqrt(2 * ((0.75 * 0.5) ** 2 + (0.25 * 1.5) ** 2))
    assert r["se"] == pytest.approx(se)
    assert r["p"] == pytest.approx(2 * stats.norm.sf(0.5 / se))


def _welch_anova(groups):
    """Welch's (1951) heteroscedastic one-way ANOVA, written out: F, df1, df2."""
    n = np.array([len(g) for g in groups], float)
    m = np.array([np.mean(g) for g in groups])
    w = n / np.array([np.var(g, ddof=1) for g in groups])
    k, W = len(groups), w.sum()
    mw = (w * m).sum() / W
    lam = ((1 - w / W) ** 2 / (n - 1)).sum()
    F = ((w * (m - mw) ** 2).sum() / (k - 1)) / (1 + 2 * (k - 2) / (k ** 2 - 1) * lam)
    return F, k - 1, (k ** 2 - 1) / (3 * lam)


def test_segment_gaps_by_hand():
    from scipy import stats

    from crmlib.satisfaction import segment_gaps

    survey, items = _frames(n=60, seed=8)
    # four without a segment (a group of their own), four in z, the rest in x and y
    survey["segment"] = [np.nan] * 4 + ["z"] * 4 + list(np.resize(["x", "y"], 52))
    s, _ = _prep(survey, items)
    by, tests = segment_gaps(s, significance=0.10, min_size=5)
    gaps = s.dimension_scores("gaps")
    seg = s.segment.fillna("(no segment)").astype(str)
    assert list(by.columns) == ["dimension", "segment", "n", "gap", "ci_low", "ci_high"]
    for r in by.itertuples():
        d = gaps.loc[seg == r.segment, r.dimension].dropna()
        assert r.n == len(d) and r.gap == pytest.approx(d.mean(), rel=1e-12)
        lo, hi = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-10)
    t = tests.set_index("dimension")
    for dim in gaps.columns:
        groups = [gaps.loc[seg == g, dim].dropna().to_numpy() for g in ("x", "y")]
        F, df1, df2 = _welch_anova(groups)
        assert t.at[dim, "F"] == pytest.approx(F, rel=1e-9)
        assert t.at[dim, "p_welch"] == pytest.approx(stats.f.sf(F, df1, df2), rel=1e-6)
        h = stats.kruskal(*groups)
        assert (t.at[dim, "H"], t.at[dim, "p_kruskal"]) == pytest.approx((h.statistic, h.pvalue))
        assert t.at[dim, "segments"] == 2
        assert t.at[dim, "left_out"] == "(no segment), z"  # 4 each: below min_size
    np.testing.assert_allclose(tests["p_welch_adj"], _holm(tests["p_welch"]), rtol=1e-12)
    np.testing.assert_allclose(tests["p_kruskal_adj"], _holm(tests["p_kruskal"]), rtol=1e-12)
    assert (tests["significant"] == (tests["p_welch_adj"] < 0.10)).all()
    # no segment large enough: nothing to compare, every segment left out
    _, none = segment_gaps(s, min_size=100)
    assert none["segments"].max() == 0 and none["F"].isna().all() and none["H"].isna().all()
    assert none["left_out"].iloc[0] == "(no segment), x, y, z"


def test_value_weighted_gaps_by_hand():
    """Weighted and unweighted gaps, lift, Holm-adjusted p and the bootstrap interval of the
    lift, the resamples redrawn here from the same seed (items first, then dimensions)."""
    survey, items = _frames(n=30, seed=4)
    s, _ = _prep(survey, items)
    clv = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(30)],
                        "clv": np.linspace(0.01, 0.3, 30)})  # weights summing to less than 5
    it, dims = value_weighted_gaps(s, clv, n_boot=200, random_state=3)
    assert list(it.columns) == ["item", "dimension", "n", "n_eff", "gap_weighted", "se",
                                "ci_low", "ci_high", "p", "gap_unweighted", "value_lift",
                                "lift_ci_low", "lift_ci_high", "note", "p_adj", "significant"]
    assert list(dims.columns) == ["dimension"] + list(it.columns[2:])
    assert it["dimension"].tolist() == ["A", "A", "A", "B", "B", "C"]
    w = clv.set_index("customer_id")["clv"].reindex(s.customer_id).to_numpy()
    rng = np.random.default_rng(3)
    frames = [(it, s.perceptions - s.expectations), (dims, s.dimension_scores("gaps"))]
    for table, gaps in frames:
        for r, col in zip(table.itertuples(), gaps.columns):
            ok = gaps[col].notna().to_numpy()
            d, wv = gaps[col].to_numpy()[ok], w[ok]
            assert r.gap_weighted == pytest.approx((d * wv).sum() / wv.sum(), rel=1e-12)
            assert r.gap_unweighted == pytest.approx(d.mean(), rel=1e-12)
            assert r.value_lift == pytest.approx(r.gap_weighted - r.gap_unweighted, rel=1e-12)
            assert r.ci_high - r.gap_weighted == pytest.approx(1.959964 * r.se, rel=1e-6)
            idx = rng.integers(0, len(d), (200, len(d)))
            lift = (d[idx] * wv[idx]).sum(1) / wv[idx].sum(1) - d[idx].mean(1)
            assert (r.lift_ci_low, r.lift_ci_high) == pytest.approx(
                tuple(np.quantile(lift, [0.025, 0.975])), rel=1e-12)
        np.testing.assert_allclose(table["p_adj"], _holm(table["p"]), rtol=1e-12)
        assert (table["significant"] == (table["p_adj"] < 0.05)).all()
    # two respondents with a value are enough
    two = clv.assign(clv=[0.2, 0.3] + [np.nan] * 28)
    _, d2 = value_weighted_gaps(s, two, n_boot=0)
    assert (d2["n"] <= 2).all() and d2["gap_weighted"].notna().any()
    assert d2["lift_ci_low"].isna().all()  # no resamples asked for
