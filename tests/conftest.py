"""Shared test settings.

Report runs inside the tests skip printing PDFs (a Chromium start per page); the
end-to-end test (``test_end_to_end.py``) runs ``crm report`` with PDFs and checks them.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from crmlib.demo import generate, migration

os.environ.setdefault("CRM_NO_PDF", "1")


@pytest.fixture()
def project(tmp_path):
    """A project folder holding a copy of the fixture notebooks under ``notebooks/``."""
    shutil.copytree(Path(__file__).parent / "fixtures" / "notebooks", tmp_path / "notebooks")
    return tmp_path


@pytest.fixture(scope="session")
def clv_small() -> Path:
    """The small CLV demo (transactions, subscriptions, TRUTH.md) and its log a year on with
    the planted migration (``transactions_wave2.csv``, ``migration_planted.csv``), generated
    once per session."""
    out = Path(tempfile.mkdtemp(prefix="crmlib-clv-small-"))
    generate(out, size="small", only=("clv",))
    migration.generate(out, size="small")
    return out
