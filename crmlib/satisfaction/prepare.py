"""Survey preparation: check the survey against its item catalogue and clean the ratings.

The survey (wide, one row per respondent) and its item catalogue are loaded by
:func:`crmlib.io.load_survey` / :func:`crmlib.io.load_items`, which enforce the
data contracts of ``data/README.md``. :func:`prepare_survey` then

1. checks that every catalogue item has an ``E_`` and a ``P_`` column and that
   every ``E_``/``P_``/``I_`` column names a catalogue item (a
   :class:`~crmlib.io.DataError` otherwise), and that Kano columns come in
   ``KF_``/``KD_`` pairs;
2. turns don't-know codes into missing values and counts them;
3. raises a :class:`~crmlib.io.DataError` naming the row, item and value for a
   rating outside ``scale_min..scale_max``;
4. flips reverse-coded items (``x -> scale_min + scale_max - x``, expectation
   and perception alike; stated importance is not flipped);
5. excludes, and counts by reason, respondents with no ratings at all or with
   fewer than ``min_answered`` of their expectation/perception ratings;
6. notes (does not drop) constant items and one-item dimensions, which the
   reliability and driver analyses cannot use.

The result is a :class:`Survey`, the input of every other function in
:mod:`crmlib.satisfaction`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport, ParameterError
from ..io.contracts import source_row

INPUT = "satisfaction survey"
CELLS = "survey ratings (cells)"


@dataclass
class Survey:
    """A cleaned satisfaction survey.

    Rating frames are indexed by the survey's spreadsheet row (``source_row``)
    and have one column per catalogue item (the prefix removed).
    """

    expectations: pd.DataFrame
    perceptions: pd.DataFrame
    catalogue: pd.DataFrame  # index item: dimension, label, reverse
    scale: tuple[float, float]
    importance: pd.DataFrame | None = None
    overall: pd.Series | None = None
    kano_functional: pd.DataFrame | None = None
    kano_dysfunctional: pd.DataFrame | None = None
    segment: pd.Series | None = None
    customer_id: pd.Series | None = None
    respondent_id: pd.Series | None = None
    file: str = INPUT
    notes: list[str] = field(default_factory=list)
    constant_items: list[str] = field(default_factory=list)

    @property
    def items(self) -> list[str]:
        """Item names in catalogue order."""
        return list(self.catalogue.index)

    @property
    def dimensions(self) -> dict[str, list[str]]:
        """Dimension -> its items, in catalogue order."""
        out: dict[str, list[str]] = {}
        for item, dim in self.catalogue["dimension"].items():
            out.setdefault(dim, []).append(item)
        return out

    @property
    def n_respondents(self) -> int:
        return len(self.perceptions)

    @property
    def kano_features(self) -> list[str]:
        return [] if self.kano_functional is None else list(self.kano_functional.columns)

    def dimension_scores(self, which: str = "perceptions") -> pd.DataFrame:
        """Respondent x dimension mean of the answered items (``"expectations"``,
        ``"perceptions"`` or ``"gaps"``)."""
        if which == "gaps":
            return self.dimension_scores("perceptions") - self.dimension_scores("expectations")
        frame = getattr(self, which)
        return pd.DataFrame({d: frame[its].mean(axis=1) for d, its in self.dimensions.items()})


def _check_columns(survey: pd.DataFrame, catalogue: pd.DataFrame, file: str,
                   items_file: str) -> None:
    items = list(catalogue.index)
    for item in items:
        for prefix, what in (("E_", "expectation"), ("P_", "perception")):
            if f"{prefix}{item}" not in survey.columns:
                raise DataError(f"item '{item}' is in the item catalogue ({items_file}) but the "
                                f"survey has no {what} column '{prefix}{item}'",
                                file=file, column=f"{prefix}{item}")
    for col in survey.columns:
        if col[:2] in ("E_", "P_", "I_") and col[2:] not in catalogue.index:
            raise DataError(f"column '{col}' names item '{col[2:]}', which is not in the item "
                            f"catalogue ({items_file}); add it there or drop the column",
                            file=file, column=col)
    kf = {c[3:] for c in survey.columns if c.startswith("KF_")}
    kd = {c[3:] for c in survey.columns if c.startswith("KD_")}
    for feat in sorted(kf ^ kd):
        have, need = ("KF_", "KD_") if feat in kf else ("KD_", "KF_")
        raise DataError(f"Kano feature '{feat}' has a {have} column but no {need}{feat} "
                        "(functional and dysfunctional answers come in pairs)",
                        file=file, column=f"{need}{feat}")


def _clean_ratings(df: pd.DataFrame, cols: list[str], lo: float, hi: float,
                   codes: Sequence[float], file: str,
                   quality: DataQualityReport) -> pd.DataFrame:
    out = df[cols].astype(float)
    quality.add_read(CELLS, int(out.notna().to_numpy().sum()))
    dk = out.isin([float(c) for c in codes]) if len(codes) else out.isna() & False
    n_dk = int(dk.to_numpy().sum())
    example = None
    if n_dk:
        r, c = np.argwhere(dk.to_numpy())[0]
        example = f"row {source_row(out, r)}, {cols[c]} = {out.iat[r, c]:g}"
    quality.exclude(CELLS, "don't-know code set to missing", n_dk, example)
    out = out.mask(dk)
    bad = out.notna() & ((out < lo) | (out > hi))
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise DataError(f"rating outside the declared scale {lo:g}..{hi:g} (and not a "
                        f"don't-know code {list(codes)})", file=file, column=cols[c],
                        row=source_row(out, r), value=out.iat[r, c],
                        more=int(bad.to_numpy().sum()) - 1)
    return out


def _exclude_thin(ratings: pd.DataFrame, min_answered: float,
                  quality: DataQualityReport) -> pd.Series:
    answered = ratings.notna().mean(axis=1)
    none = answered == 0
    thin = ~none & (answered < min_answered)
    for mask, reason in ((none, "no ratings at all (all missing or don't know)"),
                         (thin, f"fewer than {min_answered:.0%} of ratings answered")):
        ex = f"row {int(ratings.index[mask.to_numpy()][0])}" if mask.any() else None
        quality.exclude(INPUT, reason, int(mask.sum()), ex)
    return ~(none | thin)


THIN_SURVEY = 30  # respondents below which every interval is wide and several models undefined


def _note_degenerate(s: Survey) -> None:
    if s.n_respondents < THIN_SURVEY:
        s.notes.append(f"thin survey: only {s.n_respondents} respondents (fewer than "
                       f"{THIN_SURVEY}); intervals are wide, omega, key drivers and the "
                       "structural model may be undefined: read every figure with care")
    for item in s.items:
        for frame, what in ((s.perceptions, "perception"), (s.expectations, "expectation")):
            if frame[item].nunique() <= 1:
                s.constant_items.append(item)
                s.notes.append(f"item '{item}': every {what} rating is the same; it is left out "
                               "of reliability and driver analysis (no variance)")
                break
    for dim, its in s.dimensions.items():
        if len(its) == 1:
            s.notes.append(f"dimension '{dim}' has one item: Cronbach's alpha and omega are "
                           "undefined for it")


def prepare_survey(survey: pd.DataFrame, items: pd.DataFrame, scale_min: float = 1,
                   scale_max: float = 7, dont_know_codes: Sequence[float] = (),
                   min_answered: float = 0.5, segment_col: str | None = "segment",
                   quality: DataQualityReport | None = None) -> Survey:
    """Check a loaded survey against its item catalogue and return a cleaned :class:`Survey`.

    Parameters
    ----------
    survey, items : frames from :func:`crmlib.io.load_survey` / :func:`crmlib.io.load_items`.
    scale_min, scale_max : the rating scale (e.g. 1 and 7 for SERVQUAL's 7-point scale).
    dont_know_codes : codes (e.g. ``[0, 99]``) turned into missing values and counted.
    min_answered : respondents answering fewer than this share of their E/P ratings are
        excluded (counted in ``quality``).
    segment_col : survey column holding the segment, or None.
    quality : the data-quality ledger.
    """
    quality = quality if quality is not None else DataQualityReport()
    if not scale_min < scale_max:
        raise ParameterError("scale_min", f"must be below scale_max ({scale_min} >= {scale_max})")
    if any(scale_min <= c <= scale_max for c in dont_know_codes):
        raise ParameterError("dont_know_codes", f"codes {list(dont_know_codes)} overlap the "
                                                f"rating scale {scale_min}..{scale_max}")
    file = survey.attrs.get("source", INPUT)
    items_file = items.attrs.get("source", "item catalogue")
    cat = items.set_index("item")[["dimension", "label"]].copy()
    cat["reverse"] = (items.set_index("item")["reverse"].fillna(0).astype(int)
                      if "reverse" in items.columns else 0)
    _check_columns(survey, cat, file, items_file)
    if segment_col is not None and segment_col not in survey.columns:
        raise DataError(f"segment column '{segment_col}' not found; columns are "
                        f"{list(survey.columns)}", file=file, column=segment_col)
    lo, hi = float(scale_min), float(scale_max)
    names = list(cat.index)
    imp_cols = [f"I_{i}" for i in names if f"I_{i}" in survey.columns]
    rating_cols = [f"E_{i}" for i in names] + [f"P_{i}" for i in names] + imp_cols
    if "overall_satisfaction" in survey.columns:
        rating_cols.append("overall_satisfaction")
    r = _clean_ratings(survey, rating_cols, lo, hi, dont_know_codes, file, quality)
    for item in cat.index[cat["reverse"] == 1]:
        for p in ("E_", "P_"):
            r[p + item] = lo + hi - r[p + item]
    ep = r[[f"E_{i}" for i in names] + [f"P_{i}" for i in names]]
    keep = _exclude_thin(ep, min_answered, quality)
    if not keep.any():
        raise DataError("no respondent has enough ratings to analyse", file=file)
    r, sv = r.loc[keep], survey.loc[keep]

    def block(prefix: str, cols: list[str]) -> pd.DataFrame:
        return r[[prefix + c for c in cols]].set_axis(cols, axis=1)

    kano = sorted(c[3:] for c in survey.columns if c.startswith("KF_"))
    out = Survey(
        expectations=block("E_", names), perceptions=block("P_", names), catalogue=cat,
        scale=(lo, hi), file=str(file),
        importance=block("I_", [c[2:] for c in imp_cols]) if imp_cols else None,
        overall=(r["overall_satisfaction"] if "overall_satisfaction" in r
                 and r["overall_satisfaction"].notna().any() else None),
        kano_functional=(sv[[f"KF_{f}" for f in kano]].set_axis(kano, axis=1).astype(float)
                         if kano else None),
        kano_dysfunctional=(sv[[f"KD_{f}" for f in kano]].set_axis(kano, axis=1).astype(float)
                            if kano else None),
        segment=sv[segment_col] if segment_col is not None else None,
        customer_id=sv["customer_id"] if "customer_id" in sv.columns else None,
        respondent_id=sv["respondent_id"])
    if "overall_satisfaction" in r and out.overall is None:
        out.notes.append("overall_satisfaction is empty for every respondent: key drivers and "
                         "the structural model are skipped")
    _note_degenerate(out)
    return out
