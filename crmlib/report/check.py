"""``crm validate``: the run's input check, all of it, without running notebooks.

Each notebook's parameters are checked exactly as ``crm report`` does; then the
notebook's *input stage* runs in-process: the same loaders, contracts and
cross-file checks the notebook calls before its analysis (ratings on the
declared scale, items in the catalogue, KPIs named in the phase plan, the CLV
window…), on the same engine. A notebook's inputs that only exist once the run
is under way (``from:`` results of another notebook) are checked when it runs.

Every problem is listed, not only the first: the contracts check every column
of a file before they stop (:func:`crmlib.io.contracts.collect_problems`),
each notebook is checked, and the folders, templates left unchanged and
missing files are named. :func:`report_lines` groups the problems by kind and
caps each kind.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths
from ..io import contracts as C
from ..io.database import is_database, parse, read_database
from ..io.errors import DataError, ParameterError
from ..io.loaders import load_assessment, load_transactions
from ..io.mapping import for_input
from ..io.options import declared
from ..io.quality import DataQualityReport
from ..params import InputFile, validate
from .config import ClientConfig, select
from .params import NO_DEFAULT, NotebookError, read_notebook
from .plan import Job, plan_job
from .scaffold import FILES, PLAN_TEMPLATE, template_csv

# input parameter name → loader "module:function" (column mappings: crmlib.io.mapping),
# for notebooks without an input stage of their own (see STAGES)
LOADERS: dict[str, str] = {
    "responses": "crmlib.io.loaders:load_assessment",
    "capabilities": "crmlib.io.loaders:load_capabilities",
    "transactions": "crmlib.io.loaders:load_transactions",
    "subscriptions": "crmlib.io.loaders:load_subscriptions",
    "survey": "crmlib.io.loaders:load_survey",
    "items": "crmlib.io.loaders:load_items",
    "kpis": "crmlib.io.loaders:load_kpi_panel",
    "plan": "crmlib.roi.plan:load_plan",
}
# catalogues a survey-tool export is matched against: loader argument → parameter
CATALOGUES = {"survey": {"items": "items"}, "responses": {"capabilities": "capabilities"}}
MAX_PER_KIND = 5
MAX_LINE = 400


@dataclass
class NotebookCheck:
    """Outcome of checking one notebook: inputs read, problems found, inputs left for the run."""

    stem: str
    loaded: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, exc: Exception) -> None:
        text = " ".join(str(exc).split())                     # one line, whatever it holds
        text = text if text.startswith(self.stem) else f"{self.stem}: {text}"
        if text not in self.problems:
            self.problems.append(text)
            self.kinds.append(getattr(exc, "message", None) or str(exc).split(": ")[-1])


def _describe(obj: Any) -> str:
    if hasattr(obj, "shape"):
        return f"{obj.shape[0]:,} rows × {obj.shape[1]} columns"
    if hasattr(obj, "phases"):
        return f"{len(obj.phases)} phase(s)"
    return "read" if not isinstance(obj, dict) else f"{len(obj)} top-level keys"


# ---------------------------------------------------------------- notebooks' input stages
# Each stage imports its analysis when it runs: report/ is never built on an analysis.
def _assessment(P: Mapping[str, Any]) -> dict[str, str]:
    from ..assessment.catalogue import load_catalogue
    from ..assessment.scoring import prepare_responses
    q = DataQualityReport()
    responses = load_assessment(P["responses"], mapping=for_input(P, "responses"), quality=q,
                                capabilities=P["capabilities"])
    catalogue = load_catalogue(P["capabilities"], quality=q,
                               mapping=for_input(P, "capabilities"))
    prepare_responses(responses, catalogue, customer_group=P["customer_group"],
                      target_stage=P["target_stage"], quality=q)
    return {"responses": f"{P['responses']}: {_describe(responses)}",
            "capabilities": f"{P['capabilities'] or 'built-in catalogue'}: "
                            f"{len(catalogue)} capabilities"}


def _clv(P: Mapping[str, Any]) -> dict[str, str]:
    from ..clv import inputs as clv_inputs
    from ..clv.summary import summarise
    obs, cal = P["observation_end"], P["calibration_end"]
    if obs is not None and cal is not None and str(cal) > str(obs):
        raise ParameterError("calibration_end", f"{cal} is after observation_end {obs}: the "
                             "calibration period must end on or before the observation end")
    source = P["transactions"]
    mapping = for_input(P, "transactions")
    if is_database(source):
        if P["engine"] not in ("auto", "pandas"):
            raise DataError(f"a database input is read with engine 'pandas' or 'auto', not "
                            f"{P['engine']!r}", file=str(source))
        source = read_database(source)
    engine = clv_inputs.engine_for(source if isinstance(source, pd.DataFrame) else str(source),
                                   P["engine"])
    if engine == "spark" and not (isinstance(source, pd.DataFrame) or Path(str(source)).is_file()):
        return {"transactions": f"{source}: read by Spark when the notebook runs"}
    q = DataQualityReport()
    try:
        summary = summarise(source, engine="duckdb" if engine == "spark" else engine,
                               quality=q, mapping=mapping, time_unit=P["time_unit"],
                               observation_end=obs, calibration_end=cal,
                               zero_amounts=P["zero_amounts"], duplicates=P["duplicates"],
                               transaction_col=P["transaction_col"],
                               covariates=clv_inputs.covariate_columns(source, mapping))
    except DataError:
        if engine != "pandas":   # the file engines stop at the first bad column: list them all
            try:
                load_transactions(source, mapping=mapping)
            except DataError:
                pass
        raise
    where = parse(P["transactions"]) if is_database(P["transactions"]) else source
    out = {"transactions": f"{where}: {q.read.get('transactions', 0):,} rows, "
                           f"{len(summary.customers):,} customers"}
    if P["subscriptions"] is not None:
        durations = clv_inputs.load_subscription_durations(P["subscriptions"],
                                                           summary.observation_end, q,
                                                           for_input(P, "subscriptions"))
        out["subscriptions"] = f"{P['subscriptions']}: {len(durations):,} subscribers"
    return out


def _satisfaction(P: Mapping[str, Any]) -> dict[str, str]:
    from ..satisfaction.inputs import load_inputs
    survey, clv, _ = load_inputs(P)
    out = {"survey": f"{P['survey']}: {survey.n_respondents:,} respondents, "
                     f"{len(survey.items)} items"}
    if clv is not None:
        out["clv_table"] = f"{P['clv_table']}: {len(clv):,} customers"
    return out


def _roi(P: Mapping[str, Any]) -> dict[str, str]:
    from ..roi.inputs import load_inputs
    plan, monthly, _ = load_inputs(P)
    return {"plan": f"{P['plan']}: {len(plan.phases)} phase(s)",
            "kpis": f"{P['kpis']}: {len(monthly):,} monthly values"}


# the notebook metadata crmlib.spec → the input stage the notebook runs before its analysis
STAGES: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "crmlib.assessment.params:SPEC": _assessment,
    "crmlib.clv.params:SPEC": _clv,
    "crmlib.satisfaction.params:SPEC": _satisfaction,
    "crmlib.roi.params:SPEC": _roi,
}


# ----------------------------------------------------------------------- file checks
def template_of(path: Path) -> str | None:
    """The template ``crm new-client`` wrote that ``path`` still is, else None."""
    try:
        text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text == PLAN_TEMPLATE.strip():
        return "phase plan"
    for contract in FILES.values():
        if text == template_csv(contract).strip():
            return contract.name
    return None


def _file_problems(job: Job, spec: Mapping[str, Any], check: NotebookCheck) -> None:
    """Folders given as files, files missing, inputs still the new-client template."""
    for name, value in job.parameters.items():
        if name in ("output_dir", "results_dir") or name in job.upstream_files:
            continue
        if not (isinstance(spec.get(name), InputFile) and isinstance(value, str)):
            continue
        path = Path(value)
        if path.is_dir():
            parquet = any(path.glob("*.parquet")) or any(path.glob("**/*.parquet"))
            if name == "transactions" and parquet and job.parameters.get("engine") in (
                    None, "auto", "spark"):
                check.deferred.append(f"{name}: {path}: Parquet folder read by Spark")
                continue
            check.add(DataError(f"parameter '{name}': a folder, not a file; name the input "
                                "file itself", file=path))
    for name, path in job.inputs.items():
        kind = template_of(path)
        if kind:
            check.add(DataError(f"parameter '{name}': still the one-row {kind} template "
                                "written by crm new-client; put the client's data here or "
                                "remove the input from the configuration", file=path))


def _parameters(job: Job, spec: Mapping[str, Any], check: NotebookCheck) -> dict[str, Any]:
    """The notebook's validated parameters ``P``, as its validation cell computes them."""
    values = {n: p.default for n, p in job.declared.items() if p.default is not NO_DEFAULT}
    values.update(job.parameters)
    for name in job.upstream_files:           # results of another notebook: not there yet
        written = job.upstream_files[name]
        check.deferred.append(f"{name}: {written.parent.name}/{written.name} (written by the run)")
        values[name] = None
    return validate(spec, values)


