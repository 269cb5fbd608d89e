"""Customer value over time: migration between value tiers and the value decomposition on a
hand-computed example, the forecast check read from a saved run (published BG/NBD values),
the saved model's round trip, the previous-run lookup and the change sentences."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmlib import changes
from crmlib.clv import over_time as OT
from crmlib.clv.migration import CHURNED, NEW, TIERS, migrate, tier_cuts
from crmlib.report.history import completed_runs, outdated, previous_run

# -- migration: ten earlier customers worth 10, 20, ..., 100; two new ones -------------------
BEFORE = pd.DataFrame({"clv": [10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100]},
                      index=list("abcdefghij"))
# customer: (value now, P(alive) now, bought since); f is gone from the data
NOW = {"a": (1, 0.1, True), "b": (20, 0.6, False), "c": (2, 0.4, False),
       "d": (60, 0.9, True), "e": (50, 0.9, True), "g": (5, 0.2, False),
       "h": (85, 0.8, False), "i": (120, 0.9, True), "j": (85, 0.9, True),
       "k": (40, 0.9, True), "l": (100, 0.9, True)}


@pytest.fixture()
def moved():
    now = pd.DataFrame({"clv": [v[0] for v in NOW.values()],
                        "p_alive": [v[1] for v in NOW.values()]}, index=list(NOW))
    bought = pd.Series({k: v[2] for k, v in NOW.items()})
    return migrate(BEFORE, now, bought, p_alive_below=0.5)


def test_tier_edges_are_the_earlier_percentiles():
    # linear interpolation between order statistics: 90th at 8.1 → 91, 80th at 7.2 → 82,
    # 50th at 4.5 → 55
    assert tier_cuts(BEFORE["clv"]) == pytest.approx([91, 82, 55])


def test_migration_matrix_by_hand(moved):
    # before: j Top; i Next 10%; h g f Next 30%; e d c b a Lower 50%
    # churned: g (P(alive) 0.2), f (gone), c (0.4); b stays (0.6); a bought, so retained
    expected = pd.DataFrame(0, index=[NEW, *TIERS], columns=[*TIERS, CHURNED])
    expected.loc[NEW, "Top 10%"] = 1             # l
    expected.loc[NEW, "Lower 50%"] = 1           # k
    expected.loc["Top 10%", "Next 10%"] = 1      # j 100 → 85
    expected.loc["Next 10%", "Top 10%"] = 1      # i 90 → 120
    expected.loc["Next 30%", "Next 10%"] = 1     # h 80 → 85
    expected.loc["Next 30%", CHURNED] = 2        # g, f
    expected.loc["Lower 50%", "Next 30%"] = 1    # d 40 → 60
    expected.loc["Lower 50%", "Lower 50%"] = 3   # e, b, a
    expected.loc["Lower 50%", CHURNED] = 1       # c
    pd.testing.assert_frame_equal(moved.counts, expected, check_names=False,
                                  check_dtype=False)
    assert moved.value.loc["Lower 50%", "Lower 50%"] == 71       # 50 + 20 + 1
    assert moved.value.loc["Next 30%", CHURNED] == 5             # g's residual value, f none
    assert moved.value.to_numpy().sum() == 568


def test_value_decomposition_reconciles_exactly(moved):
    d = moved.decomposition
    assert d["value_before"] == 550 and d["value_now"] == 568
    assert d["new"] == 140                       # k 40 + l 100
    assert d["lost"] == (70 - 5) + 60 + (30 - 2)  # 153
    assert d["shifted"] == (120 - 90) + (85 - 80) + (60 - 40) + (85 - 100)  # 40
    assert d["within"] == (1 - 10) + 0 + 0       # a, b, e
    assert d["value_now"] - d["value_before"] == d["new"] + d["shifted"] + d["within"] - d["lost"]
    assert (d["n_new"], d["n_churned"], d["n_retained"]) == (2, 3, 7)
    assert (d["n_moved_up"], d["n_moved_down"]) == (3, 1)
    table = moved.decomposition_table()
    assert table["value"].iloc[:-1].sum() == table["value"].iloc[-1]


def test_without_time_passed_only_customers_gone_from_the_data_churn():
    now = pd.DataFrame({"clv": [v[0] for v in NOW.values()],
                        "p_alive": [v[1] for v in NOW.values()]}, index=list(NOW))
    m = migrate(BEFORE, now, pd.Series(dtype=bool), p_alive_below=0.0)
    d = m.decomposition
    assert d["n_churned"] == 1 and d["lost"] == 60            # f only
    assert d["value_now"] - d["value_before"] == d["new"] + d["shifted"] + d["within"] - d["lost"]
    sentence = changes.clv_changes({"decomposition": d, "previous_observation_end": "x"})[0]
    assert "no longer in the data" in sentence.sentence


def test_change_interval_pairs_every_draw():
    # differences 10-0, 12-0, 10-1, 12-1 = 9, 10, 11, 12; quartiles 9.75 and 11.25
    assert OT.change_interval([0, 1], [10, 12], level=0.5) == pytest.approx((9.75, 11.25))


# -- the forecast check on a saved run: CDNOW BG/NBD (Fader, Hardie & Lee 2005) --------------
CDNOW = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}


SMALL_COV = (np.eye(4) * 1e-4).tolist()  # log-scale covariance of the saved fit


def _saved_run(tmp_path, observation_end="2020-01-01", cov=SMALL_COV):
    """A previous run folder whose model.json holds the published CDNOW BG/NBD fit."""
    run = tmp_path / "reports" / "c" / "20200102-000000"
    folder = run / "results" / OT.STEM
    folder.mkdir(parents=True)
    names = list(CDNOW)
    meta = {"format": OT.FORMAT, "version": OT.VERSION,
            "purchase_model": {"class": "BGNBD", "param_names": names, "params": CDNOW,
                               "se": {}, "covariance_log": cov,
                               "choice": "bgnbd"},
            "spend_model": {"class": "ObservedMeanSpend", "params": {"mean_spend": 10.0},
                            "se": {"mean_spend": 1.0}},
            "conventions": {"time_unit": "W", "observation_end": observation_end,
                            "currency": "EUR", "margin": 0.3, "horizon_months": 12,
                            "discount_rate_annual": 0.1},
            "totals": {"clv_total": 100.0, "clv_total_draws": [90.0, 110.0]},
            "predictions": OT.PREDICTIONS_FILE}
    (folder / OT.MODEL_FILE).write_text(json.dumps(meta))
    pd.DataFrame({"customer_id": ["1", "2", "3"], "frequency": [2, 0, 2],
                  "recency": [30.43, 0.0, 30.43], "T": [38.86, 38.86, 38.86],
                  "expected_spend": [10.0, 10.0, 20.0], "segment": ["A", "B", "A"],
                  "clv": [5.0, 1.0, 6.0]}).to_parquet(folder / OT.PREDICTIONS_FILE)
    (run / "run.json").write_text(json.dumps({"run_id": run.name}))
    return run / "run.json"


def test_forecast_check_reads_the_saved_predictions(tmp_path):
    previous = OT.previous_run_model(str(_saved_run(tmp_path)))
    assert previous.run_id == "20200102-000000"
    end = pd.Timestamp("2020-01-01") + pd.Timedelta(days=39 * 7)   # 39 weeks later
    actual = pd.DataFrame({"purchases": [2.0, 1.0], "spend": [30.0, 5.0]}, index=["1", "3"])
    check = OT.forecast_check(previous, actual, end.date(), n_draws=50)
    c = check.customers.set_index("customer_id")
    # customer 1 of the CDNOW sample expects 1.2259 purchases in the next 39 weeks
    assert check.period == pytest.approx(39.0)
    assert c.loc["1", "predicted"] == pytest.approx(1.2259, rel=1e-3)
    assert c.loc["3", "predicted"] == pytest.approx(1.2259, rel=1e-3)
    assert c.loc["2", "actual"] == 0                      # absent: bought nothing
    t = check.totals.iloc[0]
    assert t["actual"] == 3 and t["actual_spend"] == 35
    assert t["predicted_spend"] == pytest.approx(1.2259 * 30 + c.loc["2", "predicted"] * 10,
                                                 rel=1e-3)
    assert t["predicted_low"] < t["predicted"] < t["predicted_high"]
    seg = check.by_segment.set_index("segment")
    assert seg.loc["A", "customers"] == 2 and seg.loc["A", "actual"] == 3
    assert check.by_decile["customers"].sum() == 3
    with pytest.raises(ValueError, match="no period"):
        OT.forecast_check(previous, actual, "2019-12-01")


def test_a_model_saved_without_covariance_still_forecasts(tmp_path):
    previous = OT.previous_run_model(str(_saved_run(tmp_path, cov=None)))
    actual = pd.DataFrame({"purchases": [1.0], "spend": [10.0]}, index=["1"])
    check = OT.forecast_check(previous, actual, "2020-09-30")
    assert check.totals["predicted"].iloc[0] > 0
    assert check.totals[["predicted_low", "predicted_high"]].isna().all(axis=None)


def test_no_previous_run_or_no_saved_model_is_none(tmp_path):
    assert OT.previous_run_model("") is None
    run = tmp_path / "r" / "run.json"
    run.parent.mkdir()
    run.write_text("{}")
    assert OT.previous_run_model(str(run)) is None


def test_a_newer_format_version_is_refused(tmp_path):
    path = _saved_run(tmp_path)
    model = path.parent / "results" / OT.STEM / OT.MODEL_FILE
    meta = json.loads(model.read_text())
    model.write_text(json.dumps({**meta, "version": OT.VERSION + 1}))
    with pytest.raises(OT.RunModelError, match="newer"):
        OT.previous_run_model(str(path))


def test_convention_changes_are_named(tmp_path):
    previous = OT.previous_run_model(str(_saved_run(tmp_path)))
    notes = OT.convention_changes(previous, {"time_unit": "W", "margin": 0.3,
                                             "horizon_months": 24, "currency": "EUR",
                                             "discount_rate_annual": 0.1})
    assert len(notes) == 1 and "from 12 to 24" in notes[0]


@pytest.mark.slow
def test_saved_model_round_trip(tmp_path, clv_small):
    from crmlib.clv import pipeline as PL
    from crmlib.io import DataQualityReport
    a = PL.analyse(str(clv_small / "transactions.csv"), quality=DataQualityReport(),
                   observation_end="2024-12-31", calibration_end=None, horizon_months=12)
    OT.save_run_model(tmp_path, a, "EUR")
    back = OT.load_run_model(tmp_path)
    assert back.conventions["observation_end"] == "2024-12-31"
    assert back.conventions["time_unit"] == "W" and back.conventions["margin"] == 0.3
    pd.testing.assert_series_equal(back.purchase_model.params_, a.final_model.params_,
                                   check_names=False)
    np.testing.assert_allclose(back.purchase_model.covariance_.to_numpy(),
                               a.final_model.covariance_.to_numpy(), rtol=1e-12)
    p = back.predictions
    assert len(p) == len(a.customers) and p["clv"].sum() == pytest.approx(a.value.total)
    # the one-year forecast: the rebuilt model gives the saved numbers
    t = 12 * OT.MONTH_DAYS / 7
    np.testing.assert_allclose(OT.expected_since(back, t), p["expected_purchases_12m"],
                               rtol=1e-12)
    # the run's horizon is 12 months: its CLV is the saved 12-month value
    np.testing.assert_allclose(p["clv_12m"], p["clv"], rtol=1e-9)
    assert (p["clv_3m"] < p["clv_6m"]).all() and (p["clv_12m"] < p["clv_24m"]).all()


# -- the previous run of a client ------------------------------------------------------------

def _run(client, run_id, statuses):
    (client / run_id).mkdir(parents=True)
    (client / run_id / "run.json").write_text(json.dumps(
        {"run_id": run_id, "notebooks": {k: {"status": v} for k, v in statuses.items()}}))


def test_previous_run_is_the_newest_completed_run_where_the_notebook_succeeded(tmp_path):
    client = tmp_path / "acme"
    _run(client, "20250101-090000", {"02_clv_modelling": "ok"})
    _run(client, "20250101-090000-2", {"02_clv_modelling": "ok", "05": "ok"})
    _run(client, "20250201-090000", {"02_clv_modelling": "failed", "05": "ok"})
    _run(client, "20250301-090000.partial", {"02_clv_modelling": "ok"})  # unfinished
    (client / "20250401-090000").mkdir()                                  # no run.json
    assert [p.parent.name for p in completed_runs(client)] == [
        "20250101-090000", "20250101-090000-2", "20250201-090000"]
    assert previous_run(client, "02_clv_modelling").parent.name == "20250101-090000-2"
    assert previous_run(client, "05").parent.name == "20250201-090000"
    assert previous_run(client, "05", before="20250201-090000").parent.name == \
        "20250101-090000-2"
    assert previous_run(client, "02_clv_modelling", before="20250101-090000") is None
    assert previous_run(tmp_path / "nobody", "05") is None


def test_a_plan_is_outdated_when_a_run_finished_after_it_was_built(tmp_path):
    from types import SimpleNamespace
    client = tmp_path / "acme"
    _run(client, "20250101-090000", {"05": "ok"})
    job = SimpleNamespace(stem="05", parameters={"previous_run": ""})
    other = SimpleNamespace(stem="ok", parameters={})          # does not declare it
    assert outdated([job, other], client, "20250301-090000")
    job.parameters["previous_run"] = str(client / "20250101-090000" / "run.json")
    assert not outdated([job, other], client, "20250301-090000")


# -- the sentences ---------------------------------------------------------------------------

def test_first_run_says_baseline(tmp_path):
    since = changes.since_last_run(tmp_path, "", {"02_clv_modelling": "CLV"})
    assert since.baseline and since.sentences()[0].startswith("Baseline")


def test_clv_change_sentences_carry_their_interval():
    block = {"baseline": False, "previous_observation_end": "2024-12-31",
             "clv_total": {"before": 1000.0, "now": 800.0, "change": -200.0,
                           "ci": [-300.0, -100.0], "ci_level": 0.9},
             "forecast": {"predicted": 120.0, "actual": 100.0, "predicted_ci": [110.0, 130.0],
                          "ci_level": 0.9},
             "decomposition": {"lost": 150.0, "new": 20.0, "shifted": -70.0, "n_churned": 5,
                               "n_new": 2, "n_moved_up": 1, "n_moved_down": 3,
                               "p_alive_below": 0.5}}
    out = changes.clv_changes(block, "EUR")
    total, forecast, churn, shift = out
    assert total.matters and "fell by EUR 200" in total.sentence
    assert "90% interval EUR -300 to -100" in total.sentence
    assert forecast.matters and "overestimated by 20.0%" in forecast.sentence
    assert "90% interval of the forecast 110 to 130" in forecast.sentence
    assert forecast.change == -20 and forecast.ci == (-30, -10)
    assert churn.change == -150 and "5 earlier customers have churned" in churn.sentence
    assert "1 customer moved up" in shift.sentence and "−EUR 70" in shift.sentence


def test_deck_has_one_slide_for_the_changes(tmp_path):
    from pptx import Presentation

    from crmlib.report.deck import build_deck
    from crmlib.results import Headline, Results
    res = {"02_clv_modelling": Results(headline=[Headline("Total CLV", 1.0, "currency")],
                                       findings=["x"], title="Customer lifetime value")}
    for since, text in (({"baseline": True}, "Baseline"),
                        ({"baseline": False, "changes": [{"sentence": "Value fell."}]},
                         "Value fell.")):
        path = build_deck(res, {}, tmp_path / "d.pptx", "C", "r",
                          Results(extra={"since_last_run": since}))
        slides = list(Presentation(path).slides)
        titles = [s.shapes.title.text for s in slides]
        assert titles.count("What changed since the last run") == 1
        slide = slides[titles.index("What changed since the last run")]
        assert any(text in sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)


def test_a_rerun_on_the_same_data_says_unchanged_not_rose_by_zero():
    block = {"baseline": False, "previous_observation_end": "2024-12-31",
             "clv_total": {"before": 571745.0, "now": 571745.0, "change": 0.0,
                           "ci": [-35587.0, 35587.0], "ci_level": 0.9},
             "decomposition": {"lost": -0.0, "new": 0.0, "shifted": 0.0, "n_churned": 0,
                               "n_new": 0, "n_moved_up": 0, "n_moved_down": 0}}
    same = changes.clv_changes(block, "EUR")
    assert [c.label for c in same] == ["Total CLV"]  # no churn line when nobody churned
    moved = changes.Change("CRM assessment", "Mean stage", 2.4, 2.6, 0.2, (0.1, 0.3), 0.9,
                           "number", True, "Mean stage rose by 0.20.")
    since = changes.SinceLastRun(False, "r1", "2026-11-30", same + [moved])
    assert since.sentences() == [
        "Mean stage rose by 0.20.",
        "Unchanged since the run of 2026-11-30: Total CLV (Customer value)."]
    assert since.to_dict()["sentences"] == since.sentences()
    alone = changes.SinceLastRun(False, "r1", "2026-11-30", same * 5)
    assert alone.sentences() == ["Nothing changed since the run of 2026-11-30: the 5 figures "
                                 "both runs report are the same."]
    many = changes.SinceLastRun(False, "r1", "2026-11-30", same * 4 + [moved])
    assert many.sentences()[1] == "The other 4 figures both runs report are unchanged."


def test_a_change_that_rounds_away_is_unchanged():
    """A refit that moves the total by cents reads as unchanged, not 'rose by EUR 0'."""
    block = {"baseline": False, "previous_observation_end": "2025-06-30",
             "clv_total": {"before": 571745.12, "now": 571745.31, "change": 0.19,
                           "ci": [-35587.0, 35587.0], "ci_level": 0.9}}
    cents = changes.SinceLastRun(False, "r1", "2026-11-30", changes.clv_changes(block, "EUR"))
    assert cents.sentences() == ["Nothing changed since the run of 2026-11-30: the one figure "
                                 "both runs report, Total CLV (Customer value), is the same."]
    block["clv_total"].update(now=571990.0, change=244.88)
    moved = changes.SinceLastRun(False, "r1", "2026-11-30", changes.clv_changes(block, "EUR"))
    assert "rose by EUR 245" in moved.sentences()[0]
