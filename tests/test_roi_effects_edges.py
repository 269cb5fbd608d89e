"""Before/after, event-study and DiD at their edges, against statsmodels' formula interface.

The references are fitted here with ``statsmodels.formula.api.ols`` (unit dummies by
``C(unit)``, cluster-robust by unit or HC1), independently of crmlib's design matrices.
"""
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from crmlib.roi.effects import BeforeAfter, DiD, EventStudy


def _pilot(n_units=4, n_months=8, start=4, seed=1):
    rng = np.random.default_rng(seed)
    rows = [{"unit": f"s{u}", "t": t, "post": int(t >= start),
             "y": 5 + u + 1.5 * (t >= start) + rng.normal(0, 0.7)}
            for u in range(n_units) for t in range(n_months)]
    return pd.DataFrame(rows)


def test_before_after_matches_statsmodels_clustered_by_unit():
    d = _pilot()
    m = BeforeAfter(alpha=0.10).fit(d, outcome="y", post="post", unit="unit")
    ref = smf.ols("y ~ post + C(unit)", d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["unit"])[0]}, use_t=True)
    assert m.effect_ == pytest.approx(ref.params["post"])
    assert m.se_ == pytest.approx(ref.bse["post"])
    assert m.p_value_ == pytest.approx(ref.pvalues["post"])
    assert m.ci_ == pytest.approx(tuple(ref.conf_int(0.10).loc["post"]))
    assert m.nobs_ == 32
    s = m.summary()
    assert list(s.index) == ["before_after"] and s.index.name == "term"
    assert s.loc["before_after", "estimate"] == pytest.approx(ref.params["post"])
    default = BeforeAfter().fit(d, outcome="y", post="post", unit="unit")
    assert default.ci_ == pytest.approx(tuple(ref.conf_int(0.05).loc["post"]))


def test_before_after_on_one_unit_uses_hc1():
    d = _pilot(n_units=1)
    m = BeforeAfter().fit(d, outcome="y", post="post", unit="unit")
    ref = smf.ols("y ~ post", d).fit(cov_type="HC1", use_t=True)
    assert m.effect_ == pytest.approx(ref.params["post"])
    assert m.se_ == pytest.approx(ref.bse["post"])


def _event(n_units=12, n_pilot=4, n_months=10, start=5, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        pilot = u < n_pilot
        for t in range(n_months):
            rows.append({"unit": f"u{u}", "t": t, "rel": t - start if pilot else np.nan,
                         "y": u + 0.2 * t + (1.0 if pilot and t >= start else 0)
                         + rng.normal(0, 0.4)})
    return pd.DataFrame(rows)


def test_event_study_reference_row_index_and_dummy_variables():
    d = _event()
    m = EventStudy().fit(d, outcome="y", unit="unit", period="t", rel="rel")
    c = m.coef_
    assert list(c.index) == list(range(len(c))) and list(c.columns) == [
        "rel", "estimate", "se", "ci_low", "ci_high", "p_value"]
    ref = c.set_index("rel").loc[-1]
    assert (ref.estimate, ref.se, ref.ci_low, ref.ci_high) == (0.0, 0.0, 0.0, 0.0)
    assert np.isnan(ref.p_value)
    assert m.summary().index.name == "rel" and list(m.summary().index) == list(c["rel"])
    # the same model with unit and month dummies, clustered by unit (statsmodels formula)
    ks = [int(k) for k in sorted(d["rel"].dropna().unique()) if k != -1]
    d2 = d.assign(**{f"rel{k:+d}": (d["rel"] == k).astype(float) for k in ks})
    terms = " + ".join(f"Q('rel{k:+d}')" for k in ks)
    f = smf.ols(f"y ~ {terms} + C(unit) + C(t)", d2).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d2["unit"])[0]}, use_t=True)
    dummies = EventStudy(absorb=False).fit(d, outcome="y", unit="unit", period="t", rel="rel")
    assert dummies.coef_.set_index("rel").loc[2, "estimate"] == pytest.approx(
        f.params["Q('rel+2')"])
    assert dummies.result_ is not None and m.result_ is not None


def test_event_study_without_leads_has_no_pretrend_test():
    d = _event()
    d = d[(d["rel"].isna()) | (d["rel"] >= -1)]
    m = EventStudy().fit(d, outcome="y", unit="unit", period="t", rel="rel")
    assert np.isnan(m.pretrend_p_) and np.isnan(m.pretrend_f_) and m.pretrend_ok_ is True


def test_did_with_one_pilot_unit_is_not_tested_and_says_why():
    d = _event(n_pilot=1).assign(treated=lambda x: x["rel"].notna().astype(int),
                                 post=lambda x: (x["t"] >= 5).astype(int))
    m = DiD().fit(d, outcome="y", treated="treated", post="post", unit="unit", period="t")
    s = m.summary()
    assert s.index.name == "term" and list(s.index) == ["did"]
    assert np.isnan([m.se_, m.p_value_, *m.ci_]).all() and np.isfinite(m.effect_)
    assert m.inference_note_ == ("1 pilot and 11 control unit(s): clustered inference needs at "
                                 "least 2 of each, so the effect is not tested")
    assert (m.n_treated_clusters_, m.n_control_clusters_, m.n_clusters_) == (1, 11, 12)
