"""I/O failures of a run (disk full, no permission), named by path and operation."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_FAILED, EXIT_NOTHING = 1, 2


class RunIOError(OSError):
    """A file or folder of a run could not be read or written.

    Attributes
    ----------
    operation : what was being done, as a verb phrase ("write", "create the run folder").
    path : the file or folder.
    partial : the unfinished run folder, or None when the run had not started.
    exit_code : 1 once the run had started (its ``.partial`` folder exists), else 2.
    """

    def __init__(self, operation: str, path: str | Path, cause: OSError,
                 partial: Path | None = None):
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.operation, self.path, self.partial = operation, Path(path), partial
        self.exit_code = EXIT_FAILED if partial is not None else EXIT_NOTHING

    def __str__(self) -> str:
        text = f"could not {self.operation} {self.path}: {self.strerror}"
        if self.partial is not None:
            text += (f"; the run stopped, its unfinished folder stays in {self.partial} "
                     "and 'latest' was not moved")
        return text


def from_outcomes(outcomes: dict[str, dict[str, Any]], partial: Path) -> RunIOError | None:
    """The first I/O failure a notebook worker reported (its ``io_error``), if any."""
    for outcome in outcomes.values():
        failure = outcome.get("io_error")
        if failure:
            cause = OSError(failure.get("errno"), failure.get("strerror"))
            return RunIOError(failure["operation"], failure["path"], cause, partial)
    return None


@contextlib.contextmanager
def io_step(operation: str, path: str | Path, partial: Path | None = None) -> Iterator[None]:
    """Turn an :class:`OSError` inside the block into a :class:`RunIOError`.

    The error's own file name, when it has one, replaces ``path`` (it is more precise).
    Timeouts and connection errors, also :class:`OSError`, pass through unchanged.
    """
    try:
        yield
    except RunIOError:
        raise
    except (TimeoutError, ConnectionError):
        raise
    except OSError as exc:
        raise RunIOError(operation, exc.filename or path, exc, partial) from exc
