"""``crm new-client NAME --from DIR``: a commented configuration proposed from the client's files.

Each file of ``DIR`` is recognised (:mod:`crmlib.io.propose`); the configuration names
it under its notebook with the proposed column mapping (``columns``), every date
parameter written out as ``null`` (the client's data decide, never a demo date) with
what ``null`` means, and a comment for each file that was not recognised.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from .. import paths
from ..io.propose import Proposal, propose_folder
from .config import FROM

# notebook → inputs it cannot run without
NEEDS = {"01_crm_assessment": ("responses",), "02_clv_modelling": ("transactions",),
         "03_satisfaction_gaps": ("survey", "items"), "04_phase_roi": ("plan", "kpis")}
# notebook → date parameters and what null means for each
DATES = {"02_clv_modelling": {
    "observation_end": "last day observed; null = the last date in the client's data",
    "calibration_end": "end of the calibration period (the holdout follows); null = no holdout"},
    "04_phase_roi": {"as_of": "last date of evidence; null = the last date in the KPI panel"}}
TITLES = {"transactions": "transactions", "subscriptions": "subscriptions",
          "survey": "satisfaction survey", "items": "survey item catalogue",
          "responses": "assessment responses", "capabilities": "capability catalogue",
          "kpis": "KPI panel", "plan": "phase plan"}


def _q(value: str) -> str:
    """A YAML scalar: JSON quoting is valid YAML and keeps any header name intact."""
    return json.dumps(value, ensure_ascii=False)


def _rel(path: Path, root: Path) -> str:
    path = path.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()


def _inputs(proposals: list[Proposal], plans: list[Path]) -> dict[str, dict[str, Proposal]]:
    by_nb: dict[str, dict[str, Proposal]] = {}
    for p in proposals:
        nb, param = p.notebook, p.parameter
        if p.contract and nb and param and param not in by_nb.get(nb, {}):
            by_nb.setdefault(nb, {})[param] = p
    if plans:
        by_nb.setdefault("04_phase_roi", {})["plan"] = Proposal(plans[0], None)
    return by_nb


def _notebook_lines(stem: str, inputs: dict[str, Proposal], root: Path,
                    clv: bool) -> list[str]:
    lines = [f"  {stem}:"]
    for param, p in inputs.items():
        what = TITLES[param] + (f", {p.tool} export" if p.tool else "")
        lines.append(f"    {param}: {_q(_rel(p.path, root))}  # {what}")
    if stem == "02_clv_modelling" and "subscriptions" not in inputs:
        lines.append("    subscriptions: null  # no subscriptions file found: no sBG model")
    if stem == "03_satisfaction_gaps":
        lines.append(f"    clv_table: {_q(FROM + '02_clv_modelling') if clv else 'null'}"
                     "  # the CLV notebook's customers, for value-weighted gaps")
    mapped = {k: p for k, p in inputs.items() if p.mapping}
    if mapped:
        lines.append("    columns:  # contract column: the client's column (check each one)")
        for param, p in mapped.items():
            lines.append(f"      {param}:")
            lines += [f"        {std}: {_q(own)}" for std, own in p.mapping.items()]
    for name, meaning in DATES.get(stem, {}).items():
        lines.append(f"    {name}: null  # {meaning}")
    return lines


def proposed_config(name: str, folder: Path, root: Path | None = None) -> str:
    """The configuration text for client ``name`` from the files in ``folder``."""
    root = (root or paths.ROOT).resolve()
    proposals = propose_folder(folder)
    plans = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".yaml", ".yml"))
    by_nb = _inputs(proposals, plans)
    lines = [f"# Report configuration for {name}, proposed by 'crm new-client --from "
             f"{_rel(Path(folder), root)}' on {dt.date.today()}.",
             "# Check every file and column below against the client's data, then run",
             "#   crm validate --config <this file>",
             f"client: {_q(name)}", "notebooks:"]
    skipped = []
    for stem, needs in NEEDS.items():
        inputs = by_nb.get(stem, {})
        missing = [n for n in needs if n not in inputs]
        if missing:
            skipped.append(f"#   {stem}: no {' / '.join(TITLES[m] for m in missing)} file found")
            continue
        lines += _notebook_lines(stem, inputs, root, "02_clv_modelling" in by_nb
                                 and "transactions" in by_nb["02_clv_modelling"])
    lines.append("  05_executive_summary: {}")
    if skipped:
        lines += ["# Not configured (add the notebook once its files exist):", *skipped]
    used = {id(p) for inputs in by_nb.values() for p in inputs.values()}
    spare = [p for p in proposals if p.contract and id(p) not in used]
    if spare:
        lines.append("# Also recognised, not used (one file per input is read: combine them "
                     "or choose another):")
        lines += [f"#   {p.path.name}: {TITLES[p.parameter or '']}" for p in spare]
    unknown = [p for p in proposals if p.contract is None]
    if unknown:
        lines.append("# Files not recognised (name them under a notebook and map their columns):")
        lines += [f"#   {p.path.name}: {_unrecognised(p)}" for p in unknown]
    return "\n".join(lines) + "\n"


def _unrecognised(p) -> str:
    """Why a file was not recognised, in the words of the closest input."""
    if not p.matched:
        return "no column has a name any input uses"
    return (f"looks like the {p.closest} (found {', '.join(p.matched)}) but lacks "
            f"{', '.join(p.unmatched)}")
