"""Analytic gradients of the limiting models' likelihoods against finite differences.

The gradient is checked against the five-point stencil of the likelihood itself (whose
values are checked against quadrature and mpmath in test_clv_edges.py), at points where
each branch of the integral runs: r = 1 (k = r + x = 1 for customers without repeat
purchases), customers whose last purchase is at the end of the window (t_x = T: no
dropped-out term) and customers without repeat purchases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.clv.models import ParetoNBDCommonDropout
from crmlib.clv.models.base import check_rft
from crmlib.clv.models.optimiser import five_point_gradient
from crmlib.clv.models.pareto_nbd import simulate_pareto_nbd


def _customers() -> pd.DataFrame:
    df = simulate_pareto_nbd(400, 0.8, 8.0, 0.9, 15.0, 52, rng=3)
    edge = pd.DataFrame({"frequency": [3, 0, 7], "recency": [40.0, 0.0, 52.0],
                         "T": [40.0, 30.0, 52.0]})  # t_x = T twice, and x = 0
    return pd.concat([df[["frequency", "recency", "T"]], edge], ignore_index=True)


def _data():
    return check_rft(_customers(), "test", None)  # distinct rows and their weights


@pytest.mark.parametrize("params", [(0.8, 8.0, 0.05), (1.0, 3.0, 0.5), (3.0, 40.0, 0.002),
                                    (0.2, 0.5, 2.0), (25.0, 300.0, 0.01)])
def test_pareto_common_dropout_gradient_is_the_likelihoods_slope(params):
    data, w = _data()
    assert (data["tx"] == data["T"]).sum() >= 2 and (data["x"] == 0).any()
    model = ParetoNBDCommonDropout()
    theta = np.log(params)
    value, grad = model._negll(theta, data, w)
    slope = five_point_gradient(lambda t: model._negll(t, data, w)[0], theta, rel=1e-4)
    assert grad == pytest.approx(slope, rel=1e-7, abs=1e-6)
    alive, dead = model._log_terms(*params, data["x"], data["tx"], data["T"])
    by_terms = -np.sum(w * (model._nbd_part(params[0], params[1], data["x"])
                            + np.logaddexp(alive, dead)))
    assert value == pytest.approx(by_terms, rel=1e-13)


def test_pareto_common_dropout_fit_is_the_maximum_the_slope_says():
    """The analytic gradient is zero at the estimate and the estimate is that of the
    likelihood alone (a derivative-free optimiser from the same start)."""
    from scipy import optimize
    data, w = _data()
    model = ParetoNBDCommonDropout()
    fitted = model.fit(_customers())
    free = optimize.minimize(lambda t: model._negll(t, data, w)[0], np.log([1.0, 10.0, 0.05]),
                             method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000})
    assert fitted.params_.to_numpy() == pytest.approx(np.exp(free.x), rel=1e-4)
    assert np.max(np.abs(model._negll(np.log(fitted.params_.to_numpy()), data, w)[1])) \
        < 1e-3
