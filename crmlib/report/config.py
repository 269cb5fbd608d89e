"""Client configuration files (``clients/<name>.yaml``) and the run plan built from them.

A configuration names the client and, for each notebook to run, its
parameters::

    client: Demo Retail
    notebooks:
      02_clv_modelling: {transactions: data/demo/transactions.csv}
      03_satisfaction_gaps: {survey: data/demo/survey.csv, clv_table: "from:02_clv_modelling"}
      05_executive_summary: {}

Relative paths resolve against the project root. ``"from:<notebook>[/<file>]"``
stands for a file another notebook of the same run writes into its results
folder (default file ``customers.csv``); that notebook runs first. The runner
sets ``output_dir`` itself; a notebook whose parameters cell declares
``results_dir`` runs after all others and receives the run's ``results/``
folder; one declaring ``as_of`` receives ``--as-of``; one declaring ``previous_run`` receives
the ``run.json`` of the client's previous completed run in which it succeeded ("" on the
first run, :mod:`crmlib.report.history`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..io.errors import DataError, shorten
from ..io.loaders import load_yaml
from ..io.options import declarations

FROM = "from:"
DEFAULT_FROM_FILE = "customers.csv"
RUNNER_SET = ("output_dir", "results_dir", "previous_run")
KEYS = {"client", "slug", "notebooks", "notebook_dir", "as_of", "cell_timeout", "currency",
        "inputs"}


@dataclass
class ClientConfig:
    """A parsed client configuration.

    Attributes
    ----------
    client : display name.
    slug : folder name under ``reports/`` (derived from ``client`` unless given).
    notebooks : notebook stem → parameters, in the file's order.
    notebook_dir : folder holding the notebooks (default ``notebooks/``).
    as_of : default ``as_of`` for notebooks that declare it (None: their own default).
    cell_timeout : seconds a single cell may run (None: no limit).
    currency : currency code for every notebook that declares ``currency`` (None: their own).
    path : the configuration file.
    raw : the file's content as read.
    """

    client: str
    slug: str
    notebooks: dict[str, dict[str, Any]]
    notebook_dir: Path
    as_of: str | None = None
    cell_timeout: float | None = None
    currency: str | None = None
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def notebook_path(self, stem: str) -> Path:
        """The ``.ipynb`` file of notebook ``stem``."""
        return self.notebook_dir / f"{stem}.ipynb"


def slugify(name: str) -> str:
    """Folder-safe slug that keeps the letters of every script.

    ``"Demo Retail GmbH & Co."`` → ``"demo-retail-gmbh-co"``, ``"Café Zürich"`` →
    ``"cafe-zurich"`` (accents dropped), ``"東京"`` → ``"東京"``,
    ``"Москва"`` → ``"москва"``:
    names that differ in a letter get different folders. A name without any letter or
    digit gets ``client-`` and a short hash of the name.
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text).casefold()
    slug = re.sub(r"[\W_]+", "-", text).strip("-")
    if slug:
        return slug
    return "client-" + hashlib.sha1(str(name).encode("utf-8")).hexdigest()[:8]


