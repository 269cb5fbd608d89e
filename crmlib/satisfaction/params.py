"""Parameters of ``notebooks/03_satisfaction_gaps.ipynb`` and their rules.

The report runner checks them before any kernel starts; the notebook's second
cell checks them again with ``validate(SPEC, globals())``.
"""
from __future__ import annotations

from ..params import (
                      Choice,
                      ColumnMapping,
                      InputFile,
                      List,
                      Mapping_,
                      Number,
                      OutputDir,
                      Text,
                      Waves,
)

SPEC = {
    "survey": InputFile(help="satisfaction survey, wide (contract in data/README.md)"),
    "items": InputFile(help="item catalogue: item, dimension, label, reverse"),
    "scale_min": Number(lo=-100, hi=100, help="lowest rating on the scale"),
    "scale_max": Number(lo=-100, hi=100, help="highest rating on the scale"),
    "dont_know_codes": List(items=Number(), help="codes meaning don't know, set to missing"),
    "segment_col": Text(optional=True, help="survey column with the segment, or None"),
    "dimension_weights": Mapping_(values=Number(lo=0), optional=True,
                                  help="dimension -> weight for the overall score, or None"),
    "significance": Number(lo=0.001, hi=0.2, help="significance level; intervals at 1 - level"),
    "crosshair": Choice(choices=("midpoint", "mean"), help="IPA crosshair position"),
    "clv_table": InputFile(optional=True, help="CLV notebook's customers.csv, or None"),
    "correction": Choice(choices=("holm", "bh"), help="multiplicity adjustment"),
    "inner_scheme": Choice(choices=("centroid", "factorial", "path"),
                           help="PLS inner weighting scheme"),
    "min_answered": Number(lo=0, hi=1, help="minimum share of E/P ratings a respondent answers"),
    "n_boot": Number(lo=0, hi=100_000, integer=True, help="bootstrap resamples"),
    "seed": Number(lo=0, integer=True, help="random seed for the bootstrap"),
    "columns": ColumnMapping(inputs=("survey", "items"), optional=True,
                             help="input -> {contract column: client column} for headers that differ (data/README.md)"),
    "waves": Waves(optional=True, help="survey waves [{label, date, file}], or None "
                                       "(crmlib.io.waves)"),
    "output_dir": OutputDir(help="folder for results.json and tables"),
}
