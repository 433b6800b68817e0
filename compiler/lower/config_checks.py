"""Checks of single experiment settings that `geno check` must make as `geno search` does,
without torch: a device name, a run name, and no `true` where a number belongs."""

from __future__ import annotations

import os
import re
import typing
from typing import Any

__all__ = ["DEVICE", "device_problem", "run_name_problem", "bool_for_number"]

# The devices genolang runs on, as torch.device spells them ("meta" and the like are refused);
# the device field's pattern too (compiler/lower/experiment.py).
DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,3})?")


def device_problem(value: Any) -> str | None:
    if not isinstance(value, str) or DEVICE.fullmatch(value):
        return None       # not a string: pydantic's own type error says so
    return f"`{value}` is not a device name (auto, cpu, cuda, cuda:1 or mps)"


def run_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a run directory (the rule of runtime.runs.rundir.check_run_name)."""
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name
           or os.path.isabs(name) or len(name.encode()) > 200)
    if not bad:
        return None
    return (f"the experiment name {name!r} cannot name a run directory: it must be one path component "
            "(no `/`, `\\`, `..`, not absolute, at most 200 bytes)")


def _takes(annotation: Any, kinds: tuple[type, ...]) -> bool:
    if annotation in kinds:
        return True
    return any(_takes(arg, kinds) for arg in typing.get_args(annotation))


def bool_for_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` is a boolean given to a numeric setting (pydantic reads `true` as 1)."""
    return isinstance(value, bool) and _takes(annotation, (int, float)) and not _takes(annotation, (bool,))
