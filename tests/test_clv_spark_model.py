"""Spark CLV pipeline after the summary: sufficient statistics, fits, scoring, written results.

Every number is compared with the pandas pipeline on the same data (the small demo
client): fits and holdout checks from the compressed statistics, per-customer scores
from the pandas UDFs, total CLV and its interval, deciles, segments, the win-back list.
Runs with ``local[2]`` when pyspark and Java are installed; skipped otherwise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.clv import diagnostics as D
from crmlib.clv import pipeline as PL
from crmlib.clv import segments as S
from crmlib.clv import summarise
from crmlib.clv.models import BGNBD, GammaGamma
from crmlib.clv.spark import session as spark_session
from crmlib.clv.value import customer_value

AVAILABLE, REASON = spark_session.spark_available()
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas", "ignore:The copy keyword is deprecated")
CAL = "2024-12-31"
VALUE = dict(margin=0.3, discount_rate_annual=0.1, horizon_months=12, n_draws=40)


@pytest.fixture(scope="module")
def spark():
    if not AVAILABLE:
        pytest.skip(f"Spark tests need pyspark and Java: {REASON}")
    session = spark_session.get_session(
        "local[2]", app_name="crmlib-tests",
        conf={"spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tx(clv_small):  # noqa: F811
    return pd.read_csv(clv_small / "transactions.csv", dtype=str)


@pytest.fixture(scope="module")
def runs(spark, tx):
    """The Spark summaries and statistics, and the pandas summaries, of the demo client."""
    from crmlib.clv.spark import sufficient_statistics, summarise_spark
    s = summarise_spark(tx, spark=spark, time_unit="W", calibration_end=CAL)
    full = s.full_period()
    p = summarise(tx, engine="pandas", time_unit="W", calibration_end=CAL)
    pf = summarise(tx, engine="pandas", time_unit="W")
    yield dict(s=s, full=full, stats=sufficient_statistics(s),
               stats_full=sufficient_statistics(full), p=p, pf=pf)
    s.unpersist()


def _same_check(a: dict, b: dict) -> None:
    assert (a["n"], a["method"]) == (b["n"], b["method"])
    assert a["corr"] == pytest.approx(b["corr"], rel=1e-9)
    assert a["p_value"] == pytest.approx(b["p_value"], rel=1e-6)


def test_statistics_are_compact_and_complete(runs):
    st, p = runs["stats"], runs["p"].customers
    assert st.rft["count"].sum() == len(p) == st.n_customers
    assert len(st.rft) < len(p) and st.nbytes < 100_000
    assert st.rft["sum_monetary"].sum() == pytest.approx(p["monetary_value"].sum(), rel=1e-12)
    rep = p[(p["frequency_spend"] > 0) & (p["monetary_value"] > 0)]   # the spend model's data
    assert st.spend["count"].sum() == len(rep)
    _same_check(st.independence,
                GammaGamma.independence_check(rep["frequency_spend"], rep["monetary_value"]))


def test_weighted_fit_and_holdout_checks_equal_per_customer(runs):
    from crmlib.clv.spark import fit as F
    st, p = runs["stats"], runs["p"].customers
    model = F.refit("bgnbd", st)
    ref = BGNBD().fit(p[["frequency", "recency", "T"]])
    np.testing.assert_allclose(model.params_, ref.params_, rtol=1e-6)
    assert model.log_likelihood_ == pytest.approx(ref.log_likelihood_, rel=1e-9)
    assert F.holdout_errors(model, st) == pytest.approx(D.holdout_errors(model, p), rel=1e-9)
    pd.testing.assert_frame_equal(F.holdout_by_frequency(model, st),
                                  D.holdout_by_frequency(model, p), check_dtype=False,
                                  rtol=1e-9)
    pd.testing.assert_frame_equal(F.frequency_fit(model, st), D.frequency_fit(model, p),
                                  check_dtype=False, rtol=1e-9)


def test_model_choice_as_the_pandas_pipeline(runs):
    from crmlib.clv.spark import fit as F
    mine, ref = F.fit_purchase_model(runs["stats"]), PL.fit_purchase_model(runs["p"].customers)
    assert mine.name == ref.name
    # rows fitted by both (a fit can converge on one side only when it is borderline)
    ok = ((ref.comparison["note"] == "") & (mine.comparison["note"] == "")).to_numpy()
    assert ok.sum() >= 2
    np.testing.assert_allclose(mine.comparison.loc[ok, "log_likelihood"],
                               ref.comparison.loc[ok, "log_likelihood"], rtol=0, atol=1e-7)
    # predictions of the chosen model
    chosen = (ref.comparison["model"] == ref.name).to_numpy()
    cols = ["holdout_rmse", "predicted_total", "actual_total"]
    np.testing.assert_allclose(mine.comparison.loc[chosen, cols],
                               ref.comparison.loc[chosen, cols], rtol=1e-6)


@pytest.mark.parametrize("period", ["stats", "stats_full"])
def test_both_routes_reach_the_same_optimum(runs, period):
    """Pareto/NBD, BG/NBD and MBG/NBD as the pipeline fits them (the full model or the
    limit the data reached), from the Spark statistics and from the pandas customer
    table: 1e-7 in log-likelihood, 1e-5 in the parameters, both converged."""
    from crmlib.clv.models import MODELS, fit_identified
    customers = (runs["p"] if period == "stats" else runs["pf"]).customers
    for name in MODELS:
        spark_fit = fit_identified(name, runs[period].purchase_data, weights="count")
        pandas_fit = fit_identified(name, customers[["frequency", "recency", "T"]])
        assert spark_fit.name == pandas_fit.name
        assert spark_fit.converged_ and pandas_fit.converged_
        assert spark_fit.log_likelihood_ == pytest.approx(pandas_fit.log_likelihood_,
                                                          rel=0, abs=1e-7)
        np.testing.assert_allclose(spark_fit.params_, pandas_fit.params_, rtol=1e-5)


def test_binned_spend_fit_matches_per_customer_fit(runs):
    from crmlib.clv.spark import fit as F
    gg, check = F.fit_spend_model(runs["stats_full"])
    ref, ref_check = PL.fit_spend_model(runs["pf"].customers)
    np.testing.assert_allclose(gg.params_, ref.params_, rtol=1e-4)
    _same_check(check, ref_check)


def test_scores_equal_the_pandas_pipeline(runs):
    """P(alive), CLV with intervals, RFM segment and decile per customer; total CLV."""
    from crmlib.clv.spark import fit as F
    from crmlib.clv.spark import score_customers
    pf = runs["pf"]
    final = F.refit("bgnbd", runs["stats_full"])
    spend, _ = PL.fit_spend_model(pf.customers)
    scored = score_customers(runs["full"], final, spend, **VALUE).toPandas() \
        .set_index("customer_id").sort_index()
    value = customer_value(final, spend, pf.customers, time_unit="W", **VALUE)
    ref = PL.customer_table(pf, final, value, S.rfm(pf.customers)).set_index("customer_id")
    assert len(scored) == len(ref) and (scored.index == ref.index).all()
    cols = ["p_alive", "expected_purchases", "clv", "clv_low", "clv_high", "total_spend"]
    np.testing.assert_allclose(scored[cols], ref[cols], rtol=1e-10)
    assert (scored["segment"] == ref["segment"]).all() and (scored["rfm"] == ref["rfm"]).all()
    assert (scored["clv_decile"] == ref["clv_decile"]).all()
    total = F.total_value(final, spend, runs["stats_full"], **VALUE)
    assert total["total"] == pytest.approx(value.total, rel=1e-9)
    np.testing.assert_allclose(total["total_ci"], value.total_ci, rtol=1e-9)


def test_order_statistics_by_brackets(spark, monkeypatch):
    """The bracketing path (used above 200,000 rows) gives exact ranks, ties by id."""
    from crmlib.clv.spark import ranks
    rng = np.random.default_rng(3)
    v = np.round(rng.gamma(2.0, 10.0, 3000), 1)           # many ties
    ids = [f"c{i:05d}" for i in range(len(v))]
    df = spark.createDataFrame(pd.DataFrame({"v": v, "id": ids}))
    want = [1, 17, 600, 1500, 2999, 3000]
    monkeypatch.setattr(ranks, "SMALL", 0)
    got = ranks.order_statistics(df, "v", want, len(v), descending=True, tiebreak="id",
                                 accuracy=50)
    order = sorted(zip(-v, ids))
    assert got == [(-order[r - 1][0], order[r - 1][1]) for r in want]
    asc = ranks.order_statistics(df, "v", want, len(v), accuracy=50)
    assert [a for a, _ in asc] == list(np.sort(v)[np.array(want) - 1])


def test_run_clv_writes_scores_and_aggregates(spark, tx, tmp_path):
    from crmlib.clv.spark import run_clv
    out = str(tmp_path / "customers.parquet")
    res = run_clv(tx, output=out, spark=spark, time_unit="W", calibration_end=CAL,
                  model="bgnbd", **VALUE)
    written = pd.read_parquet(out).set_index("customer_id").sort_index()
    assert len(written) == res.full.n_customers == len(res.scored.toPandas())
    pd.testing.assert_frame_equal(res.deciles, S.deciles(written["clv"]), check_dtype=False,
                                  rtol=1e-9)
    table = S.segment_table(written.assign(segment=written["segment"]))
    pd.testing.assert_frame_equal(res.segment_table, table, check_dtype=False, rtol=1e-9)
    slipping = S.valuable_but_slipping(written)
    assert res.n_slipping == len(slipping)
    assert list(res.slipping.index) == list(slipping.index[:len(res.slipping)])
    results = res.results()
    assert results["clv_total"] == pytest.approx(written["clv"].sum(), rel=1e-9)
    assert results["top_decile_share"] == pytest.approx(S.top_share(written["clv"], 0.1))
    p = summarise(tx, engine="pandas", time_unit="W", calibration_end=CAL)
    assert results["holdout"]["actual_total"] == p.customers["frequency_holdout"].sum()
    assert results["holdout"] == pytest.approx(D.holdout_errors(res.fit.model, p.customers))
    # the weekly tracking chart needs only the per-day counts the Spark summary collects
    pd.testing.assert_frame_equal(D.tracking(res.fit.model, res.summary),
                                  D.tracking(res.fit.model, p))
    assert res.value.total == results["clv_total"] and len(res.value.assumptions()) == 5
    assert 0 < len(res.sample(100)) <= len(written)
    assert results["kept_and_noted"]["identical rows, counted as separate purchases"] > 0
    res.scored.unpersist()
    res.summary.unpersist()


def test_command_line_driver(spark, tx, tmp_path):
    """``python -m crmlib.clv.spark``: results.json and tables on the driver; bad input = 2."""
    import json

    from crmlib.clv.spark.__main__ import main
    tx.to_csv(tmp_path / "tx.csv", index=False)
    args = ["--transactions", str(tmp_path / "tx.csv"), "--master", "local[2]",
            "--output", str(tmp_path / "scores.parquet"), "--results-dir", str(tmp_path / "r"),
            "--calibration-end", CAL, "--model", "bgnbd", "--horizon-months", "6"]
    assert main(args) == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["engine"] == "spark" and results["model"] == "bgnbd"
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == results["n_customers"]
    assert (tmp_path / "r" / "segments.csv").exists()
    bad = args.copy()
    bad[bad.index("--calibration-end") + 1] = "2030-01-01"
    assert main(bad) == 2


def test_scores_drop_the_draws_the_pandas_engine_drops(runs):
    """With parameter draws far out (a covariance blown up a million times, so some draws
    overflow to infinite or zero parameters), every Spark batch drops exactly the draws
    one pandas pass over all customers drops, and the count is the pandas count."""
    import copy

    from crmlib.clv.spark import fit as F
    from crmlib.clv.spark import score_customers
    pf = runs["pf"]
    final = copy.copy(F.refit("bgnbd", runs["stats_full"]))
    final._cov_log = final._cov_log * 1e6
    spend, _ = PL.fit_spend_model(pf.customers)
    opts = dict(VALUE, n_draws=60)
    value = customer_value(final, spend, pf.customers, time_unit="W", **opts)
    total = F.total_value(final, spend, runs["stats_full"], **opts)
    assert 0 < value.n_draws_dropped < 60
    assert total["n_draws_dropped"] == value.n_draws_dropped
    assert int((~total["draw_keep"]).sum()) == value.n_draws_dropped
    np.testing.assert_allclose(total["total_ci"], value.total_ci, rtol=1e-9)
    scored = score_customers(runs["full"], final, spend, draw_keep=total["draw_keep"], **opts) \
        .toPandas().set_index("customer_id").sort_index()
    ref = value.customers.sort_index()
    cols = ["clv", "clv_low", "clv_high"]
    assert np.isfinite(scored[cols].to_numpy()).all()
    np.testing.assert_allclose(scored[cols], ref.loc[scored.index, cols], rtol=1e-10)


def _weak_log(n: int = 400, rng: int = 1) -> pd.DataFrame:
    """Frequent buyers (rate Gamma(2, 1/120) per day) who leave with probability 0.3 after
    each purchase, first purchases within 200 days, observed to day 730: a log whose
    dropout parameters are weakly identified."""
    g = np.random.default_rng(rng)
    ids, days = [], []
    for i in range(n):
        t, lam = g.uniform(0, 200), g.gamma(2.0, 1 / 120)
        mine = [t]
        while g.random() >= 0.3 and (t := t + g.exponential(1 / lam)) <= 730:
            mine.append(t)
        ids += [f"C{i:04d}"] * len(mine)
        days += mine
    date = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(days), unit="D")
    return pd.DataFrame({"customer_id": ids, "date": date.strftime("%Y-%m-%d"),
                         "amount": np.round(g.gamma(2.0, 50.0, len(days)), 2).astype(str)})


def test_bootstrap_interval_on_a_weak_log_as_the_pandas_engine(spark):
    """Standard errors above the estimates: both engines take the value interval from the
    parametric bootstrap, with the same replicates, the same draws dropped and counted, the
    same total interval, and per-customer intervals from the same replicates in every batch."""
    from crmlib.clv.models.bootstrap import unreliable
    from crmlib.clv.spark import fit as F
    from crmlib.clv.spark import score_customers, sufficient_statistics, summarise_spark
    tx = _weak_log()
    full = summarise_spark(tx, spark=spark, time_unit="W")
    stats = sufficient_statistics(full)
    pf = summarise(tx, engine="pandas", time_unit="W")
    final = F.refit("mbgnbd", stats)
    assert type(final).__name__ == "MBGNBD" and unreliable(final)
    spend, _ = PL.fit_spend_model(pf.customers)
    opts = dict(VALUE, n_boot=20)
    value = customer_value(final, spend, pf.customers, time_unit="W", **opts)
    total = F.total_value(final, spend, stats, **opts)
    assert value.interval_method.startswith("parametric bootstrap")
    assert total["interval_method"] == value.interval_method
    assert total["n_draws_dropped"] == value.n_draws_dropped
    assert len(total["draws_total"]) + total["n_draws_dropped"] == len(total["boot_draws"])
    np.testing.assert_allclose(total["total_ci"], value.total_ci, rtol=1e-9)
    assert total["total_ci"][0] < total["total"] < total["total_ci"][1]
    scored = score_customers(full, final, spend, draw_keep=total["draw_keep"],
                             boot_draws=total["boot_draws"], **VALUE) \
        .toPandas().set_index("customer_id").sort_index()
    ref = value.customers.sort_index()
    cols = ["clv", "clv_low", "clv_high"]
    np.testing.assert_allclose(scored[cols], ref.loc[scored.index, cols], rtol=1e-10)
