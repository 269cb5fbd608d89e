"""Cross-checks a sceptic would run: signed omega, identical gaps, weak surveys.

Every expected value comes from an independent computation (scikit-learn's factor
analysis, a brute-force enumeration), never from crmlib itself.
"""
import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import FactorAnalysis

from crmlib.satisfaction import cronbach_alpha, omega_total, paired_gap
from crmlib.satisfaction.gaps import _weighted_gap
from crmlib.satisfaction.reliability import NegativeLoadingWarning, negative_loading_items


def _likert_block(reversed_items=(3,), n=500, seed=3):
    """Four 7-point items on one factor; the listed items left reverse-scored."""
    g = np.random.default_rng(seed)
    f = g.normal(size=n)
    x = np.clip(np.round(4 + 1.3 * (0.7 * f[:, None] + 0.51 ** .5 * g.normal(size=(n, 4)))), 1, 7)
    x = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    for k in reversed_items:
        x.iloc[:, k] = 8 - x.iloc[:, k]
    return x


def _sklearn_omega(x: pd.DataFrame) -> float:
    """Omega of the unweighted sum from scikit-learn's ML factor analysis, by hand."""
    fa = FactorAnalysis(n_components=1, tol=1e-10, max_iter=10_000).fit(x.to_numpy())
    lam = fa.components_[0] * np.sign(fa.components_[0].sum())
    return lam.sum() ** 2 / (lam.sum() ** 2 + fa.noise_variance_.sum())


def test_omega_uses_signed_loadings_like_an_independent_factor_analysis():
    x = _likert_block(reversed_items=(3,))
    with pytest.warns(NegativeLoadingWarning, match=r"\['d'\]"):
        om = omega_total(x)
    assert om == pytest.approx(_sklearn_omega(x), abs=1e-5)
    assert om == pytest.approx(0.50, abs=0.01)  # not 0.795 (absolute loadings)
    assert cronbach_alpha(x)[0] < 0.1


def test_omega_without_reversed_items_agrees_and_does_not_warn():
    x = _likert_block(reversed_items=())
    with warnings.catch_warnings():
        warnings.simplefilter("error", NegativeLoadingWarning)
        om = omega_total(x)
    assert om == pytest.approx(_sklearn_omega(x), abs=1e-5)
    assert om == pytest.approx(0.795, abs=0.01)


def test_omega_flips_the_whole_factor_not_single_items():
    # three of four items reversed: the factor is oriented with the majority, so the
    # one unreversed item is the odd one out, whatever sign the fit returned
    x = _likert_block(reversed_items=(0, 1, 2))
    assert negative_loading_items(x) == ["d"]
    with pytest.warns(NegativeLoadingWarning):
        assert omega_total(x) == pytest.approx(_sklearn_omega(x), abs=1e-5)


def _brute_force_signed_rank_p(d: np.ndarray) -> float:
    """Two-sided exact signed-rank p by enumerating all 2^n sign patterns (ties: average ranks)."""
    a = np.abs(d)
    ranks = pd.Series(a).rank().to_numpy()
    t_obs = ranks[d > 0].sum()
    mean = ranks.sum() / 2
    stats_ = [ranks[np.array(s, bool)].sum() for s in itertools.product([0, 1], repeat=len(d))]
    return float(np.mean(np.abs(np.array(stats_) - mean) >= abs(t_obs - mean) - 1e-12))


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_identical_gaps_give_the_exact_signed_rank_p_and_no_t_test(n):
    g = paired_gap(pd.Series([5.0] * n), pd.Series([4.0] * n))
    assert g["wilcoxon_p"] == pytest.approx(_brute_force_signed_rank_p(np.ones(n)))
    assert g["wilcoxon_p"] == pytest.approx(2 / 2 ** n)
    assert np.isnan(g["p"]) and np.isnan(g["t"]) and np.isnan(g["ci_low"])
    assert "same gap" in g["note"]


def test_identical_gaps_are_never_flagged_significant():
    from crmlib.satisfaction.gaps import _finish
    rows = [{"item": "x", "gap": -1.0, **paired_gap(pd.Series([4.0, 4.0]), pd.Series([5.0, 5.0]))}]
    assert not _finish(pd.DataFrame(rows), 0.05, "holm")["significant"].iloc[0]


def test_identical_value_weighted_gaps_have_no_test():
    r = _weighted_gap(np.full(4, -1.0), np.array([1.0, 2.0, 3.0, 4.0]), 0.95)
    assert r["gap_weighted"] == -1.0
    assert np.isnan(r["p"]) and np.isnan(r["ci_low"])


