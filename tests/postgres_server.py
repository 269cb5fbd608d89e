"""A throw-away PostgreSQL server for the database-input tests.

Starts Debian's PostgreSQL (``initdb``/``pg_ctl``, found on PATH or under
``/usr/lib/postgresql/*/bin``) in a temporary folder, listening only on a unix socket
there, with password (SCRAM) authentication. As root the server runs as the
``postgres`` user. Skips when no server is installed unless CRM_REQUIRE_POSTGRES is set
(CI sets it after installing ``postgresql``), then it fails instead.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

USER, PASSWORD = "crm_reader", "s3cret-Pg-pw-7731"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    hits = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return hits[-1] if hits else None


def _missing(reason: str):
    if os.environ.get("CRM_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required (CRM_REQUIRE_POSTGRES is set): {reason}")
    pytest.skip(f"no PostgreSQL server available: {reason}")


@contextmanager
def postgres_server():
    """Yield the SQLAlchemy URL of a fresh server's ``postgres`` database."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        _missing("initdb/pg_ctl not found")
    root = Path(tempfile.mkdtemp(prefix="crm-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    (root / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(root / "pw", "postgres")
    data, log = root / "data", root / "server.log"
    try:
        subprocess.run(as_user + [initdb, "-D", str(data), "-U", USER, "--pwfile", str(root / "pw"),
                                  "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                  "-o", f"-c listen_addresses='' -k {root} -F", "start"],
                       check=True, capture_output=True, timeout=90)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = log.read_text()[-500:] if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        _missing(f"could not start it: {exc} {detail}")
    try:
        yield f"postgresql+psycopg://{USER}:{PASSWORD}@/postgres?host={root}"
    finally:
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
