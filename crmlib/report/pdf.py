"""Client HTML → A4 PDF, printed by headless Chromium.

Chromium's headless shell (Debian's ``chromium-headless-shell``, Google's
``chrome-headless-shell``) is preferred to the full browser: the same Blink prints the same
pages (checked pixel for pixel on the demo's reports), but it starts without the browser's
user interface and services, so a report prints in about 0.9 s with 0.3 s of CPU, against
2.4 s and 1.6 s for ``chromium --headless``.

The page's print stylesheet (``templates/index.html.j2``) sets A4, keeps charts whole
and starts the appendix on a new page; the appendix, collapsed on screen, is opened for
printing. No network access: the pages are self-contained and Chromium's background
services are switched off.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .render import open_appendix

BROWSERS = ("chromium-headless-shell", "chrome-headless-shell", "chromium", "chromium-browser",
            "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw"]
INSTALL = "apt-get install chromium-headless-shell, or chromium"


class PdfError(RuntimeError):
    """A page could not be printed (no browser, or the browser failed)."""


def browser() -> str | None:
    """Path of the Chromium used for printing, the first of :data:`BROWSERS` on the PATH
    (``CRM_CHROMIUM`` overrides), or None."""
    override = os.environ.get("CRM_CHROMIUM")
    if override:
        return override
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def _lower_priority(nice: int) -> list[str]:
    """``nice -n N`` before the command (coreutils), where available: a priority set in
    the child before exec is not safe from a thread."""
    tool = shutil.which("nice") if nice > 0 else None
    return [tool, "-n", str(int(nice))] if tool else []


def print_pdf(html_path: str | Path, pdf_path: str | Path | None = None,
              timeout: float = 120, nice: int = 0) -> Path:
    """Print a report page to an A4 PDF next to it (or at ``pdf_path``) and return its path.

    ``nice`` lowers Chromium's CPU priority (POSIX), so that printing beside running
    notebooks takes the time they leave.

    Raises
    ------
    PdfError
        No Chromium installed, or it failed or timed out (its message is included).
    """
    exe = browser()
    if exe is None:
        raise PdfError(f"no Chromium found to print PDFs ({INSTALL})")
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path).resolve() if pdf_path else html_path.with_suffix(".pdf")
    printable = html_path.with_name(f".{html_path.stem}.print.html")
    printable.write_text(open_appendix(html_path.read_text(encoding="utf-8")), encoding="utf-8")
    flags = FLAGS + (["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
    try:
        proc = subprocess.run([*_lower_priority(nice), exe, *flags,
                               f"--print-to-pdf={pdf_path}", printable.as_uri()],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PdfError(f"{html_path.name}: Chromium did not finish within {timeout:.0f} s") \
            from None
    finally:
        printable.unlink(missing_ok=True)
    if proc.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise PdfError(f"{html_path.name}: Chromium exited with {proc.returncode}: {tail[0]}")
    return pdf_path
