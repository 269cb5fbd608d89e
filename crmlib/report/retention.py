"""Completed runs are read-only; ``--keep N`` removes the oldest.

* :func:`freeze` makes a completed run folder read-only (files ``0444``,
  folders ``0555``) right after its ``.partial`` folder is renamed, so a report
  that was sent to a client cannot change afterwards by accident.
* :func:`prune` keeps the ``N`` newest complete runs of a client and removes
  the older ones, making each writable again just before deleting it. It never
  removes the run ``latest`` points at, the run just made, or a ``.partial``
  folder that may still be written (see :func:`in_progress`). Only folders
  whose name is a run id are ever touched.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path

RUN_ID = re.compile(r"^(\d{8}-\d{6})(?:-(\d+))?$")
FILE_MODE, DIR_MODE, WRITABLE_DIR = 0o444, 0o555, 0o755
STALE_PARTIAL_SECONDS = 24 * 3600
"""An interrupted ``.partial`` folder in which nothing changed for this long is stale."""


def run_sort_key(name: str) -> tuple[str, int]:
    """Chronological order of run ids (``…-2`` after ``…``, ``…-10`` after ``…-9``)."""
    m = RUN_ID.match(name)
    return (m.group(1), int(m.group(2) or 1)) if m else (name, 0)


def freeze(run_dir: Path) -> None:
    """Make ``run_dir`` and everything in it read-only (symlinks are left alone)."""
    for folder, dirs, files in os.walk(run_dir, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, FILE_MODE)
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, DIR_MODE)
    os.chmod(run_dir, DIR_MODE)


def thaw(run_dir: Path) -> None:
    """Make the folders of a frozen run writable again (so its files can be deleted)."""
    os.chmod(run_dir, WRITABLE_DIR)
    for folder, dirs, _ in os.walk(run_dir):
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, WRITABLE_DIR)


def is_frozen(run_dir: Path) -> bool:
    """True when no file or folder of ``run_dir`` has a write permission bit set."""
    mask = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    paths = [run_dir, *run_dir.rglob("*")]
    return all(not (p.lstat().st_mode & mask) for p in paths if not p.is_symlink())


def complete_runs(client_dir: Path) -> list[Path]:
    """The client's complete run folders (a run id as name and a ``run.json``), oldest first."""
    runs = [p for p in client_dir.iterdir() if RUN_ID.match(p.name) and p.is_dir()
            and not p.is_symlink() and (p / "run.json").is_file()]
    return sorted(runs, key=lambda p: run_sort_key(p.name))


def _newest_change(folder: Path) -> float:
    newest = folder.lstat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.lstat().st_mtime)
        except OSError:  # removed while we looked: it is being written
            return time.time()
    return newest


def in_progress(partial: Path, now: float | None = None) -> bool:
    """True when a ``.partial`` folder may still be written.

    :func:`prune` runs while this client's lock is held, so no other ``crm`` run
    of the client can be writing; a notebook process left behind by a killed run
    still could, so a ``.partial`` folder counts as in progress until nothing in
    it has changed for :data:`STALE_PARTIAL_SECONDS`.
    """
    now = time.time() if now is None else now
    return now - _newest_change(partial) < STALE_PARTIAL_SECONDS


def _remove(folder: Path) -> None:
    thaw(folder)
    shutil.rmtree(folder)


def prune(client_dir: Path, keep: int, protect: set[str] | frozenset[str] = frozenset(),
          now: float | None = None) -> list[str]:
    """Remove all but the ``keep`` newest complete runs, and stale ``.partial`` folders.

    Parameters
    ----------
    client_dir : ``reports/<client-slug>``.
    keep : number of complete runs to keep (≥ 1), counted newest first; failed runs count.
    protect : run ids never removed (the run ``latest`` points at, the run just made).
    now : the current time (epoch seconds), for tests.

    Returns
    -------
    The names of the folders removed, oldest first.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    runs = complete_runs(client_dir)
    doomed = [p for p in runs[:-keep] if p.name not in protect]
    doomed += sorted((p for p in client_dir.glob("*.partial")
                      if p.is_dir() and RUN_ID.match(p.name.removesuffix(".partial"))
                      and p.name.removesuffix(".partial") not in protect
                      and not in_progress(p, now)), key=lambda p: run_sort_key(p.name))
    removed = []
    for folder in doomed:
        _remove(folder)
        removed.append(folder.name)
    return removed
