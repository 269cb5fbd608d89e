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
    # departments only: Sales vs the others on the disputed four (no false positives)
    assert set(res["misaligned_capabilities"]) <= set(DISPUTED)
    assert len(res["misaligned_capabilities"]) >= 1
    # staff vs customers, a separate finding: exactly the disputed four
    assert set(res["staff_customer_gap_capabilities"]) == set(DISPUTED)
    assert res["staff_vs_customer_gap_ci"][0] > 0               # staff see more than customers
    assert res["priorities"][0] == "customer_360"                # the only capability below base 2
    assert res["hidden_groups"] == ["Executive"] and "Executive" not in res["stage_by_group"]
    assert res["groups"]["Executive"] == SIZES["small"]["Executive"]
    sales = a.between.set_index("capability").loc[list(DISPUTED), "highest_group"]
    assert (sales == "Sales").sum() >= 3
    assert res["excluded"]["assessment target stages"][
        "target_stage missing (current stage still used)"] > 0


def test_charts_are_titled_figures(run):
    from matplotlib.figure import Figure

    from crmlib.plots import assessment as charts

    a = run[0]
    s = a.scorer
    figs = [charts.diamond(s.group_stages_, s.company_stage_, s.mean_stage_, s.mean_stage_ci_),
            charts.radar_by_driver(s.group_capability_scores_, a.catalogue),
            charts.heatmap(s.group_capability_scores_, a.catalogue),
            charts.target_gap_bars(a.roadmap), charts.staff_customer_gap(s.staff_customer_gap_)]
    for fig in figs:
        assert isinstance(fig, Figure)
        titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text()
                                                        if fig._suptitle else ""]
        assert any(titles)
    heat = figs[2].axes[0]
    assert "Executive" not in [t.get_text() for t in heat.get_yticklabels()]
    assert [t.get_text() for t in figs[3].axes[0].get_yticklabels()][-1].startswith("1. ")


def test_no_customer_group_is_stated(run):
    a = run[0]
    other = assess(a.data.rename(columns={"current": "current_stage", "target": "target_stage"}
                                 ).drop(columns="driver"), customer_group="Clients", n_boot=100)
    assert other.scorer.staff_customer_gap_.empty
    assert any("No 'Clients' group" in n for n in other.notes)
