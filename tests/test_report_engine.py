"""The runner's papermill engine writes the executed notebook less often, not differently."""
from __future__ import annotations

import nbformat
import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from crmlib.report import engine


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(src, out, engine_name=None):
    kw = {"engine_name": engine_name} if engine_name else {}
    return pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False,
                               **kw)


def _shape(nb):
    """Each cell's source and outputs; consecutive stream outputs of one stream joined (how
    the kernel's writes are split into messages depends on timing, not on the engine)."""
    shape = []
    for c in nb.cells:
        outs: list = []
        for o in c.get("outputs", []):
            if outs and o.output_type == "stream" and outs[-1][:2] == ("stream", o.name):
                outs[-1] = ("stream", o.name, outs[-1][2] + o.text)
            else:
                outs.append((o.output_type, o.get("name"),
                             o.get("text", o.get("data", {}).get("text/plain"))))
        shape.append((c.source, outs))
    return shape


@pytest.fixture()
def count_writes(monkeypatch):
    import papermill.engines as pe

    calls = []
    real = pe.write_ipynb

    def counting(nb, path):
        calls.append(path)
        return real(nb, path)

    monkeypatch.setattr(pe, "write_ipynb", counting)
    return calls


def test_same_notebook_with_far_fewer_writes(tmp_path, count_writes):
    cells = [f"print({i} * {i})" for i in range(12)]
    src = _notebook(tmp_path / "nb.ipynb", cells)
    _run(src, tmp_path / "plain.ipynb")
    plain_writes = len(count_writes)
    count_writes.clear()
    _run(src, tmp_path / "sparse.ipynb", engine.register())
    sparse_writes = len(count_writes)
    plain = nbformat.read(tmp_path / "plain.ipynb", as_version=4)
    sparse = nbformat.read(tmp_path / "sparse.ipynb", as_version=4)
    assert _shape(sparse) == _shape(plain)
    assert [o.text for c in sparse.cells for o in c.outputs] == [f"{i * i}\n" for i in range(12)]
    assert all(c.metadata.papermill.status == "completed" for c in sparse.cells)
    assert plain_writes >= 2 * len(cells)          # papermill: at each cell's start and end
    assert sparse_writes <= 3                      # start, end (and papermill's final write)


def test_error_still_saved_with_traceback(tmp_path):
    src = _notebook(tmp_path / "nb.ipynb", ["x = 1", "raise ValueError('bad row 7')", "y = 2"])
    with pytest.raises(PapermillExecutionError, match="bad row 7"):
        _run(src, tmp_path / "out.ipynb", engine.register())
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    cell = {c.source: c for c in nb.cells}
    assert cell["raise ValueError('bad row 7')"].outputs[0].ename == "ValueError"
    assert cell["raise ValueError('bad row 7')"].metadata.papermill.status == "failed"
    assert cell["x = 1"].metadata.papermill.status == "completed"
    assert cell["y = 2"].metadata.papermill.status == "pending"


def test_long_cell_autosaved(tmp_path, count_writes):
    src = _notebook(tmp_path / "nb.ipynb", ["import time\nfor _ in range(8):\n"
                                            "    print('.', flush=True); time.sleep(0.1)"])
    pm.execute_notebook(str(src), str(tmp_path / "o.ipynb"), kernel_name="python3",
                        progress_bar=False, engine_name=engine.register(),
                        autosave_cell_every=0.2)
    assert len(count_writes) >= 3   # start, at least one autosave during the cell, end


def test_worker_starts_without_the_iri_grammars():
    """A worker leaves out rfc3987_syntax (0.7 s of grammar compiling at import) and still
    reads, validates and writes notebooks."""
    import subprocess
    import sys

    code = ("import os, sys\n"
            "from crmlib.report.worker import start_worker\n"
            "start_worker(os.getppid())\n"
            "import nbformat, papermill, nbconvert\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
            "nbformat.validate(nbformat.reads(nbformat.writes(nb), as_version=4))\n"
            "print(sys.modules.get('rfc3987_syntax') is None)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
