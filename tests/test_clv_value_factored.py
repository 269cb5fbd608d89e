"""CLV value draws factor E[Y(t) | x, t_x, T] as P(alive) · E[Y(t) | alive, x, T]: the
same numbers as the models' own ``expected_purchases`` (bit for bit where the closed form
is used; to the last digits where BG/NBD integrates over the beta nodes, whose matrix
product sums in an order that depends on how many rows it is given)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib.clv import value as V
from crmlib.clv.models.bgnbd import BGNBD, MBGNBD, simulate_bgnbd
from crmlib.clv.models.limits import NBD
from crmlib.clv.models.pareto_nbd import ParetoNBD, simulate_pareto_nbd

CLOSED_FORM = {BGNBD: [(0.24, 4.4, 0.79, 2.4), (2.0, 30.0, 3.1, 9.0)],
               MBGNBD: [(0.24, 4.4, 0.79, 2.4)],
               ParetoNBD: [(0.55, 10.6, 0.61, 11.7), (1.0, 10.0, 1e-6, 10.0),
                           (0.5, 10.0, 0.3, 1e9)]}
NODES = {BGNBD: [(1.0, 10.0, 1.58e6, 4.14e6), (0.5, 10.0, 1.0000001, 2.0)],
         MBGNBD: [(0.8, 1e-3, 0.01, 0.01)], ParetoNBD: []}


@pytest.fixture(scope="module")
def fitted():
    bg = simulate_bgnbd(300, 1.0, 10.0, 3.0, 7.0, 52, rng=3)
    return {BGNBD: BGNBD().fit(bg),
            MBGNBD: MBGNBD().fit(simulate_bgnbd(300, 1.0, 10.0, 3.0, 7.0, 52, rng=4)),
            ParetoNBD: ParetoNBD().fit(simulate_pareto_nbd(300, 1.0, 10, 1.0, 20, 52, rng=2))}


def _rows(n=500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 25, n).astype(float)
    T = rng.choice([13.0, 26.0, 39.0, 52.0, 52.5], n)          # cohorts: few distinct T
    tx = np.where(x > 0, np.round(T * rng.random(n), 1), 0.0)
    return x[:, None], tx[:, None], T[:, None]


def _as_rows(x, tx, T):
    return V._Rows.of(pd.DataFrame({"frequency": x[:, 0], "recency": tx[:, 0], "T": T[:, 0],
                                    "monetary_value": 1.0}))


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD, ParetoNBD])
def test_factored_equals_expected_purchases(fitted, cls):
    x, tx, T = _rows()
    t = np.array([[1.0, 4.0, 13.0, 52.0, 156.0]])
    for params in CLOSED_FORM[cls] + NODES[cls]:
        m = fitted[cls].with_params(params)
        direct = np.asarray(m.expected_purchases(t, x, tx, T), dtype=float)
        got = V._expected_purchases(m, t, _as_rows(x, tx, T))
        if params in CLOSED_FORM[cls]:
            assert np.array_equal(got, direct), params
        else:
            np.testing.assert_allclose(got, direct, rtol=1e-13, atol=0, err_msg=str(params))
        alive = np.asarray(m.p_alive(x, tx, T), dtype=float)
        if_alive = np.asarray(m.expected_purchases_if_alive(t, x, T), dtype=float)
        np.testing.assert_allclose(if_alive * alive, direct, rtol=1e-13, atol=0)
        assert np.all((alive > 0) & (alive <= 1)) and np.all(if_alive >= direct)


def test_models_without_the_factor_use_their_own_prediction():
    m = NBD()
    assert not hasattr(m, "expected_purchases_if_alive")


def test_value_draws_identical_with_and_without_the_factor(fitted, monkeypatch):
    import pandas as pd

    from crmlib.clv.models.gamma_gamma import GammaGamma

    x, tx, T = _rows(300, seed=4)
    rng = np.random.default_rng(5)
    u = pd.DataFrame({"frequency": x[:, 0], "recency": tx[:, 0], "T": T[:, 0],
                      "monetary_value": np.where(x[:, 0] > 0, rng.gamma(4, 10, len(x)), 0)})
    rep = u[u.frequency > 0]
    spend = GammaGamma().fit(rep.assign(frequency=rep.frequency.astype(int)))
    grid = np.arange(1, 37) * 52 / 12
    disc = (1 + 0.1) ** (-np.arange(1, 37) / 12)
    for cls in (BGNBD, ParetoNBD):
        model = fitted[cls]
        fast, dropped = V.value_draws(model, spend, u, grid, disc, 0.3, 20, 7)
        monkeypatch.delattr(cls, "expected_purchases_if_alive")
        slow, dropped_slow = V.value_draws(model, spend, u, grid, disc, 0.3, 20, 7)
        monkeypatch.undo()
        assert dropped == dropped_slow and np.array_equal(fast, slow)


@pytest.mark.parametrize("cls", [BGNBD, MBGNBD, ParetoNBD])
def test_predictions_keep_the_index_of_whichever_input_is_a_series(fitted, cls):
    import pandas as pd

    m = fitted[cls]
    values = {"t": 26.0, "frequency": 3.0, "recency": 20.0, "T": 40.0}
    methods = {"expected_purchases": ["t", "frequency", "recency", "T"],
               "expected_purchases_if_alive": ["t", "frequency", "T"],
               "p_alive": ["frequency", "recency", "T"]}
    for name, args in methods.items():
        fn = getattr(m, name)
        scalar = fn(*(values[a] for a in args))
        assert isinstance(scalar, float)
        for arg in args:
            idx = pd.Index(["c7", "c3", "c9"], name="customer_id")
            series = pd.Series([values[arg]] * 3, index=idx)
            got = fn(*(series if a == arg else values[a] for a in args))
            assert isinstance(got, pd.Series) and got.index.equals(idx), (name, arg)
            assert got.tolist() == pytest.approx([scalar] * 3), (name, arg)