# -- weak surveys: thin or incoherent data give notes, never a crash -----------------------------
@pytest.fixture(scope="module")
def weak_surveys(tmp_path_factory):
    """The small fixture cut to 3 respondents, and 40 respondents answering at random."""
    from crmlib.demo import generate
    tmp = tmp_path_factory.mktemp("weak")
    generate(tmp / "src", size="small", only=("satisfaction",))
    full = pd.read_csv(tmp / "src" / "survey.csv")
    g = np.random.default_rng(1)
    noise = full.head(40).copy()
    rated = [c for c in noise.columns if c[:2] in ("E_", "P_") or c == "overall_satisfaction"]
    noise[rated] = g.integers(1, 8, (len(noise), len(rated)))
    out = {}
    for name, frame in (("three", full.head(3)), ("noise", noise)):
        (tmp / name).mkdir()
        frame.to_csv(tmp / name / "survey.csv", index=False)
        (tmp / name / "survey_items.csv").write_text((tmp / "src" / "survey_items.csv").read_text())
        out[name] = tmp / name
    return out


def _load(folder):
    import crmlib.satisfaction as S
    return S.load_inputs({"survey": str(folder / "survey.csv"),
                          "items": str(folder / "survey_items.csv"), "scale_min": 1,
                          "scale_max": 7, "dont_know_codes": [99], "segment_col": "segment",
                          "min_answered": 0.5, "clv_table": None})[0]


def _contains(est, lo, hi):
    ok = np.isfinite(lo) & np.isfinite(hi)
    return bool(np.all((lo[ok] <= est[ok] + 1e-12) & (est[ok] <= hi[ok] + 1e-12)))


@pytest.mark.parametrize("name", ["three", "noise"])
def test_weak_survey_intervals_contain_their_estimates_and_charts_draw(weak_surveys, name):
    import matplotlib.pyplot as plt

    import crmlib.satisfaction as S
    from crmlib.plots import satisfaction as charts
    sv = _load(weak_surveys[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NegativeLoadingWarning)
        rel = S.reliability_table(sv, n_boot=100, random_state=0)
    for key in ("alpha", "omega"):
        assert _contains(rel[key], rel[f"{key}_ci_low"], rel[f"{key}_ci_high"]), key
    kano = S.kano_table(sv)
    for key in ("better", "worse"):
        assert _contains(kano[key], kano[f"{key}_ci_low"], kano[f"{key}_ci_high"]), key
    for fig in (charts.reliability_chart(rel), charts.kano_plot(kano)):
        plt.close(fig)
    from crmlib.satisfaction import narrative
    text = narrative.reliability(rel) + " ".join(sv.notes)
    if name == "three":
        assert "thin survey: only 3 respondents" in text
    else:
        assert "Warning:** omega below 0.5" in text


def test_omega_outside_its_bootstrap_interval_is_reported_without_an_interval():
    from crmlib.satisfaction.reliability import percentile_interval
    lo, hi, why = percentile_interval(0.081, np.linspace(0.089, 0.488, 200), 0.95)
    assert np.isnan(lo) and np.isnan(hi) and "outside its bootstrap interval" in why
    lo, hi, why = percentile_interval(0.2, np.linspace(0.0, 1.0, 201), 0.90)
    assert (lo, hi, why) == (pytest.approx(0.05), pytest.approx(0.95), "")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["three", "noise"])
def test_satisfaction_notebook_runs_on_a_weak_survey_and_says_so(weak_surveys, name):
    import json

    import papermill as pm

    from crmlib import paths
    folder = weak_surveys[name]
    pm.execute_notebook(str(paths.NOTEBOOKS / "03_satisfaction_gaps.ipynb"),
                        str(folder / "executed.ipynb"), kernel_name="python3",
                        cwd=str(paths.ROOT), progress_bar=False,
                        parameters={"survey": str(folder / "survey.csv"),
                                    "items": str(folder / "survey_items.csv"),
                                    "output_dir": str(folder / "out"), "n_boot": 40})
    r = json.loads((folder / "out" / "results.json").read_text())
    if name == "three":
        assert r["n_respondents"] == 3
        assert any(n.startswith("thin survey") for n in r["notes"])
    else:
        assert any("negative loading" in v["note"] for v in r["reliability"].values())
        assert min(v["omega"] for v in r["reliability"].values()) < 0.5


def test_welch_anova_with_a_segment_without_spread_is_undefined_and_says_why():
    from crmlib.satisfaction.gaps import _segment_test
    groups = {"a": pd.Series([-1.0] * 6), "b": pd.Series([0.0, 1, 2, 1, 0, 1])}
    out = _segment_test("d", groups, [])
    assert np.isnan(out["p_welch"]) and "segment(s) a" in out["note"]
    assert np.isfinite(out["p_kruskal"])  # rank test still defined


