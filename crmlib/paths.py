"""Anchored paths: the project root, data/, reports/, never the current directory.

The root is the folder holding ``pyproject.toml`` next to this package; set
``CRM_HOME`` to point a run at another project folder (a client's checkout).
"""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the project root (``CRM_HOME`` if set, else the package's parent)."""
    env = os.environ.get("CRM_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[1]


ROOT = project_root()
DATA = ROOT / "data"
DEMO = DATA / "demo"
REFERENCE = DATA / "reference"
REPORTS = ROOT / "reports"
NOTEBOOKS = ROOT / "notebooks"
CLIENTS = ROOT / "clients"
# Public reference data kept beside the project (``../shared``); CRM_SHARED_REFERENCE overrides.
SHARED_REFERENCE = Path(os.environ.get("CRM_SHARED_REFERENCE")
                        or ROOT.parent / "shared" / "data" / "reference")


def resolve(path: str | os.PathLike, base: Path | None = None) -> Path:
    """Resolve ``path`` against ``base`` (default: the project root) unless absolute."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else ((base or ROOT) / p).resolve()
