"""Reading and writing a run directory's JSON files: every one through
:mod:`genolang.base.safe_files` (no symlink followed, no FIFO or device read, temporary files
with unique names, size caps), damage a located :class:`RunDirError`. Only rank 0 writes
(:func:`is_main_process`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Mapping

import torch

from genolang.base import safe_files as sf
from genolang.base.errors import UserError

__all__ = ["RunDirError", "is_main_process", "read_json", "read_jsonl", "write_json", "read_json_quiet"]


class RunDirError(UserError):
    """A run directory that cannot be used as asked (missing, damaged, changed, in use)."""

    kind = "run error"


def is_main_process() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0



def write_json(path: Path, data: Mapping[str, Any]) -> None:
    sf.write_json(sf.check_inside(path.parent, path), data, indent=1, durable=False)


def read_json_quiet(path: Path) -> dict:
    try:
        return sf.read_json(path, missing_ok=True) or {}
    except UserError:
        return {}


def _as_run_error(exc: UserError) -> RunDirError:
    return RunDirError(exc.message, hint=exc.hint)


def read_json(path: Path) -> Any:
    """A JSON file of a run directory; a located :class:`RunDirError` when it is torn."""
    try:
        return sf.read_json(path, expect=None)
    except UserError as exc:
        raise _as_run_error(exc) from None


def read_jsonl(path: Path, *, repair: bool = False) -> list[dict]:
    """The records of a JSONL log. A torn *last* line (a run killed while appending) is
    skipped, and with ``repair`` cut from the file with a warning; a damaged line before the
    last is a located :class:`RunDirError`."""
    try:
        return sf.read_jsonl(path, repair=repair, warn=lambda text: print(text, file=sys.stderr))
    except UserError as exc:
        raise _as_run_error(exc) from None