def _generic(job: Job, check: NotebookCheck) -> None:
    """Notebooks without an input stage: each input through its loader, by parameter name."""
    databases = {n: v for n, v in job.parameters.items() if n in LOADERS and is_database(v)}
    for name, path in {**job.inputs, **databases}.items():
        generic = ("crmlib.io.loaders:load_yaml" if str(path).lower().endswith((".yaml", ".yml"))
                   else "crmlib.io.readers:read_table")
        ref = LOADERS.get(name, generic)
        module, _, attr = ref.partition(":")
        kwargs: dict[str, Any] = {}
        try:
            mapping = for_input(job.parameters, name)
        except DataError as exc:
            check.add(exc)
            continue
        if mapping:
            kwargs["mapping"] = mapping
        for param, other in CATALOGUES.get(name, {}).items():
            if job.parameters.get(other) is not None:
                kwargs[param] = job.parameters[other]
        if ref.startswith("crmlib.io.loaders:load_") and ref != "crmlib.io.loaders:load_yaml":
            kwargs["quality"] = DataQualityReport()
        loader = getattr(importlib.import_module(module), attr)
        where = parse(path) if name in databases else path
        # the stage runs within this iteration, so it sees this iteration's values
        _run(check, lambda: {name: f"{where}: {_describe(loader(path, **kwargs))}"})  # noqa: B023


