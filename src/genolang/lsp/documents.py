"""The files the server knows: editor buffers over the disk, paths and URIs, positions.

An editor's unsaved buffer is what a check of that file, and of every file that `use`s it,
must see; :class:`Documents` keeps the open buffers and reads every other file from disk
(through the parser's file cache). A file the server may read lies inside the workspace
folders, the libraries shipped with genolang or the folders the user allows
(``--allow-path``, ``GENOLANG_PATH``): the same roots `use` trusts, so that an editor cannot
make the server read what a spec could not.

Positions: a :class:`~genolang.base.errors.Span` counts lines and columns from 1 in code points;
LSP counts from 0 in UTF-16 code units. :func:`lsp_column` and :func:`span_column` convert.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from genolang.compiler.lower.resolve import LIBRARY_ROOTS, allowed_paths
from genolang.base.errors import GenolangError
from genolang.grammar import parse, parse_file, syntax as S

__all__ = ["Documents", "Buffer", "path_of", "uri_of", "lsp_column", "span_column", "Refused"]

FRONT_END = threading.RLock()       # the parser is not reentrant: every parse holds this


class Refused(Exception):
    """A file the server will not read; ``hint`` says what to do."""

    def __init__(self, reason: str, hint: str):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def path_of(uri: str) -> str | None:
    """The real path of a ``file:`` URI (symlinks followed), or None for another scheme."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return os.path.realpath(unquote(parsed.path))


def uri_of(path: str) -> str:
    return "file://" + quote(os.path.abspath(path))


def lsp_column(line: str | None, column: int) -> int:
    """The 0-based UTF-16 character of 1-based code-point ``column`` on ``line``."""
    index = max(column - 1, 0)
    if line is None or line.isascii():
        return index
    head = line[:index]
    return len(head.encode("utf-16-le")) // 2 + max(0, index - len(head))


def span_column(line: str, character: int) -> int:
    """The 0-based code-point index of 0-based UTF-16 ``character`` on ``line``."""
    if line.isascii():
        return character
    units = 0
    for index, char in enumerate(line):
        if units >= character:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line)


@dataclass
class Buffer:
    uri: str
    path: str
    text: str
    version: int | None


class Documents:
    """Open buffers by real path, and the roots files must lie in."""

    def __init__(self) -> None:
        self.buffers: dict[str, Buffer] = {}
        self.roots: list[Path] = []          # workspace folders; none: every file is the user's own
        self._lock = threading.Lock()
        self._parsed: dict[str, tuple[Buffer, S.Module | GenolangError]] = {}

    # -- buffers
    def open(self, uri: str, text: str, version: int | None) -> Buffer:
        path = path_of(uri)
        if path is None:
            raise Refused(f"only files on disk are checked ({uri.split(':', 1)[0]}: is not)",
                          "save the spec as a .geno file")
        self.admit(path)
        buffer = Buffer(uri, path, text, version)
        with self._lock:
            self.buffers[path] = buffer
        return buffer

    def close(self, uri: str) -> None:
        path = path_of(uri)
        with self._lock:
            self.buffers.pop(path, None)
            self._parsed.pop(path, None)

    def get(self, uri: str) -> Buffer | None:
        return self.buffers.get(path_of(uri) or "")

    def text(self, path: str) -> str | None:
        """The text of ``path``: its buffer, else the file on disk (None if unreadable)."""
        buffer = self.buffers.get(path)
        if buffer is not None:
            return buffer.text
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError):
            return None

    def on_disk(self, uri: str) -> str | None:
        """The text of ``uri``'s file on disk, if it is a readable .geno file."""
        path = path_of(uri)
        try:
            self.admit(path or "")
            return Path(path).read_text(encoding="utf-8")
        except (Refused, OSError, UnicodeDecodeError, ValueError):
            return None
        except (OSError, UnicodeDecodeError, ValueError):
            return None

    # -- reading through buffers
    def read(self, path: Path) -> S.Module:
        """Parse a `use`d file: its open buffer if it has one, else the file (both cached)."""
        buffer = self.buffers.get(os.path.realpath(path))
        return parse_file(path) if buffer is None else self.parse(buffer)

    def parse(self, buffer: Buffer) -> S.Module:
        """The syntax tree of ``buffer`` (parsed once per text: a file many open files use is
        parsed once per edit, not once per check); raises its syntax errors."""
        cached = self._parsed.get(buffer.path)
        if cached is None or cached[0] is not buffer:
            try:
                cached = (buffer, parse(buffer.text, buffer.path))
            except GenolangError as exc:
                cached = (buffer, exc)
            self._parsed[buffer.path] = cached
        if isinstance(cached[1], GenolangError):
            raise cached[1]
        return cached[1]

    # -- roots
    def admit(self, path: str) -> None:
        """Raise :class:`Refused` unless ``path`` is a .geno file inside the allowed roots."""
        if not path.endswith(".geno"):
            raise Refused("it is not a .geno file", "the genolang server reads spec files only (ending in .geno)")
        if not self.roots:
            return
        real = Path(path)
        trusted = [*self.roots, *(Path(os.path.realpath(r)) for r in LIBRARY_ROOTS), *allowed_paths()]
        if not any(real == root or root in real.parents for root in trusted):
            raise Refused("it lies outside the workspace folders, the libraries and the allowed folders",
                          "open it from its own workspace folder, or allow its folder with "
                          "`geno lsp --allow-path DIR` or GENOLANG_PATH (see docs/limits.md)")

    def set_roots(self, folders: list[str]) -> None:
        self.roots = [Path(p) for p in (path_of(f) for f in folders) if p is not None]
