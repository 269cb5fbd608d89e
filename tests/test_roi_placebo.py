"""Batched placebo refits (crmlib.roi.placebo) against a plain loop over placebo assignments:
for each assignment the stacked sample is built row by row and the DiD and the event study
are fitted as dummy-variable least squares, the Wald statistic from the cluster-robust
(CR0) sandwich of that regression."""
import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from crmlib.roi import placebo as PL

PRE = 4


def _panel(n_units, starts, n_months=14, effect=1.5, seed=0, gaps=0, blank=None):
    """Monthly panel: unit level, common trend, noise; ``starts`` maps pilot units to their
    start month (index); ``gaps`` unit-months dropped at random; in month ``blank`` only
    the pilot units report, and the first pilot misses month 9 (with balanced pilots the
    pilots-only month would not move the estimates)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=n_months, freq="MS")
    units = [f"u{i:02d}" for i in range(n_units)]
    rows = [{"unit_id": u, "period": m, "value": 5 + rng.normal(0, 1) * (i % 3) + 0.2 * t
             + rng.normal(0, 0.4) + (effect if u in starts and t >= starts[u] else 0.0)}
            for i, u in enumerate(units) for t, m in enumerate(months)]
    d = pd.DataFrame(rows)
    if blank is not None:
        d = d[(d["period"] != months[blank]) | d["unit_id"].isin(starts)]
        d = d[(d["period"] != months[9]) | (d["unit_id"] != units[0])]
    if gaps:
        d = d.drop(index=rng.choice(d.index, size=gaps, replace=False)).reset_index(drop=True)
    s = pd.Series([months[starts[u]] if u in starts else pd.NaT for u in units], index=units)
    return d, s, months


# ---- the loop: one stacked sample and two dummy-variable regressions per assignment ----

def _stacked(d, start, pre, last):
    """``start``: unit → start month (integer) for treated units."""
    parts = []
    for g in sorted(set(start.values())):
        if g > last:
            continue
        w = d[(d["m"] >= g - pre) & (d["m"] <= last)]
        st = w["unit_id"].map(start)
        member = (st == g).to_numpy()
        clean = (st.isna() | (w["m"] < st)).to_numpy() & ~member
        s = w[member | clean].assign(member=member[member | clean])
        s = s[s["m"].isin(s.loc[~s["member"], "m"])]  # months with a comparison
        if not (~s["member"] & (s["m"] >= g)).any():
            continue
        parts.append(s.assign(stack=g, D=(s["member"] & (s["m"] >= g)).astype(float),
                              rel=np.where(s["member"], s["m"] - g, np.nan)))
    return pd.concat(parts, ignore_index=True)


def _fe(s):
    su = s["stack"].astype(str) + "|" + s["unit_id"]
    sp = s["stack"].astype(str) + "|" + s["m"].astype(str)
    return pd.concat([pd.get_dummies(su, dtype=float), pd.get_dummies(sp, dtype=float)], axis=1)


def _loop_stats(d, start, pre, last, ks):
    s = _stacked(d, start, pre, last)
    y = s["value"].to_numpy()
    X = np.column_stack([s["D"], _fe(s)])
    beta = np.linalg.lstsq(X, y, rcond=None)[0][0]
    E = np.column_stack([(s["rel"] == k).to_numpy(float) for k in ks])
    keep = E.any(axis=0)
    leads = [j for j, k in enumerate(np.array(ks)[keep]) if k < -1]
    if not leads:
        return beta, np.nan
    X = np.column_stack([E[:, keep], _fe(s)])
    P = np.linalg.pinv(X)[:keep.sum()]  # the event coefficients as a linear map of y
    b = P @ y
    e = y - X @ np.linalg.pinv(X) @ y
    scores = [P[:, idx] @ e[idx] for idx in s.groupby("unit_id").indices.values()]
    V = sum(np.outer(c, c) for c in scores)[np.ix_(leads, leads)]
    return beta, b[leads] @ np.linalg.pinv(V) @ b[leads] / len(leads)


def _loop_placebo(d, starts, pre, last, B, rng):
    t0 = d["period"].min()
    d = d.assign(m=PL.months_between(d["period"], t0))
    lastm = PL.months_between(last, t0)
    real = {u: PL.months_between(s, t0) for u, s in starts.dropna().items()}
    rel = _stacked(d, real, pre, lastm)["rel"].dropna().astype(int)
    ks = sorted(set(rel) - {-1})
    beta0, f0 = _loop_stats(d, real, pre, lastm, ks)
    controls = sorted(starts.index[starts.isna()])
    cohorts = list(real.values())
    k = len(cohorts)
    sets = ([list(c) for c in combinations(controls, k)] if math.comb(len(controls), k) <= B
            else [list(rng.choice(controls, size=k, replace=False)) for _ in range(B)])
    staggered = len(set(cohorts)) > 1
    dc = d[d["unit_id"].isin(controls)]
    betas, fs = [], []
    for s in sets:
        given = rng.permutation(np.array(cohorts, float)) if staggered else cohorts
        b, f = _loop_stats(dc, dict(zip(s, (int(x) for x in given))), pre, lastm, ks)
        betas.append(b)
        fs.append(f)
    return beta0, f0, np.array(betas), np.array(fs)


CASES = {  # units, pilot start months, unit-months missing, B, month only pilots report
    # one start month, all C(7, 2) = 21 sets
    "one cohort, all sets": (9, {"u00": 6, "u01": 6}, 0, 100, None),
    # one start month, 20 random sets of C(12, 3) = 220, months missing here and there
    "one cohort, random sets, gaps": (15, {"u00": 6, "u01": 6, "u02": 6}, 9, 20, None),
    # as large as the demo, balanced: the months' normal equations are singular in exact
    # arithmetic and only just in floating point
    "one cohort, 40 units, balanced": (40, {f"u{i:02d}": 5 for i in range(8)}, 0, 5, None),
    # a month without comparison units leaves the sample
    "one cohort, a month reported by the pilots only": (10, {"u00": 6, "u01": 6}, 0, 20, 3),
    # staggered starts: the late pilot is a not-yet-treated control of the early ones
    "staggered, random sets": (14, {"u00": 5, "u01": 5, "u02": 8}, 0, 20, None),
    "staggered, gaps": (13, {"u00": 5, "u01": 7, "u02": 7}, 12, 20, None),
    # a cohort starting in the last month used has one month after its start
    "staggered, a cohort starting in the last month": (11, {"u00": 6, "u01": 11}, 0, 20, None),
    # a start after the last month used is left out of the stack
    "staggered, late cohort beyond the window": (11, {"u00": 6, "u01": 13}, 5, 20, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_batched_placebo_statistics_equal_the_loop(case):
    n_units, starts_at, gaps, B, blank = CASES[case]
    d, starts, months = _panel(n_units, starts_at, seed=len(case), gaps=gaps, blank=blank)
    last = months[11]
    beta0, f0, betas, fs = _loop_placebo(d, starts, PRE, last, B, np.random.default_rng(5))
    got = PL.placebo_statistics(d, starts, PRE, last, B, np.random.default_rng(5))
    scale = np.max(np.abs(betas))
    assert got["beta"] == pytest.approx(beta0, rel=1e-12)
    assert got["f"] == pytest.approx(f0, rel=1e-12)
    np.testing.assert_allclose(got["betas"], betas, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(got["fs"], fs, rtol=1e-12)
    out = PL.placebo_tests(d, starts, PRE, last, B, np.random.default_rng(5))
    assert out["n_placebos"] == len(betas) == min(B, math.comb(n_units - len(starts_at),
                                                               len(starts_at)))
    assert out["perm_p"] == (1 + np.sum(np.abs(betas) >= abs(beta0))) / (1 + len(betas))
    assert out["pretrend_perm_p"] == (1 + np.sum(fs >= f0)) / (1 + len(fs))


def test_chunked_batches_equal_one_batch():
    d, starts, months = _panel(12, {"u00": 5, "u01": 7}, gaps=6)
    grid = PL.Grid(d, sorted(starts.index[starts.isna()]))
    rng = np.random.default_rng(2)
    S = np.full((9, 10), np.inf)
    for row in S:
        row[rng.choice(10, size=2, replace=False)] = [5, 7]
    whole = PL.statistics(grid, S, PRE, 11, [-4, -3, -2, 0, 1, 2])
    one_by_one = PL.statistics(grid, S, PRE, 11, [-4, -3, -2, 0, 1, 2], max_cells=1)
    np.testing.assert_array_equal(whole[0], one_by_one[0])
    np.testing.assert_allclose(whole[1], one_by_one[1], rtol=1e-13)


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")
def test_stacked_estimate_equals_statsmodels_with_stack_specific_effects():
    """The observed statistic: stacked DiD by statsmodels with stack × unit and stack ×
    month dummies (an independent fit of the same regression; the dummies of the second
    stack overlap by one, which leaves the DiD coefficient identified)."""
    d, starts, months = _panel(10, {"u00": 5, "u01": 8}, gaps=4, seed=11)
    last = months[11]
    got = PL.placebo_statistics(d, starts, PRE, last, 10, np.random.default_rng(0))
    t0 = d["period"].min()
    real = {u: PL.months_between(s, t0) for u, s in starts.dropna().items()}
    s = _stacked(d.assign(m=PL.months_between(d["period"], t0)), real, PRE, 11)
    s = s.assign(su=s["stack"].astype(str) + s["unit_id"],
                 sp=s["stack"].astype(str) + "_" + s["m"].astype(str))
    fit = smf.ols("value ~ D + C(su) + C(sp)", s).fit()
    assert got["beta"] == pytest.approx(fit.params["D"], rel=1e-10)


def test_no_placebo_without_more_controls_than_pilots():
    d, starts, months = _panel(4, {"u00": 6, "u01": 6})
    assert PL.placebo_statistics(d, starts, PRE, months[11], 99, np.random.default_rng(0)) is None
    out = PL.placebo_tests(d, starts, PRE, months[11], 99, np.random.default_rng(0))
    assert out["n_placebos"] == 0 and np.isnan(out["perm_p"])


@pytest.mark.parametrize("units, months", [(40, 11), (20, 13), (40, 15), (7, 5)])
def test_two_way_residuals_of_a_balanced_panel_by_hand(units, months):
    """Balanced panel: the residual is z − z̄(unit) − z̄(month) + z̄, for an outcome and a
    treatment indicator. These sizes make the months' normal equations singular only up
    to rounding (a null eigenvalue just above numpy's default cutoff), which a plain
    pseudo-inverse turns into errors of several percent."""
    rng = np.random.default_rng(units * months)
    D = np.zeros((units, months))
    D[: units // 4, months // 2:] = 1
    Z = np.stack([rng.normal(1000, 10, (units, months)), D], axis=-1)
    expected = Z - Z.mean(axis=1, keepdims=True) - Z.mean(axis=0, keepdims=True) + Z.mean((0, 1))
    got = PL.absorb_two_way(Z[None].copy(), np.ones((1, units, months)))
    np.testing.assert_allclose(got[0], expected, atol=1e-9)
