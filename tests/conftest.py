"""Shared test settings.

Report runs inside the tests skip printing PDFs (a Chromium start per page); the
end-to-end test (``test_end_to_end.py``) runs ``crm report`` with PDFs and checks them.
"""
import os

os.environ.setdefault("CRM_NO_PDF", "1")
