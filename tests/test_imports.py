"""Every module of crmlib imports on its own, and no two modules import each other.

The import graph is read from the source with :mod:`ast`: an edge A → B for each
import statement that runs when A is loaded (module level, including ``if`` and
``try`` blocks, not under ``if TYPE_CHECKING``; imports inside functions are left
out). ``from P import x`` points at ``P.x`` when that is a module, else at ``P``.
"""
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "crmlib"


def module_files(package: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Module name → (source file, is a package) for every ``.py`` file under ``package``."""
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = list(f.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (f, is_package)
    return out


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return getattr(t, "id", None) == "TYPE_CHECKING" or getattr(t, "attr", None) == "TYPE_CHECKING"


def load_time_imports(body: list[ast.stmt]):
    """Import statements that run when the module is loaded."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _type_checking(node):
                yield from load_time_imports(node.body)
            yield from load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody,
                          *(h.body for h in node.handlers)):
                yield from load_time_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from load_time_imports(node.body)


def import_graph(modules: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """Module → the modules of ``modules`` it imports when loaded."""
    graph = {}
    for name, (path, is_package) in modules.items():
        here = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in load_time_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
                continue
            base = node.module or ""
            if node.level:
                parts = here.split(".")[:len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets |= {sub} if sub in modules else ({base} if base in modules else set())
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}     # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_find_cycle_names_the_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_import_graph_reads_relative_and_guarded_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from . import b\ntry:\n    from .sub import c\nexcept "
                              "ImportError:\n    pass\n\ndef f():\n    from . import b\n")
    (pkg / "b.py").write_text("import pkg.a\nfrom pkg import sub\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..b import x\n")
    graph = import_graph(module_files(pkg))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.sub.c"}, "pkg.b": {"pkg.a", "pkg.sub"},
                     "pkg.sub": set(), "pkg.sub.c": {"pkg.b"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.c", "pkg.b", "pkg.a"]


def test_crmlib_has_no_import_cycle():
    cycle = find_cycle(import_graph(module_files()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(module_files())
    if importlib.util.find_spec("pyspark") is None:
        names = [n for n in names if not n.startswith("crmlib.clv.spark")]
    code = ("import importlib, sys\nfailed = []\nfor name in sys.argv[1:]:\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception as exc:\n        failed.append(f'{name}: {exc!r}')\n"
            "print('\\n'.join(failed))\nsys.exit(1 if failed else 0)\n")
    done = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(names) > 100


def test_analysis_packages_export_every_name_and_load_nothing_heavy_for_their_params():
    import importlib

    for pkg in ("assessment", "clv", "roi", "satisfaction"):
        mod = importlib.import_module(f"crmlib.{pkg}")
        assert all(getattr(mod, name) is not None for name in mod.__all__), pkg
        assert set(mod.__all__) <= set(dir(mod))
    assert _loaded_after([f"crmlib.{pkg}.params" for pkg in
                          ("assessment", "clv", "roi", "satisfaction")],
                         ["scipy.stats", "statsmodels", "pingouin", "nbformat"]) == []


def _loaded_after(modules: list[str], heavy: list[str]) -> list[str]:
    """Which of ``heavy`` a fresh interpreter has loaded after importing ``modules``."""
    code = (f"import sys, {', '.join(modules)}; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def _private_uses(source: str) -> list[str]:
    """``from crmlib… import _x`` and ``mod._x`` where ``mod`` was imported from crmlib."""
    tree, imported, out = ast.parse(source), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or
                                                 (node.module or "").startswith("crmlib")):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    out.append(f"import {alias.name} (line {node.lineno})")
                imported.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in imported):
            out.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
    return out


def test_private_uses_are_caught():
    assert _private_uses("from .value import _rows\nfrom . import value as V\nV._draw()\n") == [
        "import _rows (line 1)", "V._draw (line 3)"]
    assert _private_uses("from . import value as V\nV.draw()\nself._x\n") == []


def test_no_module_uses_another_modules_private_names():
    found = {name: uses for name, (path, _) in module_files().items()
             if (uses := _private_uses(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_input_check_loads_no_statistics():
    """``crm validate`` reads every input as the notebooks do, through modules that do not
    import the analyses' statistics (a second of its start-up)."""
    modules = ["crmlib.report.check", "crmlib.clv.inputs", "crmlib.clv.summary",
               "crmlib.roi.inputs", "crmlib.satisfaction.inputs", "crmlib.assessment.catalogue",
               "crmlib.assessment.scoring"]
    heavy = ["scipy.stats", "scipy.interpolate", "scipy.optimize", "statsmodels", "matplotlib"]
    assert _loaded_after(modules, heavy) == []
    assert _loaded_after(["crmlib.clv.pipeline"], heavy[:1]) == ["scipy.stats"]  # the probe works
