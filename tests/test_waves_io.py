"""Waves in the inputs: a wave column or one file per wave, put in time order."""
import datetime as dt

import pandas as pd
import pytest

from crmlib import params as P
from crmlib.io import DataError, ParameterError, load_assessment, load_survey
from crmlib.io.waves import CURRENT, shared_respondents, split_waves, waves_table


def _frame(ids, wave=None, date=None):
    df = pd.DataFrame({"respondent_id": ids, "x": range(len(ids))})
    if wave is not None:
        df["wave"] = wave
    if date is not None:
        df["wave_date"] = date
    return df


def test_single_wave_is_returned_untouched():
    df = _frame(["a", "b"])
    waves = split_waves(df)
    assert len(waves) == 1 and waves[0].data is df and waves[0].label == CURRENT


def test_wave_column_ordered_by_date_when_every_wave_has_one():
    df = pd.concat([_frame(["a", "b"], "spring", "2026-04-01"),
                    _frame(["a", "c"], "autumn", "2025-10-01")], ignore_index=True)
    waves = split_waves(df)
    assert [w.label for w in waves] == ["autumn", "spring"]
    assert waves[0].date == dt.date(2025, 10, 1)
    assert list(waves[1].data["respondent_id"]) == ["a", "b"]


def test_wave_column_without_dates_keeps_the_order_given():
    df = pd.concat([_frame(["a"], "w2"), _frame(["a"], "w1")], ignore_index=True)
    assert [w.label for w in split_waves(df)] == ["w2", "w1"]
    spec = [{"label": "w1"}, {"label": "w2"}]
    assert [w.label for w in split_waves(df, spec)] == ["w1", "w2"]


def test_one_file_per_wave_and_the_main_input_described_by_an_entry():
    files = {"old.csv": _frame(["a", "b", "c"])}
    main = _frame(["a", "d"])
    spec = [{"label": "follow-up", "date": "2026-06-01"},
            {"label": "baseline", "date": "2025-06-01", "file": "old.csv"}]
    waves = split_waves(main, spec, load=files.__getitem__)
    assert [w.label for w in waves] == ["baseline", "follow-up"]  # by date, not listing order
    assert waves[1].data is main
    assert shared_respondents(waves[0].data, waves[1].data) == {"a"}
    t = waves_table(waves)
    assert t["respondents"].tolist() == [3, 2] and t["also_in_previous"].iloc[1] == 1


def test_main_input_without_entry_is_the_last_wave():
    waves = split_waves(_frame(["a"]), [{"label": "then", "file": "f"}],
                        load=lambda f: _frame(["z"]))
    assert [w.label for w in waves] == ["then", CURRENT]


def test_bad_wave_specifications_are_named():
    with pytest.raises(DataError, match="not a label"):
        split_waves(_frame(["a"], "w1"), [{"label": "w9"}])
    with pytest.raises(DataError, match="more than one wave without a file"):
        split_waves(_frame(["a"]), [{"label": "x"}, {"label": "y"}])
    with pytest.raises(DataError, match="2 different dates"):
        split_waves(_frame(["a", "b"], "w1", ["2025-01-01", "2025-02-01"]))


def test_waves_parameter_rule(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("respondent_id\na\n")
    spec = {"waves": P.Waves()}
    out = P.validate(spec, {"waves": [{"label": "b", "date": "2025-06-01", "file": str(f)},
                                      {"label": "f"}]})["waves"]
    assert out[0]["date"] == dt.date(2025, 6, 1) and out[0]["file"] == f
    assert out[1] == {"label": "f", "date": None, "file": None}
    assert P.validate(spec, {})["waves"] is None  # absent: not used
    for bad, msg in (([{"label": "a"}, {"label": "a"}], "appears twice"),
                     ([{"date": "2025-01-01"}], "with a 'label'"),
                     ([{"label": "a", "when": 1}], "unknown key 'when'"),
                     ([{"label": "a", "file": str(tmp_path / "none.csv")}], "file not found"),
                     ("x", "expected a list")):
        with pytest.raises(ParameterError, match=msg):
            P.validate(spec, {"waves": bad})


def test_loaders_accept_a_respondent_once_per_wave(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("respondent_id,group,capability,current_stage,wave\n"
                 "r1,Sales,goals,2,w1\nr1,Sales,goals,3,w2\n")
    assert len(load_assessment(a)) == 2
    s = tmp_path / "s.csv"
    s.write_text("respondent_id,E_x,P_x,wave\nr1,5,4,w1\nr1,5,6,w2\n")
    assert len(load_survey(s)) == 2
    s.write_text("respondent_id,E_x,P_x\nr1,5,4\nr1,5,6\n")
    with pytest.raises(DataError, match="must be unique"):
        load_survey(s)
