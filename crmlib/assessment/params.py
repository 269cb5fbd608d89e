"""Parameters of ``notebooks/01_crm_assessment.ipynb`` (checked before any analysis runs)."""
from __future__ import annotations

from .. import params as P

SPEC = {
    "responses": P.InputFile(help="assessment responses (long: respondent × capability)"),
    "capabilities": P.InputFile(optional=True,
                                help="capability catalogue; None = the built-in catalogue"),
    "target_stage": P.Number(lo=1, hi=4, integer=True, optional=True,
                             help="target base for every capability; None = from the responses"),
    "customer_group": P.Text(help="label of the customer group in the 'group' column"),
    "min_group_size": P.Number(lo=1, hi=1000, integer=True,
                               help="anonymity threshold: smaller groups are not shown on "
                                    "their own (they still count in the totals)"),
    "columns": P.ColumnMapping(inputs=("responses", "capabilities"), optional=True,
                               help="input -> {contract column: client column} for headers that differ (data/README.md)"),
    "waves": P.Waves(optional=True,
                     help="survey waves [{label, date, file}], or None (crmlib.io.waves)"),
    "output_dir": P.OutputDir(help="folder for results.json, tables and the roadmap workbook"),
}
