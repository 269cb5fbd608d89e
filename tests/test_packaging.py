"""Packaging: pyproject and environment.yml list the same dependencies; the package imports."""
import re
import tomllib

import yaml

from crmlib import paths

# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _name_spec(req: str) -> tuple[str, str]:
    """Name and version spec; extras (``psycopg[binary]``) are pip's way to ship a library
    that conda ships whole, so they are left out of the comparison."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    pypi = dict(_name_spec(r) for r in project["dependencies"])
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _name_spec(dep)
            if name not in ("python", "pip"):
                conda[CONDA_TO_PYPI.get(name, name)] = spec
    assert conda == pypi


def test_paths_are_anchored_at_the_project_root():
    assert (paths.ROOT / "pyproject.toml").exists()
    assert paths.DATA == paths.ROOT / "data"
    assert paths.REPORTS == paths.ROOT / "reports"
    assert paths.resolve("data/demo") == paths.DEMO
