"""Published PLS path model and reliability results (shared/REFERENCES.md) on the satisfaction data."""
import numpy as np
import pandas as pd
import pytest

from crmlib import paths
from crmlib.satisfaction import PLSPathModel, cronbach_alpha, omega_total

DATA = paths.SHARED_REFERENCE / "plspm_satisfaction.csv"
LVS = ["IMAG", "EXPE", "QUAL", "VAL", "SAT", "LOY"]
PATHS = [("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), ("EXPE", "QUAL"), ("EXPE", "VAL"),
         ("EXPE", "SAT"), ("QUAL", "VAL"), ("QUAL", "SAT"), ("VAL", "SAT"), ("SAT", "LOY")]
# R plspm 0.4.x, centroid scheme, scaled = FALSE (REFERENCES.md)
COEFS = {("IMAG", "EXPE"): 0.5790, ("IMAG", "SAT"): 0.2007, ("IMAG", "LOY"): 0.2751,
         ("EXPE", "QUAL"): 0.8483, ("EXPE", "VAL"): 0.1055, ("EXPE", "SAT"): -0.0028,
         ("QUAL", "VAL"): 0.6767, ("QUAL", "SAT"): 0.1221, ("VAL", "SAT"): 0.5893,
         ("SAT", "LOY"): 0.4955}
R2 = {"EXPE": 0.3352, "QUAL": 0.7197, "VAL": 0.5901, "SAT": 0.7073, "LOY": 0.5099}
ALPHA = {"IMAG": 0.822, "EXPE": 0.843, "QUAL": 0.869, "VAL": 0.832, "SAT": 0.894, "LOY": 0.821}

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"reference data missing: {DATA}")


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def blocks(data):
    return {lv: [c for c in data.columns if c.startswith(lv.lower()) and c[len(lv):].isdigit()]
            for lv in LVS}


@pytest.fixture(scope="module")
def model(data, blocks):
    return PLSPathModel(PATHS, blocks, scheme="centroid", scaled=False, n_boot=100,
                        scale_range=(1, 10), random_state=1).fit(data)


def test_blocks_match_the_reference_layout(data, blocks):
    assert data.shape == (250, 28)
    assert [len(blocks[lv]) for lv in LVS] == [5, 5, 5, 4, 4, 4]


def test_path_coefficients_match_plspm(model):
    for (s, t), ref in COEFS.items():
        assert model.path_coefficients_.loc[t, s] == pytest.approx(ref, abs=5e-5), (s, t)


def test_r_squared_matches_plspm(model):
    for lv, ref in R2.items():
        assert model.r2_[lv] == pytest.approx(ref, abs=5e-5), lv


@pytest.mark.parametrize("lv", LVS)
def test_raw_cronbach_alpha_matches_reference(data, blocks, lv):
    alpha, lo, hi = cronbach_alpha(data[blocks[lv]])
    assert alpha == pytest.approx(ALPHA[lv], abs=1e-3)
    assert lo < alpha < hi


def test_omega_is_close_to_alpha_for_congeneric_blocks(data, blocks):
    for lv in LVS:
        om = omega_total(data[blocks[lv]])
        assert 0.8 < om < 0.95
        assert om >= cronbach_alpha(data[blocks[lv]])[0] - 0.005  # alpha is a lower bound


def test_summary_has_estimates_with_bootstrap_intervals(model):
    s = model.summary()
    assert list(s.columns) == ["kind", "parameter", "estimate", "se", "ci_low", "ci_high",
                               "note"]
    paths_ = s[s.kind == "path"]
    assert len(paths_) == 10 and (paths_.se > 0).all()
    assert ((paths_.ci_low <= paths_.estimate) & (paths_.estimate <= paths_.ci_high)).all()
    sat = s[(s.kind == "index") & (s.parameter == "SAT")].iloc[0]
    assert 0 < sat.ci_low < sat.estimate < sat.ci_high < 100
    assert model.n_boot_failed_ == 0 and model.n_ == 250


def test_loadings_and_weights(model):
    assert (model.loadings_ > 0.5).all()
    # unscaled Mode A: scores have unit variance by construction
    assert np.allclose(model.scores_.std(ddof=0), 1)


@pytest.mark.parametrize("scheme", ["factorial", "path"])
def test_other_schemes_give_close_paths(data, blocks, scheme):
    m = PLSPathModel(PATHS, blocks, scheme=scheme, scaled=False).fit(data)
    for (s, t), ref in COEFS.items():
        assert m.path_coefficients_.loc[t, s] == pytest.approx(ref, abs=0.01)


def test_agrees_with_openpls_engine_when_installed(data, blocks):
    """Independent cross-check against the maintained GPL fork of plspm (optional)."""
    pytest.importorskip("openpls")
    import openpls.config as c
    from openpls import Plspm
    from openpls.mode import Mode
    from openpls.scheme import Scheme
    for scheme, S, modes in (("centroid", Scheme.CENTROID, {}),
                             ("path", Scheme.PATH, {"IMAG": "B"})):  # a formative block too
        st = c.Structure()
        for s, t in PATHS:
            st.add_path([s], [t])
        cfg = c.Config(st.path(), scaled=True)
        for lv in LVS:
            mode = Mode.B if modes.get(lv) == "B" else Mode.A
            cfg.add_lv_with_columns_named(lv, mode, data, lv.lower())
        ref = Plspm(data, cfg, S).path_coefficients()
        mine = PLSPathModel(PATHS, blocks, modes=modes, scheme=scheme, scaled=True).fit(data)
        for s, t in PATHS:
            assert mine.path_coefficients_.loc[t, s] == pytest.approx(ref.loc[t, s], abs=1e-10)


def test_bad_specifications_are_named(data, blocks):
    from crmlib.io import DataError, ParameterError
    with pytest.raises(ParameterError, match="inner_scheme"):
        PLSPathModel(PATHS, blocks, scheme="magic").fit(data)
    with pytest.raises(ParameterError, match="cycle"):
        PLSPathModel(PATHS + [("LOY", "IMAG")], blocks).fit(data)
    with pytest.raises(DataError, match="imag9"):
        PLSPathModel(PATHS, {**blocks, "IMAG": blocks["IMAG"] + ["imag9"]}).fit(data)
