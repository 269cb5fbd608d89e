"""A papermill engine that writes the executed notebook less often.

Papermill's ``nbclient`` engine writes the whole output notebook (every chart so far as
base64) when each cell starts and again when it completes: a report notebook of 60
cells and a megabyte of charts is serialised over a hundred times, in the worker that
should be rendering or starting the next notebook. This engine writes it when the run
starts, on papermill's autosave clock (``autosave_cell_every`` seconds, also while one
long cell runs) and at the end, also after an error, a timeout or a dead kernel
(papermill's ``notebook_complete`` runs in a ``finally``). The notebook written is the
same; only the intermediate copies are fewer.

A notebook started before the notebooks whose results it reads have finished (the
runner does so when a worker would otherwise idle) is given a *gate*, a folder: its
kernel starts and imports the modules the notebook imports, then waits until the runner
writes ``go`` (every input is there) or ``stop`` (one is not: the notebook is not run,
:class:`GateClosed`) into that folder. No cell of the notebook runs before ``go``.
"""
from __future__ import annotations

import ast
import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

NAME = "crmlib"
AUTOSAVE_SECONDS = 10


class SparseSaveManager(NotebookExecutionManager):
    """Papermill's execution manager, saving on cell start/complete only when the
    autosave interval has passed."""

    _in_cell_step = False

    def cell_start(self, cell, cell_index=None, **kwargs):
        with self._cell_step():
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell, cell_index=None, **kwargs):
        with self._cell_step():
            super().cell_complete(cell, cell_index, **kwargs)

    @contextlib.contextmanager
    def _cell_step(self) -> Iterator[None]:
        self._in_cell_step = True
        try:
            yield
        finally:
            self._in_cell_step = False

    def save(self, **kwargs):
        if self._in_cell_step and not self._autosave_due():
            return None
        return super().save(**kwargs)

    def _autosave_due(self) -> bool:
        every = self.autosave_cell_every
        return every > 0 and (self.now() - self.last_save_time).total_seconds() >= every


class GateClosed(RuntimeError):
    """The runner closed the gate of a notebook started early: an input will not come."""


GATE_POLL_SECONDS = 0.05


def wait_at_gate(gate: Path) -> float:
    """Wait until ``gate`` holds ``go`` and return the seconds waited; raise
    :class:`GateClosed` with the reason written in ``stop`` if that comes instead."""
    started = time.monotonic()
    while not (gate / "go").exists():
        stop = gate / "stop"
        if stop.exists():
            raise GateClosed(stop.read_text(encoding="utf-8"))
        time.sleep(GATE_POLL_SECONDS)
    return time.monotonic() - started


_IMPORT = re.compile(r"^(?:import|from)\s")


def import_lines(nb) -> list[str]:
    """The one-line ``import`` statements at the top level of the code cells of ``nb``
    (``from __future__`` left out), in order, without repeats."""
    lines: dict[str, None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            if not _IMPORT.match(line):
                continue
            try:
                node = ast.parse(line).body[0]
            except (SyntaxError, IndexError):
                continue
            if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                lines[line] = None
    return list(lines)


def imported_modules(nb) -> list[str]:
    """The modules :func:`import_lines` import (for ``from a import b``: ``a`` and ``a.b``,
    which may be a module), in order, without repeats."""
    names: dict[str, None] = {}
    for line in import_lines(nb):
        node = ast.parse(line).body[0]
        if isinstance(node, ast.Import):
            names.update((a.name, None) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names[node.module] = None
            names.update((f"{node.module}.{a.name}", None) for a in node.names)
    return list(names)


def warm_up_code(modules: list[str]) -> str:
    """Code that imports ``modules`` in the kernel, ignoring failures (the notebook's own
    import then raises), and leaves no name behind in the notebook's namespace."""
    return ("def _crm_warm_up(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n"
            f"_crm_warm_up({modules!r})\n"
            "del _crm_warm_up\n")


class GatedClient(PapermillNotebookClient):
    """Papermill's client; with a ``gate``, the kernel imports the notebook's modules and
    waits at the gate (:func:`wait_at_gate`) before the first cell runs."""

    def __init__(self, nb_man, gate: str | None = None, **kw):
        super().__init__(nb_man, **kw)
        self.gate = Path(gate) if gate else None

    def papermill_execute_cells(self):
        if self.gate is not None:
            code = warm_up_code(imported_modules(self.nb))
            self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
            waited = wait_at_gate(self.gate)
            self.nb.metadata.setdefault("crmlib", {})["waited_for_inputs"] = round(waited, 2)
        super().papermill_execute_cells()


class SparseSaveEngine(NBClientEngine):
    """:class:`papermill.engines.NBClientEngine` with :class:`SparseSaveManager` and, for
    a notebook started early, a gate (:class:`GatedClient`)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                 stdout_file=None, stderr_file=None, start_timeout=60,
                                 execution_timeout=None, gate=None, **kwargs):
        # as NBClientEngine's, with GatedClient for papermill's client
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs, timeout=execution_timeout or kwargs.get("timeout"),
            startup_timeout=start_timeout, kernel_name=kernel_name,
            log=logger,
            log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
        return GatedClient(nb_man, gate=gate, **final_kwargs).execute()

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                         log_output=False, autosave_cell_every=AUTOSAVE_SECONDS, **kwargs):
        nb_man = SparseSaveManager(nb, output_path=output_path, progress_bar=progress_bar,
                                   log_output=log_output,
                                   autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def register() -> str:
    """Register the engine with papermill (idempotent) and return its name."""
    papermill_engines.register(NAME, SparseSaveEngine)
    return NAME
