"""Misalignment as two separate findings: departments disagreeing, and staff versus customers.

A survey where customers rate the company lower than staff everywhere (the usual case)
and the departments disagree on two capabilities only: the internal finding must name
exactly those two, strongest first, and the staff-versus-customer finding must be a list
of its own, ranked by the size of the gap.
"""
import numpy as np
import pandas as pd
import pytest

from crmlib.assessment import assess, load_catalogue, results_payload
from crmlib.io import load_assessment

DEPARTMENTS = ("Sales", "Marketing", "Service", "IT")
DISAGREE = {("Sales", "culture"): 1.6, ("IT", "rewards"): 1.0}  # department, capability: bias
CUSTOMER_BIAS = {"customer_360": -1.8, "touchpoints": -1.3}     # -0.9 elsewhere


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    rng = np.random.default_rng(11)
    caps = load_catalogue().index.tolist()
    rows = []
    for group, n in [(d, 15) for d in DEPARTMENTS] + [("Customer", 40)]:
        for i in range(n):
            for c in caps:
                bias = (CUSTOMER_BIAS.get(c, -0.9) if group == "Customer"
                        else DISAGREE.get((group, c), 0.0))
                cur = int(np.clip(np.round(2.4 + bias + rng.normal(0, 0.45)), 1, 4))
                rows.append((f"{group[:3]}{i:03d}", group, c, cur, 3))
    df = pd.DataFrame(rows, columns=["respondent_id", "group", "capability", "current_stage",
                                     "target_stage"])
    path = tmp_path_factory.mktemp("misalign") / "responses.csv"
    df.to_csv(path, index=False)
    a = assess(load_assessment(path), n_boot=2000)  # Holm over 20 needs p_boot < 0.0025
    return df, a, results_payload(a)


def test_internal_disagreement_names_only_what_departments_dispute_strongest_first(survey):
    df, a, res = survey
    staff = df[df["group"] != "Customer"]
    span = (staff.groupby(["capability", "group"])["current_stage"].mean()
            .groupby("capability").agg(lambda m: m.max() - m.min()))
    assert set(res["misaligned_capabilities"]) == {"culture", "rewards"}
    assert np.all(np.diff(span[res["misaligned_capabilities"]].to_numpy()) <= 1e-12)
    assert a.between["n_groups"].max() == len(DEPARTMENTS)  # customers are not in the test


def test_staff_versus_customer_gap_is_its_own_ranked_finding(survey):
    df, a, res = survey
    gaps = res["staff_customer_gap_capabilities"]
    assert len(gaps) > 10 and gaps[0] == "customer_360"
    # staff − customer mean by hand (staff groups weighted equally), largest first
    m = df.groupby(["capability", "group"])["current_stage"].mean().unstack()
    hand = (m[list(DEPARTMENTS)].mean(axis=1) - m["Customer"]).abs()
    assert np.all(np.diff(hand[gaps].to_numpy()) <= 1e-12)  # non-increasing (ties in any order)
    detail = pd.DataFrame(res["staff_customer_gaps"]).set_index("capability")
    assert detail["gap"].to_numpy() == pytest.approx((m[list(DEPARTMENTS)].mean(axis=1)
                                                      - m["Customer"])[gaps].to_numpy())
    internal = pd.DataFrame(res["internal_disagreement"])
    assert internal["capability"].tolist() == res["misaligned_capabilities"]
