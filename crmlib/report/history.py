"""A client's earlier runs: the one a new run compares itself with.

Each completed run folder (``reports/<client>/<run-id>/``, never a ``.partial`` one)
holds its ``run.json``. The previous run of a notebook is the newest completed run
before this one in which that notebook succeeded; its ``run.json`` path is passed to
notebooks that declare a ``previous_run`` parameter ("" on a first run: the baseline).
"""
from __future__ import annotations

import json
from pathlib import Path

PARTIAL = ".partial"


def completed_runs(client_dir: str | Path) -> list[Path]:
    """``run.json`` of every completed run of the client, oldest first (run ids are UTC
    timestamps, so their order is the order of the runs)."""
    client_dir = Path(client_dir)
    if not client_dir.is_dir():
        return []
    runs = [p / "run.json" for p in client_dir.iterdir()
            if p.is_dir() and not p.is_symlink() and not p.name.endswith(PARTIAL)
            and not p.name.startswith(".") and (p / "run.json").is_file()]
    return sorted(runs, key=lambda p: _order(p.parent.name))


def _order(run_id: str) -> tuple[str, int]:
    parts = run_id.split("-")
    n = parts[2] if len(parts) > 2 else "1"
    return ("-".join(parts[:2]), int(n) if n.isdigit() else 1)


def previous_run(client_dir: str | Path, stem: str, before: str | None = None) -> Path | None:
    """``run.json`` of the newest completed run (before run id ``before``) in which notebook
    ``stem`` succeeded; None when there is none."""
    for path in reversed(completed_runs(client_dir)):
        if before is not None and _order(path.parent.name) >= _order(before):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (record.get("notebooks") or {}).get(stem, {}).get("status") == "ok":
            return path
    return None


def outdated(plan, client_dir: str | Path, run_id: str) -> bool:
    """True when a run finished after ``plan`` was built, so that a job's ``previous_run``
    is no longer the newest (the plan is then built again under the client's lock)."""
    for job in plan:
        given = job.parameters.get("previous_run")
        if given is not None:
            now = previous_run(client_dir, job.stem, run_id)
            if given != (str(now) if now else ""):
                return True
    return False


__all__ = ["completed_runs", "outdated", "previous_run"]
