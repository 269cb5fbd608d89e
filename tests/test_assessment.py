"""Assessment scoring, anonymity, bad input, target gaps and roadmap (hand-computed fixtures)."""
import numpy as np
import pandas as pd
import pytest

from crmlib.assessment import (
    STAGES,
    StageScorer,
    assess,
    build_roadmap,
    export_roadmap,
    load_catalogue,
    prepare_responses,
    priorities,
    results_payload,
)
from crmlib.io import DataError, DataQualityReport, load_assessment

CAT = pd.DataFrame({
    "capability": list("abcde"),
    "driver": ["business leadership", "organisation design", "information architecture",
               "performance measurement", "business leadership"],
    "description": ["cap " + c for c in "abcde"],
    "stage_2": ["b2"] * 5, "stage_3": ["b3"] * 5, "stage_4": ["b4"] * 5})
# Sales: 2 identical respondents; IT: 3 respondents; customers: 2 respondents on a and c only


def _rows():
    rows = []
    for r in ("S1", "S2"):
        rows += [(r, "Sales", c, v, 4) for c, v in dict(a=3, b=3, c=2, d=4, e=4).items()]
    for r, a in (("I1", 2), ("I2", 3), ("I3", 4)):
        rows += [(r, "IT", c, v, 3) for c, v in dict(a=a, b=3, c=3, d=3, e=2).items()]
    for r in ("C1", "C2"):
        rows += [(r, "customer", c, 2, 3) for c in "ac"]
    return pd.DataFrame(rows, columns=["respondent_id", "group", "capability", "current_stage",
                                       "target_stage"])


@pytest.fixture
def catalogue():
    return load_catalogue(CAT)


def _fit(catalogue, min_group_size=1, weighting="group", df=None, **kw):
    data = prepare_responses(load_assessment(_rows() if df is None else df), catalogue, **kw)
    return StageScorer(min_group_size=min_group_size, weighting=weighting, n_boot=300,
                       random_state=1).fit(data, catalogue)


def test_default_catalogue_covers_drivers_and_foundations():
    cat = load_catalogue()
    assert 16 <= len(cat) <= 24
    assert set(cat["driver"]) == {"business leadership", "organisation design",
                                  "information architecture", "performance measurement"}
    assert cat["foundation"].sum() == 4
    assert cat[[f"stage_{k}" for k in STAGES]].notna().all().all()


def test_scores_by_hand_with_group_weighting(catalogue):
    s = _fit(catalogue)
    cap = s.capability_scores_.set_index("capability")["estimate"]
    assert cap.to_dict() == pytest.approx({"a": 8 / 3, "b": 3, "c": 7 / 3, "d": 3.5, "e": 3})
    drv = s.driver_scores_.set_index("driver")["estimate"]
    assert drv["business leadership"] == pytest.approx((8 / 3 + 3) / 2)
    assert drv["information architecture"] == pytest.approx(7 / 3)
    # no-skipping: every driver has reached base 2, information architecture not base 3
    assert s.company_stage_ == 2
    assert s.mean_stage_ == pytest.approx(((8 / 3 + 3) / 2 + 3 + 7 / 3 + 3.5) / 4)
    g = s.group_stages_.set_index("group")
    assert g.loc["Sales", "estimate"] == pytest.approx((3.5 + 3 + 2 + 4) / 4)
    assert g.loc["Sales", "base"] == 2          # mean 3.1 but information architecture at 2
    assert g.loc["Customer", "estimate"] == pytest.approx(2.0)
    gap = s.staff_customer_gap_.set_index("capability")["estimate"]
    assert gap.to_dict() == pytest.approx({"a": 1.0, "c": 0.5, "overall": 0.75})
    # Sales and the customers agree perfectly within group: their intervals collapse
    sales = s.group_capability_scores_.query("group == 'Sales'")
    assert (sales["ci_low"] == sales["estimate"]).all() and (sales["se"] == 0).all()


def test_customer_label_matched_case_insensitively(catalogue):
    s = _fit(catalogue, customer_group="Customer")
    assert s.groups_.set_index("group").loc["Customer", "role"] == "customer"


def test_respondent_weighting_by_hand(catalogue):
    s = _fit(catalogue, weighting="respondent")
    cap = s.capability_scores_.set_index("capability")["estimate"]
    assert cap["a"] == pytest.approx((3 + 3 + 2 + 3 + 4 + 2 + 2) / 7)
    assert cap["e"] == pytest.approx((4 + 4 + 2 * 3) / 5)


