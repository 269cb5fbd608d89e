"""Optional sections of an analysis: each may fail without failing the analysis.

A notebook computes its main result plainly — an error there fails the analysis, as it
should — and each optional section (a covariate test, a secondary model, a chart)
through :func:`optional` or :func:`optional_block`. When a section cannot be computed
on the data at hand, it shows a visible note in its place (which section, and why),
the failure is recorded (:func:`degraded`, written to ``results.json`` by
:func:`crmlib.results.write_results`), and the analysis goes on: :func:`optional`
returns None, which the cells after it already handle as "section not available".

>>> from crmlib.sections import optional
>>> kano = optional("Kano classification", S.kano_table, sv, alpha=0.05)  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
ERROR_LIMIT = 300
"""Longest error text a note shows; a longer one is cut, its length stated."""

_DEGRADED: list[dict[str, str]] = []


def _reason(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(text) > ERROR_LIMIT:
        text = f"{text[:ERROR_LIMIT - 1]}… ({len(text)} characters)"
    return text


def note(section: str, reason: str) -> str:
    """The Markdown shown in place of a section that could not be computed."""
    return (f"> **Not shown: {section}.** It could not be computed on this data "
            f"(`{reason.replace('`', chr(39))}`). The rest of the analysis does not "
            "depend on it.")


def _show(section: str, reason: str) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with the notebooks' kernel
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(note(section, reason)))
    else:
        warnings.warn(f"{section} not computed: {reason}", RuntimeWarning, stacklevel=3)


def _record(section: str, exc: BaseException) -> None:
    reason = _reason(exc)
    _DEGRADED.append({"section": section, "error": reason})
    _show(section, reason)


def optional(section: str, compute: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """``compute(*args, **kwargs)``, or None and a visible note when it raises.

    Parameters
    ----------
    section : what the reader would have seen, e.g. ``"Kano classification"``; named in
        the note and in :func:`degraded`.
    compute : the function computing the section (or drawing its chart).

    Only :class:`Exception` is caught: an interruption still stops the analysis.
    """
    try:
        return compute(*args, **kwargs)
    except Exception as exc:
        _record(section, exc)
        return None


@contextlib.contextmanager
def optional_block(section: str) -> Iterator[None]:
    """Run the ``with`` block as an optional section: on an error, the rest of the block is
    skipped and a note shown in its place. Names the block assigns before the error keep
    their values, so set the section's result (e.g. ``subs = None``) before the block."""
    try:
        yield
    except Exception as exc:
        _record(section, exc)


def degraded() -> list[dict[str, str]]:
    """The sections that could not be computed in this process: ``section``, ``error``."""
    return [dict(d) for d in _DEGRADED]


def reset() -> None:
    """Forget the recorded failures (a new analysis in the same process)."""
    _DEGRADED.clear()
