"""Holm's adjustment against statsmodels and a hand computation."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from crmlib.multitest import adjusted_p, holm


def test_holm_by_hand():
    # sorted p: 0.01, 0.02, 0.03, 0.5 -> 4*0.01, 3*0.02, 2*0.03, 1*0.5 = .04 .06 .06 .5
    p = [0.03, 0.5, 0.01, 0.02]
    assert holm(p) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    # the running maximum: 3*0.04 = .12 > 2*0.05 = .10, so the third keeps .12
    assert holm([0.04, 0.01, 0.05, 0.9]) == pytest.approx([0.12, 0.04, 0.12, 0.9])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])   # 2*0.6 capped at 1, then kept


@pytest.mark.parametrize("seed", range(5))
def test_holm_equals_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    p = np.round(rng.beta(0.4, 2.0, n), 3)        # rounded: ties, zeros, values near 1
    p[rng.random(n) < 0.1] = 1.0
    assert np.array_equal(holm(p), multipletests(p, method="holm")[1])
    assert np.array_equal(adjusted_p(p, "fdr_bh"), multipletests(p, method="fdr_bh")[1])


def test_holm_of_nothing():
    assert holm([]).shape == (0,)
