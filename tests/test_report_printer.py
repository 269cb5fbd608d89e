"""PDFs printed while the other notebooks run: each page once, collected at the end."""
from __future__ import annotations

import os
import stat

import pytest

from crmlib.report import deliver
from crmlib.report.deliver import PdfPrinter

FAKE = """#!/bin/sh
for a in "$@"; do
  case "$a" in
    --print-to-pdf=*) out="${a#--print-to-pdf=}" ;;
    file://*) page="$a" ;;
  esac
done
echo "$page" >> "$CALLS"
case "$page" in *broken*) echo "cannot print" >&2; exit 3 ;; esac
printf '%%PDF-1.4 fake' > "$out"
"""


@pytest.fixture()
def fake_chromium(tmp_path, monkeypatch):
    exe = tmp_path / "chromium"
    exe.write_text(FAKE)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("CRM_CHROMIUM", str(exe))
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.delenv(deliver.NO_PDF, raising=False)
    return calls


def _pages(run_dir, *stems):
    run_dir.mkdir(exist_ok=True)
    for stem in stems:
        (run_dir / f"{stem}.html").write_text(f"<html><body>{stem}</body></html>")


def test_pages_submitted_early_are_printed_once_and_collected(tmp_path, fake_chromium):
    run = tmp_path / "run"
    _pages(run, "01_a", "02_b")
    with PdfPrinter(run) as printer:
        printer.submit("01_a")
        printer.submit("01_a")          # a second submit of a page does nothing
        printer.submit("09_missing")    # no page, nothing to print
        _pages(run, "03_c")
        made, notes = printer.collect(["01_a", "02_b", "03_c", "09_missing"])
    assert made == {"01_a": "01_a.pdf", "02_b": "02_b.pdf", "03_c": "03_c.pdf"} and notes == []
    printed = fake_chromium.read_text().split()
    assert sorted(p.rsplit("/", 1)[1] for p in printed) == [
        ".01_a.print.html", ".02_b.print.html", ".03_c.print.html"]
    assert (run / "02_b.pdf").read_bytes().startswith(b"%PDF")
    assert not list(run.glob(".*.print.html"))  # the printable copies are removed


WAITS_FOR_OTHER = """#!/bin/sh
for a in "$@"; do
  case "$a" in
    --print-to-pdf=*) out="${a#--print-to-pdf=}" ;;
  esac
done
touch "$out.started"
other="$(dirname "$out")/$OTHER"
i=0
while [ ! -e "$other.started" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -e "$other.started" ] || exit 4
printf '%%PDF-1.4 fake' > "$out"
"""


def test_pages_are_printed_side_by_side(tmp_path, fake_chromium, monkeypatch):
    """The first page's fake Chromium finishes only once the second's has started: one at a
    time, it would wait in vain and fail."""
    exe = tmp_path / "chromium"
    exe.write_text(WAITS_FOR_OTHER)
    run = tmp_path / "run"
    _pages(run, "01_a", "02_b")
    monkeypatch.setattr(deliver, "PRINTERS", 2)
    monkeypatch.setenv("OTHER", "02_b.pdf")  # 01_a (sent first) waits for 02_b to start
    with PdfPrinter(run) as printer:
        made, notes = printer.collect(["01_a", "02_b"])
    assert made == {"01_a": "01_a.pdf", "02_b": "02_b.pdf"} and notes == []


def test_a_page_that_cannot_be_printed_is_a_note(tmp_path, fake_chromium):
    run = tmp_path / "run"
    _pages(run, "01_ok", "02_broken")
    with PdfPrinter(run) as printer:
        printer.submit("02_broken")
        made, notes = printer.collect(["01_ok", "02_broken"])
    assert made == {"01_ok": "01_ok.pdf"}
    assert len(notes) == 1 and "02_broken.html" in notes[0] and "exited with 3" in notes[0]


