"""One run per client at a time: an advisory lock on ``reports/<client>/.lock``.

The lock is taken with :func:`fcntl.flock` on the open file, so the operating
system releases it when the process ends, however it ends: a run that crashed
or was killed never leaves a stale lock behind. The file itself stays; it holds
the pid, start time and configuration of the run that holds (or last held) the
lock, which is what the refusal message of a second run quotes.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from .failures import io_step

try:  # POSIX; elsewhere runs are not serialised (documented)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class ClientBusy(RuntimeError):
    """Another run of the same client holds its lock.

    Attributes
    ----------
    slug : the client's folder name.
    holder : what the lock file says about the running run (``pid``, ``started``,
        ``config``), possibly empty.
    """

    def __init__(self, slug: str, holder: dict[str, str]):
        self.slug, self.holder = slug, holder
        who = ", ".join(f"{k} {holder[k]}" for k in ("pid", "started") if holder.get(k))
        super().__init__(f"{slug}: another run of this client is in progress"
                         + (f" ({who})" if who else "") + "; this run was not started")


def read_holder(path: Path) -> dict[str, str]:
    """``key value`` lines of a lock file (empty if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key and value:
            out[key] = value.strip()
    return out


@contextlib.contextmanager
def client_lock(client_dir: Path, slug: str, config: str | Path | None = None) -> Iterator[Path]:
    """Hold ``client_dir/.lock`` for the duration of the ``with`` block.

    Parameters
    ----------
    client_dir : ``reports/<client-slug>``; created if missing.
    slug : the client's slug, for the message.
    config : the configuration file of this run, recorded in the lock file.

    Raises
    ------
    ClientBusy
        At once (no waiting) when another process holds the lock.
    RunIOError
        The folder or lock file cannot be created or written (exit code 2).
    """
    with io_step("create the client folder", client_dir):
        client_dir.mkdir(parents=True, exist_ok=True)
    path = client_dir / LOCK_NAME
    with io_step("open the lock file", path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise ClientBusy(slug, read_holder(path)) from None
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        text = f"pid {os.getpid()}\nstarted {started}\n" + (f"config {config}\n" if config else "")
        with io_step("write the lock file", path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode("utf-8"), 0)
        yield path
    finally:
        os.close(fd)  # releases the flock
