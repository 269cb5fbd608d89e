"""Input/output: readers, data contracts, loaders and the data-quality ledger."""
from .contracts import CONTRACTS, Column, Contract, validate
from .errors import DataError, ParameterError
from .loaders import (
                      load_assessment,
                      load_capabilities,
                      load_items,
                      load_kpi_panel,
                      load_subscriptions,
                      load_survey,
                      load_transactions,
                      load_yaml,
)
from .quality import DataQualityReport
from .readers import read_table, write_table

__all__ = ["CONTRACTS", "Column", "Contract", "DataError", "DataQualityReport",
           "ParameterError", "load_assessment", "load_capabilities", "load_items",
           "load_kpi_panel", "load_subscriptions", "load_survey", "load_transactions",
           "load_yaml", "read_table", "validate", "write_table"]