def test_without_pdfs_nothing_is_printed_and_the_reason_is_noted(tmp_path, fake_chromium,
                                                                 monkeypatch):
    monkeypatch.setenv(deliver.NO_PDF, "1")
    run = tmp_path / "run"
    _pages(run, "01_a")
    with PdfPrinter(run) as printer:
        printer.submit("01_a")
        assert printer.collect(["01_a"]) == ({}, [f"PDFs not printed: {deliver.NO_PDF}=1"])
        assert printer.collect([]) == ({}, [])
    assert not fake_chromium.exists()


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX priorities")
def test_background_prints_run_at_a_lower_priority(tmp_path, fake_chromium, monkeypatch):
    seen = []
    real = deliver.print_pdf
    monkeypatch.setattr(deliver, "print_pdf", lambda page, **kw: seen.append(kw) or real(page, **kw))
    run = tmp_path / "run"
    _pages(run, "01_a")
    with PdfPrinter(run) as printer:
        printer.submit("01_a")
        printer.collect(["01_a"])
    assert seen == [{"nice": deliver.PRINT_NICE}] and deliver.PRINT_NICE > 0


def test_a_lower_priority_is_set_by_the_nice_command(tmp_path, fake_chromium, monkeypatch):
    import shutil
    import subprocess

    from crmlib.report import pdf
    seen = []
    real = subprocess.run
    monkeypatch.setattr(pdf.subprocess, "run", lambda cmd, **kw: seen.append(cmd) or real(cmd, **kw))
    _pages(tmp_path, "01_a")
    pdf.print_pdf(tmp_path / "01_a.html", nice=10)
    pdf.print_pdf(tmp_path / "01_a.html")
    if shutil.which("nice"):
        assert seen[0][:3] == [shutil.which("nice"), "-n", "10"]
    assert seen[1][0] == os.environ["CRM_CHROMIUM"]  # no nice asked for: the browser alone


def _executed(run_dir, stem):
    import nbformat

    run_dir.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Findings"),
                                         nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"},
                                                  execution_count=1)]
    path = run_dir / f"{stem}.ipynb"
    nbformat.write(nb, path)
    return {"stem": stem, "notebook": "notebooks/x.ipynb", "output": str(path),
            "html": str(run_dir / f"{stem}.html"),
            "cwd": str(run_dir), "title": f"{stem} report", "footer": "run x",
            "render": False}


def test_pages_left_to_the_runner_are_rendered_then_printed(tmp_path, fake_chromium):
    run = tmp_path / "run"
    task = _executed(run, "02_b")
    outcome = {"stem": "02_b", "status": "ok", "error": None, "html": None,
               "render_error": None}
    with PdfPrinter(run) as printer:
        printer.submit(outcome, task)
        printer.wait_rendered()
        assert outcome["html"] == task["html"] and outcome["status"] == "ok"
        assert "02_b report" in (run / "02_b.html").read_text(encoding="utf-8")
        made, notes = printer.collect(["02_b"])
    assert made == {"02_b": "02_b.pdf"} and notes == []


def test_a_page_that_cannot_be_written_fails_its_notebook_and_is_logged(tmp_path, monkeypatch,
                                                                     fake_chromium):
    import errno
    import logging

    from crmlib.report import worker

    run = tmp_path / "run"
    task = _executed(run, "03_c")

    def full_disk(notebook, html, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(html))

    monkeypatch.setattr(worker, "render_html", full_disk)
    outcome = {"stem": "03_c", "status": "ok", "error": None, "html": None,
               "render_error": None}
    records = []
    log = logging.getLogger("test-pages")
    log.addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: records.append(r)})())
    with PdfPrinter(run, log) as printer:
        printer.submit(outcome, task)
        printer.wait_rendered()
        made, _ = printer.collect(["03_c"])
    assert outcome["html"] is None and outcome["status"] == "failed" and made == {}
    assert outcome["io_error"] == {"operation": "write", "path": task["html"],
                                   "errno": errno.ENOSPC, "strerror": "No space left on device"}
    assert outcome["error"] == f"could not write {task['html']}: No space left on device"
    assert any("03_c: HTML not written" in r.getMessage() for r in records)


