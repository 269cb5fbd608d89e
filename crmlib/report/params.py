"""Read a notebook's ``parameters`` cell and check given parameters against it.

The runner checks every notebook before any kernel starts, in three steps:

1. every given name must appear in the notebook's ``parameters`` cell;
2. every given value must match the cell's type annotation (``int``,
   ``float``, ``str``, ``bool``, ``dict``, ``list``, ``X | None``,
   ``Optional[X]``, ``Literal[...]``; other annotations are not checked);
3. the notebook's full parameter specification, named in its metadata as
   ``{"crmlib": {"spec": "module:SPEC"}}``, is applied with
   :func:`crmlib.params.validate` to the cell's defaults updated with the
   given values, so a missing input file stops the run here.

The cell is read with :mod:`ast`, never executed.
"""
from __future__ import annotations

import ast
import importlib
import io
import json
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..io.database import is_database
from ..io.errors import ParameterError, shorten
from ..params import InputFile, Rule, validate

NO_DEFAULT = object()
"""Marker for a parameter whose default is not a Python literal (it is not evaluated)."""


class NotebookError(ValueError):
    """A notebook the runner cannot use: unreadable, no ``parameters`` cell, bad spec."""


class NotebookParameterError(ParameterError):
    """A :class:`ParameterError` that also names the notebook."""

    def __init__(self, notebook: str, name: str, message: str):
        self.notebook, self.name = notebook, name
        ValueError.__init__(self, f"{notebook}: parameter '{name}': {message}")


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : the variable name.
    annotation : the annotation's source text (``"str | None"``), or None.
    default : the literal default value, or :data:`NO_DEFAULT`.
    comment : the trailing ``#`` comment (or the comment line just above).
    line : line number inside the cell (1-based).
    """

    name: str
    annotation: str | None
    default: Any
    comment: str
    line: int

    def accepts(self, value: Any) -> bool:
        """True when ``value`` matches the annotation (or there is none)."""
        if self.annotation is None:
            return True
        try:
            node = ast.parse(self.annotation, mode="eval").body
        except SyntaxError:
            return True
        return _matches(node, value)


class NotebookJSON(dict):
    """A notebook file read as plain JSON, with attribute access as nbformat's
    ``NotebookNode`` (``nb.cells``, ``cell.source`` joined into one string).

    Reading parameters, specs and titles needs no schema validation, and importing
    nbformat (through jsonschema's format checkers) alone takes over a second.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _node(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return NotebookJSON({k: _node(v, k) for k, v in value.items()})
    if isinstance(value, list):
        if key == "source" and all(isinstance(v, str) for v in value):
            return "".join(value)
        return [_node(v) for v in value]
    return value


def read_notebook(notebook: str | Path) -> NotebookJSON:
    """A version-4 notebook file as :class:`NotebookJSON` (NotebookError if it is not one)."""
    path = Path(notebook)
    if not path.is_file():
        raise NotebookError(f"notebook not found: {path}")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotebookError(f"{path}: not a readable notebook ({exc})") from None
    if not (isinstance(nb, dict) and nb.get("nbformat") == 4
            and isinstance(nb.get("cells"), list)):
        raise NotebookError(f"{path}: not a readable notebook (not in the version 4 format)")
    return _node(nb)


def parameters_cell(nb: Mapping[str, Any]) -> tuple[int, str] | None:
    """Index and source of the cell tagged ``parameters`` (None if there is none)."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags",
                                                                                        []):
            return i, cell["source"]
    return None


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NO_DEFAULT


def parse_parameters(source: str, where: str = "parameters cell") -> dict[str, NotebookParameter]:
    """Parse the source of a ``parameters`` cell into :class:`NotebookParameter` objects.

    Only top-level assignments to plain names count; the order is kept.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookError(f"{where}: the parameters cell is not valid Python "
                            f"(line {exc.lineno}: {exc.msg})") from None
    comments = _comments(source)
    params: dict[str, NotebookParameter] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names, annotation, value = [node.target.id], ast.unparse(node.annotation), node.value
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            annotation, value = None, node.value
        else:
            continue
        end = node.end_lineno or node.lineno
        comment = comments.get(end) or comments.get(node.lineno - 1, "")
        for name in names:
            params[name] = NotebookParameter(name, annotation, _literal(value), comment,
                                             node.lineno)
    return params


def read_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """The parameters declared in ``notebook``'s cell tagged ``parameters``.

    Raises
    ------
    NotebookError
        When the notebook cannot be read or has no ``parameters`` cell.
    """
    nb = read_notebook(notebook)
    cell = parameters_cell(nb)
    if cell is None:
        raise NotebookError(f"{Path(notebook).name}: no code cell tagged 'parameters'")
    return parse_parameters(cell[1], where=Path(notebook).name)




def notebook_spec(notebook: str | Path) -> Mapping[str, Rule] | None:
    """The ``SPEC`` named in the notebook metadata ``crmlib.spec`` (None if not declared)."""
    ref = read_notebook(notebook).metadata.get("crmlib", {}).get("spec")
    if not ref:
        return None
    return load_spec(ref, Path(notebook).name)


def load_spec(ref: str, where: str = "") -> Mapping[str, Rule]:
    """Import ``"package.module:NAME"`` and return the mapping of rules it names."""
    module_name, _, attr = str(ref).partition(":")
    try:
        spec = getattr(importlib.import_module(module_name), attr or "SPEC")
    except (ImportError, AttributeError) as exc:
        raise NotebookError(f"{where}: metadata crmlib.spec = {ref!r} cannot be loaded "
                            f"({exc})") from None
    if not isinstance(spec, Mapping):
        raise NotebookError(f"{where}: crmlib.spec {ref!r} is not a mapping of rules")
    return spec


def check_parameters(notebook: str | Path, given: Mapping[str, Any],
                     deferred: Iterable[str] = ()) -> dict[str, NotebookParameter]:
    """Check ``given`` parameters against ``notebook`` before it runs.

    Parameters
    ----------
    notebook : path of the ``.ipynb``.
    given : the parameters the runner will inject.
    deferred : names whose value only exists once the run is under way
        (``output_dir``, ``results_dir``, outputs of other notebooks); they
        are checked by annotation but left out of the specification check.

    Returns
    -------
    The notebook's declared parameters.

    Raises
    ------
    NotebookParameterError
        Naming the notebook and the first parameter that is unknown, of the
        wrong type or rejected by the notebook's specification.
    """
    stem = Path(notebook).stem
    declared = read_parameters(notebook)
    spec = notebook_spec(notebook)
    for name, value in given.items():
        if name not in declared:
            raise NotebookParameterError(stem, name, "unknown parameter; the notebook's "
                                         f"parameters are {', '.join(declared)}")
        # an input file may instead be a database table or query (crmlib.io.database)
        database = isinstance((spec or {}).get(name), InputFile) and is_database(value)
        if not database and not declared[name].accepts(value):
            raise NotebookParameterError(
                stem, name, f"expected {declared[name].annotation}, got "
                            f"{type(value).__name__} {shorten(value)}")
    if spec:
        _check_spec(stem, spec, declared, given, set(deferred))
    return declared


def _check_spec(stem: str, spec: Mapping[str, Rule], declared: Mapping[str, NotebookParameter],
                given: Mapping[str, Any], deferred: set[str]) -> None:
    values = {n: p.default for n, p in declared.items() if p.default is not NO_DEFAULT}
    values.update(given)
    skip = deferred | {n for n in spec if n not in values and n in declared}
    try:
        validate({n: r for n, r in spec.items() if n not in skip}, values)
    except ParameterError as exc:
        name = getattr(exc, "name", "?")
        text = str(exc).split(": ", 1)[-1]
        raise NotebookParameterError(stem, name, text) from None


# -- annotations ---------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_SIMPLE = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": _is_number,
    "complex": _is_number,
    "str": lambda v: isinstance(v, str),
    "Path": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "dict": lambda v: isinstance(v, dict),
    "Mapping": lambda v: isinstance(v, dict),
    "Dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, (list, tuple)),
    "List": lambda v: isinstance(v, (list, tuple)),
    "Sequence": lambda v: isinstance(v, (list, tuple)),
    "tuple": lambda v: isinstance(v, (list, tuple)),
    "Tuple": lambda v: isinstance(v, (list, tuple)),
    "None": lambda v: v is None,
    "NoneType": lambda v: v is None,
}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional, pathlib.Path
        return node.attr
    return ""


