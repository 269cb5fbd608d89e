"""Client configurations that ``crm validate`` must refuse (exit 2, naming the problem) or
accept; used by ``build.py``. Paths are relative to the project root, as in a real config."""
from __future__ import annotations

import yaml

D = "tests/hostile/configs/data"
TX_OK = "customer_id,date,amount,channel\n" + "".join(
    f"C{i},2024-0{1 + i % 3}-1{i % 9},{10 + i}.50,web\n"
    f"C{i},2024-0{4 + i % 3}-0{1 + i % 8},{5 + i},web\n"
    for i in range(8))
ITEMS = "item,dimension,label,reverse\nrel_1,reliability,Orders arrive on time,0\n" \
        "rel_2,reliability,Orders are right,0\n"


def _survey(rows: int = 12, bad: str | None = None, drop: str | None = None) -> str:
    cols = ["respondent_id", "E_rel_1", "P_rel_1", "E_rel_2", "P_rel_2", "overall_satisfaction"]
    cols = [c for c in cols if c != drop]
    lines = [",".join(cols)]
    for i in range(rows):
        vals = {"respondent_id": f"R{i:02d}", "E_rel_1": 6, "P_rel_1": 3 + i % 4,
                "E_rel_2": 5 + i % 2, "P_rel_2": 4 + i % 3, "overall_satisfaction": 3 + i % 5}
        if bad and i == 4:
            vals[bad] = 9
        lines.append(",".join(str(vals[c]) for c in cols))
    return "\n".join(lines) + "\n"


def _panel() -> str:
    lines = ["date,unit_id,group,kpi,value"]
    for m in range(12):
        y, mo = (2023, 7 + m) if m < 6 else (2024, m - 5)
        for unit, group, base in (("P1", "pilot", 30), ("P2", "pilot", 31), ("K1", "control", 29),
                                  ("K2", "control", 30)):
            lift = 3 if group == "pilot" and y == 2024 else 0
            lines.append(f"{y}-{mo:02d}-01,{unit},{group},repeat_rate,{base + lift + m % 2}")
    return "\n".join(lines) + "\n"


def _plan(kpi: str) -> str:
    return f"""currency: EUR
discount_rate_annual: 0.10
phases:
  - name: Retention pilot
    start: 2024-01-01
    end: 2024-03-31
    rollout_units: 10
    costs: {{one_off: 1000, monthly: 100}}
    goals:
      - name: Keep customers
        kpis:
          - {{name: {kpi}, direction: up, value_per_unit: 200}}
"""


CLV = {"subscriptions": None, "observation_end": None, "calibration_end": None}
SAT = {"survey": f"{D}/survey.csv", "items": f"{D}/items.csv", "clv_table": None,
       "segment_col": None}


