"""Executive summary: gather the results of one run's notebooks into a one-page view.

Reads ``<results_dir>/<notebook>/results.json`` for whichever analyses ran and
builds the headline table, the combined priority list and the list of what
was not run. Computes no statistics of its own.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from . import params as P

ANALYSES = {
    "01_crm_assessment": "CRM assessment",
    "02_clv_modelling": "Customer lifetime value",
    "03_satisfaction_gaps": "Satisfaction gaps",
    "04_phase_roi": "Phase ROI",
}

SPEC = {
    "results_dir": P.OutputDir(help="the run's results/ folder, one subfolder per notebook"),
    "top_n": P.Number(1, 50, integer=True, help="priorities shown per analysis"),
    "output_dir": P.OutputDir(help="folder for results.json and tables"),
}


def load_run_results(results_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Return notebook stem → parsed ``results.json`` for the analyses present."""
    out = {}
    for stem in ANALYSES:
        path = Path(results_dir) / stem / "results.json"
        if path.exists():
            out[stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


def key_charts(results_dir: str | Path, results: dict[str, dict]) -> list[tuple[str, Path]]:
    """(analysis name, PNG path) of each analysis' key chart that exists.

    A notebook names its key chart in ``results["key_chart"]`` (a file in its
    results folder); ``key_chart.png`` is the default.
    """
    out = []
    for stem, res in results.items():
        path = Path(results_dir) / stem / str(res.get("key_chart") or "key_chart.png")
        if path.is_file():
            out.append((ANALYSES[stem], path))
    return out


def not_run(results: dict[str, dict]) -> list[str]:
    """Names of the analyses without results in this run."""
    return [ANALYSES[s] for s in ANALYSES if s not in results]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def headline_table(results: dict[str, dict]) -> pd.DataFrame:
    """One row per headline figure: analysis, figure, value, 95%/90% interval, unit."""
    rows = []
    for stem, res in results.items():
        for h in res.get("headline", []):
            ci, level = h.get("ci"), h.get("ci_level")
            label = f"{level:.0%}: " if level else ""
            rows.append({"analysis": ANALYSES[stem], "figure": h.get("label", ""),
                         "value": _fmt(h.get("value")), "unit": h.get("unit") or "",
                         "interval": f"{label}{_fmt(ci[0])} – {_fmt(ci[1])}" if ci else ""})
    return pd.DataFrame(rows, columns=["analysis", "figure", "value", "unit", "interval"])


def styled(table: pd.DataFrame):
    """A left-aligned table without the row index, for the one-page HTML."""
    return (table.style.hide(axis="index")
            .set_properties(**{"text-align": "left"})
            .set_table_styles([{"selector": "th", "props": [("text-align", "left")]}]))


def _as_names(items: Any) -> list[str]:
    out = []
    for it in items or []:
        if isinstance(it, dict):
            out.append(str(it.get("name") or it.get("item") or it.get("capability")
                           or next(iter(it.values()), "")))
        else:
            out.append(str(it))
    return out


def combined_priorities(results: dict[str, dict], top_n: int = 5) -> pd.DataFrame:
    """The first ``top_n`` priorities of each analysis plus each phase's gate decision."""
    rows = []
    for stem in ("01_crm_assessment", "03_satisfaction_gaps", "02_clv_modelling"):
        res = results.get(stem)
        if not res:
            continue
        for rank, name in enumerate(_as_names(res.get("priorities"))[:top_n], start=1):
            rows.append({"analysis": ANALYSES[stem], "rank": rank, "action": name})
    roi = results.get("04_phase_roi")
    for phase in (roi or {}).get("phases", []):
        rows.append({"analysis": ANALYSES["04_phase_roi"], "rank": None,
                     "action": f"{phase.get('name')}: {str(phase.get('gate', '')).upper()}"})
    return pd.DataFrame(rows, columns=["analysis", "rank", "action"])
