"""Stage scoring by hand: weighted means with gaps, the bootstrap p-value, company and
group scores under both weightings, the staff-versus-customer gap and the no-skipping rule."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.assessment import StageScorer, load_catalogue
from crmlib.assessment.scoring import _wmean, bootstrap_p, weighted_means

CAPS = {"goals": "business leadership", "cx_strategy": "business leadership",
        "org_structure": "organisation design"}


def test_bootstrap_p_counts_replicates_on_each_side_of_zero():
    reps = np.array([[1.0, 1.0, 0.0, 1.0, 0.5, np.nan],
                     [2.0, 2.0, 0.0, np.nan, 0.5, np.nan],
                     [3.0, 3.0, 1.0, 2.0, 2.0, np.nan],
                     [-1.0, 4.0, -1.0, np.nan, 3.0, np.nan]])
    # 2·min(#≤0 + 1, #≥0 + 1) / (B + 1), at most 1, per column
    expected = [2 * 2 / 5, 2 * 1 / 5, 1.0, 2 * 1 / 3, 2 * 1 / 5]
    got = bootstrap_p(reps)
    assert got[:5] == pytest.approx(expected, rel=1e-12)
    assert np.isnan(got[5])                       # no replicate: no p-value
    assert bootstrap_p(-reps[:, :2]) == pytest.approx(expected[:2], rel=1e-12)  # symmetric
    assert bootstrap_p(np.full((999, 1), 3.0))[0] == pytest.approx(2 / 1000)


def test_weighted_mean_leaves_out_missing_answers():
    x = np.array([[1.0, np.nan, 2.0], [3.0, np.nan, np.nan], [2.0, np.nan, 4.0]])
    w = np.array([[1.0, 1.0, 0.0], [3.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    got = _wmean(x, w, 0)
    assert got[0] == pytest.approx((1 * 1 + 3 * 3) / 4)
    assert np.isnan(got[1])                       # nobody answered
    assert got[2] == pytest.approx(4.0)           # the weighted answer only
    assert _wmean(x, w, 1) == pytest.approx([1.0, 3.0, 4.0])


def test_resample_means_count_each_drawn_respondent():
    counts = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
    x = np.array([[1.0, 2.0], [4.0, np.nan], [2.0, 5.0]])
    got = weighted_means(counts, x)
    assert got[0] == pytest.approx([(2 * 1 + 2) / 3, (2 * 2 + 5) / 3])
    assert got[1, 0] == pytest.approx(4.0) and np.isnan(got[1, 1])
    assert got[2] == pytest.approx([7 / 3, 3.5])


def _survey() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sales (3), Service (2) and Customer (5) rate three capabilities; one Service answer
    on org_structure is missing."""
    rows = []
    current = {"Sales": [[2, 3, 2], [3, 3, 2], [2, 2, 3]],
               "Service": [[1, 2, np.nan], [2, 2, 1]],
               "Customer": [[1, 2, 1], [2, 1, 1], [1, 1, 2], [2, 2, 1], [1, 2, 2]]}
    for group, people in current.items():
        for i, stages in enumerate(people):
            for cap, stage in zip(CAPS, stages):
                if not np.isnan(stage):
                    rows.append({"respondent_id": f"{group}{i}", "group": group,
                                 "capability": cap, "driver": CAPS[cap],
                                 "current": float(stage), "target": 4.0})
    return pd.DataFrame(rows), load_catalogue()


def _by_hand(data: pd.DataFrame, weighting: str) -> pd.Series:
    means = data.groupby(["group", "capability"])["current"].agg(["mean", "size"])
    if weighting == "group":
        return means["mean"].groupby("capability").mean()
    return data.groupby("capability")["current"].mean()


@pytest.mark.parametrize("weighting", ["group", "respondent"])
def test_company_scores_driver_means_and_the_no_skipping_rule(weighting):
    data, cat = _survey()
    m = StageScorer(min_group_size=3, n_boot=200, weighting=weighting).fit(data, cat)
    caps = m.capability_scores_.set_index("capability")
    hand = _by_hand(data, weighting)
    for cap in CAPS:
        assert caps.loc[cap, "estimate"] == pytest.approx(hand[cap], rel=1e-12), cap
        assert caps.loc[cap, "n_respondents"] == (data["capability"] == cap).sum()
    drivers = m.driver_scores_.set_index("driver")
    lead = (hand["goals"] + hand["cx_strategy"]) / 2
    assert drivers.loc["business leadership", "estimate"] == pytest.approx(lead, rel=1e-12)
    assert drivers.loc["organisation design", "estimate"] == pytest.approx(
        hand["org_structure"], rel=1e-12)
    assert m.mean_stage_ == pytest.approx((lead + hand["org_structure"]) / 2, rel=1e-12)
    # a base counts only when every driver reaches it: the floor of the lowest driver
    assert m.company_stage_ == int(np.floor(min(lead, hand["org_structure"]) + 1e-9))
    assert (caps["ci_low"] <= caps["estimate"]).all() and (caps["estimate"] <= caps["ci_high"]).all()
    assert list(caps["base"]) == [int(np.floor(hand[c] + 1e-9)) for c in caps.index]


