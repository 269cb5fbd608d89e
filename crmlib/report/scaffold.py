"""``crm new-client``: template input files and a configuration for a new client.

``data/<slug>/`` receives one file per input, with the contract's columns
(from :mod:`crmlib.io.contracts`) as headers and one example row that passes
the contract, a commented phase-plan template and a README; ``clients/<slug>.yaml``
points every notebook at those files.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import yaml

from .. import paths
from ..io import contracts as C
from ..io.errors import DataError
from .config import slugify
from .proposal import proposed_config

# file name → contract; the phase plan (YAML) is written from PLAN_TEMPLATE
FILES = {
    "assessment_responses.csv": C.ASSESSMENT,
    "transactions.csv": C.TRANSACTIONS,
    "subscriptions.csv": C.SUBSCRIPTIONS,
    "survey.csv": C.SURVEY,
    "survey_items.csv": C.ITEMS,
    "kpi_panel.csv": C.KPI_PANEL,
}

# readable example values (contract, column) → value; other columns get one by kind
EXAMPLES: dict[tuple[str, str], Any] = {
    ("transactions", "amount"): 49.90, ("transactions", "order_id"): "O000001",
    ("transactions", "channel"): "online", ("transactions", "segment"): "regular",
    ("subscriptions", "end_date"): "", ("subscriptions", "plan"): "basic",
    ("subscriptions", "monthly_fee"): 9.90, ("satisfaction survey", "segment"): "regular",
    ("satisfaction survey", "overall_satisfaction"): 6,
    ("item catalogue", "item"): "reliability_1", ("item catalogue", "dimension"): "reliability",
    ("item catalogue", "label"): "Orders arrive when promised", ("item catalogue", "reverse"): 0,
    ("assessment responses", "group"): "Marketing",
    ("assessment responses", "current_stage"): 2, ("assessment responses", "target_stage"): 3,
    ("KPI panel", "unit_id"): "S001", ("KPI panel", "kpi"): "repeat_rate",
    ("KPI panel", "value"): 0.31,
}
BY_NAME = {"customer_id": "C000001", "respondent_id": "R0001", "date": "2024-01-31",
           "start_date": "2024-01-01", "capability": "goals"}
BY_KIND = {"id": "ID0001", "text": "example", "date": "2024-01-31", "number": 1.0, "int": 1}
# example columns for the survey's patterned columns (E_/P_/I_ items, Kano pairs)
SURVEY_PATTERN_EXAMPLES = {"E_reliability_1": 6, "P_reliability_1": 5, "I_reliability_1": 7,
                           "KF_order_tracking": 1, "KD_order_tracking": 4}

PLAN_TEMPLATE = """\
# Phase plan: the CRM programme in short phases (see data/README.md, "Phase plan").
# KPI names must match the 'kpi' column of kpi_panel.csv.
currency: EUR
discount_rate_annual: 0.10        # a fraction: 0.10 = 10 % a year
phases:
  - name: Phase 1 - retention pilot
    start: 2024-01-01
    end: 2024-06-30
    # actual_end: 2024-07-31      # when the phase really ended, if later than planned
    rollout_units: 40             # units (stores, agents...) the effect applies to once rolled out
    costs: {one_off: 50000, monthly: 4000, run_monthly: 1500}
    goals:
      - name: Keep more customers
        kpis:                     # at most three KPIs per goal
          - {name: repeat_rate, direction: up, value_per_unit: 20000, benefit: direct}
"""


def example_value(contract: C.Contract, column: C.Column) -> Any:
    """An example value for ``column`` that satisfies the contract."""
    if (contract.name, column.name) in EXAMPLES:
        return EXAMPLES[(contract.name, column.name)]
    if column.choices:
        return column.choices[0]
    if column.name in BY_NAME:
        return BY_NAME[column.name]
    value: Any = BY_KIND.get(column.kind, "example")
    if column.kind in ("number", "int") and column.min is not None:
        value = max(value, column.min)
    return value


def template_csv(contract: C.Contract) -> str:
    """Header (every column of the contract) and one example row, as CSV text."""
    row = {c.name: example_value(contract, c) for c in contract.columns}
    if contract is C.SURVEY:
        row.update(SURVEY_PATTERN_EXAMPLES)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(row)
    writer.writerow(row.values())
    return buf.getvalue()


def client_config(name: str, data_dir: str) -> dict[str, Any]:
    """The configuration of a new client, inputs under ``data_dir`` (relative to the root)."""
    d = data_dir.rstrip("/")
    return {"client": name, "notebooks": {
        "01_crm_assessment": {"responses": f"{d}/assessment_responses.csv"},
        "02_clv_modelling": {"transactions": f"{d}/transactions.csv",
                             "subscriptions": f"{d}/subscriptions.csv",
                             "observation_end": None, "calibration_end": None},
        "03_satisfaction_gaps": {"survey": f"{d}/survey.csv", "items": f"{d}/survey_items.csv",
                                 "clv_table": "from:02_clv_modelling"},
        "04_phase_roi": {"plan": f"{d}/phase_plan.yaml", "kpis": f"{d}/kpi_panel.csv",
                         "as_of": None},
        "05_executive_summary": {}}}


def _readme(name: str, slug: str) -> str:
    return (f"# Input data: {name}\n\nCreated by `crm new-client` on {dt.date.today()}. "
            "Each file holds the columns of its data contract (data/README.md) and one example "
            "row: replace the example with the client's data (CSV, or Excel/Parquet with the "
            f"same columns; then change the file name in `clients/{slug}.yaml`). Remove a "
            "notebook from the configuration if its data are not available.\n\n"
            f"Check the inputs without running anything: `crm validate --config "
            f"clients/{slug}.yaml`; run the report: `crm report --config clients/{slug}.yaml`.\n")


def new_client(name: str, force: bool = False, root: Path | None = None,
               source: Path | None = None) -> list[Path]:
    """Write ``data/<slug>/`` templates and ``clients/<slug>.yaml``; return the paths written
    (the configuration last).

    With ``source`` (a folder of the client's files) no templates are written: the
    configuration names those files with a proposed column mapping
    (:func:`crmlib.report.proposal.proposed_config`).

    Raises
    ------
    DataError
        When a file exists already and ``force`` is false (nothing is written then).
    """
    if not name.strip():
        raise DataError("the client name is empty", file="new-client")
    root = root or paths.ROOT
    slug = slugify(name)
    data_dir, config = root / "data" / slug, root / "clients" / f"{slug}.yaml"
    if source is not None:
        contents = {config: proposed_config(name.strip(), Path(source), root)}
    else:
        contents = {data_dir / f: template_csv(c) for f, c in FILES.items()}
        contents[data_dir / "phase_plan.yaml"] = PLAN_TEMPLATE
        contents[data_dir / "README.md"] = _readme(name.strip(), slug)
        contents[config] = (f"# Report configuration for {name.strip()} (see docs/reports.md)."
                            "\n# A date left null comes from the client's data.\n"
                            + yaml.safe_dump(client_config(name.strip(), f"data/{slug}"),
                                             sort_keys=False, allow_unicode=True, width=100))
    existing = [p for p in contents if p.exists()]
    if existing and not force:
        raise DataError("exists already; use --force to overwrite", file=existing[0])
    for path, text in contents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(contents)
