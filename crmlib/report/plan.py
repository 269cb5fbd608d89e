"""Turn a client configuration into checked jobs, before any kernel starts.

Each :class:`Job` holds the exact parameters a notebook will receive (paths
made absolute, ``output_dir`` and ``results_dir`` pointing into the run
folder, ``from:`` references replaced by the producing notebook's result
file), the notebooks it waits for, and the input files it reads (hashed into
``run.json``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..io.errors import DataError, shorten
from ..params import Date, InputFile, OutputDir
from .config import RUNNER_SET, ClientConfig, parse_from, select
from .history import previous_run
from .params import (
    NotebookError,
    NotebookParameter,
    NotebookParameterError,
    check_parameters,
    notebook_spec,
    read_parameters,
)


@dataclass
class Job:
    """One notebook to execute in a run.

    Attributes
    ----------
    stem : notebook name without ``.ipynb``.
    notebook : the source notebook.
    parameters : values injected by papermill.
    declared : the notebook's ``parameters`` cell.
    needs : notebooks that must have finished before this one starts.
    requires : notebooks that must have *succeeded* (their results are inputs).
    inputs : parameter name → input file read by the notebook.
    upstream_files : parameter name → result file of another notebook (``from:``).
    """

    stem: str
    notebook: Path
    parameters: dict[str, Any]
    declared: dict[str, NotebookParameter]
    needs: set[str] = field(default_factory=set)
    requires: set[str] = field(default_factory=set)
    inputs: dict[str, Path] = field(default_factory=dict)
    upstream_files: dict[str, Path] = field(default_factory=dict)

    @property
    def collects(self) -> bool:
        """True for a summary notebook that reads every other notebook's results."""
        return "results_dir" in self.declared


def _anchor(value: Any, rule: Any) -> Any:
    """Make a relative path absolute (against the project root) when it is one."""
    if not isinstance(value, str) or not value.strip():
        return value
    if isinstance(rule, (InputFile, OutputDir)):
        return str(paths.resolve(value))
    looks_like_path = "/" in value or "\\" in value or bool(Path(value).suffix)
    if looks_like_path and paths.resolve(value).exists():
        return str(paths.resolve(value))
    return value


def _is_demo(value: Any) -> bool:
    """True for a path inside the bundled demo data (``data/demo``)."""
    if not isinstance(value, str) or not value.strip() or parse_from(value):
        return False
    return paths.resolve(value).is_relative_to(paths.resolve(paths.DEMO))


def uses_demo_data(config: ClientConfig) -> bool:
    """True when the configuration itself points at the demo data (the demo client)."""
    return any(_is_demo(v) for params in config.notebooks.values() for v in params.values())


def _check_no_demo_defaults(config: ClientConfig, stem: str,
                            declared: dict[str, NotebookParameter], given: dict[str, Any]) -> None:
    """A real client's report must never fall back on the demo data silently."""
    if uses_demo_data(config):
        return
    for name, p in declared.items():
        if name not in given and name not in RUNNER_SET and _is_demo(p.default):
            raise NotebookParameterError(
                stem, name, f"not set in {config.path.name if config.path else 'the configuration'}"
                f" and its default is the demo data ({p.default}); set it to the client's file, "
                "or to null if there is none")


def _data_dates(config: ClientConfig, spec: Mapping[str, Any],
                declared: dict[str, NotebookParameter],
                given: dict[str, Any]) -> dict[str, None]:
    """Date parameters a real client's configuration leaves unset: None, so the client's
    data decide (e.g. ``observation_end`` = the last date in the data), never the demo's
    default date."""
    if uses_demo_data(config):
        return {}
    return {name: None for name, rule in spec.items()
            if isinstance(rule, Date) and name in declared and name not in given
            and declared[name].default is not None}


def plan_job(config: ClientConfig, stem: str, run_dir: Path, as_of: str | None = None) -> Job:
    """Build and check the job for notebook ``stem`` (raises on the first problem).

    Raises
    ------
    DataError
        The notebook or a ``from:`` reference does not exist.
    NotebookParameterError
        A parameter is unknown, of the wrong type or rejected by the notebook's SPEC.
    NotebookError
        The notebook has no ``parameters`` cell, no ``output_dir``, or a broken spec.
    """
    nb = config.notebook_path(stem)
    if not nb.is_file():
        raise DataError(f"notebooks.{stem}: notebook not found: {nb}", file=config.path)
    declared = read_parameters(nb)
    if "output_dir" not in declared:
        raise NotebookError(f"{stem}: the parameters cell must declare output_dir")
    spec = notebook_spec(nb) or {}
    params: dict[str, Any] = {}
    deferred, requires = set(RUNNER_SET), set()
    upstream_files: dict[str, Path] = {}
    for name, value in config.notebooks[stem].items():
        ref = parse_from(value)
        if ref is None:
            params[name] = _anchor(value, spec.get(name))
            continue
        upstream, file = ref
        if upstream not in config.notebooks or upstream == stem:
            raise DataError(f"notebooks.{stem}.{name}: {shorten(value)} names no other notebook of "
                            f"the configuration", file=config.path)
        if Path(file).is_absolute() or ".." in Path(file).parts:
            raise DataError(f"notebooks.{stem}.{name}: {value!r} points outside the results "
                            f"of {upstream}; name a file inside them (e.g. from:{upstream}/"
                            f"customers.csv)", file=config.path)
        upstream_files[name] = run_dir / "results" / upstream / file
        params[name] = str(upstream_files[name])
        deferred.add(name)
        requires.add(upstream)
    params["output_dir"] = str(run_dir / "results" / stem)
    if "results_dir" in declared:
        params["results_dir"] = str(run_dir / "results")
    if "previous_run" in declared:
        before = previous_run(run_dir.parent, stem, run_dir.name.removesuffix(".partial"))
        params["previous_run"] = str(before) if before else ""
    params.update(_data_dates(config, spec, declared, params))
    as_of = as_of or (None if "as_of" in params and params["as_of"] else config.as_of)
    if as_of and "as_of" in declared:
        params["as_of"] = as_of
    if config.currency and "currency" in declared and "currency" not in params:
        params["currency"] = config.currency
    check_parameters(nb, params, deferred)
    _check_no_demo_defaults(config, stem, declared, params)
    inputs = {n: Path(v) for n, v in params.items()
              if n not in deferred and isinstance(v, str) and Path(v).is_absolute()
              and Path(v).is_file()}
    return Job(stem, nb, params, declared, requires=set(requires), inputs=inputs,
               upstream_files=upstream_files)


def build_plan(config: ClientConfig, run_dir: Path, only: list[str] | None = None,
               as_of: str | None = None) -> list[Job]:
    """Check every selected notebook and order them into jobs.

    Summary notebooks (those declaring ``results_dir``) wait for all others;
    a notebook using ``from:<other>`` waits for ``<other>`` to succeed.
    """
    jobs = [plan_job(config, stem, run_dir, as_of) for stem in select(config, only)]
    producers = {j.stem for j in jobs if not j.collects}
    for job in jobs:
        job.needs = set(job.requires) | (producers if job.collects else set())
    _check_acyclic(jobs, config)
    return jobs


def _check_acyclic(jobs: list[Job], config: ClientConfig) -> None:
    done: set[str] = set()
    todo = {j.stem: j for j in jobs}
    while todo:
        ready = [s for s, j in todo.items() if j.needs <= done]
        if not ready:
            raise DataError(f"notebooks {', '.join(sorted(todo))} take results from each other "
                            "in a cycle", file=config.path)
        for s in ready:
            done.add(s)
            del todo[s]


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
