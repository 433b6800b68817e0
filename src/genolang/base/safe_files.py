"""Files genolang reads from and writes into a directory it was handed: a run or a study.

Such a directory may have been sent by anyone (docs/security.md), so nothing in it is
trusted, its shape included. Every path here is resolved inside a *root* the user named and
refused when it climbs out (absolute, ``..``) or passes through a symlink on the way; the
last component is opened with ``O_NOFOLLOW`` too, so a symlink swapped in between the check
and the open is refused by the kernel. Reads open non-blocking (a FIFO does not hang),
``fstat`` the open file and refuse what is not a regular file or is larger than its cap
(``/dev/zero`` is a character device). Writes go to a temporary file created exclusively
with a unique name beside the target, then ``os.replace`` it: a symlink planted at the
target or at a temporary name is replaced, never written through. A directory is deleted
only if genolang created it (:data:`MARKER` inside, written when it made it). Locks and
fresh logs are built on this module, in :mod:`genolang.base.safe_locks`.

Damage in what is read (torn JSON, non-UTF-8, NaN, a list where an object belongs) is a
:class:`DamagedFileError` that names the file: exit code 2, never a traceback. Shared by
every stage, like :mod:`genolang.base.errors`; imports neither torch nor anything after it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable

from genolang.base.errors import UserError
from genolang.base.limits import MAX_JSON_BYTES, MAX_LOG_BYTES, MAX_NAME_BYTES

__all__ = ["DamagedFileError", "UnsafeFileError", "MARKER", "check_component", "inside", "check_inside",
           "read_bytes", "read_text", "read_json", "read_jsonl", "write_bytes", "write_text", "write_json",
           "append_text", "truncate", "open_lock", "make_dir", "mark_created", "created_by_genolang",
           "remove_created", "is_regular", "received_spec"]

# Written into every directory genolang creates for a run; only such a directory is ever deleted.
MARKER = ".genolang-created"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class UnsafeFileError(UserError):
    """A path in a received directory that escapes it, is a symlink or is not a plain file."""

    kind = "unsafe file"


class DamagedFileError(UserError):
    """A file of a received directory that cannot be read as what it should be."""

    kind = "damaged file"


_HINT = "a run or study directory holds only plain files genolang wrote; restore it, or start it again"


def check_component(name: Any, what: str, where: str | Path) -> str:
    """``name`` if it is one safe path component (no separator, not ``.``/``..``, not absolute,
    printable, at most :data:`MAX_NAME_BYTES`); else an error naming ``where`` it came from."""
    ok = (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
          and name.isprintable() and not os.path.isabs(name) and len(name.encode("utf-8", "replace")) <= MAX_NAME_BYTES)
    if not ok:
        raise UnsafeFileError(f"{where}: {what} {name!r} is not a single file name inside the directory",
                              hint="names are one path component: no `/`, `\\`, `..`, not absolute, "
                                   f"printable, at most {MAX_NAME_BYTES} bytes")
    return name


def inside(root: str | Path, *relative: str | Path) -> Path:
    """``root/relative...``, refused when a part is absolute or ``..``, or when any existing
    component below ``root`` is a symlink. ``root`` itself is the user's and may be a link."""
    root = Path(root)
    path = root
    for part in relative:
        rel = Path(part)
        if rel.is_absolute() or any(p in ("..", "") for p in rel.parts) or "\0" in str(part):
            raise UnsafeFileError(f"{root}: the path {str(part)!r} leaves the directory",
                                  hint="paths inside a run or study are relative and never climb out with `..`")
        for p in rel.parts:
            path = path / p
            _refuse_link(path)
    return path


def check_inside(root: str | Path, path: str | Path) -> Path:
    """``path`` (under ``root``) with every component below ``root`` checked as :func:`inside`."""
    root, path = Path(root), Path(path)
    try:
        relative = path.relative_to(root)
    except ValueError:
        raise UnsafeFileError(f"{path} is not inside {root}", hint=_HINT) from None
    return inside(root, *relative.parts) if relative.parts else root


