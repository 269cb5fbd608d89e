"""Completed runs are read-only; ``--keep N`` removes the oldest.

* :func:`freeze` makes a completed run folder read-only (files ``0444``,
  folders ``0555``) right after its ``.partial`` folder is renamed, so a report
  that was sent to a client cannot change afterwards by accident.
* :func:`prune` keeps the ``N`` newest complete runs of a client and removes
  the older ones, making each writable again just before deleting it. It never
  removes the run ``latest`` points at, the run just made, or a ``.partial``
  folder that may still be written (see :func:`in_progress`). Only folders
  whose name is a run id are ever touched.
* A ``.partial`` folder holds ``.owner`` (pid, host and start time of the process
  writing it, :func:`start_partial`); :func:`remove_dead_partials` removes those whose
  process has ended, which the next run of the client does first.
* A run killed at any moment leaves nothing half-made: a run folder is created
  hidden and renamed into place with its owner record, and removed by renaming it
  hidden first; such hidden leftovers are swept by the next run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from ..procs import owner_alive, owner_record

RUN_ID = re.compile(r"^(\d{8}-\d{6})(?:-(\d+))?$")
FILE_MODE, DIR_MODE, WRITABLE_DIR = 0o444, 0o555, 0o755
STALE_PARTIAL_SECONDS = 24 * 3600
"""A ``.partial`` folder without an owner record, unchanged for this long, is stale."""
OWNER, ENDED = ".owner", ".ended"
NEW, REMOVING = ".new", ".removing"
"""Suffixes of hidden folders a run being started or removed leaves if killed right then."""


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


def write_owner(partial: Path) -> None:
    """Record in ``partial/.owner`` which process writes this run (removed on completion)."""
    (partial / OWNER).write_text(json.dumps(owner_record()), encoding="utf-8")


def start_partial(partial: Path) -> None:
    """Create the run folder ``partial`` with its owner record and ``results/`` at once.

    They are made in a hidden ``.<name>.new`` folder renamed into place, so a ``.partial``
    folder always names its owner, whenever the run is killed.
    """
    tmp = partial.with_name(f".{partial.name}{NEW}")
    tmp.mkdir()
    write_owner(tmp)
    (tmp / "results").mkdir()
    os.rename(tmp, partial)


def mark_ended(partial: Path) -> None:
    """Say that the run writing ``partial`` stopped (renames ``.owner`` to ``.ended``, which
    needs no free space); for a run that stops while its process lives on."""
    try:
        os.replace(partial / OWNER, partial / ENDED)
    except OSError:
        pass  # the process ends soon; its pid then says the same


def read_owner(partial: Path) -> dict[str, Any] | None:
    """The owner record of a ``.partial`` folder (None if absent or unreadable); ``ended``
    is True in the record of a run that stopped."""
    for name in (OWNER, ENDED):
        try:
            record = json.loads((partial / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            return dict(record, ended=name == ENDED)
    return None


def _owner_alive(record: dict[str, Any]) -> bool | None:
    return False if record.get("ended") else owner_alive(record)


def in_progress(partial: Path, now: float | None = None) -> bool:
    """True when a ``.partial`` folder may still be written.

    Its owner record decides: the run is in progress while the process that wrote
    the record (same host, same pid and start time) runs, unless the run marked itself
    ended (:func:`mark_ended`). Without a record that can
    be checked from here (an older run, another host), the folder counts as in
    progress until nothing in it has changed for :data:`STALE_PARTIAL_SECONDS`.
    """
    record = read_owner(partial)
    alive = _owner_alive(record) if record is not None else None
    if alive is not None:
        return alive
    now = time.time() if now is None else now
    return now - _newest_change(partial) < STALE_PARTIAL_SECONDS


def _partials(client_dir: Path) -> list[Path]:
    found = [p for p in client_dir.glob("*.partial") if p.is_dir() and not p.is_symlink()
             and RUN_ID.match(p.name.removesuffix(".partial"))]
    return sorted(found, key=lambda p: run_sort_key(p.name))


def remove_dead_partials(client_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """Remove the ``.partial`` folders of runs that ended: marked so, or their owner process
    has ended on this host.

    A folder whose owner still runs, or cannot be checked from here (no record,
    another host), is left alone. Returns ``(folder name, owner record)`` of each
    folder removed.
    """
    removed = []
    for partial in _partials(client_dir):
        record = read_owner(partial)
        if record is not None and _owner_alive(record) is False:
            _remove(partial)
            removed.append((partial.name, record))
    _sweep(client_dir)
    return removed


def _sweep(client_dir: Path) -> None:
    """Remove what a run killed while starting or removing a folder left behind.

    Called while the client's lock is held, so no run of the client is doing either.
    """
    for folder in client_dir.glob(f".*{REMOVING}"):
        _remove(folder)
    for folder in client_dir.glob(f".*.partial{NEW}"):
        record = read_owner(folder)
        if record is None or _owner_alive(record) is False:
            _remove(folder)


def _remove(folder: Path) -> None:
    """Delete a run folder: first out of sight (renamed hidden), then its content."""
    os.chmod(folder, WRITABLE_DIR)
    if not folder.name.startswith("."):
        hidden = folder.with_name(f".{folder.name}{REMOVING}")
        os.rename(folder, hidden)
        folder = hidden
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
    doomed += [p for p in _partials(client_dir)
               if p.name.removesuffix(".partial") not in protect and not in_progress(p, now)]
    removed = []
    for folder in doomed:
        _remove(folder)
        removed.append(folder.name)
    _sweep(client_dir)
    return removed
