"""One rule chooses notebooks for crm report, validate, params and workshop."""
import pytest

from crmlib.io.errors import DataError
from crmlib.report.config import select_notebooks
from crmlib.workshop import select as workshop_select

STEMS = ["01_crm_assessment", "02_clv_modelling", "03_satisfaction_gaps", "04_phase_roi",
         "05_executive_summary"]


def test_by_stem_and_by_number():
    assert select_notebooks(["03_satisfaction_gaps"], STEMS) == ["03_satisfaction_gaps"]
    assert select_notebooks(["03"], STEMS) == ["03_satisfaction_gaps"]


def test_both_forms_mixed_in_the_order_of_the_notebooks():
    assert select_notebooks("04, 01_crm_assessment,04", STEMS) == ["01_crm_assessment",
                                                                   "04_phase_roi"]
    assert select_notebooks(["05_executive_summary", "02"], STEMS) == ["02_clv_modelling",
                                                                       "05_executive_summary"]


def test_none_or_no_names_choose_every_notebook():
    assert select_notebooks(None, STEMS) == STEMS
    assert select_notebooks([], STEMS) == STEMS
    assert select_notebooks(" , ", STEMS) == STEMS


@pytest.mark.parametrize("name", ["06", "0", "2", "02_clv", "clv_modelling", "02-clv_modelling"])
def test_unknown_name_lists_the_choices(name):
    with pytest.raises(DataError) as err:
        select_notebooks(["01", name], STEMS, option="--only", file="clients/x.yaml")
    assert str(err.value) == (f"clients/x.yaml: --only: no notebook '{name}'; choose from "
                              "01_crm_assessment, 02_clv_modelling, 03_satisfaction_gaps, "
                              "04_phase_roi, 05_executive_summary")


def test_the_workshop_uses_the_same_rule():
    assert workshop_select("02,03_satisfaction_gaps") == ["02_clv_modelling",
                                                          "03_satisfaction_gaps"]
    with pytest.raises(DataError, match="no notebook '05'; choose from 01_crm_assessment"):
        workshop_select("05")
