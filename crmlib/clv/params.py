"""Parameters of ``notebooks/02_clv_modelling.ipynb`` (checked before any analysis runs)."""
from __future__ import annotations

from .. import params as P

SPEC = {
    "transactions": P.InputFile(help="transaction log (CSV or Parquet read in place by DuckDB; "
                                     "Excel through pandas)"),
    "customer_col": P.Text(help="column holding the customer key"),
    "date_col": P.Text(help="column holding the purchase date"),
    "amount_col": P.Text(help="column holding the order value (negative = return)"),
    "observation_end": P.Date(optional=True,
                              help="last day observed (ISO); None = the last date in the data"),
    "calibration_end": P.Date(optional=True,
                              help="last day of the calibration period; None = no holdout"),
    "zero_amounts": P.Choice(choices=("exclude", "keep"),
                             help="zero-amount rows: exclude (counted) or keep as purchases "
                                  "(Fader & Hardie's CDNOW convention)"),
    "time_unit": P.Choice(choices=("D", "W", "M"),
                          help="unit of recency, T and every horizon: days, weeks or months"),
    "model": P.Choice(choices=("bgnbd", "mbgnbd", "pnbd", "auto"),
                      help="purchase model; auto = lowest holdout RMSE (lowest BIC without "
                           "a holdout)"),
    "margin": P.Number(lo=0, hi=1, help="gross margin as a share of spend (0..1)"),
    "discount_rate_annual": P.Number(lo=0, hi=1,
                                     help="annual discount rate (0..1), applied monthly"),
    "horizon_months": P.Number(lo=1, hi=240, integer=True, help="CLV horizon in months"),
    "subscriptions": P.InputFile(optional=True,
                                 help="subscriptions (start/end dates) for the sBG model"),
    "output_dir": P.OutputDir(help="folder for results.json, customers.csv and tables"),
}