def _run(check: NotebookCheck, stage: Callable[[], dict[str, str]]) -> None:
    with C.collect_problems() as found:
        try:
            check.loaded.update(stage())
        except (DataError, ParameterError) as exc:
            problems: list[DataError | ParameterError] = list(found) or [exc]
            for problem in problems:
                check.add(problem)
            if exc not in found:
                check.add(exc)


def check_notebook(config: ClientConfig, stem: str, placeholder: Path,
                   as_of: str | None = None) -> NotebookCheck:
    """Parameters, files and the input stage of one notebook."""
    check = NotebookCheck(stem)
    try:
        job = plan_job(config, stem, placeholder, as_of)
    except (DataError, ParameterError, NotebookError) as exc:
        check.add(exc)
        return check
    ref = read_notebook(job.notebook).metadata.get("crmlib", {}).get("spec")
    spec = importlib.import_module(ref.partition(":")[0]).__dict__[
        ref.partition(":")[2] or "SPEC"] if ref else {}
    _file_problems(job, spec, check)
    if check.problems:
        return check
    stage = STAGES.get(ref or "")
    if stage is None:
        _generic(job, check)
        return check
    try:
        P = _parameters(job, spec, check)
    except ParameterError as exc:
        check.add(exc)
        return check
    _run(check, lambda: stage(P))
    return check


def validate_config(config: ClientConfig, only: list[str] | None = None,
                    as_of: str | None = None) -> list[NotebookCheck]:
    """Check every selected notebook of ``config``: parameters, files, input stage.

    Unlike ``crm report`` this does not stop at the first problem: every notebook is
    checked and every problem found is listed.
    """
    placeholder = Path(config.path or ".").parent / ".crm-validate"
    with declared(config.raw.get("inputs"), config.path, paths.ROOT):
        return [check_notebook(config, stem, placeholder, as_of)
                for stem in select(config, only)]


def report_lines(checks: list[NotebookCheck]) -> tuple[list[str], list[str]]:
    """(stdout lines, stderr lines): each notebook with its own inputs; problems grouped by
    kind, at most :data:`MAX_PER_KIND` of a kind, each cut to :data:`MAX_LINE` characters."""
    out = []
    for c in checks:
        head = "ok   " if c.ok else "ERROR"
        what = (f"parameters valid, {len(c.loaded)} input(s) valid" if c.ok
                else f"{len(c.problems)} problem(s)")
        out.append(f"{head} {c.stem}: {what}")
        out += [f"      {text}" for text in c.loaded.values()]
        out += [f"      checked when the notebook runs: {text}" for text in c.deferred]
    err: list[str] = []
    shown: dict[str, int] = {}
    for c in checks:
        for text, kind in zip(c.problems, c.kinds):
            shown[kind] = shown.get(kind, 0) + 1
            if shown[kind] <= MAX_PER_KIND:
                err.append(text if len(text) <= MAX_LINE else text[:MAX_LINE - 1] + "…")
    for kind, n in shown.items():
        if n > MAX_PER_KIND:
            more = f"… and {n - MAX_PER_KIND} more problem(s) of this kind: {kind}"
            err.append(more[:MAX_LINE])
    return out, err
