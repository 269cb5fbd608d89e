"""`crm workshop`: options, the index path on stdout, exit codes."""
from pathlib import Path

import pytest

import crmlib.workshop as workshop
from crmlib.cli import main


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["workshop", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--only", "--seed"):
        assert option in text


def test_builds_with_the_given_options(tmp_path, monkeypatch, capsys):
    seen = {}

    def fake(out, only=None, seed=7, progress=None):
        seen.update(out=out, only=only, seed=seed)
        progress("01_crm_assessment: done (1 s)")
        return Path(out) / "index.html"

    monkeypatch.setattr(workshop, "build_workshop", fake)
    assert main(["workshop", "--out", str(tmp_path), "--only", "01,02", "--seed", "3"]) == 0
    out = capsys.readouterr()
    assert out.out.strip().splitlines()[-1] == str(tmp_path / "index.html")
    assert "01_crm_assessment: done" in out.err
    assert seen == {"out": tmp_path.resolve(), "only": ["01", "02"], "seed": 3}


def test_failed_notebook_exits_1(tmp_path, monkeypatch, capsys):
    def fake(out, only=None, seed=7, progress=None):
        raise workshop.WorkshopError("04_phase_roi: ValueError: boom")

    monkeypatch.setattr(workshop, "build_workshop", fake)
    assert main(["workshop", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "boom" in out.err and out.out.strip() == str(tmp_path.resolve() / "index.html")


def test_unknown_notebook_exits_2_without_building(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(workshop, "build_workshop", lambda *a, **k: pytest.fail("built"))
    assert main(["workshop", "--out", str(tmp_path), "--only", "05"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crm: error:") and "05" in err and len(err.strip().splitlines()) == 1


def test_out_is_required(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["workshop"])
    assert exc.value.code == 2