def _null_predictor(n: int = 30, seed: int = 0):
    """Two predictors of y and a third, d, orthogonal in the sample to y and to both: its
    relative weight is exactly 0 (its squared correlations are all 0; Johnson 2000), while
    every bootstrap resample gives it a positive weight."""
    g = np.random.default_rng(seed)
    X = pd.DataFrame(g.normal(size=(n, 2)), columns=["a", "b"])
    y = pd.Series(0.8 * X["a"] + g.normal(size=n))
    z = g.normal(size=n)
    M = np.column_stack([np.ones(n), X, y])
    X["d"] = z - M @ np.linalg.lstsq(M, z, rcond=None)[0]
    return X, y


def test_a_driver_weight_never_shows_an_interval_that_excludes_it():
    from crmlib.satisfaction.drivers import RelativeWeights
    X, y = _null_predictor()
    rw = RelativeWeights(n_boot=300, ci=0.95, random_state=1).fit(X, y)
    s = rw.summary().set_index("predictor")
    assert s.loc["d", "estimate"] == pytest.approx(0, abs=1e-12)
    assert rw.boot_weights_["d"].quantile(0.025) > 1e-5  # the raw percentile interval excludes 0
    assert np.isnan(s.loc["d", ["ci_low", "ci_high", "share_ci_low", "share_ci_high"]]
                    .astype(float)).all()
    assert "weight: estimate" in s.loc["d", "note"] and "share: estimate" in s.loc["d", "note"]
    assert "outside its bootstrap interval" in s.loc["d", "note"]
    for p in ("a", "b"):  # the others keep their percentile interval, which contains them
        lo, hi = np.quantile(rw.boot_weights_[p], [0.025, 0.975])
        assert s.loc[p, "ci_low"] == pytest.approx(lo) and s.loc[p, "ci_high"] == pytest.approx(hi)
        assert lo <= s.loc[p, "estimate"] <= hi and s.loc[p, "note"] == ""


def test_reason_tells_the_estimate_from_the_interval():
    from crmlib.satisfaction.bootstrap import percentile_interval
    _, _, why = percentile_interval(0.081, np.linspace(0.089, 0.488, 201), 0.95)
    # 2.5% and 97.5% points of the grid: 0.089 + 0.025 · 0.399 = 0.0990, 0.089 + 0.975 · 0.399 = 0.4780
    assert "estimate 0.081 outside its bootstrap interval 0.099 to 0.478" in why


def test_a_pls_r2_of_zero_has_no_interval_above_it():
    """Indicators of X orthogonal in the sample to those of Y: every composite of X is
    uncorrelated with every composite of Y, so the path and R² are exactly 0, while each
    resample's R² is positive: its percentile interval would exclude the estimate."""
    from crmlib.satisfaction.pls import PLSPathModel
    g = np.random.default_rng(0)
    n = 25
    Y = g.normal(size=(n, 2))
    Y[:, 1] += Y[:, 0]
    Xr = g.normal(size=(n, 2))
    Xr[:, 1] += Xr[:, 0]
    M = np.column_stack([np.ones(n), Y])
    X = Xr - M @ np.linalg.lstsq(M, Xr, rcond=None)[0]
    data = pd.DataFrame(np.column_stack([X, Y]), columns=["x1", "x2", "y1", "y2"])
    m = PLSPathModel([("X", "Y")], {"X": ["x1", "x2"], "Y": ["y1", "y2"]}, n_boot=200,
                     random_state=1).fit(data)
    s = m.summary().set_index("kind")
    assert s.loc["r2", "estimate"] == pytest.approx(0, abs=1e-12)
    assert m.boot_["r2:Y"].quantile(0.025) > 0
    assert np.isnan(s.loc["r2", "ci_low"]) and "outside its bootstrap interval" in s.loc["r2", "note"]
    path = s.loc["path"]
    assert path["ci_low"] <= path["estimate"] <= path["ci_high"] and path["note"] == ""


def test_a_value_lift_interval_that_excludes_the_lift_is_blank_with_the_reason():
    from crmlib.satisfaction.gaps import _lift_ci
    d, w = np.array([-3.0, -2.0, -2.0, -1.0, -3.0, 4.0]), np.array([1.0, 1, 1, 1, 1, 200])
    lift = (d * w).sum() / w.sum() - d.mean()
    assert lift == pytest.approx(789 / 205 + 7 / 6)  # by hand: weighted 789/205, plain −7/6
    lo, hi, why = _lift_ci(d, w, lift, 0.95, 2000, np.random.default_rng(0))
    assert lo <= lift <= hi and why == ""
    # the same draws judged against a lift they exclude (as thin, skewed data can give)
    lo, hi, why = _lift_ci(d, w, lift + 10, 0.95, 2000, np.random.default_rng(0))
    assert np.isnan(lo) and np.isnan(hi) and why.startswith("value lift: estimate 15.0")
