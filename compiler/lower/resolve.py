"""Where a `use "x.geno"` may lead: the spec's project, the libraries shipped with genolang,
and the folders the user allows explicitly. Nothing else.

A spec is text from anyone, and `use` opens a file: ``use "/proc/self/environ"`` or
``use "../../.ssh/id_rsa"`` must not read (let alone print) anything. The rule:

* only ``.geno`` files are opened;
* a relative path is looked up next to the importing file, then in each library root
  (:data:`LIBRARY_ROOTS`: the standard library, and package data added there), then in each
  allowed folder;
* the file found, with every symlink followed, must lie inside the main spec's *project
  root*, a library root or an allowed folder. The project root is the nearest folder above
  the main spec that holds a project marker (``geno.toml``, ``pyproject.toml`` or ``.git``)
  or is a run or study directory (``spec.geno`` beside ``config.json`` or ``manifest.json``),
  else the main spec's own folder; so ``..`` may climb inside a project but not out of it;
* the file found must itself end in ``.geno`` with every symlink followed: a link named
  ``x.geno`` to ``../.env`` is refused;
* an absolute path is refused unless it lies inside an allowed folder.

Allowed folders come from ``--allow-path DIR`` (:func:`allow_path`) and from the
``GENOLANG_PATH`` environment variable (folders separated by ``os.pathsep``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LIBRARY", "LIBRARY_ROOTS", "STDLIB", "PATH_ENV", "PROJECT_MARKERS", "UseRefused", "allow_path",
           "allowed_paths", "project_root", "resolve_use"]

STDLIB = Path(__file__).resolve().parent.parent / "stdlib"
# The spec library (zoo, experiments): specs/ sits beside compiler/ both in a checkout and in the
# installed package (genolang/specs), so one relative path finds it in either layout.
LIBRARY = Path(__file__).resolve().parent.parent.parent / "specs"
# Folders of specs shipped with genolang, searched by every `use`, in this order.
LIBRARY_ROOTS: list[Path] = [STDLIB, LIBRARY]
PATH_ENV = "GENOLANG_PATH"
PROJECT_MARKERS = ("geno.toml", "pyproject.toml", ".git")
# a run directory (and a study directory) is its own project
RUN_MARKERS = (("spec.geno", "config.json"), ("spec.geno", "manifest.json"))

_allowed: list[Path] = []


class UseRefused(Exception):
    """A `use` that resolution refuses; ``reason`` says why, ``hint`` what to do."""

    def __init__(self, reason: str, hint: str):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def allow_path(folder: str | Path) -> None:
    """Let `use` read .geno files inside ``folder`` (the ``--allow-path`` option)."""
    real = Path(os.path.realpath(folder))
    if real not in _allowed:
        _allowed.append(real)


def allowed_paths() -> list[Path]:
    """The folders the user allowed: ``--allow-path`` ones, then ``GENOLANG_PATH``."""
    out = list(_allowed)
    for part in os.environ.get(PATH_ENV, "").split(os.pathsep):
        if part:
            real = Path(os.path.realpath(part))
            if real not in out:
                out.append(real)
    return out


def project_root(main_file: str) -> Path:
    """The project root of a main spec (see the module docstring); cwd for a spec given as text."""
    if not main_file or main_file.startswith("<"):
        return Path(os.path.realpath(os.getcwd()))
    folder = Path(os.path.realpath(Path(main_file).parent))
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS) \
                or any(all((candidate / m).is_file() for m in markers) for markers in RUN_MARKERS):
            return candidate
    return folder


@lru_cache(maxsize=4)
def _real_roots(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    # the package's own library folders: resolved once, not at every `use` (~10 lstat calls each)
    return tuple(Path(os.path.realpath(p)) for p in roots)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _check_target(real: Path) -> None:
    """The file a `use` reaches, links followed, is a .geno file too (not a link to `.env`)."""
    if real.suffix != ".geno":
        raise UseRefused("it is a link to a file that is not a .geno file",
                         "`use` reads spec files only; the file a link points to must end in .geno too")


@dataclass(frozen=True)
class _Candidate:
    path: Path            # as written, joined to its base folder
    real: Path            # every symlink followed


def _candidate(base: Path, written: str) -> _Candidate:
    joined = base / written
    return _Candidate(joined, Path(os.path.realpath(joined)))


def resolve_use(written: str, importer: str, root: Path | None = None) -> Path:
    """The file a `use` names, checked against the rule of the module docstring.

    Raises:
        FileNotFoundError: no candidate exists.
        UseRefused: the path is not a .geno file, is absolute outside the allowed folders, or
            leads outside the project root, the libraries and the allowed folders.
    """
    if root is None:
        root = project_root(importer)
    allowed = allowed_paths()
    libraries = list(_real_roots(tuple(LIBRARY_ROOTS)))
    trusted = [root, *libraries, *allowed]
    if not written.endswith(".geno"):
        raise UseRefused("it is not a .geno file", "`use` reads spec files only (ending in .geno)")
    if "\x00" in written:
        raise UseRefused("the path contains a NUL byte", "write the path of a .geno file")
    if os.path.isabs(written):
        real = Path(os.path.realpath(written))
        if not _inside(real, allowed):
            raise UseRefused("absolute paths are refused",
                             "write a path relative to the spec, or allow the folder with "
                             f"`--allow-path DIR` or {PATH_ENV}")
        if not real.is_file():
            raise FileNotFoundError(written)
        _check_target(real)
        return real
    bases = []
    if importer and not importer.startswith("<"):
        bases.append(Path(importer).parent)
    else:
        bases.append(Path.cwd())
    bases += libraries + allowed
    escaped = None
    for base in bases:
        candidate = _candidate(base, written)
        try:
            exists = os.path.lexists(candidate.path)
        except (OSError, ValueError):
            exists = False
        if not exists:
            continue
        if not _inside(candidate.real, trusted):
            escaped = escaped or candidate
            continue
        if candidate.real.exists():
            _check_target(candidate.real)
            return candidate.real
        return candidate.path
    if escaped is not None:
        raise UseRefused(f"it leads outside the project ({root})",
                         "a spec may use files inside its project root, the standard library and folders "
                         f"allowed with `--allow-path DIR` or {PATH_ENV} (see docs/limits.md)")
    raise FileNotFoundError(written)