def test_intervals_contain_estimates_and_are_reproducible(catalogue):
    a, b = _fit(catalogue), _fit(catalogue)
    t = a.capability_scores_
    assert (t["ci_low"] <= t["estimate"] + 1e-12).all() and (t["estimate"] <= t["ci_high"] + 1e-12).all()
    assert t.loc[t["capability"] == "a", "ci_high"].iloc[0] > t.loc[t["capability"] == "a", "ci_low"].iloc[0]
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    assert set(a.summary().columns) == {"quantity", "estimate", "se", "ci_low", "ci_high"}
    assert 0 <= a.company_stage_support_ <= 1
    assert "no-skipping rule" in a.stage_statement()


def test_small_groups_hidden_but_counted_in_totals(catalogue):
    full, hidden = _fit(catalogue), _fit(catalogue, min_group_size=3)
    assert hidden.groups_.set_index("group")["shown"].to_dict() == {
        "IT": True, "Sales": False, "Customer": False}
    for table in (hidden.group_stages_, hidden.group_capability_scores_,
                  hidden.group_driver_scores_):
        assert set(table["group"]) == {"IT"}
    pd.testing.assert_frame_equal(full.capability_scores_, hidden.capability_scores_)
    assert hidden.n_respondents_ == 7
    assert hidden.staff_customer_gap_.empty          # customers hidden: no gap shown
    text = " ".join(hidden.notes_)
    assert "fewer than 3" in text and "count in the company" in text and "gap is not shown" in text


def test_stage_outside_one_to_four_is_rejected(tmp_path):
    df = _rows()
    df.loc[6, "current_stage"] = 5
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        load_assessment(path)
    assert (e.value.column, e.value.row, e.value.value) == ("current_stage", 8, "5")
    assert "r.csv" in str(e.value)


def test_unknown_capability_is_named(catalogue, tmp_path):
    df = _rows()
    df.loc[3, "capability"] = "zz_top"
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        prepare_responses(load_assessment(path), catalogue)
    assert (e.value.column, e.value.row, e.value.value) == ("capability", 5, "zz_top")
    assert "not in the catalogue" in str(e.value) and "r.csv" in str(e.value)


def test_respondent_in_two_groups_is_rejected(catalogue):
    df = _rows()
    df.loc[1, "group"] = "IT"
    with pytest.raises(DataError, match="more than one group") as e:
        prepare_responses(load_assessment(df), catalogue)
    assert e.value.column == "group"


def test_missing_stages_counted_and_target_parameter(catalogue):
    df = _rows().astype({"current_stage": "Int64", "target_stage": "Int64"})
    df.loc[[0, 5], "target_stage"] = pd.NA
    df.loc[7, "current_stage"] = pd.NA
    q = DataQualityReport()
    data = prepare_responses(load_assessment(df, quality=q), catalogue, quality=q)
    assert len(data) == len(df) - 1
    assert q.excluded("assessment responses")["current_stage missing"] == 1
    assert q.excluded("assessment target stages") == {
        "target_stage missing (current stage still used)": 2}
    fixed = prepare_responses(load_assessment(df), catalogue, target_stage=4)
    assert (fixed["target"] == 4).all()
    assert list(fixed.index) == list(data.index)        # source rows kept as the index
    t = q.to_frame().set_index("reason")
    assert t.loc["current_stage missing", "example"] == "row 9"     # index 7, after the header
    assert t.loc["target_stage missing (current stage still used)", "example"] == "row 2"
    assert t.loc["target_stage missing (current stage still used)", "rows read"] == len(df) - 1
    assert np.isnan(data["target"].iloc[0]) and data["current"].iloc[0] == 3
    assert data["current"].dtype == float and data["target"].dtype == float


def test_no_target_column_needs_the_parameter(catalogue):
    df = _rows().drop(columns="target_stage")
    with pytest.raises(DataError, match="target_stage parameter"):
        prepare_responses(load_assessment(df), catalogue)
    assert prepare_responses(load_assessment(df), catalogue, target_stage=3)["target"].eq(3).all()


def test_capability_without_any_target_gets_a_note(catalogue):
    df = _rows().astype({"target_stage": "Int64"})
    df.loc[df["capability"] == "d", "target_stage"] = pd.NA
    a = assess(load_assessment(df), CAT, min_group_size=1, n_boot=200)
    assert np.isnan(a.gaps.set_index("capability").loc["d", "gap"])
    assert any("No respondent gave a target stage for d" in n for n in a.notes)


