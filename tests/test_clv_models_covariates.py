"""BG/NBD with static covariates: planted effects, likelihood-ratio test, reduction to BG/NBD."""
import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.numdiff import approx_fprime

from crmlib import paths
from crmlib.clv.models import BGNBD, BGNBDCovariates, simulate_bgnbd
from crmlib.io import DataError, ParameterError

R, ALPHA, A, B = 0.25, 4.4, 0.8, 2.4
EFFECT_PURCHASE, EFFECT_A = 0.6, 0.5


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(11)
    parts = []
    for channel, z in (("shop", 0.0), ("web", 1.0)):
        s = simulate_bgnbd(5000, R, ALPHA * np.exp(-EFFECT_PURCHASE * z), A * np.exp(EFFECT_A * z),
                           B, rng.uniform(20, 52, 5000), rng, resolution=1.0)
        s["channel"] = channel
        parts.append(s)
    d = pd.concat(parts, ignore_index=True)
    d["noise"] = rng.normal(size=len(d)).round(1)
    return d


@pytest.fixture(scope="module")
def fitted(planted):
    return BGNBDCovariates().fit(planted, ["channel"], ["channel"])


def test_recovers_planted_effects_and_rejects_the_model_without_them(fitted):
    s = fitted.summary()
    assert list(s.index) == ["r", "alpha0", "a0", "b0", "purchase:channel=web",
                             "dropout_a:channel=web", "dropout_b:channel=web"]
    row = s.loc["purchase:channel=web"]
    assert row.ci_low - row.se < EFFECT_PURCHASE < row.ci_high + row.se
    assert s.loc["dropout_b:channel=web", "ci_low"] < 0 < s.loc["dropout_b:channel=web", "ci_high"]
    lr = fitted.lr_test_
    assert lr["df"] == 3 and lr["p_value"] < 1e-6
    assert lr["statistic"] == pytest.approx(2 * (fitted.log_likelihood_ - lr["log_likelihood_without"]))


def test_irrelevant_covariate_is_not_significant(planted):
    m = BGNBDCovariates().fit(planted, ["noise"], [])
    assert m.lr_test_["df"] == 1 and m.lr_test_["p_value"] > 0.05
    assert abs(m.params_["purchase:noise"]) < 3 * m.se_["purchase:noise"]


def test_zero_coefficients_reduce_to_bgnbd():
    cdnow = pd.read_csv(paths.REFERENCE / "cdnow_customers_summary.csv")
    cdnow["group"] = np.where(cdnow.index % 2 == 0, "even", "odd")
    bg = BGNBD().fit(cdnow)
    m = BGNBDCovariates().fit(cdnow, ["group"], ["group"])
    assert m.lr_test_["log_likelihood_without"] == pytest.approx(bg.log_likelihood_, rel=1e-10)
    zero = m.with_params(list(bg.params_) + [0.0, 0.0, 0.0])
    np.testing.assert_allclose(zero.p_alive(cdnow), bg.p_alive(cdnow.frequency, cdnow.recency, cdnow["T"]),
                               rtol=1e-10)
    np.testing.assert_allclose(zero.expected_purchases(39.0, cdnow.head(50)),
                               bg.expected_purchases(39.0, *(cdnow.head(50)[c] for c in ("frequency", "recency", "T"))),
                               rtol=1e-9)


def test_analytic_gradient(planted, fitted):
    from crmlib.clv.models.base import compress
    d = planted.head(500)
    z = (d.channel == "web").to_numpy(float)
    data, w = compress({"x": d.frequency.to_numpy(float), "tx": d.recency.to_numpy(float),
                        "T": d["T"].to_numpy(float), "z": z}, np.ones(len(d)))
    data["Z1"] = data["Z2"] = data["z"][:, None]
    th = np.array([np.log(0.3), np.log(4.0), np.log(0.9), np.log(2.0), 0.3, -0.2, 0.1])
    num = approx_fprime(th, lambda t: fitted._negll(t, data, w)[0], centered=True)
    np.testing.assert_allclose(fitted._negll(th, data, w)[1], num, rtol=1e-5, atol=1e-6)


def test_bad_covariates(planted):
    with pytest.raises(ParameterError):
        BGNBDCovariates().fit(planted)
    with pytest.raises(DataError, match="not found"):
        BGNBDCovariates().fit(planted, ["region"])
    d = planted.head(100).copy()
    d.loc[7, "noise"] = np.nan
    with pytest.raises(DataError, match="missing") as err:
        BGNBDCovariates().fit(d, ["noise"])
    assert err.value.row == 9