def _matches(node: ast.expr, value: Any) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _matches(node.left, value) or _matches(node.right, value)
    if isinstance(node, ast.Constant):
        if node.value is None:
            return value is None
        if isinstance(node.value, str):  # a string annotation
            try:
                return _matches(ast.parse(node.value, mode="eval").body, value)
            except SyntaxError:
                return True
        return True
    if isinstance(node, ast.Subscript):
        return _matches_generic(_name(node.value), node.slice, value)
    check = _SIMPLE.get(_name(node))
    return True if check is None else bool(check(value))


def _matches_generic(base: str, arg: ast.expr, value: Any) -> bool:
    args = list(arg.elts) if isinstance(arg, ast.Tuple) else [arg]
    if base == "Optional":
        return value is None or _matches(args[0], value)
    if base == "Union":
        return any(_matches(a, value) for a in args)
    if base == "Literal":
        return any(isinstance(a, ast.Constant) and a.value == value for a in args)
    if base in ("list", "List", "Sequence", "set"):
        return isinstance(value, (list, tuple)) and all(_matches(args[0], v) for v in value)
    if base in ("tuple", "Tuple"):
        return isinstance(value, (list, tuple))
    if base in ("dict", "Dict", "Mapping"):
        return isinstance(value, dict) and (len(args) < 2 or all(
            _matches(args[0], k) and _matches(args[1], v) for k, v in value.items()))
    return True
