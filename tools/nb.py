"""Convert notebooks to and from percent-format scripts for editing.

    python tools/nb.py to-py notebooks/02_clv_modelling.ipynb  > /tmp/02.py
    python tools/nb.py to-ipynb /tmp/02.py notebooks/02_clv_modelling.ipynb

Cells start with ``# %%`` (code), ``# %% [markdown]`` (markdown, lines prefixed
with ``# ``) or ``# %% tags=["parameters"]``. The notebook written has no
outputs, no execution counts and the python3 kernelspec; notebook-level
metadata of an existing target (such as ``crmlib.spec``) is kept.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def to_notebook(text: str, metadata: dict | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in body.splitlines())
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)

    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = json.loads(m.group("tags")) if m.group("tags") else []
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    nb.cells = cells
    nb.metadata = metadata or {}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def to_percent(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            out.append(f"# %% [markdown]{suffix}")
            out.extend(("# " + l) if l else "#" for l in cell.source.splitlines())
        else:
            out.append(f"# %%{suffix}")
            out.extend(cell.source.splitlines())
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> None:
    if argv[:1] == ["to-py"]:
        sys.stdout.write(to_percent(nbformat.read(argv[1], as_version=4)))
    elif argv[:1] == ["to-ipynb"]:
        target = Path(argv[2])
        meta = nbformat.read(target, as_version=4).metadata if target.exists() else {}
        nb = to_notebook(Path(argv[1]).read_text(), dict(meta))
        nbformat.write(nb, target)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
