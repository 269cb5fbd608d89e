"""``crm validate``: check a configuration and load every input without running notebooks.

Each notebook's parameters are checked exactly as ``crm report`` does, then
every input file a notebook will read is loaded through its :mod:`crmlib.io`
loader, so contract violations (missing column, unparsable date, text in a
number column…) show up with file, column, row and value. Checks that need
the analysis itself (ratings on the declared scale, KPIs named in the phase
plan…) still happen when the notebook runs.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..io.errors import DataError, ParameterError
from ..io.database import is_database, parse
from ..io.mapping import for_input
from ..io.quality import DataQualityReport
from .config import ClientConfig, select
from .params import NotebookError
from .plan import Job, plan_job

# input parameter name → loader "module:function" (column mappings: crmlib.io.mapping)
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


@dataclass
class NotebookCheck:
    """Outcome of checking one notebook: the inputs loaded and the problems found."""

    stem: str
    loaded: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _loader(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _describe(obj: Any) -> str:
    if hasattr(obj, "shape"):
        return f"{obj.shape[0]:,} rows × {obj.shape[1]} columns"
    if hasattr(obj, "phases"):
        return f"{len(obj.phases)} phase(s)"
    return "read" if not isinstance(obj, dict) else f"{len(obj)} top-level keys"


def load_inputs(job: Job, check: NotebookCheck) -> None:
    """Load each input of ``job`` (files and database tables or queries) with its loader;
    record what was read or what failed."""
    databases = {n: v for n, v in job.parameters.items() if n in LOADERS and is_database(v)}
    for name, path in {**job.inputs, **databases}.items():
        generic = ("crmlib.io.loaders:load_yaml" if str(path).lower().endswith((".yaml", ".yml"))
                   else "crmlib.io.readers:read_table")
        ref = LOADERS.get(name, generic)
        kwargs: dict[str, Any] = {}
        try:
            mapping = for_input(job.parameters, name)
        except DataError as exc:
            check.problems.append(f"{job.stem}: {exc}")
            continue
        if mapping:
            kwargs["mapping"] = mapping
        for param, other in CATALOGUES.get(name, {}).items():
            if job.parameters.get(other) is not None:
                kwargs[param] = job.parameters[other]
        if ref.startswith("crmlib.io.loaders:load_") and ref != "crmlib.io.loaders:load_yaml":
            kwargs["quality"] = DataQualityReport()
        try:
            where = parse(path) if name in databases else path
            check.loaded[name] = f"{where}: {_describe(_loader(ref)(path, **kwargs))}"
        except (DataError, ParameterError) as exc:
            check.problems.append(f"{job.stem}: {exc}")


def validate_config(config: ClientConfig, only: list[str] | None = None,
                    as_of: str | None = None) -> list[NotebookCheck]:
    """Check every selected notebook of ``config`` and load its inputs.

    Unlike ``crm report`` this does not stop at the first problem: each
    notebook's first parameter problem and every input that breaks its
    contract are listed.
    """
    placeholder = Path(config.path or ".").parent / ".crm-validate"
    checks = []
    for stem in select(config, only):
        check = NotebookCheck(stem)
        try:
            job = plan_job(config, stem, placeholder, as_of)
        except (DataError, ParameterError, NotebookError) as exc:
            check.problems.append(str(exc))
        else:
            load_inputs(job, check)
        checks.append(check)
    return checks