def test_workers_leave_pages_to_the_runner_only_when_it_takes_them(tmp_path, monkeypatch):
    from crmlib.report import scheduler

    seen = []
    monkeypatch.setattr(scheduler, "_task", lambda job, run_dir, config: {"stem": job.stem})

    class Pool:
        def submit(self, fn, task):
            from concurrent.futures import Future
            seen.append(task)
            fut = Future()
            fut.set_result({"stem": task["stem"], "status": "ok", "started": 0.0,
                            "finished": 1.0})
            return fut

    job = type("Job", (), {"stem": "01_a", "needs": set(), "requires": set(),
                           "parameters": {}, "upstream_files": {}})()
    bar = type("Bar", (), {"set_postfix_str": lambda *a, **k: None,
                           "update": lambda *a: None})()
    log = type("Log", (), {"info": lambda *a: None, "error": lambda *a: None})()
    got = []
    scheduler._schedule([job], Pool(), tmp_path, None, log, bar, False, 0,
                        on_done=lambda outcome, task: got.append(task))
    scheduler._schedule([job], Pool(), tmp_path, None, log, bar, False, 0)
    assert [t["render"] for t in seen] == [False, True] and got == [seen[0]]


def test_the_log_says_which_notebooks_wait_for_a_worker_and_how_long(tmp_path, monkeypatch):
    """Two workers, three notebooks ready at once: the third is logged as queued, not as
    started, and its outcome line says how long it waited."""
    from concurrent.futures import Future

    from crmlib.report import scheduler

    monkeypatch.setattr(scheduler, "_task", lambda job, run_dir, config: {"stem": job.stem})
    now = scheduler.time.time()

    class Pool:
        def submit(self, fn, task):
            fut = Future()
            # 01_a's worker process took 1.7 s to start; 03_c ran once a worker was free
            late = {"01_a": 1.7, "02_b": 0.2, "03_c": 12.7}[task["stem"]]
            fut.set_result({"stem": task["stem"], "status": "ok", "started": now + late,
                            "finished": now + late + 1})
            return fut

    jobs = [type("Job", (), {"stem": s, "needs": set(), "requires": set(), "parameters": {},
                             "upstream_files": {}})() for s in ("01_a", "02_b", "03_c")]
    lines = []
    log = type("Log", (), {"info": lambda self, msg, *a: lines.append(msg % a),
                           "error": lambda self, msg, *a: lines.append(msg % a)})()
    bar = type("Bar", (), {"set_postfix_str": lambda *a, **k: None,
                           "update": lambda *a: None})()
    scheduler._schedule(jobs, Pool(), tmp_path, None, log, bar, False, 0, workers=2)
    starts = [line.split(" with ")[0] for line in lines if " with " in line]
    assert starts == ["start 01_a", "start 02_b", "queue 03_c"]
    waits = sorted(line.replace(".6 s", ".7 s") for line in lines if "waited" in line)
    assert waits == ["01_a waited 1.7 s for its worker process to start",
                     "03_c waited 12.7 s for a free worker"]


def _on_path(folder, *names):
    folder.mkdir()
    for name in names:
        exe = folder / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(folder)


def test_the_headless_shell_is_preferred_to_the_full_browser(tmp_path, monkeypatch):
    from crmlib.report import pdf
    monkeypatch.delenv("CRM_CHROMIUM", raising=False)
    both = _on_path(tmp_path / "both", "chromium", "chromium-headless-shell")
    monkeypatch.setenv("PATH", both)
    assert pdf.browser() == os.path.join(both, "chromium-headless-shell")
    browser_only = _on_path(tmp_path / "browser", "chromium")
    monkeypatch.setenv("PATH", browser_only)
    assert pdf.browser() == os.path.join(browser_only, "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "none"))
    assert pdf.browser() is None
    with pytest.raises(pdf.PdfError, match="chromium-headless-shell"):
        pdf.print_pdf(tmp_path / "page.html")
    monkeypatch.setenv("CRM_CHROMIUM", "/opt/my/chrome")  # the user's choice comes first
    monkeypatch.setenv("PATH", both)
    assert pdf.browser() == "/opt/my/chrome"
