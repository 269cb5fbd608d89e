"""Parameter rules name the parameter that is wrong and say why."""
import datetime as dt

import pytest

from crmlib import params as P
from crmlib.io import ParameterError

SPEC = {
    "transactions": P.InputFile(),
    "calibration_end": P.Date(optional=True),
    "time_unit": P.Choice(choices=("D", "W", "M")),
    "margin": P.Number(0, 1),
    "horizon_months": P.Number(1, 120, integer=True),
    "weights": P.Mapping_(values=P.Number(0), optional=True),
    "output_dir": P.OutputDir(),
}


def good(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("x\n1\n")
    return {"transactions": str(f), "calibration_end": "2024-06-30", "time_unit": "W",
            "margin": 0.3, "horizon_months": 24, "weights": None, "output_dir": str(tmp_path / "o")}


def test_valid_values_are_normalised(tmp_path):
    out = P.validate(SPEC, good(tmp_path))
    assert out["calibration_end"] == dt.date(2024, 6, 30)
    assert out["horizon_months"] == 24 and isinstance(out["horizon_months"], int)
    assert out["transactions"].is_absolute()


@pytest.mark.parametrize("name,value,message", [
    ("transactions", "/no/such/file.csv", "file not found"),
    ("transactions", 3, "expected a file path"),
    ("calibration_end", "30/06/2024", "ISO date"),
    ("time_unit", "Y", "must be one of"),
    ("margin", 1.5, "at most 1"),
    ("margin", "0.3", "expected a number"),
    ("margin", True, "expected a number"),
    ("horizon_months", 2.5, "whole number"),
    ("weights", {"a": -1}, "at least 0"),
    ("weights", [1], "expected a mapping"),
    ("time_unit", None, "a value is required"),
])
def test_bad_values_name_the_parameter(tmp_path, name, value, message):
    values = good(tmp_path) | {name: value}
    with pytest.raises(ParameterError, match=message) as err:
        P.validate(SPEC, values)
    assert err.value.name.startswith(name)
    assert str(err.value).startswith(f"parameter '{name}")


def test_unknown_and_missing_names(tmp_path):
    with pytest.raises(ParameterError, match="parameter 'margn': unknown parameter"):
        P.validate(SPEC, good(tmp_path), known={"margn"})
    values = good(tmp_path)
    del values["margin"]
    with pytest.raises(ParameterError, match="parameter 'margin': missing"):
        P.validate(SPEC, values)