def _iso_date(value: Any, file: Path, key: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DataError(f"key '{key}': expected an ISO date yyyy-mm-dd, got {shorten(value)}",
                        file=file) from None


def _plain(value: Any) -> Any:
    """YAML dates become ISO strings so they can be injected into a notebook."""
    if isinstance(value, dt.date):
        return value.isoformat()[:10] if not isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_config(path: str | Path) -> ClientConfig:
    """Read and check a client configuration.

    Raises
    ------
    DataError
        Naming the file and key that is missing, unknown or malformed.
    """
    file = paths.resolve(path)
    raw = load_yaml(file)
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise DataError(f"unknown key '{unknown[0]}'; known keys are {sorted(KEYS)}", file=file)
    client = raw.get("client")
    if not isinstance(client, str) or not client.strip():
        raise DataError("key 'client': the client's display name is required", file=file)
    notebooks = raw.get("notebooks")
    if not isinstance(notebooks, dict) or not notebooks:
        raise DataError("key 'notebooks': expected a mapping of notebook name to parameters",
                        file=file)
    parsed: dict[str, dict[str, Any]] = {}
    for stem, params in notebooks.items():
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise DataError(f"notebooks.{stem}: expected a mapping of parameters, got "
                            f"{type(params).__name__}", file=file)
        for name in RUNNER_SET:
            if name in params:
                raise DataError(f"notebooks.{stem}.{name}: set by the runner; remove it",
                                file=file)
        parsed[str(stem)] = _plain(params)
    declarations(raw.get("inputs"), file, paths.ROOT)   # checked here, used by the run
    slug = slugify(raw.get("slug") or client)
    timeout = raw.get("cell_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or timeout <= 0):
        raise DataError(f"key 'cell_timeout': expected seconds > 0, got {shorten(timeout)}",
                        file=file)
    currency = raw.get("currency")
    if currency is not None and not (isinstance(currency, str)
                                     and re.fullmatch(r"[A-Z]{3}", currency)):
        raise DataError(f"key 'currency': expected a three-letter code such as EUR, got "
                        f"{shorten(currency)}", file=file)
    return ClientConfig(
        client=client.strip(), slug=slug, notebooks=parsed,
        notebook_dir=paths.resolve(raw.get("notebook_dir") or paths.NOTEBOOKS),
        as_of=_iso_date(raw["as_of"], file, "as_of") if raw.get("as_of") else None,
        cell_timeout=float(timeout) if timeout else None, currency=currency, path=file, raw=_plain(raw))


def parse_from(value: Any) -> tuple[str, str] | None:
    """``"from:02_clv_modelling/segments.csv"`` → ``("02_clv_modelling", "segments.csv")``."""
    if not isinstance(value, str) or not value.startswith(FROM):
        return None
    ref = value[len(FROM):].strip().strip("/")
    stem, _, file = ref.partition("/")
    return stem, file or DEFAULT_FROM_FILE


def select_notebooks(names: str | Iterable[str] | None, available: Sequence[str], *,
                     option: str = "", file: Any = None) -> list[str]:
    """The notebooks of ``available`` that ``names`` choose, in the order of ``available``.

    A name is a notebook's stem (``02_clv_modelling``) or its number, the part before the
    first underscore (``02``); a string is split at commas (``"02,03_satisfaction_gaps"``).
    None, or no names, chooses every notebook. An unknown name raises :class:`DataError`
    listing the choices (prefixed with ``option``, e.g. ``"--only"``; ``file`` says where
    the notebooks come from). This is the one selection rule of ``crm report``,
    ``crm validate``, ``crm params`` and ``crm workshop``.
    """
    if names is None:
        return list(available)
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names)]
    chosen: set[str] = set()
    for name in filter(None, wanted):
        hits = [s for s in available if name in (s, s.split("_", 1)[0])]
        if not hits:
            raise DataError(f"{option + ': ' if option else ''}no notebook '{name}'; choose "
                            f"from {', '.join(available)}", file=file)
        chosen.update(hits)
    return [s for s in available if s in chosen] if chosen else list(available)


def select(config: ClientConfig, only: Iterable[str] | None) -> list[str]:
    """Notebook stems to run: those ``only`` names (:func:`select_notebooks`) plus every
    notebook they take results from, in the configuration's order."""
    stems = list(config.notebooks)
    if not only:
        return stems
    chosen = set(select_notebooks(only, stems, option="--only", file=config.path))
    todo = list(chosen)
    while todo:
        for value in config.notebooks[todo.pop()].values():
            ref = parse_from(value)
            if ref and ref[0] in config.notebooks and ref[0] not in chosen:
                chosen.add(ref[0])
                todo.append(ref[0])
    return [s for s in stems if s in chosen]
