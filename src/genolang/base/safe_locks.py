"""Locks and fresh logs in a directory genolang was handed, on the rules of
:mod:`genolang.base.safe_files`: never opened through a link, a lock never truncated on open."""

from __future__ import annotations

import os
from pathlib import Path

from genolang.base.safe_files import _CLOEXEC, _HINT, _NOFOLLOW, UnsafeFileError, open_lock

__all__ = ["LockHeld", "take_lock", "create_fresh"]


class LockHeld(Exception):
    """The lock is held by another process (``pid`` as it wrote it, or None)."""

    def __init__(self, pid: int | None):
        super().__init__(pid)
        self.pid = pid


def take_lock(path: str | Path):
    """An exclusive ``flock`` on ``path`` for as long as the returned handle is open, with this
    process's pid written in it; :class:`LockHeld` (with the holder's pid) when taken."""
    import fcntl

    handle = open_lock(path)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        text = handle.read(32)
        handle.close()
        pid = text.strip()
        raise LockHeld(int(pid) if pid.isdigit() else None) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def create_fresh(path: str | Path):
    """A new, empty plain file at ``path`` for writing (a log): whatever was there, a symlink
    included, is unlinked first, and the file is created exclusively."""
    path = Path(path)
    try:
        if os.path.lexists(path) and not os.path.isdir(path) or os.path.islink(path):
            os.unlink(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as exc:
        raise UnsafeFileError(f"{path}: cannot be created ({exc.strerror or exc})", hint=_HINT) from None
    return os.fdopen(fd, "w", encoding="utf-8")
