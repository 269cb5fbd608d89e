"""Executive summary: gather the results of one run's notebooks into a one-page view.

Reads ``<results_dir>/<notebook>/results.json`` for whichever analyses ran and
builds the headline table, the combined priority list and the list of what
was not run. Computes no statistics of its own.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import params as P
from .results import Action, Headline, Results

if TYPE_CHECKING:
    from .changes import SinceLastRun

ANALYSES = {
    "01_crm_assessment": "CRM assessment",
    "02_clv_modelling": "Customer lifetime value",
    "03_satisfaction_gaps": "Satisfaction gaps",
    "04_phase_roi": "Phase ROI",
}
MAX_FINDINGS = 5  # findings of the summary's results.json (the index and the deck show them)
SINCE_FINDINGS = 2  # of which at most this many say what changed since the last run

SPEC = {
    "results_dir": P.OutputDir(help="the run's results/ folder, one subfolder per notebook"),
    "top_n": P.Number(1, 50, integer=True, help="priorities shown per analysis"),
    "currency": P.Currency(help="currency code money is shown in (the client configuration's "
                                "currency)"),
    "previous_run": P.PreviousRun(help="run.json of the client's previous run (set by the "
                                       "runner); \"\" = first run, the baseline"),
    "output_dir": P.OutputDir(help="folder for results.json and tables"),
}


def load_run_results(results_dir: str | Path) -> dict[str, Results]:
    """Return notebook stem → typed results (:class:`crmlib.results.Results`) for the
    analyses present."""
    out = {}
    for stem in ANALYSES:
        path = Path(results_dir) / stem / "results.json"
        if path.exists():
            out[stem] = Results.from_json(json.loads(path.read_text(encoding="utf-8")))
    return out


def key_charts(results_dir: str | Path, results: dict[str, Results]) -> list[tuple[str, Path]]:
    """(analysis name, PNG path) of each analysis' key chart that exists.

    A notebook names its key chart in ``key_chart`` (a file in its results folder);
    ``key_chart.png`` is the default.
    """
    out = []
    for stem, res in results.items():
        path = Path(results_dir) / stem / (res.key_chart or "key_chart.png")
        if path.is_file():
            out.append((ANALYSES[stem], path))
    return out


def not_run(results: dict[str, Results]) -> list[str]:
    """Names of the analyses without results in this run."""
    return [ANALYSES[s] for s in ANALYSES if s not in results]


def headline_table(results: dict[str, Results], per_analysis: int | None = None,
                   currency: str | None = None) -> pd.DataFrame:
    """One row per headline figure: analysis, figure, value (with unit), interval.

    ``per_analysis`` keeps each analysis' first figures, those with an interval first;
    ``currency`` is used for
    money an analysis reported without a currency of its own.
    """
    rows = []
    for stem, res in results.items():
        cur = res.currency or currency
        chosen = sorted(res.headline, key=lambda h: h.ci is None)[:per_analysis]
        for h in chosen:
            rows.append({"analysis": ANALYSES[stem], "figure": h.label,
                         "value": h.value_text(cur), "interval": h.ci_text(cur)})
    return pd.DataFrame(rows, columns=["analysis", "figure", "value", "interval"])


def findings(results: dict[str, Results], per_analysis: int = 2) -> list[tuple[str, str]]:
    """(analysis name, sentence): the first findings of each analysis."""
    return [(ANALYSES[stem], f) for stem, res in results.items()
            for f in res.findings[:per_analysis]]


def _legacy_actions(stem: str, res: Results) -> list[Action]:
    """Actions of a results file written before ``actions`` existed."""
    if stem == "04_phase_roi":
        return [Action(i, f"{p.get('name')}: {str(p.get('gate', '')).upper()}")
                for i, p in enumerate(res.extra.get("phases") or [], start=1)]
    names = []
    for it in res.extra.get("priorities") or []:
        names.append(str(it.get("label") or it.get("name") or it.get("capability") or "")
                     if isinstance(it, dict) else str(it))
    return [Action(i, n) for i, n in enumerate(names, start=1)]


def combined_priorities(results: dict[str, Results], top_n: int = 3) -> pd.DataFrame:
    """The first ``top_n`` actions of each analysis, every phase decision of the ROI."""
    rows = []
    for stem in ("04_phase_roi", "01_crm_assessment", "03_satisfaction_gaps",
                 "02_clv_modelling"):
        res = results.get(stem)
        if res is None:
            continue
        actions = res.actions or _legacy_actions(stem, res)
        for a in actions[:None if stem == "04_phase_roi" else top_n]:
            rows.append({"analysis": ANALYSES[stem], "rank": a.rank, "action": a.action,
                         "why": a.why})
    return pd.DataFrame(rows, columns=["analysis", "rank", "action", "why"])


def all_actions(priorities: pd.DataFrame) -> list[Action]:
    """The combined priorities as one ordered action list (for results.json)."""
    return [Action(i, f"{r.analysis}: {r.action}", r.why)
            for i, r in enumerate(priorities.itertuples(), start=1)]


def summary_results(results: dict[str, Results], priorities: pd.DataFrame,
                    since: SinceLastRun, currency: str | None = None) -> Results:
    """The executive summary's own results (``results.json``, read by the index and the
    deck): how many analyses ran, at most :data:`MAX_FINDINGS` findings — first what
    changed since the last run (at most :data:`SINCE_FINDINGS` sentences), then each
    analysis' first finding — and every action of ``priorities`` in order."""
    found = since.sentences(limit=SINCE_FINDINGS) + [text for _, text in findings(results, 1)]
    return Results(
        headline=[Headline("Analyses run", len(results), f"of {len(ANALYSES)}")],
        findings=found[:MAX_FINDINGS], actions=all_actions(priorities),
        title="Executive summary", currency=currency,
        extra={"analyses_run": list(results), "not_run": not_run(results), "excluded": {},
               "since_last_run": since.to_dict()})
