"""Every stored notebook is clean, parameterised and checked by a SPEC in crmlib."""
import ast
import importlib

import nbformat
import pytest

from crmlib import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01_crm_assessment", "02_clv_modelling", "03_satisfaction_gaps", "04_phase_roi",
            "05_executive_summary"]


def _spec(nb):
    module, _, name = nb.metadata["crmlib"]["spec"].partition(":")
    return getattr(importlib.import_module(module), name)


def _parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return cells[0]


def test_the_five_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_typed_commented_and_matches_spec(path):
    nb = nbformat.read(path, as_version=4)
    cell = _parameters_cell(nb)
    tree = ast.parse(cell.source)
    names = []
    lines = cell.source.splitlines()
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"untyped parameter line: {ast.unparse(node)}"
        assert "#" in lines[node.lineno - 1], f"parameter {node.target.id} has no comment"
        names.append(node.target.id)
    assert "output_dir" in names
    assert sorted(names) == sorted(_spec(nb)), "parameters cell and SPEC differ"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_long_functions_in_notebooks(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 8, f"function {node.name} belongs in crmlib"
