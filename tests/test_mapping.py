"""One column-mapping rule for validate, the run and every engine; ``crm new-client --from``."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crmlib import paths
from crmlib.clv.pipeline import covariate_columns
from crmlib.clv.summary import summarise
from crmlib.io import DataError, ParameterError
from crmlib.io.mapping import for_input, resolve
from crmlib.io.propose import propose_file
from crmlib.params import ColumnMapping
from crmlib.report.check import validate_config
from crmlib.report.config import load_config
from crmlib.report.plan import plan_job
from crmlib.report.scaffold import new_client

HOSTILE = Path(__file__).parent / "hostile"
EXPORTS = HOSTILE / "mappings" / "client_exports"
HUBSPOT = HOSTILE / "mappings" / "hubspot_deals.csv"
HUBSPOT_MAP = {"customer_id": "Associated Company ID", "date": "Close Date", "amount": "Amount"}


def test_resolve_strips_and_renames():
    assert resolve([" A ", "b"], {"customer_id": "A"}) == {" A ": "customer_id", "b": "b"}


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_engines_apply_the_same_mapping(engine):
    if engine == "spark":
        pytest.importorskip("pyspark")
    s = summarise(HUBSPOT, engine=engine, mapping=HUBSPOT_MAP, time_unit="D",
                  observation_end="2024-07-31")
    c = (s if engine != "spark" else s.to_pandas()).customers.sort_index()
    # by hand: 5551001 bought on 2024-03-14 and 2024-07-01 (109 days later), 5551002 once
    assert list(c.index) == ["5551001", "5551002"]
    assert list(c["frequency"]) == [1, 0]
    assert list(c["recency"]) == [109, 0]
    assert list(c["T"]) == [139, 72]


def test_covariate_probe_uses_the_mapping():
    mapping = {"customer_id": "KUNAG", "date": "FKDAT", "amount": "NETWR", "channel": "VTWEG"}
    assert covariate_columns(HOSTILE / "mappings" / "sap_billing.csv", mapping) == ("channel",)


def test_for_input_merges_legacy_parameters_and_refuses_conflicts():
    P = {"customer_col": "cust", "date_col": "date", "amount_col": "amount",
         "columns": {"transactions": {"amount": "Total"}}}
    assert for_input(P, "transactions") == {"customer_id": "cust", "amount": "Total"}
    with pytest.raises(DataError, match="keep one"):
        for_input({**P, "columns": {"transactions": {"customer_id": "other"}}}, "transactions")


def test_columns_parameter_names_known_inputs():
    rule = ColumnMapping(inputs=("survey", "items"))
    assert rule.check("columns", {"survey": {"respondent_id": " Id "}}) == {
        "survey": {"respondent_id": "Id"}}
    with pytest.raises(ParameterError, match="no input of that name"):
        rule.check("columns", {"transactions": {"customer_id": "x"}})
    with pytest.raises(ParameterError, match="both text"):
        rule.check("columns", {"survey": {"respondent_id": 3}})


@pytest.mark.parametrize("file, contract, mapped", [
    ("hubspot_deals.csv", "transactions", {"customer_id": "Associated Company ID",
                                           "date": "Close Date", "amount": "Amount"}),
    ("sap_billing.csv", "transactions", {"customer_id": "KUNAG", "date": "FKDAT",
                                         "amount": "NETWR"}),
    ("dynamics_orders.csv", "transactions", {"customer_id": "Customer",
                                             "date": "Date Fulfilled", "amount": "Total Amount"}),
    ("client_exports/kpi_monthly_dynamics.csv", "KPI panel", {"kpi": "Metric", "unit_id": "Store"}),
    ("subscriptions_billing.csv", "subscriptions", {"end_date": "Contract End Date"}),
    ("sap_rechnungen_de.csv", "transactions", {"customer_id": "Auftraggeber",
                                               "date": "Fakturadatum", "amount": "Nettowert",
                                               "order_id": "Fakturanummer",
                                               "channel": "Vertriebsweg"}),
    ("ventes_fr.csv", "transactions", {"customer_id": "Code client",
                                       "date": "Date de commande", "amount": "Montant HT",
                                       "order_id": "N° commande"}),
])
def test_proposed_mapping_for_tool_exports(file, contract, mapped):
    p = propose_file(HOSTILE / "mappings" / file)
    assert p.contract == contract
    assert mapped.items() <= p.mapping.items()


def test_new_client_from_folder_proposes_a_config_that_validates(tmp_path):
    written = new_client("Acme Europe", root=tmp_path, source=EXPORTS)
    assert written == [tmp_path / "clients" / "acme-europe.yaml"]
    text = written[0].read_text(encoding="utf-8")
    assert "observation_end: null  # last day observed; null = the last date" in text
    assert "calibration_end: null" in text
    assert "notes_export.csv" in text     # the unrecognised file is named
    cfg = load_config(written[0])
    clv = cfg.notebooks["02_clv_modelling"]
    assert clv["columns"]["transactions"]["customer_id"] == "Account ID"
    assert clv["observation_end"] is None
    checks = {c.stem: c for c in validate_config(cfg)}
    assert set(checks) == {"02_clv_modelling", "03_satisfaction_gaps", "05_executive_summary"}
    assert all(c.ok for c in checks.values()), [c.problems for c in checks.values()]
    assert "3 respondents" in checks["03_satisfaction_gaps"].loaded["survey"]


def test_a_real_clients_unset_dates_come_from_its_data(tmp_path, monkeypatch):
    cfg_path = tmp_path / "acme.yaml"
    (tmp_path / HUBSPOT.name).write_bytes(HUBSPOT.read_bytes())
    cfg_path.write_text(yaml.safe_dump({"client": "Acme", "notebooks": {"02_clv_modelling": {
        "transactions": str(tmp_path / HUBSPOT.name), "subscriptions": None,
        "columns": {"transactions": HUBSPOT_MAP}}}}), encoding="utf-8")
    job = plan_job(load_config(cfg_path), "02_clv_modelling", tmp_path / "run")
    assert job.parameters["observation_end"] is None
    assert job.parameters["calibration_end"] is None
    # the demo client (its configuration points into the demo data) keeps the demo's dates
    monkeypatch.setattr(paths, "DEMO", tmp_path)
    job = plan_job(load_config(cfg_path), "02_clv_modelling", tmp_path / "run")
    assert "observation_end" not in job.parameters


def test_validate_names_a_bad_mapping(tmp_path):
    cfg_path = tmp_path / "acme.yaml"
    cfg_path.write_text(yaml.safe_dump({"client": "Acme", "notebooks": {"02_clv_modelling": {
        "transactions": str(HUBSPOT), "subscriptions": None,
        "columns": {"transactions": {**HUBSPOT_MAP, "amount": "Amount EUR"}}}}}),
        encoding="utf-8")
    [check] = validate_config(load_config(cfg_path))
    assert len(check.problems) == 1
    assert "mapped column 'Amount EUR' (for 'amount') not found" in check.problems[0]


def test_crm_new_client_from_a_folder(tmp_path, monkeypatch, capsys):
    from crmlib import cli

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    assert cli.main(["new-client", "Acme Europe", "--from", str(EXPORTS)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "clients" / "acme-europe.yaml")
    assert "check the proposed files and columns" in err
    assert not (tmp_path / "data").exists()      # no templates beside the client's own files
    assert cli.main(["new-client", "Acme Europe", "--from", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_new_client_names_spare_and_unrecognised_files(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("sap_rechnungen_de.csv", "ventes_fr.csv"):
        (folder / name).write_bytes((HOSTILE / "mappings" / name).read_bytes())
    (folder / "memo.csv").write_text("Notiz;Autor\nhallo;ich\n", encoding="utf-8")
    (folder / "half.csv").write_text("customer_id,note\nC1,x\n", encoding="utf-8")
    [path] = new_client("Müller GmbH", root=tmp_path, source=folder)
    text = path.read_text(encoding="utf-8")
    assert path.name == "muller-gmbh.yaml"
    assert 'transactions: "exports/sap_rechnungen_de.csv"' in text
    assert "#   ventes_fr.csv: transactions" in text      # a second transactions file is named
    assert "#   memo.csv: no column has a name any input uses" in text
    assert "#   half.csv: looks like the" in text and "(found customer_id) but lacks" in text
