"""Reading a spec file without trusting it: only regular files, only up to the size limit.

A path on the command line or in a `use` may name anything: a FIFO (reading blocks forever),
``/dev/zero`` (never ends), a symlink loop, a huge file. :func:`read_spec` refuses each with a
:class:`SpecSyntaxError` before reading, and reads at most ``MAX_FILE_BYTES + 1`` bytes, so a
file that grows while it is read is refused too. A UTF-8 byte-order mark is dropped.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from genolang.base.errors import SpecSyntaxError
from genolang.base.limits import MAX_FILE_BYTES

__all__ = ["read_spec", "strip_bom"]

BOM = "\ufeff"


def strip_bom(text: str) -> str:
    return text[1:] if text.startswith(BOM) else text


def _os_error(path: Path, exc: OSError) -> SpecSyntaxError:
    if exc.errno == errno.ENOENT:
        return SpecSyntaxError(f"no such spec file: {path}", hint="check the path")
    if exc.errno == errno.ELOOP:
        return SpecSyntaxError(f"{path}: too many levels of symbolic links", hint="a symlink points back at itself")
    if exc.errno == errno.ENAMETOOLONG:
        return SpecSyntaxError(f"path too long: {str(path)[:80]}...", hint="use a shorter path")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return SpecSyntaxError(f"cannot read {path}: permission denied", hint="check the file's permissions")
    if exc.errno == errno.EISDIR:
        return SpecSyntaxError(f"{path} is a folder, not a spec file",
                               hint="pass a .geno file, or use `geno fmt` on a folder")
    return SpecSyntaxError(f"cannot read {path}: {exc.strerror or exc}", hint="check the path")


def read_spec(path: str | Path) -> str:
    """The text of the spec file ``path``; raises :class:`SpecSyntaxError` for anything else."""
    path = Path(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError):     # an embedded NUL byte
            raise SpecSyntaxError(f"not a valid path: {str(path)[:80]!r}") from None
        raise _os_error(path, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecSyntaxError(f"{path} is a folder, not a spec file",
                              hint="pass a .geno file, or use `geno fmt` on a folder")
    if not stat.S_ISREG(info.st_mode):
        raise SpecSyntaxError(f"{path} is not a regular file (a device, FIFO or socket)",
                              hint="a spec is a .geno text file")
    if info.st_size > MAX_FILE_BYTES:
        raise SpecSyntaxError(f"{path} is {info.st_size:,} bytes; spec files are limited to "
                              f"{MAX_FILE_BYTES:,} bytes", hint="split it into several files joined by `use`")
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, open does not block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SpecSyntaxError(f"{path} is not a regular file", hint="a spec is a .geno text file")
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _os_error(path, exc) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecSyntaxError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes, the limit for a spec file",
                              hint="split it into several files joined by `use`")
    try:
        return strip_bom(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecSyntaxError(f"{path} is not UTF-8 text", hint="spec files are UTF-8 text") from None