def _refuse_link(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnsafeFileError(f"{path}: cannot be examined ({exc.strerror or exc})", hint=_HINT) from None
    if stat.S_ISLNK(mode):
        raise UnsafeFileError(f"{path} is a symlink; genolang neither reads nor writes through links in a "
                              "run or study directory", hint=_HINT)


def received_spec(root: str | Path, *parts: str) -> Path:
    """A `.geno` file of a received directory, about to be parsed: a plain file inside ``root``
    reached through no symlink (a link would make genolang parse, and quote, any file)."""
    path = inside(root, *parts)
    if path.suffix != ".geno":
        raise UnsafeFileError(f"{path} is not a .geno file; not read", hint=_HINT)
    if not is_regular(path):
        raise UnsafeFileError(f"{path} is missing or not a plain file; not read", hint=_HINT)
    return path


def is_regular(path: str | Path) -> bool:
    """A plain file (not a link, FIFO, device or directory)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# ----------------------------------------------------------------------------- reading


def read_bytes(path: str | Path, *, limit: int = MAX_JSON_BYTES, missing_ok: bool = False) -> bytes | None:
    """The bytes of a plain file of at most ``limit`` bytes (None when absent and ``missing_ok``)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise DamagedFileError(f"{path}: missing", hint=_HINT) from None
    except OSError as exc:
        if os.path.islink(path):
            _refuse_link(path)
        raise UnsafeFileError(f"{path}: cannot be opened ({exc.strerror or exc})", hint=_HINT) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(f"{path} is not a plain file (a device, FIFO, socket or directory); not read",
                                  hint=_HINT)
        if info.st_size > limit:
            raise UnsafeFileError(f"{path} is {info.st_size:,} bytes, more than the {limit:,} genolang reads "
                                  "from such a file", hint=_HINT)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:          # it grew while being read
                raise UnsafeFileError(f"{path} grew past {limit:,} bytes while being read", hint=_HINT)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | Path, *, limit: int = MAX_JSON_BYTES) -> str:
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DamagedFileError(f"{path}: not UTF-8 text (byte {exc.start})", hint=_HINT) from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def read_json(path: str | Path, *, expect: type | None = dict, limit: int = MAX_JSON_BYTES,
              missing_ok: bool = False) -> Any:
    """A JSON file: torn text, NaN/Infinity, non-UTF-8 or a value of another type than
    ``expect`` is a :class:`DamagedFileError` naming the file (and line:col when torn)."""
    if missing_ok and read_bytes(path, limit=limit, missing_ok=True) is None:
        return None
    text = read_text(path, limit=limit)
    try:
        data = _loads(text)
    except RecursionError:
        raise DamagedFileError(f"{path}: nested too deeply", hint=_HINT) from None
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
        where = f"{path}:{line}:{col}" if line else str(path)
        raise DamagedFileError(f"{where}: not valid JSON ({getattr(exc, 'msg', exc)})", hint=_HINT) from None
    if expect is not None and not isinstance(data, expect):
        raise DamagedFileError(f"{path}: holds a JSON {type(data).__name__}, not {_json_kind(expect)}", hint=_HINT)
    return data


def _json_kind(kind: type) -> str:
    return {dict: "an object", list: "a list"}.get(kind, kind.__name__)


def read_jsonl(path: str | Path, *, limit: int = MAX_LOG_BYTES, repair: bool = False,
               warn=None) -> list[dict]:
    """The records of a JSONL log (objects, one a line). A torn *last* line (a run killed while
    appending) is skipped, and with ``repair`` cut from the file (``warn`` hears of it); a
    damaged line before the last is a located :class:`DamagedFileError`."""
    path = Path(path)
    data = read_bytes(path, limit=limit, missing_ok=True)
    if data is None:
        return []
    lines = data.split(b"\n")
    records, offset = [], 0
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                record = _loads(line.decode("utf-8"))
                if not isinstance(record, dict):
                    raise ValueError(f"a JSON {type(record).__name__}, not an object")
            except (ValueError, RecursionError) as exc:   # UnicodeDecodeError, JSONDecodeError
                if any(rest.strip() for rest in lines[number:]):
                    raise DamagedFileError(f"{path}:{number}: not a valid JSON record ({getattr(exc, 'msg', exc)})",
                                           hint="the log is damaged: restore it, or delete that line") from None
                if repair:
                    if warn is not None:
                        warn(f"warning: {path}:{number}: dropped a torn last line (the run was stopped while "
                             "writing it)")
                    truncate(path, offset)
                break
            records.append(record)
        offset += len(line) + 1
    return records


