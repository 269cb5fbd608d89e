"""The CLV settings objects: checked once where they are made, passed whole to every engine."""
import datetime as dt

import pytest

from crmlib.clv import pipeline as PL
from crmlib.clv.settings import SummaryOptions, Valuation, split_options
from crmlib.clv.value import customer_value
from crmlib.io import DataQualityReport


@pytest.mark.parametrize("kw, message", [
    ({"margin": 1.2}, "margin must be between 0 and 1"),
    ({"margin": -0.1}, "margin must be between 0 and 1"),
    ({"discount_rate_annual": 1.5}, "discount_rate_annual must be between 0 and 1"),
    ({"horizon_months": 0}, "horizon_months must be a whole number"),
    ({"horizon_months": 6.5}, "horizon_months must be a whole number"),
    ({"n_draws": -1}, "n_draws must be a whole number"),
    ({"level": 1.0}, "level must be between 0 and 1"),
])
def test_valuation_refuses_values_out_of_range(kw, message):
    with pytest.raises(ValueError, match=message):
        Valuation(**kw)


@pytest.mark.parametrize("kw, message", [
    ({"time_unit": "Y"}, "time_unit must be one of 'D', 'W', 'M'"),
    ({"zero_amounts": "drop"}, "zero_amounts must be one of 'keep', 'exclude'"),
    ({"duplicates": "merge"}, "duplicates must be one of 'keep', 'drop'"),
    ({"calibration_end": dt.date(2024, 6, 1), "observation_end": dt.date(2024, 1, 1)},
     "calibration_end 2024-06-01 is after observation_end 2024-01-01"),
])
def test_summary_options_refuse_bad_settings(kw, message):
    with pytest.raises(ValueError, match=message):
        SummaryOptions(**kw)


def test_from_params_takes_the_notebook_parameters_and_nothing_else():
    P = {"time_unit": "D", "observation_end": dt.date(2024, 12, 31), "calibration_end": None,
         "zero_amounts": "exclude", "duplicates": "drop", "transaction_col": "order",
         "margin": 0.4, "discount_rate_annual": 0.08, "horizon_months": 24, "engine": "pandas",
         "model": "bgnbd", "output_dir": "x"}
    o = SummaryOptions.from_params(P, {"customer_id": "Kunde"})
    assert o == SummaryOptions("D", dt.date(2024, 12, 31), None, {"customer_id": "Kunde"},
                               "exclude", "drop", "order")
    assert o.summary_kwargs(calibration=False)["calibration_end"] is None
    v = Valuation.from_params(P)
    assert v == Valuation(margin=0.4, discount_rate_annual=0.08, horizon_months=24)
    assert v.value_kwargs() == {"margin": 0.4, "discount_rate_annual": 0.08,
                                "horizon_months": 24, "n_draws": 200, "level": 0.9}


def test_loose_keywords_split_into_the_two_objects():
    o, v, rest = split_options({"time_unit": "M", "margin": 0.5, "spark_master": "local"})
    assert o.time_unit == "M" and v.margin == 0.5 and rest == {"spark_master": "local"}


def test_analyse_passes_the_objects_whole_and_values_with_them(clv_small):
    options = SummaryOptions(time_unit="W")
    valuation = Valuation(margin=0.25, discount_rate_annual=0.05, horizon_months=12,
                          n_draws=0)
    a = PL.analyse(clv_small / "transactions.csv", engine="pandas",
                   quality=DataQualityReport(), options=options, valuation=valuation,
                   model="bgnbd")
    assert a.options is options and a.valuation is valuation
    direct = customer_value(a.final_model, a.spend, a.full.customers, time_unit="W",
                            margin=0.25, discount_rate_annual=0.05, horizon_months=12,
                            n_draws=0)
    assert a.value.total == pytest.approx(direct.total, rel=1e-12)
    assert (a.value.margin, a.value.horizon_months) == (0.25, 12)
    loose = PL.analyse(clv_small / "transactions.csv", engine="pandas", time_unit="W",
                       margin=0.25, discount_rate_annual=0.05, horizon_months=12, n_draws=0,
                       model="bgnbd")
    assert loose.value.total == pytest.approx(direct.total, rel=1e-12)
    with pytest.raises(TypeError, match="not both"):
        PL.analyse(clv_small / "transactions.csv", options=options, margin=0.3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        PL.analyse(clv_small / "transactions.csv", marign=0.3)
