"""The assessment over waves: the change's bootstrap against a hand-written percentile bootstrap
and the closed-form standard error, and the demo's planted follow-up recovered."""
import numpy as np
import pandas as pd
import pytest

from crmlib.assessment import assess, load_catalogue
from crmlib.assessment.waves import StageChange, compare_waves, roadmap_progress, stages_by_wave
from crmlib.demo import generate
from crmlib.demo.waves import LEVEL_SHIFTS, assessment_truth
from crmlib.io import load_assessment
from crmlib.io.waves import Wave

CAT = load_catalogue(None)


def _wave(ids, stages, group="Sales", capability="goals"):
    return pd.DataFrame({"respondent_id": ids, "group": group, "capability": capability,
                         "current_stage": pd.array(stages, dtype="Int64"),
                         "target_stage": pd.array([4] * len(ids), dtype="Int64")})


def _assess(df, n_boot=200):
    return assess(df, CAT, min_group_size=1, n_boot=n_boot, random_state=1)


RNG = np.random.default_rng(11)
N = 40
BASE = RNG.integers(1, 4, N)                      # stages 1–3
LATEST = np.clip(BASE + RNG.integers(0, 2, N), 1, 4)  # the same people, mostly one up
IDS = [f"r{i}" for i in range(N)]


def test_paired_change_is_the_percentile_bootstrap_of_mean_differences():
    """One group, one capability: the change's replicates are the mean paired difference over
    respondents drawn with replacement (multinomial counts from the same seed), and the
    interval their 5th and 95th percentiles (Efron & Tibshirani 1993, ch. 13)."""
    b, lt = _assess(_wave(IDS, BASE)), _assess(_wave(IDS, LATEST))
    B, seed = 500, 3
    ch = StageChange(n_boot=B, ci=0.90, random_state=seed).fit(b, lt)
    assert ch.paired_ and ch.n_shared_ == N
    counts = np.random.default_rng(seed).multinomial(N, np.full(N, 1 / N), size=B)
    d = (LATEST - BASE).astype(float)
    reps = np.array([np.repeat(d, c).mean() for c in counts])
    row = ch.change_.query("level == 'capability' and name == 'goals'").iloc[0]
    assert row["change"] == pytest.approx(d.mean())
    assert row["ci_low"] == pytest.approx(np.percentile(reps, 5))
    assert row["ci_high"] == pytest.approx(np.percentile(reps, 95))
    assert row["se"] == pytest.approx(reps.std(ddof=1))


def test_paired_and_independent_standard_errors_match_the_closed_forms():
    """Bootstrap se of a mean difference: sqrt(var(d)/n) paired, sqrt(var_b/n_b + var_l/n_l)
    independent (plug-in variances, ddof = 0); 20,000 replicates put it within 3%."""
    b, lt = _assess(_wave(IDS, BASE)), _assess(_wave(IDS, LATEST))
    paired = StageChange(n_boot=20_000, random_state=0).fit(b, lt)
    se = paired.change_.query("name == 'goals'")["se"].iloc[0]
    d = LATEST - BASE
    assert se == pytest.approx(d.std() / np.sqrt(N), rel=0.03)
    new_ids = [f"n{i}" for i in range(N)]
    l2 = _assess(_wave(new_ids, LATEST))
    indep = StageChange(n_boot=20_000, random_state=0).fit(b, l2)
    assert not indep.paired_
    se = indep.change_.query("name == 'goals'")["se"].iloc[0]
    assert se == pytest.approx(np.sqrt(BASE.var() / N + LATEST.var() / N), rel=0.03)
    assert se > paired.change_.query("name == 'goals'")["se"].iloc[0]  # pairing narrows


def test_moves_of_a_base_and_the_roadmap_progress():
    b = _assess(pd.concat([_wave(IDS[:10], [1] * 10), _wave(IDS[:10], [3] * 10, capability="culture")]))
    lt = _assess(pd.concat([_wave(IDS[:10], [2] * 10), _wave(IDS[:10], [2] * 10, capability="culture")]))
    ch = StageChange(n_boot=200).fit(b, lt)
    assert ch.moved("up a base")["name"].tolist() == ["goals"]
    assert ch.moved("fell back")["name"].tolist() == ["culture"]
    progress = roadmap_progress(b.roadmap, ch.change_).set_index("capability")["progress"]
    assert progress["goals"] == "achieved" and progress["culture"] == "fell back"
    st = stages_by_wave({"b": b, "l": lt}).query("level == 'capability' and name == 'goals'")
    assert st["estimate"].tolist() == [1.0, 2.0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("waves")
    generate(out, seed=7, only=("assessment", "waves"))
    waves = [Wave("baseline", None, load_assessment(out / "assessment_responses.csv")),
             Wave("follow-up", None, load_assessment(out / "assessment_responses_wave2.csv"))]
    return compare_waves(waves, CAT)


def test_demo_planted_changes_recovered_within_their_intervals(demo):
    truth = assessment_truth()
    c = demo.change.change_.query("level == 'capability'").set_index("name")
    assert demo.change.paired_  # the same staff answered again
    for cap in LEVEL_SHIFTS:
        r = c.loc[cap]
        assert r["ci_low"] <= truth.loc[cap, "change"] <= r["ci_high"], cap
        assert r["p_holm"] < 0.05, cap
        assert (r["base_baseline"], r["base_latest"]) == (truth.loc[cap, "base_baseline"],
                                                          truth.loc[cap, "base_follow_up"])
    assert "customer_360" in demo.change.moved("up a base")["name"].tolist()
    assert "brand_promise" in demo.change.moved("fell back")["name"].tolist()
    assert demo.progress.set_index("capability").loc["customer_360", "progress"] == "achieved"
    payload = demo.payload()
    assert payload["design"] == "paired" and "customer_360" in payload["moved_up_a_base"]


def test_workshop_tabulates_the_planted_changes(demo):
    from crmlib.workshop.truths import assessment_wave_rows
    rows = assessment_wave_rows(demo.payload())
    assert len(rows) == 4 and all(r["within"] for r in rows)


def test_sentences_say_when_a_move_is_within_noise(demo):
    from crmlib.assessment.waves import movement_sentences
    text = " ".join(movement_sentences(demo.change))
    c = demo.change.change_.query("level == 'capability'").set_index("name")
    assert "customer 360 moved up from base 1" in text
    for cap in c.index[(c["movement"] != "same base") & (c["p_holm"] >= 0.05)]:
        sentence = next(s for s in movement_sentences(demo.change)
                        if s.startswith(cap.replace("_", " ")))
        assert "not clear once all capabilities are tested together" in sentence
