"""The divergence guard: a run whose losses or parameters stop being finite stops, instead of
checkpointing NaN weights and deriving a genotype from NaN α.

Losses are watched at every step (:class:`FiniteWatch`, fed by the epoch meter) without a
device synchronisation on accelerators: the index and value of the first non-finite loss are
kept on the device and looked at every ``SYNC_EVERY`` steps and at the end of the epoch (on
the CPU there is nothing to synchronise, so every step is looked at as it happens). The whole
state is checked once per epoch, before anything derived from it is written
(:func:`check_state`). Either raises :class:`NonFiniteError`; the runners catch it to say
where the run stopped, log it and leave the last (finite) checkpoint in place. The CLI exits
with :data:`EXIT_NONFINITE`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import Tensor

from genolang.base.errors import RunError

__all__ = ["EXIT_NONFINITE", "NonFiniteError", "FiniteWatch", "check_state", "stopped"]

EXIT_NONFINITE = 3      # documented exit code of a run that diverged (README, "The CLI")
SYNC_EVERY = 64         # steps between looks at the device-side watch on accelerators


class NonFiniteError(RunError):
    """A loss or a parameter became NaN or infinite. Exit code :data:`EXIT_NONFINITE`."""

    exit_code = EXIT_NONFINITE

    def __init__(self, what: str, value: float | None = None, *, step: int | None = None,
                 epoch: int | None = None, phase: str | None = None):
        self.what, self.value, self.step, self.epoch, self.phase = what, value, step, epoch, phase
        self.total: int | None = None
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.epoch is not None:
            where.append(f"epoch {self.epoch + 1}" + (f"/{self.total}" if self.total else "")
                         + (f" ({self.phase})" if self.phase else ""))
        if self.step is not None:
            where.append(f"step {self.step + 1}")
        value = "" if self.value is None else f" = {self.value}"
        return (f"training diverged{' in ' + ', '.join(where) if where else ''}: {self.what}{value} "
                "is not finite; the run is stopped, and nothing derived from it is written")

    def located(self, *, epoch: int, total: int, hint: str) -> "NonFiniteError":
        if self.epoch is None:
            self.epoch = epoch
        self.total = total
        self.message = self._describe()
        self.args = (self.message,)
        self.hint = hint
        return self


class FiniteWatch:
    """The first non-finite value of each named stream of scalars, kept without syncing."""

    def __init__(self, eager: bool | None = None) -> None:
        """``eager``: look at each value as it comes (default: for values on the CPU)."""
        self._first: dict[str, tuple[Tensor, Tensor]] = {}   # key -> (index or -1, value)
        self._adds = 0
        self.eager = eager

    def add(self, key: str, value: Tensor, index: int) -> None:
        if not value.is_floating_point() or value.numel() != 1:
            return
        value = value.detach().reshape(())
        if self.eager if self.eager is not None else value.device.type == "cpu":
            if not math.isfinite(value.item()):
                raise NonFiniteError(key, value.item(), step=index)
            return
        first, held = self._first.get(key) or (torch.full((), -1, device=value.device, dtype=torch.long),
                                               torch.zeros((), device=value.device, dtype=value.dtype))
        new = ~torch.isfinite(value) & (first < 0)
        self._first[key] = (torch.where(new, torch.full_like(first, index), first), torch.where(new, value, held))
        self._adds += 1
        if self._adds % SYNC_EVERY == 0:
            self.check()

    def check(self) -> None:
        """Raise for the first non-finite value seen (one device sync)."""
        if not self._first:
            return
        keys = list(self._first)
        firsts = torch.stack([self._first[k][0] for k in keys]).tolist()
        for key, first in zip(keys, firsts):
            if first >= 0:
                raise NonFiniteError(key, self._first[key][1].item(), step=first)


def _tensors(state: Any, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
    if isinstance(state, Tensor):
        if state.is_floating_point() or state.is_complex():
            yield prefix, state
    elif isinstance(state, dict):
        for key, value in state.items():
            yield from _tensors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(state, (list, tuple)):
        for i, value in enumerate(state):
            yield from _tensors(value, f"{prefix}.{i}" if prefix else str(i))


def check_state(state: Any, *, epoch: int | None = None, phase: str | None = None) -> None:
    """Raise if any floating tensor of ``state`` (a checkpoint's contents) is not finite; one
    device sync when all are, which is every epoch of a healthy run."""
    named = list(_tensors(state))
    if not named:
        return
    groups: dict[tuple, list[Tensor]] = {}
    for _, t in named:
        groups.setdefault((t.device, t.dtype), []).append(t.reshape(-1))
    # one flat copy and one sync per (device, dtype): per-tensor checks cost more in overhead
    if all(bool(torch.isfinite(torch.cat(flat)).all()) for flat in groups.values()):
        return
    bad = [name for name, t in named if not bool(torch.isfinite(t).all())]
    more = f" (and {len(bad) - 1} more of the {len(named)} tensors of the state)" if len(bad) > 1 else ""
    raise NonFiniteError(f"`{bad[0]}`{more}", epoch=epoch, phase=phase)


def stopped(exc: NonFiniteError, *, epoch: int, total: int, run_dir, command: str) -> NonFiniteError:
    """``exc`` located at ``epoch`` with a hint on resuming, and logged in the run directory.
    ``command`` is the resuming command line after ``geno``, with ``{run}`` for the run."""
    if run_dir is None:
        return exc.located(epoch=epoch, total=total, hint="lower the learning rates and run again")
    path = Path(run_dir.path)
    if run_dir.checkpoint_path.exists():
        hint = (f"{run_dir.checkpoint_path} still holds the last finite state; lower the learning rates and "
                f"resume it: geno {command.format(run=path)} --set ... --force")
    else:
        hint = "no epoch finished before it diverged: lower the learning rates and start again"
    exc.located(epoch=epoch, total=total, hint=hint)
    run_dir.log({"phase": "diverged", "epoch": exc.epoch, "step": exc.step, "what": exc.what,
                 "value": None if exc.value is None else str(exc.value), "in_phase": exc.phase})
    return exc
