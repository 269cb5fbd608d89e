"""Parameters of the phase-ROI notebook (``notebooks/04_phase_roi.ipynb``)."""
from __future__ import annotations

from ..params import ColumnMapping, Date, InputFile, Number, OutputDir

SPEC = {
    "plan": InputFile(suffixes=(".yaml", ".yml"), help="phase plan (YAML, see data/README.md)"),
    "kpis": InputFile(help="KPI panel: date, unit_id, group (pilot/control), kpi, value"),
    "as_of": Date(optional=True, help="last date of evidence; None = last date in the panel"),
    "pre_periods": Number(lo=1, hi=36, integer=True,
                          help="months before each phase start used as its baseline"),
    "n_simulations": Number(lo=100, hi=1_000_000, integer=True, help="Monte Carlo draws"),
    "seed": Number(lo=0, integer=True, help="random seed (Monte Carlo and placebo draws)"),
    "gate_threshold": Number(lo=0.5, hi=1.0,
                             help="P(NPV > 0) needed to continue a phase (stop below 0.5)"),
    "columns": ColumnMapping(inputs=("kpis",), optional=True,
                             help="input -> {contract column: client column} for headers that differ (data/README.md)"),
    "output_dir": OutputDir(help="folder for results.json and tables"),
}
