"""Write a notebook's results: ``results.json``, tables as CSV and one Excel workbook."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .io.database import DatabaseSource


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types (NaN → None)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, np.ndarray, pd.Index)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime)):
        return obj.isoformat()[:10] if not isinstance(obj, dt.datetime) or obj == pd.Timestamp(obj).normalize() else obj.isoformat()
    if isinstance(obj, os.PathLike):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, DatabaseSource):   # its configuration form: a variable name, no URL
        return obj.to_dict()
    return obj


def _excel_sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in '[]:*?/\\')[:31] or "table"
    out, i = base, 1
    while out in used:
        i += 1
        out = f"{base[:28]}_{i}"
    used.add(out)
    return out


def write_excel(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """One sheet per table, bold headers, frozen first row, sensible column widths."""
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in tables.items():
            sheet = _excel_sheet_name(name, used)
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = Font(bold=True, color="FFFFFF")
                cell.fill = PatternFill("solid", fgColor="1F3A5F")
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
    return path


def write_results(output_dir: str | os.PathLike, results: Mapping[str, Any],
                  tables: Mapping[str, pd.DataFrame] | None = None,
                  workbook: str | None = "tables.xlsx") -> Path:
    """Write ``results.json`` and each table as ``<name>.csv`` (plus an Excel workbook).

    Returns the path of ``results.json``.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = dict(tables or {})
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    if tables and workbook:
        write_excel(tables, out / workbook)
    path = out / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(results), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def save_key_chart(output_dir: str | os.PathLike, fig, name: str = "key_chart.png"):
    """Save ``fig`` as the analysis' key chart (shown by the executive summary) and return it."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / name, dpi=150, bbox_inches="tight")
    return fig
