"""The whole run's remaining time, from the steps and epochs seen so far.

A run is epochs of one or two kinds (pre-training epochs, then search epochs), and an epoch is
phases of steps (warm-up steps, then search steps). :class:`RunClock` estimates

* a phase's seconds per step from its calls after the first one: the first step of a phase
  pays for warm-up (kernel selection, allocator growth, compilation) and is not a rate;
* the rest of the current epoch from the current phase and the phases the last epoch of
  the same kind ran after it;
* every later epoch as long as the last finished epoch of its kind (without the run's first
  step's warm-up time), or, before one has finished, as long as the current epoch looks.

Times come from ``now`` (``time.perf_counter``), so tests drive the clock by hand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

__all__ = ["RunClock"]


@dataclass
class _Phase:
    name: str
    steps: int
    calls: int = 0
    first: float = 0.0          # time of the first call
    second: float = 0.0         # time of the second call: steady rates are measured from here
    last: float = 0.0
    done: int = 0               # steps reported done

    @property
    def rate(self) -> float | None:
        """Seconds per step, without the phase's first step; None until two steps are timed."""
        if self.calls < 3:
            return None
        return (self.last - self.second) / (self.calls - 2)


class RunClock:
    def __init__(self, total_epochs: int, pretrain_epochs: int = 0, now: Callable[[], float] = time.perf_counter):
        self.total = total_epochs
        self.pretrain = pretrain_epochs
        self.now = now
        self.epoch = -1
        self.epoch_start = now()
        self.run_start = self.epoch_start
        self.phases: list[_Phase] = []                 # of the current epoch, in order
        self.last_epoch: dict[str, tuple[float, list[tuple[str, int, float]]]] = {}  # kind -> (s, phases)
        self.warmup_excess: float | None = None       # extra seconds of the run's first step
        self.active = False                           # an epoch is under way

    def kind(self, epoch: int) -> str:
        return "pretrain" if epoch < self.pretrain else "main"

    def start_epoch(self, epoch: int | None = None) -> None:
        self.epoch_start = self.now()
        self.phases = []
        self.active = True
        self.epoch = self.epoch + 1 if epoch is None else epoch

    def step(self, phase: str, epoch: int, step: int, steps: int) -> None:
        """A step of ``phase`` in ``epoch``: ``step + 1`` of ``steps`` are done (or starting)."""
        t = self.now()
        if not self.active:
            self.start_epoch(epoch)
        self.epoch = epoch
        if not self.phases or self.phases[-1].name != phase:
            self.phases.append(_Phase(phase, steps, first=t))
        p = self.phases[-1]
        p.steps, p.calls, p.last, p.done = steps, p.calls + 1, t, step + 1
        if p.calls == 2:
            p.second = t
        if self.warmup_excess is None and p.rate is not None:
            # the warm-up step lies before the second call, whether a step is reported as it
            # starts (then it runs between the first two calls) or as it ends (before the first)
            self.warmup_excess = max(0.0, (p.second - self.epoch_start) - 2 * p.rate)

    def end_epoch(self, epoch: int) -> None:
        seconds = self.now() - self.epoch_start - self._excess()
        phases = [(p.name, p.steps, p.rate if p.rate is not None else 0.0) for p in self.phases]
        self.last_epoch[self.kind(epoch)] = (max(seconds, 0.0), phases)
        self.epoch = epoch
        self.phases = []
        self.active = False

    def _excess(self) -> float:
        """The run's first-step warm-up, while the run's first epoch is under way."""
        return (self.warmup_excess or 0.0) if not self.last_epoch else 0.0

    def _rest_of_epoch(self) -> float | None:
        """Seconds left in the current epoch, or None when nothing is timed yet."""
        known = self.last_epoch.get(self.kind(self.epoch))
        p = self.phases[-1] if self.phases else None
        if p is None or p.rate is None:
            return None if known is None else max(known[0] - (self.now() - self.epoch_start), 0.0)
        rest = (p.steps - p.done) * p.rate
        if known is not None:
            names = [name for name, _, _ in known[1]]
            if p.name in names:
                rest += sum(steps * rate for _, steps, rate in known[1][names.index(p.name) + 1:])
        return rest

    def eta(self) -> float | None:
        """Seconds left in the whole run; None until there is a rate to go by."""
        rest, projected = 0.0, None
        if self.last_epoch:                # no epoch of a kind yet: as long as the last one
            projected = self.last_epoch[self.kind(self.epoch)][0] if self.kind(self.epoch) in self.last_epoch \
                else next(iter(self.last_epoch.values()))[0]
        if self.active:
            current = self._rest_of_epoch()
            if current is None:
                return None
            rest = current
            projected = self.now() - self.epoch_start - self._excess() + current
        for e in range(self.epoch + 1, self.total):
            known = self.last_epoch.get(self.kind(e))
            if known is not None:
                rest += known[0]
            elif projected is not None:
                rest += projected          # no epoch of this kind yet: as long as the current one
            else:
                return None
        return max(rest, 0.0)

    def fraction(self) -> float:
        """How much of the run is done, in epochs (the current phase counting for its share)."""
        done = self.epoch + 1
        if self.active:
            done = self.epoch
            if self.phases:
                p = self.phases[-1]
                done += min(p.done / max(p.steps, 1), 1.0)
        return min(max(done, 0) / max(self.total, 1), 1.0)
