"""Command-line driver of the Spark CLV pipeline, for ``spark-submit`` or ``python -m``.

Example::

    spark-submit --master yarn "$(python -c 'import crmlib.clv.spark.__main__ as m; print(m.__file__)')" \\
        --transactions s3://bucket/tx/ --output s3://bucket/clv/customers \\
        --calibration-end 2024-12-31 --results-dir ./clv-results

    python -m crmlib.clv.spark --transactions data/tx.parquet --master "local[*]" \\
        --output /tmp/clv_customers.parquet --results-dir /tmp/clv

Writes the per-customer table to ``--output`` (Parquet path or table name) and
``results.json`` plus the aggregate tables as CSV to ``--results-dir`` on the driver.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...io import DataError
from ...results import write_results
from ..settings import SummaryOptions, Valuation
from .pipeline import run_clv


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m crmlib.clv.spark",
                                 description="CLV on Spark: summary, models, scores")
    ap.add_argument("--transactions", required=True, help="Parquet/CSV path or table name")
    ap.add_argument("--output", required=True, help="per-customer scores: path or table")
    ap.add_argument("--results-dir", required=True, type=Path,
                    help="driver-side folder for results.json and the aggregate tables")
    ap.add_argument("--master", default="local[*]", help="master for a new session")
    ap.add_argument("--customer-col", default="customer_id")
    ap.add_argument("--date-col", default="date")
    ap.add_argument("--amount-col", default="amount")
    ap.add_argument("--observation-end", default=None)
    ap.add_argument("--calibration-end", default=None)
    ap.add_argument("--time-unit", default="W", choices=("D", "W", "M"))
    ap.add_argument("--model", default="auto", choices=("auto", "bgnbd", "mbgnbd", "pnbd"))
    ap.add_argument("--margin", type=float, default=0.30)
    ap.add_argument("--discount-rate-annual", type=float, default=0.10)
    ap.add_argument("--horizon-months", type=int, default=36)
    ap.add_argument("--zero-amounts", default="keep", choices=("keep", "exclude"))
    ap.add_argument("--duplicates", default="keep", choices=("keep", "drop"))
    ap.add_argument("--transaction-col", default=None,
                    help="column identifying transactions (identical rows are then dropped)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    mapping = {k: v for k, v in {"customer_id": a.customer_col, "date": a.date_col,
                                 "amount": a.amount_col}.items() if k != v}
    try:
        options = SummaryOptions(time_unit=a.time_unit, observation_end=a.observation_end,
                                 calibration_end=a.calibration_end, mapping=mapping,
                                 zero_amounts=a.zero_amounts, duplicates=a.duplicates,
                                 transaction_col=a.transaction_col)
        valuation = Valuation(margin=a.margin, discount_rate_annual=a.discount_rate_annual,
                              horizon_months=a.horizon_months)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        res = run_clv(a.transactions, output=a.output, master=a.master, options=options,
                      valuation=valuation, model=a.model)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_results(a.results_dir, res.results(), res.tables())
    print(json.dumps({"customers": res.full.n_customers, "clv_total": res.value.total,
                      "clv_total_ci": res.value.total_ci, "output": a.output}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
