"""Parameters of ``notebooks/02_clv_modelling.ipynb`` (checked before any analysis runs)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import params as P
from .. import paths
from .spark.sources import is_cluster_source


@dataclass(frozen=True)
class TransactionSource(P.InputFile):
    """An input file, or for the Spark engine a Parquet folder, a cluster URI (``s3://``,
    ``abfss://``, ``dbfs:/``, ``hdfs://``, …) or a catalog table name.

    A path that looks like a local file (a separator or a file suffix) must exist: a
    missing one is reported as "file not found" whatever the engine.
    """

    def _check(self, name, value):
        if isinstance(value, str) and is_cluster_source(value):
            return value.strip()
        if isinstance(value, str) and paths.resolve(value).is_dir():
            return paths.resolve(value)
        return super()._check(name, value)


SPEC = {
    "transactions": TransactionSource(
        help="transaction log (CSV or Parquet read in place by DuckDB; Excel through pandas); "
             "for Spark also a Parquet folder, a cluster URI (s3://, abfss://, dbfs:/, "
             "hdfs://) or a table name"),
    "customer_col": P.Text(help="column holding the customer key"),
    "date_col": P.Text(help="column holding the purchase date"),
    "amount_col": P.Text(help="column holding the order value (negative = return)"),
    "observation_end": P.Date(optional=True,
                              help="last day observed (ISO); None = the last date in the data"),
    "calibration_end": P.Date(optional=True,
                              help="last day of the calibration period; None = no holdout"),
    "zero_amounts": P.Choice(choices=("keep", "exclude"),
                             help="zero-amount rows: keep as purchase days left out of the "
                                  "spend model (Fader & Hardie's CDNOW convention), or exclude "
                                  "(counted)"),
    "duplicates": P.Choice(choices=("keep", "drop"),
                           help="identical rows: keep as separate purchases (as Lifetimes, BTYD "
                                "and CLVTools count them) or drop as exported twice (counted)"),
    "transaction_col": P.Text(optional=True,
                              help="column identifying transactions; identical rows are then "
                                   "one transaction exported twice and dropped (counted)"),
    "time_unit": P.Choice(choices=("D", "W", "M"),
                          help="unit of recency, T and every horizon: days, weeks or months"),
    "model": P.Choice(choices=("bgnbd", "mbgnbd", "pnbd", "auto"),
                      help="purchase model; auto = lowest holdout RMSE (lowest BIC without "
                           "a holdout)"),
    "margin": P.Number(lo=0, hi=1, help="gross margin as a share of spend (0..1)"),
    "discount_rate_annual": P.Number(lo=0, hi=1,
                                     help="annual discount rate (0..1), applied monthly"),
    "horizon_months": P.Number(lo=1, hi=240, integer=True, help="CLV horizon in months"),
    "currency": P.Currency(help="currency code money is shown in (the client configuration's "
                                "currency)"),
    "subscriptions": P.InputFile(optional=True,
                                 help="subscriptions (start/end dates) for the sBG model"),
    "engine": P.Choice(choices=("auto", "pandas", "duckdb", "spark"),
                       help="summary and scoring engine; auto = Spark for a cluster URI, a "
                            "table name or a Parquet folder, pandas for Excel, DuckDB for a "
                            "CSV or Parquet file"),
    "spark_master": P.Text(help="Spark master for a new session (local[*], yarn, "
                                "spark://host:7077); ignored when a session is active"),
    "spark_output": P.Text(optional=True,
                           help="Spark engine: table name or path/URI (Parquet) for the "
                                "per-customer scores; None = output_dir/customers.parquet"),
    "columns": P.ColumnMapping(inputs=("transactions", "subscriptions"), optional=True,
                               help="input -> {contract column: client column} for headers that differ (data/README.md)"),
    "previous_run": P.PreviousRun(help="run.json of the client's previous run (set by the "
                                       "runner); \"\" = first run, the baseline"),
    "output_dir": P.OutputDir(help="folder for results.json, customers.csv and tables"),
}