def build_configs(write_file) -> list[dict]:
    from crmlib.io import contracts as C
    from crmlib.report.scaffold import template_csv

    def write(rel: str, text: str, encoding: str = "utf-8") -> None:
        write_file(rel.removeprefix("tests/hostile/"), text, encoding)
    write(f"{D}/transactions.csv", TX_OK)
    write(f"{D}/transactions_ambiguous.csv",
          "customer_id,date,amount\nA,03/04/2024,10\nA,05/06/2024,12\nB,04/05/2024,3\n")
    write(f"{D}/transactions_two_problems.csv",
          "customer_id,date,amount\nA,2024-01-05,10\nA,yesterday,12\nB,2024-02-01,ten\n")
    write(f"{D}/transactions_cp1252.csv", TX_OK.replace("web", "Café Müller"), "cp1252")
    write(f"{D}/transactions_utf16.csv", TX_OK, "utf-16-le")
    write(f"{D}/folder_not_file/readme.txt", "a folder given where a file belongs\n")
    write(f"{D}/survey.csv", _survey())
    write(f"{D}/survey_out_of_scale.csv", _survey(bad="P_rel_2"))
    write(f"{D}/survey_no_expectation.csv", _survey(drop="E_rel_2"))
    write(f"{D}/survey_unknown_item.csv", _survey().replace("overall_satisfaction",
                                                             "E_speed", 1))
    write(f"{D}/items.csv", ITEMS)
    write(f"{D}/kpi_panel.csv", _panel())
    write(f"{D}/plan.yaml", _plan("repeat_rate"))
    write(f"{D}/plan_unknown_kpi.yaml", _plan("nps"))
    write(f"{D}/template/assessment_responses.csv", template_csv(C.ASSESSMENT))

    cases = []

    def config(name: str, notebooks: dict, outcome: str, messages: list[str] = (),
               inputs: dict | None = None, problems: int | None = None) -> None:
        body = {"client": f"Hostile {name}", "notebooks": notebooks}
        if inputs:
            body["inputs"] = inputs
        write(f"configs/{name}.yaml", yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
        cases.append({"file": f"configs/{name}.yaml", "outcome": outcome,
                      "messages": list(messages), **({"problems": problems} if problems else {})})

    config("folder_as_transactions", {"02_clv_modelling": {
        "transactions": f"{D}/folder_not_file", **CLV}}, "refused", ["a folder, not a file"])
    config("from_outside_the_run", {
        "02_clv_modelling": {"transactions": f"{D}/transactions.csv", **CLV},
        "03_satisfaction_gaps": {**SAT, "clv_table": "from:02_clv_modelling/../../../secret.csv"}},
        "refused", ["points outside the results of 02_clv_modelling"])
    config("calibration_after_observation", {"02_clv_modelling": {
        "transactions": f"{D}/transactions.csv", **CLV, "observation_end": "2024-03-01",
        "calibration_end": "2024-06-01"}}, "refused", ["is after observation_end 2024-03-01"])
    config("unknown_kpi", {"04_phase_roi": {"plan": f"{D}/plan_unknown_kpi.yaml",
                                            "kpis": f"{D}/kpi_panel.csv"}},
           "refused", ["KPI 'nps': not in the KPI panel"])
    config("unknown_catalogue_item", {"03_satisfaction_gaps": {
        **SAT, "survey": f"{D}/survey_unknown_item.csv"}}, "refused",
        ["names item 'speed', which is not in the item catalogue"])
    config("answers_outside_scale", {"03_satisfaction_gaps": {
        **SAT, "survey": f"{D}/survey_out_of_scale.csv"}}, "refused",
        ["column 'P_rel_2', row 6, value 9.0", "outside the declared scale"])
    config("missing_expectation_column", {"03_satisfaction_gaps": {
        **SAT, "survey": f"{D}/survey_no_expectation.csv"}}, "refused",
        ["no expectation column 'E_rel_2'"])
    config("template_unchanged", {"01_crm_assessment": {
        "responses": f"{D}/template/assessment_responses.csv"}}, "refused",
        ["still the one-row assessment responses template"])
    config("clv_table_null", {"03_satisfaction_gaps": SAT}, "accepted")
    config("ambiguous_dates_undeclared", {"02_clv_modelling": {
        "transactions": f"{D}/transactions_ambiguous.csv", **CLV}}, "refused",
        ["transactions_ambiguous.csv, column 'date', row 2, value '03/04/2024'",
         "declare the input's date_format"])
    config("ambiguous_dates_declared", {"02_clv_modelling": {
        "transactions": f"{D}/transactions_ambiguous.csv", **CLV}}, "accepted",
        inputs={f"{D}/transactions_ambiguous.csv": {"date_format": "%d/%m/%Y"}})
    config("bad_input_declaration", {"02_clv_modelling": {
        "transactions": f"{D}/transactions.csv", **CLV}}, "refused",
        ["unknown key 'datefmt'"], inputs={f"{D}/transactions.csv": {"datefmt": "%d/%m/%Y"}})
    config("every_problem_listed", {
        "01_crm_assessment": {"responses": f"{D}/template/assessment_responses.csv"},
        "02_clv_modelling": {"transactions": f"{D}/transactions_two_problems.csv", **CLV}},
        "refused", ["column 'date', row 3, value 'yesterday'",
                    "column 'amount', row 4, value 'ten'", "assessment responses template"],
        problems=3)
    config("cp1252_transactions_duckdb", {"02_clv_modelling": {
        "transactions": f"{D}/transactions_cp1252.csv", **CLV}}, "accepted")
    config("utf16_without_bom_transactions", {"02_clv_modelling": {
        "transactions": f"{D}/transactions_utf16.csv", **CLV}}, "accepted")
    config("good_roi", {"04_phase_roi": {"plan": f"{D}/plan.yaml",
                                         "kpis": f"{D}/kpi_panel.csv"}}, "accepted")
    return cases
