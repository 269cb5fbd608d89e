"""The demo survey's planted truths are recovered by the assessment (small fixture)."""
import pandas as pd
import pytest

from crmlib.assessment import assess, results_payload
from crmlib.demo import generate
from crmlib.demo.assessment import DISPUTED, SIZES, planted_truth
from crmlib.io import DataQualityReport, load_assessment


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    truth = generate(out, size="small", only=("assessment",))
    q = DataQualityReport()
    a = assess(load_assessment(out / "assessment_responses.csv", quality=q), n_boot=600,
               quality=q)
    return a, results_payload(a, q), truth.read_text(), out


def test_file_and_truths_written(run):
    _, res, truth, out = run
    df = pd.read_csv(out / "assessment_responses.csv")
    assert list(df.columns) == ["respondent_id", "group", "capability", "current_stage",
                                "target_stage"]
    assert df.groupby("group")["respondent_id"].nunique().to_dict() == SIZES["small"]
    assert "Sales disagrees with customers" in truth and "base 2" in truth
    assert df["target_stage"].isna().sum() > 0


def test_planted_truths_recovered(run):
    a, res, _, _ = run
    t = planted_truth()
    assert res["company_stage"] == t["company_stage"] == 2
    lo, hi = res["mean_stage_ci"]
    assert lo - 0.1 <= t["mean_stage"] <= hi + 0.1
    assert set(res["misaligned_capabilities"]) <= set(DISPUTED)
    assert len(res["misaligned_capabilities"]) >= 3
    assert res["staff_vs_customer_gap_ci"][0] > 0               # staff see more than customers
    assert res["priorities"][0] == "customer_360"                # the only capability below base 2
    assert res["hidden_groups"] == ["Executive"] and "Executive" not in res["stage_by_group"]
    assert res["groups"]["Executive"] == SIZES["small"]["Executive"]
    sales = a.between.set_index("capability").loc[list(DISPUTED), "highest_group"]
    assert (sales == "Sales").sum() >= 3
    assert res["excluded"]["assessment target stages"][
        "target_stage missing (current stage still used)"] > 0
