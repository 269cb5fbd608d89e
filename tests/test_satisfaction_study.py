"""run(P) -> SatisfactionAnalysis: one face for notebook 03, the same numbers as the modules."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import crmlib.satisfaction as S
from crmlib import paths
from crmlib.demo import generate
from crmlib.params import validate
from crmlib.report.params import read_parameters
from crmlib.satisfaction.params import SPEC


@pytest.fixture(scope="module")
def params(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    generate(tmp, size="small", only=("satisfaction",))
    defaults = {n: p.default for n, p in
                read_parameters(paths.NOTEBOOKS / "03_satisfaction_gaps.ipynb").items()}
    raw = {**defaults, "survey": str(tmp / "survey.csv"), "items": str(tmp / "survey_items.csv"),
           "n_boot": 30, "seed": 3, "output_dir": str(tmp / "out")}
    return validate(SPEC, raw)


def test_sections_equal_the_module_functions_called_directly(params):
    A = S.run(params)
    sv = A.survey_
    pd.testing.assert_frame_equal(A.dimension_gaps, S.dimension_gaps(sv, 0.05, "holm"))
    pd.testing.assert_frame_equal(A.item_gaps, S.item_gaps(sv, 0.05, "holm"))
    pd.testing.assert_frame_equal(A.overall, S.overall_score(sv, None, 0.05))
    drivers, r2, n = S.derived_importance(sv, "item", 30, 0.95, 3, strict=False)
    pd.testing.assert_frame_equal(A.drivers, drivers)
    assert A.drivers_r2 == r2 and A.drivers_n == n
    pd.testing.assert_frame_equal(
        A.priorities, S.priority_list(A.item_gaps, 0.05, drivers, None, None, sv.scale))


def test_each_section_is_computed_once(params, monkeypatch):
    A = S.run(params)
    calls = []
    real = S.dimension_gaps
    monkeypatch.setattr("crmlib.satisfaction.gaps.dimension_gaps",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert A.dimension_gaps is A.dimension_gaps
    assert len(calls) == 1


def test_results_carry_every_section_and_the_headline(params):
    A = S.run(params)
    results, tables = A.results(), A.tables()
    assert results["n_respondents"] == A.survey_.n_respondents
    assert set(results["gaps_by_dimension"]) == set(A.dimension_gaps["dimension"])
    assert np.isclose(results["overall_gap"]["gap"], A.overall["gap"].iloc[0])
    assert {"reliability", "dimension_gaps", "item_gaps", "priorities",
            "data_quality"} <= set(tables)
    overall = next(h for h in results["headline"] if h["label"].startswith("Overall"))
    assert overall["value"] == pytest.approx(A.overall["gap"].iloc[0])


def test_headline_intervals_are_labelled_at_the_chosen_level(params):
    """At significance 0.10 the gap intervals are 90% t-intervals and say so."""
    heads = {}
    for sig in (0.05, 0.10):
        A = S.run({**params, "significance": sig})
        heads[sig] = next(h for h in A.results()["headline"]
                          if h["label"].startswith("Largest dimension gap"))
        n = int(A.dimension_gaps.set_index("dimension")["n"].min())
    assert heads[0.10]["ci_level"] == pytest.approx(0.90)
    assert heads[0.05]["ci_level"] == pytest.approx(0.95)
    half = {s: (h["ci"][1] - h["ci"][0]) / 2 for s, h in heads.items()}
    assert half[0.10] / half[0.05] == pytest.approx(
        stats.t.ppf(0.95, n - 1) / stats.t.ppf(0.975, n - 1), rel=1e-9)


def test_a_failing_optional_section_is_none_and_the_rest_goes_on(params, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("singular matrix")

    monkeypatch.setattr("crmlib.satisfaction.drivers.derived_importance", broken)
    A = S.run(params)
    with pytest.warns(RuntimeWarning, match="key drivers not computed: ValueError"):
        assert A.drivers is None
    with pytest.warns(RuntimeWarning, match="key drivers by dimension not computed"):
        tables = A.tables()
    assert A.drivers_r2 is None and "drivers" not in tables
    assert len(A.priorities) > 0
