"""Phase plan validation: errors name the file, phase, goal and KPI."""
import copy

import pytest
import yaml

from crmlib.io import DataError
from crmlib.roi import load_plan, validate_plan

PLAN = {
    "currency": "EUR", "discount_rate_annual": 0.1,
    "phases": [
        {"name": "P1", "start": "2024-01-01", "end": "2024-03-31",
         "costs": {"one_off": 1000, "monthly": 100}, "rollout_units": 10,
         "goals": [{"name": "G1", "kpis": [
             {"name": "k1", "direction": "up", "value_per_unit": 10},
             {"name": "k2", "direction": "down", "value_per_unit": 5, "benefit": "indirect",
              "role": "agent"}]}]},
        {"name": "P2", "start": "2024-05-01", "end": "2024-07-31", "actual_end": "2024-09-30",
         "costs": {"one_off": 500}, "rollout_units": 10,
         "unit_starts": {"s1": "2024-06-01"},
         "goals": [{"name": "G2", "kpis": [{"name": "k3", "direction": "up",
                                            "value_per_unit": 1}]}]},
    ]}


def test_valid_plan_loads_into_dataclasses(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(PLAN))
    plan = load_plan(p)
    assert [ph.name for ph in plan.phases] == ["P1", "P2"]
    p1, p2 = plan.phases
    assert p1.kpis[1].sign == -1 and p1.kpis[1].benefit == "indirect" and p1.kpis[1].role == "agent"
    assert p1.costs.run_monthly == 0.0 and p1.actual_end is None
    assert str(p2.effective_end.date()) == "2024-09-30"
    assert str(p2.unit_starts["s1"].date()) == "2024-06-01"
    assert plan.kpi_names == ["k1", "k2", "k3"] and plan.source == str(p)


def _broken(path, value):
    plan = copy.deepcopy(PLAN)
    node = plan
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return plan


@pytest.mark.parametrize("path, value, match", [
    (("phases", 0, "goals", 0, "kpis"),
     [{"name": f"k{i}", "direction": "up", "value_per_unit": 1} for i in range(4)],
     r"phase 'P1', goal 'G1'.*at most 3 KPIs"),
    (("phases", 0, "goals", 0, "kpis", 0, "direction"), "sideways",
     r"phase 'P1', goal 'G1', KPI 'k1'.*direction"),
    (("phases", 0, "goals", 0, "kpis", 1, "value_per_unit"), "lots",
     r"KPI 'k2', key 'value_per_unit', value 'lots': not a number"),
    (("phases", 0, "end"), "2023-12-01", r"phase 'P1'.*ends before it starts"),
    (("phases", 1, "actual_end"), "2024-04-01", r"phase 'P2'.*ends before it starts"),
    (("phases", 1, "start"), "2024-03-01", r"phase 'P2'.*planned phases must not overlap"),
    (("phases", 1, "start"), "2023-12-01", r"phase 'P2'.*start order"),
    (("phases", 0, "start"), "2024-13-45", r"phase 'P1'.*not a date"),
    (("phases", 0, "rollout_units"), 0, r"rollout_units.*at least 1"),
    (("phases", 0, "rollout_units"), KeyError,
     r"phase 'P1', key 'rollout_units': required key missing"),
    (("phases", 0, "costs", "monthly"), -5, r"costs.monthly.*negative"),
    (("discount_rate_annual",), 10, r"discount_rate_annual.*fraction"),
    (("phases", 1, "name"), "P1", r"phase names must be unique"),
    (("phases", 1, "goals", 0, "kpis"), [], r"goal 'G2'.*non-empty list"),
    (("phases", 1, "unit_starts", "s1"), "2024-01-01", r"unit 's1' starts before"),
])
def test_invalid_plans_name_phase_goal_kpi(path, value, match):
    with pytest.raises(DataError, match=match) as err:
        validate_plan(_broken(path, value), "plan.yaml")
    assert str(err.value).startswith("plan.yaml")


def test_kpi_twice_in_one_phase_is_refused():
    plan = copy.deepcopy(PLAN)
    plan["phases"][0]["goals"].append({"name": "G1b", "kpis": [
        {"name": "k1", "direction": "up", "value_per_unit": 1}]})
    with pytest.raises(DataError, match="goals 'G1' and 'G1b'.*counted twice"):
        validate_plan(plan)
