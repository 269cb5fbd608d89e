"""The simulators behind the model checks draw from the models they name: moments and
probabilities of the draws against closed forms written out here (Schmittlein, Morrison &
Colombo 1987; Fader, Hardie & Lee 2005; Batislam, Denizel & Filiztekin 2007), never against
the models' own prediction code. Tolerances: 4 Monte Carlo standard errors."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from crmlib.clv.models import simulate_bgnbd, simulate_pareto_nbd

N = 200_000


def _close(sample, expected):
    """The sample mean is within 4 standard errors of ``expected``."""
    sample = np.asarray(sample, dtype=float)
    se = sample.std(ddof=1) / np.sqrt(len(sample))
    assert abs(sample.mean() - expected) < 4 * se, (sample.mean(), expected, se)


def _pnbd_mean(r, al, s, be, T):
    # Schmittlein et al. (1987), eq. 17
    return r * be / (al * (s - 1)) * (1 - (be / (be + T)) ** (s - 1))


def _pnbd_p0(r, al, s, be, T):
    """P(X(T) = 0): alive at T without a purchase, or gone at t < T without one before.
    Averaged over λ ~ Gamma(r, α) and μ ~ Gamma(s, β) in closed form, one integral over t
    left: (α/(α+T))^r (β/(β+T))^s + ∫₀ᵀ (s/β)(β/(β+t))^(s+1) (α/(α+t))^r dt."""
    gone, _ = integrate.quad(lambda t: s / be * (be / (be + t)) ** (s + 1) * (al / (al + t)) ** r,
                             0, T, epsabs=1e-12)
    return (al / (al + T)) ** r * (be / (be + T)) ** s + gone


def test_pareto_nbd_draws_have_the_models_mean_and_zero_share():
    r, al, s, be, T = 0.8, 6.0, 1.5, 12.0, 52.0
    d = simulate_pareto_nbd(N, r, al, s, be, T, rng=11)
    _close(d["frequency"], _pnbd_mean(r, al, s, be, T))
    _close(d["frequency"] == 0, _pnbd_p0(r, al, s, be, T))
    assert (d["T"] == T).all() and (d["recency"] <= d["T"]).all()
    assert (d.loc[d["frequency"] == 0, "recency"] == 0).all()
    assert (d.loc[d["frequency"] > 0, "recency"] > 0).all()


def test_pareto_nbd_without_dropout_is_nbd_and_the_last_purchase_is_the_maximum():
    r, al, T = 1.3, 9.0, 40.0
    d = simulate_pareto_nbd(N, r, al, 1.0, 1e12, T, rng=12)
    x = d["frequency"].to_numpy()
    _close(x, r * T / al)                                        # NBD mean
    _close((x - r * T / al) ** 2, r * T / al * (1 + T / al))    # NBD variance
    for k in (1, 2, 5):   # the last of k uniform purchase times on (0, T]: mean T·k/(k+1)
        _close(d.loc[x == k, "recency"], T * k / (k + 1))


def test_pareto_nbd_ages_per_customer_and_resolution():
    T = np.where(np.arange(N) % 2 == 0, 13.0, 104.0)
    d = simulate_pareto_nbd(N, 0.8, 6.0, 1.5, 12.0, T, rng=13)
    short, long = d["T"] == 13.0, d["T"] == 104.0
    _close(d.loc[short, "frequency"], _pnbd_mean(0.8, 6.0, 1.5, 12.0, 13.0))
    _close(d.loc[long, "frequency"], _pnbd_mean(0.8, 6.0, 1.5, 12.0, 104.0))
    g = simulate_pareto_nbd(5000, 0.8, 6.0, 1.5, 12.0, np.r_[0.01, np.full(4999, 26.3)],
                            rng=14, resolution=1 / 7)
    on_grid = lambda v: np.allclose(v * 7, np.round(v * 7))  # noqa: E731
    assert on_grid(g["T"]) and on_grid(g["recency"]) and (g["recency"] <= g["T"]).all()
    assert g["T"].iloc[0] == pytest.approx(1 / 7) and g["T"].iloc[1] == pytest.approx(26.285714)


@pytest.mark.parametrize("modified", [False, True], ids=["bgnbd", "mbgnbd"])
def test_bgnbd_draws_have_the_models_mean_and_zero_share(modified):
    r, al, a, b, T = 0.9, 7.0, 2.5, 4.0, 39.0
    d = simulate_bgnbd(N, r, al, a, b, T, rng=21, modified=modified)
    z = T / (al + T)
    if modified:   # Batislam et al. (2007), eq. 8; a drop-out coin at time zero as well
        mean = b / (a - 1) * (1 - (al / (al + T)) ** r * special.hyp2f1(r, b + 1, a + b, z))
        p0 = a / (a + b) + b / (a + b) * (al / (al + T)) ** r
    else:          # FHL (2005), eq. 9; nobody leaves before a first purchase
        mean = (a + b - 1) / (a - 1) * (1 - (al / (al + T)) ** r
                                        * special.hyp2f1(r, b, a + b - 1, z))
        p0 = (al / (al + T)) ** r
    _close(d["frequency"], mean)
    _close(d["frequency"] == 0, p0)
    assert (d["recency"] <= d["T"]).all() and (d.loc[d["frequency"] == 0, "recency"] == 0).all()


def test_bgnbd_without_dropout_places_purchases_uniformly():
    r, al, T = 1.1, 8.0, 52.0
    d = simulate_bgnbd(N, r, al, 1.0, 1e9, T, rng=22)   # p ~ Beta(1, 1e9): nobody leaves
    x = d["frequency"].to_numpy()
    _close(x, r * T / al)
    for k in (1, 3):
        _close(d.loc[x == k, "recency"], T * k / (k + 1))