def test_groups_below_the_threshold_are_hidden_but_counted():
    data, cat = _survey()
    m = StageScorer(min_group_size=3, n_boot=200).fit(data, cat)
    g = m.groups_.set_index("group")
    assert list(m.groups_["group"]) == ["Sales", "Service", "Customer"]  # staff sorted first
    assert list(g["role"]) == ["staff", "staff", "customer"]
    assert list(g["n_respondents"]) == [3, 2, 5] and list(g["shown"]) == [True, False, True]
    assert set(m.group_stages_["group"]) == {"Sales", "Customer"}
    assert set(m.group_capability_scores_["group"]) == {"Sales", "Customer"}
    assert m.notes_[0].startswith("1 group(s) with fewer than 3 respondents (2 respondents")
    assert "exactly one group hidden" in m.notes_[1]
    sales = m.group_capability_scores_.set_index(["group", "capability"])
    assert sales.loc[("Sales", "goals"), "estimate"] == pytest.approx(7 / 3)
    assert sales.loc[("Sales", "goals"), "n"] == 3
    gd = m.group_driver_scores_.set_index(["group", "driver"])
    assert gd.loc[("Customer", "business leadership"), "estimate"] == pytest.approx(
        ((1 + 2 + 1 + 2 + 1) / 5 + (2 + 1 + 1 + 2 + 2) / 5) / 2)


def test_staff_versus_customer_gap_by_hand():
    data, cat = _survey()
    m = StageScorer(min_group_size=3, n_boot=300, weighting="group").fit(data, cat)
    gap = m.staff_customer_gap_.set_index("capability")
    assert list(gap.columns) == ["driver", "staff", "customer", "estimate", "se", "ci_low",
                                 "ci_high", "p_boot"]
    staff = data[data["group"] != "Customer"].groupby(["group", "capability"])["current"].mean()
    staff = staff.groupby("capability").mean()        # each staff group counts once
    cust = data[data["group"] == "Customer"].groupby("capability")["current"].mean()
    for cap in CAPS:
        assert gap.loc[cap, "staff"] == pytest.approx(staff[cap], rel=1e-12)
        assert gap.loc[cap, "customer"] == pytest.approx(cust[cap], rel=1e-12)
        assert gap.loc[cap, "estimate"] == pytest.approx(staff[cap] - cust[cap], rel=1e-12)
    assert gap.loc["overall", "estimate"] == pytest.approx((staff - cust).mean(), rel=1e-12)
    assert gap.loc["overall", "staff"] == pytest.approx(staff.mean(), rel=1e-12)
    assert gap.loc["goals", "p_boot"] == pytest.approx(
        bootstrap_p(m.replicates_["gap"])[list(CAPS).index("goals")], rel=1e-12)
    assert 0 < gap.loc["goals", "p_boot"] <= 1
    summary = m.summary().set_index("quantity")
    assert summary.loc["staff − customer gap", "estimate"] == pytest.approx(
        gap.loc["overall", "estimate"])
    assert summary.loc["capability: goals", "estimate"] == pytest.approx(
        m.capability_scores_.set_index("capability").loc["goals", "estimate"])


def test_no_gap_without_customers_or_with_too_few():
    data, cat = _survey()
    staff_only = StageScorer(min_group_size=2, n_boot=200).fit(
        data[data["group"] != "Customer"], cat)
    assert staff_only.staff_customer_gap_.empty
    assert any("No 'Customer' group" in n for n in staff_only.notes_)
    few = StageScorer(min_group_size=6, n_boot=200).fit(data, cat)
    assert few.staff_customer_gap_.empty
    assert any("gap is not shown" in n for n in few.notes_)


@pytest.mark.parametrize("kw,match", [({"weighting": "mean"}, "weighting"),
                                      ({"n_boot": 99}, "n_boot"), ({"ci": 1.0}, "ci"),
                                      ({"ci": 0.0}, "ci")])
def test_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        StageScorer(**kw)


def test_statement_names_the_base_and_the_lowest_driver():
    data, cat = _survey()
    m = StageScorer(min_group_size=3, n_boot=200).fit(data, cat)
    text = m.stage_statement()
    low = m.driver_scores_.loc[m.driver_scores_["estimate"].idxmin()]
    assert text.startswith(f"The company stands on base {m.company_stage_} (")
    assert f"the lowest driver is {low['driver']} at {low['estimate']:.2f}" in text
    assert f"{m.company_stage_support_:.0%} of bootstrap replicates give the same base." in text


def test_one_answer_or_one_replicate_is_enough():
    counts = np.array([[1.0, 0.0, 0.0]])
    x = np.array([[2.5, 1.0], [4.0, np.nan], [2.0, np.nan]])
    assert weighted_means(counts, x)[0] == pytest.approx([2.5, 1.0])  # one respondent drawn
    assert bootstrap_p(np.array([[2.0], [np.nan]]))[0] == pytest.approx(1.0)  # B = 1: 2·1/2


def test_bootstrap_summary_is_the_percentile_interval_and_sample_sd():
    from crmlib.assessment.scoring import bootstrap_summary
    rng = np.random.default_rng(4)
    boot = rng.normal(size=(400, 3))
    boot[::7, 1] = np.nan                         # replicates without a value are left out
    point = np.array([0.1, 0.2, 0.3])
    s = bootstrap_summary(point, boot, 0.90)
    ok = boot[~np.isnan(boot[:, 1]), 1]
    assert s["estimate"] is point
    assert s["se"][1] == pytest.approx(np.std(ok, ddof=1), rel=1e-12)
    assert (s["ci_low"][1], s["ci_high"][1]) == pytest.approx(tuple(np.percentile(ok, [5, 95])))
    assert s["ci_low"][0] == pytest.approx(np.percentile(boot[:, 0], 5))
    s80 = bootstrap_summary(point, boot, 0.80)
    assert s80["ci_high"][2] == pytest.approx(np.percentile(boot[:, 2], 90))
