"""CLV at the edges of what the models identify: limiting forms, fallbacks, awkward logs.

The limiting closed forms are checked against the full models' formulas evaluated
with mpmath at 40 digits for very large a, b (or s, β), and against direct
quadrature; fits on logs generated with planted parameters must land on the limit
and cover the planted values; small and awkward logs go through the whole local
pipeline to a result or a labelled fallback.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from awkward_logs import AWKWARD, PLANTED, awkward_log, transactions_log

from crmlib.clv import identification
from crmlib.clv import pipeline as PL
from crmlib.clv.models import (
    BGNBD,
    NBD,
    BGNBDCommonDropout,
    ParetoNBD,
    ParetoNBDCommonDropout,
    PoissonCommonDropout,
    fit_identified,
    simulate_bgnbd,
    simulate_pareto_nbd,
)

mp.mp.dps = 40
BIG = mp.mpf(10) ** 9


def _fitted(cls, params, *args):
    """A limiting model predicting with ``params`` (fitted first on a small sample)."""
    m = cls(*args).fit(simulate_bgnbd(300, 1.0, 10.0, 3.0, 7.0, 52, rng=3))
    return m.with_params(params)


@pytest.mark.parametrize("modified", [False, True])
def test_common_dropout_p_purchases_is_the_beta_limit(modified):
    r, al, p, t = 0.8, 6.0, 0.2, 40.0
    mdl = _fitted(BGNBDCommonDropout, [r, al, p], modified)
    a, b = BIG * mp.mpf(p), BIG * (1 - mp.mpf(p))
    k = 1 if modified else 0
    for n in range(6):
        nb = mp.gamma(r + n) / (mp.gamma(r) * mp.factorial(n)) * (al / (al + t)) ** r \
            * (t / (al + t)) ** n
        tail = 1 - sum(mp.gamma(r + j) / (mp.gamma(r) * mp.factorial(j)) * (al / (al + t)) ** r
                       * (t / (al + t)) ** j for j in range(n))
        ref = mp.beta(a, b + n + k) / mp.beta(a, b) * nb
        if n > 0 or modified:
            ref += mp.beta(a + 1, b + n - 1 + k) / mp.beta(a, b) * tail
        assert mdl.p_purchases(n, t) == pytest.approx(float(ref), rel=1e-9)
    assert sum(mdl.p_purchases(n, t) for n in range(400)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("r,al,mu", [(0.5, 8.0, 0.01), (2.0, 1.0, 0.3), (0.9, 40.0, 2.0)])
def test_common_dropout_rate_against_quadrature(r, al, mu):
    m = ParetoNBDCommonDropout().fit(simulate_pareto_nbd(300, 1.0, 10, 1.0, 20, 52, rng=2))
    m = m.with_params([r, al, mu])
    for x, tx, T in ((0, 0.0, 20.0), (3, 4.0, 52.0), (40, 51.0, 52.0), (25, 1.0, 100.0)):
        k = r + x
        alive = mp.exp(-mu * T) * (al + T) ** -k
        dead = mu * mp.quad(lambda u, k=k: mp.exp(-mu * u) * (al + u) ** -k,
                            mp.linspace(tx, T, 60))
        pa = alive / (alive + dead)
        assert m.p_alive(x, tx, T) == pytest.approx(float(pa), rel=1e-7, abs=1e-300)
        ey = pa * k / (al + T) * (1 - mp.exp(-mu * 13)) / mu
        assert m.expected_purchases(13.0, x, tx, T) == pytest.approx(float(ey), rel=1e-7,
                                                                     abs=1e-300)
    # the full Pareto/NBD at s, β → ∞ with s/β = μ tends to the limit (O(1/s))
    full = ParetoNBD().fit(simulate_pareto_nbd(300, 1.0, 10, 1.0, 20, 52, rng=2))
    full = full.with_params([r, al, 1e7, 1e7 / mu])
    x, tx, T = 3, 4.0, 52.0
    assert full.p_alive(x, tx, T) == pytest.approx(m.p_alive(x, tx, T), rel=1e-5)
    assert full.expected_purchases_new(30.0) == pytest.approx(m.expected_purchases_new(30.0),
                                                              rel=1e-5)


def test_nbd_predictions_by_hand():
    m = NBD().fit(simulate_pareto_nbd(300, 1.0, 10.0, 1.0, 1e12, 52, rng=1)).with_params([0.7, 9.0])
    # posterior rate Gamma(r + x, α + T): mean (r + x)/(α + T)
    assert m.expected_purchases(10.0, 4, 20.0, 30.0) == pytest.approx(4.7 / 39.0 * 10.0)
    assert m.expected_purchases_new(18.0) == pytest.approx(0.7 / 9.0 * 18.0)
    assert m.p_alive(4, 2.0, 30.0) == 1.0
    pr = float(mp.gamma(0.7 + 2) / (mp.gamma(0.7) * 2) * (mp.mpf(9) / 27) ** 0.7
               * (mp.mpf(18) / 27) ** 2)
    assert m.p_purchases(2, 18.0) == pytest.approx(pr, rel=1e-12)


def _covers(model, planted: dict, z: float = 2.81) -> None:
    """Each planted value inside the log-scale Wald interval (z = 2.81: 99.5%, i.e. 95%
    jointly over up to ten parameters by Bonferroni)."""
    est, se = model.params_, model.se_
    for k, v in planted.items():
        s = float(se[k] / est[k]) if k != "p" else float(se[k] / (est[k] * (1 - est[k])))
        lo, hi = (np.log(est[k]), np.log(v)) if k != "p" else (np.log(est[k] / (1 - est[k])),
                                                                 np.log(v / (1 - v)))
        assert abs(lo - hi) <= z * s, (k, v, est[k], se[k])


def test_same_dropout_for_everyone_lands_on_the_bgnbd_limit():
    d = simulate_bgnbd(3000, 0.8, 12.0, 0.3e8, 0.7e8, 104, rng=11, resolution=1 / 7)
    m = fit_identified("bgnbd", d)
    assert isinstance(m, BGNBDCommonDropout) and "a, b → ∞" in m.limit
    _covers(m, {"r": 0.8, "alpha": 12.0, "p": 0.3})


def test_same_dropout_rate_lands_on_the_pareto_limit():
    d = simulate_pareto_nbd(2000, 1.0, 10.0, 1e8, 1e8 / 0.02, 78, rng=5)
    m = fit_identified("pnbd", d)
    assert isinstance(m, ParetoNBDCommonDropout)
    _covers(m, {"r": 1.0, "alpha": 10.0, "mu": 0.02})


@pytest.mark.parametrize("name", ["bgnbd", "mbgnbd", "pnbd"])
def test_nobody_leaving_is_the_nbd_limit_an_upper_bound(name):
    d = simulate_pareto_nbd(500, 1.5, 8.0, 1.0, 1e12, 52, rng=7, resolution=1 / 7)
    m = fit_identified(name, d)
    assert isinstance(m, NBD) and m.upper_bound and "upper bound" in m.limit
    _covers(m, {"r": 1.5, "alpha": 8.0})


def test_full_model_kept_when_dropout_varies():
    d = simulate_bgnbd(2000, 0.6, 6.0, 0.8, 3.0, 52, rng=1)
    m = fit_identified("bgnbd", d)
    assert type(m) is BGNBD and m.limit if hasattr(m, "limit") else True
    assert type(m) is BGNBD and not getattr(m, "ridge_", False)
    _covers(m, {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 3.0})


def test_two_routes_agree_on_a_ridge():
    """Per-customer rows and weighted distinct rows (the Spark route) reach one optimum."""
    d = simulate_pareto_nbd(1500, 1.0, 13.0, 1e6, 1e6 / 0.016, 39, rng=9, resolution=1 / 7)
    g = d.groupby(["frequency", "recency", "T"]).size().rename("count").reset_index()
    g = g.sample(frac=1, random_state=1)
    a, b = fit_identified("pnbd", d), fit_identified("pnbd", g, weights="count")
    assert type(a) is type(b)
    assert abs(a.log_likelihood_ - b.log_likelihood_) < 1e-7
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-5)


# ------------------------------------------------------------------ awkward logs, whole pipeline
def _covers_planted(clv, kw: dict) -> None:
    """The MBG/NBD fit (the generating model: after every purchase, the first included,
    the customer leaves with probability p) covers the planted values: r and α, and p
    where the fit reached the one-dropout-probability limit; NBD exactly when nobody
    leaves. Weekly buyers share one rate (r, α → ∞): the one-rate limit, covering
    λ = 1 a week and p."""
    if kw.get("weekly"):
        m = clv.fit.fitted["mbgnbd"]
        assert isinstance(m, PoissonCommonDropout) and m.modified
        _covers(m, {"lam": 1.0, "p": kw["p_leave"]})
        assert clv.final_model.log_likelihood_ >= m.log_likelihood_ - 1e-6
        return
    m, p = clv.fit.fitted["mbgnbd"], kw.get("p_leave", 0.3)
    assert isinstance(m, NBD) == (p == 0.0)
    planted = dict(PLANTED, p=p) if isinstance(m, BGNBDCommonDropout) else PLANTED
    _covers(m, planted)


@pytest.mark.parametrize("case", list(AWKWARD))
def test_awkward_logs_give_a_result_or_a_labelled_fallback(case, tmp_path):
    tx = awkward_log(case)
    path = tmp_path / "transactions.csv"
    tx.to_csv(path, index=False)
    clv = PL.analyse(path, engine="pandas", time_unit="W")
    out = clv.results()
    assert np.isfinite(out["clv_total"]) and out["clv_total"] > 0
    lo, hi = out["clv_total_ci"]
    assert np.isfinite(lo) and np.isfinite(hi) and lo <= hi
    assert np.isfinite(clv.customers["clv"]).all()
    assert out["clv_draws_dropped"] < 100
    if out["clv_upper_bound"]:
        assert "upper bound" in out["headline"][0]["label"]
        assert any("upper bound" in s for s in out["identification_notes"])
    if out["model_limit"]:
        assert out["identification_notes"]
    if case != "one huge customer":  # not drawn from the planted distribution
        _covers_planted(clv, AWKWARD[case])


# ------------------------------------------------------------------ Gamma-Gamma with q near 1
def test_heavy_tailed_spend_q_near_one_is_flagged_with_the_observed_mean():
    """Spend drawn from Gamma-Gamma with q = 1.04 (Fader, Hardie & Lee 2005, JMR): the model's
    mean p·v/(q−1) is far above the mean per purchase actually seen; the report says so and
    shows both numbers rather than passing the model mean through unremarked."""
    from crmlib.clv.models import GammaGamma
    g = np.random.default_rng(42)
    n, p, q, v = 3000, 4.0, 1.04, 40.0
    x = g.integers(1, 12, n)
    nu = g.gamma(q, 1 / v, n)  # per-customer scale, Gamma(q, v)
    z = [g.gamma(p, 1 / nu[i], x[i]) for i in range(n)]  # spend per purchase, Gamma(p, ν_i)
    rep = pd.DataFrame({"frequency": x, "monetary_value": [zi.mean() for zi in z]})
    gg = GammaGamma().fit(rep)
    pe, qe, ve = gg.params_[["p", "q", "v"]]
    model_mean = pe * ve / (qe - 1)  # by hand from the estimates
    observed = float(np.concatenate(z).mean())
    assert identification.observed_mean_spend(rep.assign(recency=1.0, T=2.0)) == \
        pytest.approx(observed, rel=1e-12)
    assert qe < identification.Q_UNSTABLE and model_mean > 2 * observed

    class _Value:  # only what the notes read
        n_draws_dropped, draws_total = 0, np.zeros(10)

    purchase = NBD().fit(simulate_pareto_nbd(300, 1.0, 10.0, 1.0, 1e12, 52, rng=1))
    notes = identification.notes(purchase, gg, _Value(), observed)
    flag = [s for s in notes if "close to 1" in s]
    assert len(flag) == 1
    assert f"q = {qe:.3f}" in flag[0] and "heavy-tailed" in flag[0]
    assert f"{model_mean:,.2f}" in flag[0] and f"{observed:,.2f}" in flag[0]


# ------------------------------------------------------------ intervals when Wald is unreliable
def test_bootstrap_spread_matches_the_wald_errors_when_identified():
    """Where the likelihood is well identified, the parametric bootstrap's spread of the log
    parameters agrees with the observed-information standard errors (asymptotic theory:
    both estimate the same sampling distribution; with 60 replicates the standard
    deviation is known to about ±9%, so ±35% is a wide margin)."""
    from crmlib.clv.models.bootstrap import bootstrap_params, unreliable
    d = simulate_bgnbd(2000, 0.6, 6.0, 0.8, 3.0, 52, rng=1)
    m = BGNBD().fit(d)
    assert not unreliable(m)
    boot, failed = bootstrap_params(m, d["T"].to_numpy(), 60, rng=2)
    assert failed <= 3 and len(boot) + failed == 60
    sd = np.log(boot[list(m.param_names)]).std(ddof=1).to_numpy()
    wald = np.sqrt(np.diag(m._cov_log))
    np.testing.assert_array_less(0.65 * wald, sd)
    np.testing.assert_array_less(sd, 1.35 * wald)


def test_weakly_identified_dropout_gets_a_bootstrap_interval_labelled(tmp_path):
    """The small log of frequent buyers with a 30% chance to leave after each purchase: the
    dropout parameters' standard errors exceed the estimates, so the value interval comes
    from the parametric bootstrap, and results.json, the notes and the assumptions say so."""
    from crmlib.clv.models.bootstrap import unreliable
    tx = transactions_log(400, rate_days=(2.0, 1 / 120), p_leave=0.3, first_span=200,
                          end_day=730, rng=1)
    path = tmp_path / "transactions.csv"
    tx.to_csv(path, index=False)
    clv = PL.analyse(path, engine="pandas", time_unit="W")
    out = clv.results()
    assert unreliable(clv.final_model)
    assert out["clv_interval_method"].startswith("parametric bootstrap")
    assert any(s.startswith("Value interval: parametric bootstrap")
               for s in out["identification_notes"])
    assert "parametric bootstrap" in clv.value.assumptions().iloc[-1]["note"]
    lo, hi = out["clv_total_ci"]
    assert np.isfinite(lo) and np.isfinite(hi) and lo < out["clv_total"] < hi
    from crmlib.clv.value import customer_value
    wald = customer_value(clv.final_model, clv.spend, clv.full.customers, time_unit="W",
                          interval_method="wald", **clv.valuation.value_kwargs())
    assert wald.interval_method.startswith("Wald") and "bootstrap" not in \
        wald.assumptions().iloc[-1]["note"]
