"""Package exports imported on first use (PEP 562 module ``__getattr__``).

``import crmlib.<analysis>.params`` (what the report runner reads to check a notebook's
parameters) runs the package's ``__init__``; with lazy exports that loads no scientific
library. Usage in a package ``__init__``::

    __getattr__, __dir__ = lazy_exports(__name__, {"name": "module", ...})
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (name → submodule)."""
    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{exports[name]}", package), name)
        setattr(sys.modules[package], name, value)  # the next access skips this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
