"""Propose which input a client's file is and how its columns map to the contract.

Header names are compared with the names common CRM, ERP and survey tools export
(Salesforce, HubSpot, Microsoft Dynamics 365, SAP, Qualtrics, SurveyMonkey,
Microsoft/Google Forms), in English and, for the transaction, subscription and KPI
columns, as German, French, Dutch, Spanish and Italian exports label them (SAP's
German field labels such as *Auftraggeber*, *Fakturadatum*, *Nettowert*), after :func:`~crmlib.io.surveytools.norm` (lower case,
words only). A file is assigned to the input whose required columns are all found,
preferring the one that explains most of its columns. The proposal is written into
the client configuration for the consultant to confirm; nothing is read through it
until ``crm validate`` checks the file with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import contracts as C
from .errors import DataError
from .loaders import load_capabilities
from .readers import read_table
from .surveyframes import DEFAULT_CAPABILITIES
from .surveytools import detect, match_capabilities, norm, read_export

# contract name → column → header names as tools export them (normalised on use)
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "transactions": {
        "customer_id": ("customer_id", "customer id", "customer", "customer number", "cust id",
                        "client id", "AccountId", "Account ID", "Account Number", "ContactId",
                        "Associated Company ID", "Associated Contact ID", "customerid",
                        "Sold-to Party", "KUNNR", "KUNAG", "Customer Number",
                        "Kunde", "Kundennummer", "Kunden-Nr", "Kundennr", "Auftraggeber",
                        "Debitor", "Debitorennummer", "client", "numéro client", "n° client",
                        "code client", "klant", "klantnummer", "klant id", "cliente",
                        "número de cliente", "id cliente", "codice cliente"),
        "date": ("date", "order date", "purchase date", "transaction date", "invoice date",
                 "CloseDate", "Close Date", "EffectiveDate", "Order Start Date", "OrderDate",
                 "Date Fulfilled", "Billing Date", "FKDAT", "ERDAT", "AUDAT", "Document Date",
                 "Datum", "Belegdatum", "Fakturadatum", "Rechnungsdatum", "Bestelldatum",
                 "Auftragsdatum", "date de commande", "date facture", "date de facture",
                 "besteldatum", "factuurdatum", "fecha", "fecha de pedido", "fecha factura",
                 "data ordine", "data fattura"),
        "amount": ("amount", "order value", "total", "total amount", "TotalAmount", "Amount",
                   "revenue", "sales", "net value", "NETWR", "Net Amount", "Total Amount (Base)",
                   "Umsatz", "Betrag", "Nettowert", "Nettobetrag", "Rechnungsbetrag",
                   "montant", "montant HT", "chiffre d'affaires", "bedrag", "omzet",
                   "importe", "monto", "importo", "fatturato"),
        "order_id": ("order_id", "order id", "order number", "OrderNumber", "Opportunity ID",
                     "OpportunityId", "Id", "Record ID", "Deal ID", "Sales Document", "VBELN",
                     "Billing Document", "invoice number", "Order ID", "Bestellnummer",
                     "Auftragsnummer", "Belegnummer", "Rechnungsnummer", "Fakturanummer",
                     "numéro de commande", "n° commande", "ordernummer", "factuurnummer",
                     "número de pedido", "numero ordine"),
        "channel": ("channel", "sales channel", "LeadSource", "Lead Source",
                    "Distribution Channel", "VTWEG", "Original Source", "Vertriebsweg",
                    "Vertriebskanal", "canal", "kanaal", "canale"),
        "segment": ("segment", "customer segment", "customer group", "KDGRP", "Account Type",
                    "Kundengruppe", "Kundensegment", "klantsegment", "segmento"),
    },
    "subscriptions": {
        "customer_id": ("customer_id", "customer id", "AccountId", "Account ID", "customer"),
        "start_date": ("start_date", "start date", "StartDate", "contract start",
                       "subscription start", "Activated Date", "Contract Start Date",
                       "Vertragsbeginn", "Beginn", "date de début", "startdatum",
                       "fecha de inicio"),
        "end_date": ("end_date", "end date", "EndDate", "cancellation date", "cancelled on",
                     "contract end", "Contract End Date", "churn date", "Vertragsende",
                     "Kündigungsdatum", "date de fin", "date de résiliation", "einddatum",
                     "opzegdatum", "fecha de baja", "fecha de fin"),
        "plan": ("plan", "product", "tier", "plan name"),
        "monthly_fee": ("monthly_fee", "monthly fee", "mrr", "monthly price",
                        "Monthly Recurring Revenue"),
    },
    "satisfaction survey": {
        "respondent_id": ("respondent_id", "respondent id", "ResponseId", "Response ID",
                          "response id"),
        "customer_id": ("customer_id", "customer id", "ExternalReference",
                        "External Data Reference", "Custom Data 1", "contact id"),
        "segment": ("segment", "customer segment"),
        "overall_satisfaction": ("overall_satisfaction", "overall satisfaction"),
    },
    "assessment responses": {
        "respondent_id": ("respondent_id", "respondent id", "respondent", "ResponseId"),
        "group": ("group", "department", "business unit", "team", "function"),
        "capability": ("capability", "capability id"),
        "current_stage": ("current_stage", "current stage", "current", "as is stage"),
        "target_stage": ("target_stage", "target stage", "target", "to be stage"),
    },
    "KPI panel": {
        "date": ("date", "month", "period", "week", "report date", "Monat", "Periode",
                 "Datum", "mois", "période", "maand", "mes", "periodo"),
        "unit_id": ("unit_id", "unit id", "unit", "store", "store id", "branch", "agent",
                    "agent id", "Plant", "WERKS", "Site", "Filiale", "Standort", "Werk",
                    "magasin", "agence", "winkel", "vestiging", "tienda", "sucursal",
                    "negozio", "filiale"),
        "group": ("group", "arm", "cohort", "pilot control", "test group", "Gruppe",
                  "groupe", "groep", "grupo", "gruppo"),
        "kpi": ("kpi", "metric", "measure", "kpi name", "metric name", "Kennzahl",
                "indicateur", "indicator", "indicatore"),
        "value": ("value", "kpi value", "metric value", "actual", "Wert", "Istwert",
                  "valeur", "waarde", "valor", "valore"),
    },
    "item catalogue": {"item": ("item",), "dimension": ("dimension",),
                       "label": ("label", "wording", "statement"),
                       "reverse": ("reverse", "reversed")},
    "capability catalogue": {"capability": ("capability",), "driver": ("driver",),
                             "description": ("description",)},
}
# contract name → notebook and parameter that reads it
INPUTS = {"transactions": ("02_clv_modelling", "transactions"),
          "subscriptions": ("02_clv_modelling", "subscriptions"),
          "satisfaction survey": ("03_satisfaction_gaps", "survey"),
          "item catalogue": ("03_satisfaction_gaps", "items"),
          "assessment responses": ("01_crm_assessment", "responses"),
          "capability catalogue": ("01_crm_assessment", "capabilities"),
          "KPI panel": ("04_phase_roi", "kpis")}
SUFFIXES = {".csv", ".txt", ".xlsx", ".xls", ".parquet", ".pq"}


@dataclass
class Proposal:
    """What one client file is and how its columns map.

    Attributes
    ----------
    path : the file.
    contract : contract name (``"transactions"`` …), None when unrecognised.
    mapping : contract column → the file's column, for names that differ.
    tool : survey tool that wrote the file, if any.
    unmatched : required contract columns not found (when ``contract`` is None: of the
        closest contract).
    closest : the contract whose columns the file matches best (its ``contract`` when
        recognised).
    matched : the closest contract's columns the file's headers match.
    """

    path: Path
    contract: str | None
    mapping: dict[str, str] = field(default_factory=dict)
    tool: str | None = None
    unmatched: list[str] = field(default_factory=list)
    closest: str | None = None
    matched: list[str] = field(default_factory=list)

    @property
    def notebook(self) -> str | None:
        return INPUTS[self.contract][0] if self.contract else None

    @property
    def parameter(self) -> str | None:
        return INPUTS[self.contract][1] if self.contract else None


def match_columns(columns: list[str], contract: str) -> dict[str, str]:
    """``{contract column: file column}`` for every contract column a header matches."""
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    out: dict[str, str] = {}
    for std, names in SYNONYMS[contract].items():
        for name in (std, *names):
            own = by_norm.get(norm(name))
            if own is not None and own not in out.values():
                out[std] = own
                break
    return out


def _survey_tool_proposal(path: Path, tool: str) -> Proposal:
    """A tool's export: an assessment when its questions name capabilities of the built-in
    catalogue, else a satisfaction survey (items are matched when it is read)."""
    export = read_export(path)
    if export is None:   # detect() named the tool, so the export is there
        raise DataError(f"not a {tool} export after all", file=path)
    stages: dict = {}
    try:
        stages = match_capabilities(export, load_capabilities(DEFAULT_CAPABILITIES), file=path)
    except DataError:   # questions naming capabilities ambiguously: still an assessment
        stages = {"ambiguous": True}
    contract = "assessment responses" if stages else "satisfaction survey"
    return Proposal(path, contract, {}, tool)


def propose_file(path: str | Path) -> Proposal:
    """Recognise one file: its input and its column mapping."""
    path = Path(path)
    df = read_table(path)
    columns = [str(c) for c in df.columns]
    tool = detect(df)
    if tool is not None:
        return _survey_tool_proposal(path, tool)
    best, best_key = None, None
    for name in SYNONYMS:
        found = match_columns(columns, name)
        required = [c.name for c in C.CONTRACTS[name].columns if c.required]
        missing = [r for r in required if r not in found]
        key = (not missing, len(found) / max(len(columns), 1), -len(missing), len(found))
        if best_key is None or key > best_key:
            mapping = {s: o for s, o in found.items() if s != o}
            best, best_key = Proposal(path, name if not missing else None, mapping,
                                      unmatched=missing, closest=name,
                                      matched=list(found)), key
    if best is None:
        raise DataError("no input contract to compare the file with", file=path)
    if best.contract is None:
        best.mapping = {}
    return best


def propose_folder(folder: str | Path) -> list[Proposal]:
    """A proposal for every table file in ``folder`` (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("not a folder", file=folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise DataError("no CSV, Excel or Parquet file in the folder", file=folder)
    return [propose_file(p) for p in files]
