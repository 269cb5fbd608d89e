"""The story of each report: findings in sentences, ordered actions, the summary block.

Reads an analysis' results (the mapping written as ``results.json``) and its tables, and
adds the typed parts of :class:`crmlib.results.Results`: ``findings`` (three to five
sentences with numbers), ``actions`` (ordered priorities), ``title``, ``currency`` and
``key_chart``. Computes no statistics: every number is one the analysis already reported.
:func:`summary` is the one-screen block a report opens with.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from . import display as D
from .results import Action, Headline, Results, to_jsonable

TITLES = {
    "01_crm_assessment": "CRM assessment",
    "02_clv_modelling": "Customer lifetime value",
    "03_satisfaction_gaps": "Satisfaction gaps",
    "04_phase_roi": "Phase ROI",
    "05_executive_summary": "Executive summary",
}
MAX_FINDINGS = 5
MAX_ACTIONS = 5


def _n(value: Any, kind: str = "number", currency: str | None = None) -> str:
    return D.number(value, kind, currency)


def _ci(ci: Any, kind: str = "number", currency: str | None = None, level: float = 0.9) -> str:
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2):
        return ""
    return f" ({level:.0%} interval {D.interval(ci[0], ci[1], kind, currency)})"


def _name(text: Any) -> str:
    return D.words(str(text)).lower() if "_" in str(text) else str(text)


# -- one builder per analysis: (findings, actions) ------------------------------------------

def _assessment(r: Mapping, t: Mapping[str, pd.DataFrame], cur: str | None):
    names = r.get("capability_names") or {}

    def cap(key: Any) -> str:  # the catalogue's name of a capability
        return str(names.get(str(key)) or _name(key))

    f = []
    if r.get("company_stage") is not None:
        f.append(f"The company stands on base {r['company_stage']} "
                 f"({r.get('company_stage_name', '')}): every driver has reached it. Its mean "
                 f"stage is {_n(r.get('mean_stage'))}{_ci(r.get('mean_stage_ci'))}.")
    drivers = r.get("stage_by_driver") or {}
    if len(drivers) > 1:
        low = min(drivers, key=lambda d: drivers[d])
        high = max(drivers, key=lambda d: drivers[d])
        f.append(f"{low.capitalize()} is furthest behind at {_n(drivers[low])}; "
                 f"{high} leads at {_n(drivers[high])}.")
    gap = r.get("staff_vs_customer_gap")
    if isinstance(gap, (int, float)):
        more = "more" if gap > 0 else "less"
        f.append(f"Staff rate the company {_n(abs(gap))} stages {more} customer-centric than "
                 f"its customers do{_ci(r.get('staff_vs_customer_gap_ci'))}.")
    mis = r.get("misaligned_capabilities") or []
    if mis:
        f.append(f"{len(mis)} capabilities are misaligned (the groups see them differently): "
                 f"{', '.join(cap(m) for m in mis)}. Agree on them before investing.")
    road = t.get("roadmap")
    actions = []
    if road is not None and len(road):
        first = road.iloc[0]
        f.append(f"First on the roadmap: {cap(first['capability'])}, "
                 f"{_n(first['gap'])} stages below its target.")
        for _, row in road.head(MAX_ACTIONS).iterrows():
            why = f"{_n(row['gap'])} stages below target"
            if bool(row.get("misaligned")):
                why += "; groups disagree on it"
            name = cap(row["capability"])
            actions.append(Action(int(row["rank"]), f"{name[:1].upper()}{name[1:]}: "
                                                    f"{row['action']}", why))
    return f, actions


def _clv(r: Mapping, t: Mapping[str, pd.DataFrame], cur: str | None):
    f: list[str] = []
    actions: list[Action] = []
    level = r.get("clv_interval_level") or 0.9
    if r.get("clv_total") is not None:
        f.append(f"The {_n(r.get('n_customers'), 'count')} customers are worth "
                 f"{_n(r['clv_total'], 'money', cur)} in discounted margin over the next "
                 f"{r.get('horizon_months')} months{_ci(r.get('clv_total_ci'), 'money', cur, level)}.")
    if r.get("top_decile_share") is not None:
        f.append(f"Value is concentrated: the top 10% of customers hold "
                 f"{_n(r['top_decile_share'], 'share')} of it, the top 20% "
                 f"{_n(r.get('top_20_share'), 'share')}.")
    hold = r.get("holdout") or {}
    if hold.get("actual_total"):
        err = (hold["predicted_total"] - hold["actual_total"]) / hold["actual_total"]
        f.append(f"{r.get('model_label', 'The model')} forecast {_n(hold['predicted_total'], 'count')} "
                 f"repeat purchases in the holdout period against {_n(hold['actual_total'], 'count')} "
                 f"actual ({_n(abs(err), 'share')} off); extending each customer's past rate "
                 f"would have said {_n(hold.get('naive_total'), 'count')}.")
    slipping = t.get("valuable_but_slipping")
    n_slip = r.get("n_slipping", None if slipping is None else len(slipping))
    if n_slip:
        f.append(f"{_n(n_slip, 'count')} valuable customers are slipping away (top 20% by past "
                 "spend, probability of still being active below 50%).")
        actions.append(Action(1, f"Win back the {_n(n_slip, 'count')} valuable customers "
                                 "slipping away", "their probability of being active is below 50%"))
    if r.get("top_decile_share") is not None:
        actions.append(Action(len(actions) + 1, "Protect the top 10% of customers",
                              f"they hold {_n(r['top_decile_share'], 'share')} of future value"))
    return f, actions


def _satisfaction(r: Mapping, t: Mapping[str, pd.DataFrame], cur: str | None):
    f: list[str] = []
    actions: list[Action] = []
    level = 1 - float(r.get("significance") or 0.05)
    overall = r.get("overall_gap") or {}
    if overall.get("gap") is not None:
        word = "falls short of" if overall["gap"] < 0 else "exceeds"
        f.append(f"Overall the service {word} expectations by {_n(abs(overall['gap']))} scale "
                 f"points{_ci([overall.get('ci_low'), overall.get('ci_high')], level=level)}.")
    dims = r.get("gaps_by_dimension") or {}
    if dims:
        worst = min(dims, key=lambda d: dims[d].get("gap", 0))
        f.append(f"The largest shortfall is in {worst}: {_n(dims[worst]['gap'])} scale points.")
    items = t.get("item_gaps")
    if items is not None and "significant" in items:
        short = items[(items["significant"].astype(bool)) & (items["gap"] < 0)]
        f.append(f"{len(short)} of {len(items)} items fall significantly short of expectations.")
    pri = r.get("priorities") or []
    if pri and isinstance(pri[0], Mapping):
        first = pri[0]
        f.append(f"Fix first: \u201c{first.get('label')}\u201d ({first.get('dimension')}), "
                 f"gap {_n(first.get('gap'))} scale points.")
        for p in pri[:MAX_ACTIONS]:
            actions.append(Action(int(p.get("rank") or len(actions) + 1), str(p.get("label")),
                                  f"gap {_n(p.get('gap'))} scale points ({p.get('dimension')}, "
                                  f"{p.get('tier')})"))
    index = next((h for h in r.get("headline", []) if h.get("label") == "Satisfaction index"),
                 None)
    if index:
        f.append(f"The satisfaction index stands at {_n(index['value'])} of 100"
                 f"{_ci(index.get('ci'), level=index.get('ci_level') or level)}.")
    return f, actions


def _roi(r: Mapping, t: Mapping[str, pd.DataFrame], cur: str | None):
    """The programme's figures and each phase's, labelled so that they cannot be taken for
    each other: the programme is every phase together, each over its first 24 months; a
    phase's ROI is that phase alone over its own first 24 months; each says whether it is
    risk-adjusted (the median of the simulation) or not."""
    f: list[str] = []
    actions: list[Action] = []
    cur = r.get("currency") or cur
    prog = r.get("programme") or {}
    phases = r.get("phases") or []
    whole = {1: "one phase", 2: "both phases"}.get(len(phases), f"all {len(phases)} phases")
    prog_roi = prog.get("roi_24_risk_adjusted")
    if prog.get("npv_24_risk_adjusted") is not None:
        p10, p90 = prog.get("npv_24_p10_p90", [None, None])
        f.append(f"Programme ({whole}, 24 months each), risk-adjusted: NPV "
                 f"{_n(prog['npv_24_risk_adjusted'], 'money', cur)} (P10 to P90 "
                 f"{D.interval(p10, p90, 'money', cur)}), programme ROI "
                 f"{_n(prog_roi, 'share')}; chance it pays back "
                 f"{_n(prog.get('p_npv_positive'), 'share')}.")
    order = {"continue": 0, "adjust": 1, "stop": 2}
    for p in sorted(phases, key=lambda p: order.get(str(p.get("gate")), 3)):
        roi = (p.get("roi_risk_adjusted") or {}).get("24")
        spread = (p.get("roi_p10_p90") or {}).get("24") or [None, None]
        gate = str(p.get("gate", "")).upper()
        lead = f"Phase \u201c{p.get('name')}\u201d alone: {gate}; own 24-month ROI"
        if roi is None:  # the risk simulation is optional: the point ROI stands
            f.append(f"{lead} {_n((p.get('roi') or {}).get('24'), 'share')}, not risk-adjusted.")
        else:
            f.append(f"{lead} {_n(roi, 'share')}, risk-adjusted (P10 to P90 "
                     f"{D.interval(spread[0], spread[1], 'share')}).")
        actions.append(Action(len(actions) + 1, f"{gate.capitalize()}: {p.get('name')}",
                              "; ".join(p.get("gate_reasons") or [])))
    return f, actions


BUILDERS: dict[str, Callable] = {"01_crm_assessment": _assessment, "02_clv_modelling": _clv,
                                 "03_satisfaction_gaps": _satisfaction, "04_phase_roi": _roi}


def complete(stem: str, results: Mapping[str, Any],
             tables: Mapping[str, pd.DataFrame] | None = None, currency: str | None = None,
             key_chart: str = "key_chart.png") -> dict[str, Any]:
    """``results`` with the typed story parts added (``findings``, ``actions``, ``title``,
    ``currency``, ``key_chart``); every other key unchanged."""
    out = dict(results)
    currency = out.get("currency") or currency
    findings, actions = BUILDERS[stem](out, dict(tables or {}), currency)
    out.update(findings=findings[:MAX_FINDINGS], actions=[a.to_dict() for a in actions],
               title=TITLES[stem], key_chart=key_chart)
    if currency:
        out["currency"] = currency
    return out


# -- the summary block ----------------------------------------------------------------------

def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img class="crm-key-chart" alt="key chart" src="data:image/png;base64,{data}">'


def _card(h: Headline, currency: str | None) -> str:
    number, unit = h.parts(currency)
    unit = f'<span class="crm-figure-unit">{html.escape(unit)}</span>' if unit else ""
    return (f'<div class="crm-figure"><div class="crm-figure-value">{html.escape(number)}'
            f"</div>{unit}<div class=\"crm-figure-label\">{html.escape(h.label)}</div>"
            f'<div class="crm-figure-ci">{html.escape(h.ci_text(currency))}</div></div>')


class Summary:
    """The one-screen opening of a report: headline figures, findings, the key chart."""

    def __init__(self, results: Results, chart: Path | None = None):
        self.results, self.chart = results, chart

    def _repr_html_(self) -> str:
        r, cur = self.results, self.results.currency
        cards = "".join(_card(h, cur) for h in r.headline[:4])
        findings = "".join(f"<li>{html.escape(s)}</li>" for s in r.findings)
        chart = _image(self.chart) if self.chart and self.chart.is_file() else ""
        return (f'<section class="crm-summary"><h2>Summary</h2>'
                f'<div class="crm-figures">{cards}</div>'
                f'<h3>What we found</h3><ol class="crm-findings">{findings}</ol>{chart}'
                "</section>")


def summary(results: Mapping[str, Any] | Results, output_dir: str | Path | None = None) -> Summary:
    """The summary block of a report (tag its cell ``summary``: it is shown first)."""
    typed = results if isinstance(results, Results) else Results.from_json(to_jsonable(results))
    chart = Path(output_dir) / (typed.key_chart or "key_chart.png") if output_dir else None
    return Summary(typed, chart)


class ChartGrid:
    """Key charts side by side, two to a row, each with its analysis' name.

    The images are read when the grid is made, so that a chart that cannot be read fails
    there (where :func:`crmlib.sections.optional` turns it into a note) and not later
    while the notebook displays it."""

    def __init__(self, charts: list[tuple[str, Path]]):
        self.charts = charts
        cells = "".join(
            f'<figure class="crm-grid-chart"><figcaption>{html.escape(name)}</figcaption>'
            f'{_image(Path(path))}</figure>' for name, path in charts)
        self.html = f'<div class="crm-chart-grid">{cells}</div>'

    def _repr_html_(self) -> str:
        return self.html


def findings_markdown(items: list[tuple[str, str]]) -> str:
    """Findings as a Markdown list, each led by its analysis' name in bold."""
    return "\n".join(f"- **{name}.** {text}" for name, text in items) or "No findings."