# ----------------------------------------------------------------------------- writing


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``path`` atomically through an exclusively created, uniquely named temporary file
    in the same folder; a symlink at ``path`` is replaced, not followed."""
    path = Path(path)
    _refuse_link(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)
    return path


def write_text(path: str | Path, text: str, *, durable: bool = False) -> Path:
    return write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(path: str | Path, data: Any, *, indent: int | None = 2, durable: bool = True) -> Path:
    return write_bytes(path, (json.dumps(data, indent=indent, allow_nan=False) + "\n").encode("utf-8"),
                       durable=durable)


def _open_plain(path: Path, flags: int) -> int:
    """An fd on the plain file ``path`` (created when ``flags`` say so), never through a link."""
    try:
        fd = os.open(path, flags | _NOFOLLOW | _NONBLOCK | _CLOEXEC, 0o644)
    except OSError as exc:
        _refuse_link(path)
        raise UnsafeFileError(f"{path}: cannot be opened ({exc.strerror or exc})", hint=_HINT) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeFileError(f"{path} is not a plain file; genolang does not write to it", hint=_HINT)
    os.set_blocking(fd, True)
    return fd


def append_text(path: str | Path, text: str) -> None:
    """Append to a plain file (created if absent); a symlink, FIFO or device is refused."""
    fd = _open_plain(Path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def truncate(path: str | Path, size: int) -> None:
    fd = _open_plain(Path(path), os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def open_lock(path: str | Path):
    """A handle on the lock file ``path`` for ``flock``: created if absent, never truncated,
    never opened through a link."""
    fd = _open_plain(Path(path), os.O_RDWR | os.O_CREAT)
    return os.fdopen(fd, "r+")


# ----------------------------------------------------------------------------- directories


def make_dir(path: str | Path, *, mark: bool = False, exist_ok: bool = True) -> Path:
    """``mkdir`` (parents too) refusing a symlink at ``path``; ``mark``: genolang made it."""
    path = Path(path)
    _refuse_link(path)
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise
    except OSError as exc:
        raise UnsafeFileError(f"{path}: cannot be created ({exc.strerror or exc})", hint=_HINT) from None
    if not path.is_dir() or path.is_symlink():
        raise UnsafeFileError(f"{path} is not a directory", hint=_HINT)
    if mark:
        mark_created(path)
    return path


def mark_created(folder: str | Path) -> None:
    """Note in ``folder`` that genolang created it (so that it may delete it later)."""
    marker = Path(folder) / MARKER
    if not is_regular(marker):
        write_bytes(marker, b"made by genolang; a directory without this file is never deleted by it\n",
                    durable=False)


def created_by_genolang(folder: str | Path) -> bool:
    folder = Path(folder)
    return folder.is_dir() and not folder.is_symlink() and is_regular(folder / MARKER)


def remove_created(folder: str | Path, root: str | Path) -> None:
    """Delete ``folder`` (inside ``root``) if genolang created it; refuse otherwise."""
    folder = check_inside(root, folder)
    if not folder.exists():
        return
    if not created_by_genolang(folder):
        raise UnsafeFileError(f"{folder} was not created by genolang (no {MARKER} in it), so it is not deleted",
                              hint="move it away yourself if it should go, then run again")
    shutil.rmtree(folder)     # fd-based on Linux: links inside are removed, never followed


def plain_files(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if is_regular(p)]