def test_empty_responses_are_a_data_error(catalogue):
    df = _rows().astype({"current_stage": "Int64"})
    df["current_stage"] = pd.NA
    data = prepare_responses(load_assessment(df), catalogue)
    with pytest.raises(DataError, match="no responses"):
        StageScorer().fit(data, catalogue)


def test_single_respondent_group_is_said_to_have_no_agreement():
    df = pd.concat([_rows(), pd.DataFrame([("F1", "Finance", "a", 3, 3)],
                                          columns=_rows().columns)])
    a = assess(load_assessment(df), CAT, min_group_size=1, n_boot=200)
    fin = a.agreement.query("group == 'Finance'")
    assert fin["value"].isna().all() and fin["note"].str.contains("no agreement").all()
    assert any("single respondent (Finance)" in n for n in a.notes)


def _gaps():
    return pd.DataFrame({
        "capability": list("abcde"), "driver": ["x"] * 5,
        "current": [2.2, 1.8, 2.5, 2.4, 3.6], "current_low": 0.0, "current_high": 0.0,
        "target": [3.0, 2.5, 3.0, 3.0, 3.0], "gap": [0.8, 0.7, 0.5, 0.6, -0.6],
        "gap_se": 0.1, "gap_low": 0.0, "gap_high": 1.0})


def test_roadmap_orders_by_base_then_gap_and_misalignment(catalogue):
    mis = pd.DataFrame({"capability": list("abcde"), "misaligned": [False, False, True, False,
                                                                    False],
                        "reason": ["", "", "groups differ", "", ""]})
    road = build_roadmap(_gaps(), mis, catalogue)
    # b is on an earlier base (1.8 → base 2) so it comes first despite a smaller gap;
    # c (gap 0.5 + 0.5 for misalignment) overtakes a (0.8) and d (0.6); e is at target
    assert road["capability"].tolist() == ["b", "c", "a", "d", "e"]
    assert road["rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(road["rank"].iloc[4])
    assert road["next_base"].tolist()[:4] == [2, 3, 3, 3]
    assert road.loc[0, "action"] == "reach base 2 (customer-aware): b2"
    assert road.loc[4, "status"] == "maintain"
    assert priorities(road) == ["b", "c", "a", "d"]


def test_roadmap_exported_to_excel(catalogue, tmp_path):
    mis = pd.DataFrame({"capability": list("abcde"), "misaligned": False, "reason": ""})
    road = build_roadmap(_gaps(), mis, catalogue)
    path = export_roadmap(road, tmp_path / "roadmap.xlsx")
    back = pd.read_excel(path, sheet_name="roadmap")
    assert back["Capability"].tolist() == road["capability"].tolist()  # headers in words


def test_results_payload_keys_and_types():
    q = DataQualityReport()
    a = assess(load_assessment(_rows(), quality=q), CAT, min_group_size=2, n_boot=200,
               quality=q)
    res = results_payload(a, q)
    for key in ("n_respondents", "groups", "company_stage", "mean_stage", "stage_by_driver",
                "stage_by_group", "misaligned_capabilities", "staff_vs_customer_gap",
                "priorities", "headline", "excluded", "notes"):
        assert key in res, key
    assert res["n_respondents"] == 7 and res["groups"] == {"IT": 3, "Sales": 2, "Customer": 2}
    assert isinstance(res["company_stage"], int) and res["company_stage"] == 2
    assert res["staff_vs_customer_gap"] == pytest.approx(0.75)
    assert all({"label", "value", "unit", "ci"} <= set(h) for h in res["headline"])
    assert any("No-skipping rule" in n for n in res["notes"])


def test_target_parameter_replaces_response_targets():
    q = DataQualityReport()
    a = assess(load_assessment(_rows(), quality=q), CAT, target_stage=4, min_group_size=2,
               n_boot=200, quality=q)
    res = results_payload(a, q)
    assert res["target_source"] == "parameter" and "assessment target stages" not in res["excluded"]
    gaps = a.gaps.set_index("capability")
    assert (gaps["target"] == 4).all()
    assert gaps["gap"].to_dict() == pytest.approx({"a": 4 - 8 / 3, "b": 1, "c": 4 - 7 / 3,
                                                   "d": 0.5, "e": 1})
