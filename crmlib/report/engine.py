"""A papermill engine that writes the executed notebook less often.

Papermill's ``nbclient`` engine writes the whole output notebook (every chart so far as
base64) when each cell starts and again when it completes: a report notebook of 60
cells and a megabyte of charts is serialised over a hundred times, in the worker that
should be rendering or starting the next notebook. This engine writes it when the run
starts, on papermill's autosave clock (``autosave_cell_every`` seconds, also while one
long cell runs) and at the end, also after an error, a timeout or a dead kernel
(papermill's ``notebook_complete`` runs in a ``finally``). The notebook written is the
same; only the intermediate copies are fewer.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

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


class SparseSaveEngine(NBClientEngine):
    """:class:`papermill.engines.NBClientEngine` with :class:`SparseSaveManager`."""

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
