"""How many CPU threads a run may use: assigned, never guessed from the machine's core count.

A process's share of the CPUs is the smallest of its affinity mask (``taskset``, a batch
scheduler's cpuset) and its cgroup CPU quota (a container's ``--cpus``, a Kubernetes limit);
``os.cpu_count()`` is neither. Running more OpenMP threads than the share makes every thread
spin-wait on the others over the tens of thousands of tiny ops of a search step, which is how
two searches on two cores end up 30-70x slower than one.

The thread count, in order of precedence: ``--threads N`` on the command line, the
``GENOLANG_THREADS`` environment variable (what a study engine sets for each worker), the
``OMP_NUM_THREADS`` budget, else the usable CPUs. Torch-free: the CLI resolves it before torch
is imported.

:func:`apply_threads` fixes the count for the process: it writes ``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS`` (torch sets its OpenMP pool from MKL's count at start-up, so both must say
the same) before torch is imported, and calls ``torch.set_num_threads`` when it already is.

Under contention the thread count matters, the OpenMP wait policy hardly does: measured with
the digits search on 2 cores already busy with other work, a step took 1.6 s with 1 thread and
3.9 s with 2 (4.5 s with ``OMP_WAIT_POLICY=PASSIVE``, no better with a small
``GOMP_SPINCOUNT``): a team of 2 threads waits at every op for the thread the scheduler parked.
So a count chosen by default (from the usable CPUs) follows the load: :class:`LoadGovernor`
lowers it while other processes keep the CPUs busy and raises it back when they stop. A count
that was asked for (``--threads``, ``GENOLANG_THREADS``, ``OMP_NUM_THREADS``) is kept fixed:
results on the CPU can depend on the thread count, and a fixed one makes a run repeatable.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from genolang.base.errors import ConfigError

__all__ = ["ENV", "DEFAULT_SOURCE", "usable_cpus", "cgroup_cpu_limit", "resolve_threads", "Threads",
           "apply_threads", "take_applied", "busy_seconds", "LoadGovernor"]

ENV = "GENOLANG_THREADS"

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_STAT = Path("/proc/stat")
DEFAULT_SOURCE = "usable CPUs"      # the source of a count nobody asked for: it may follow the load


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """The cgroup CPU quota in CPUs (e.g. 1.5), or None where there is none or none is readable.

    cgroup v2 writes ``"<quota> <period>"`` (or ``"max <period>"``) to ``cpu.max``; v1 splits
    them into ``cpu.cfs_quota_us`` (-1 for none) and ``cpu.cfs_period_us``.
    """
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max" and int(period) > 0:
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by the cgroup quota (at least 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus = min(cpus, max(1, int(limit)))
    return max(1, cpus)


def _positive(value: str, source: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{source} = {value!r}: not a positive number of threads",
                          hint="a whole number such as 1 or 4")
    return n


def _affinity() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def resolve_threads(requested: int | None = None, label: str = "--threads") -> tuple[int, str]:
    """(threads, where the number came from): ``--threads``, ``GENOLANG_THREADS``, ``OMP_NUM_THREADS``
    or ``usable CPUs``. An explicit request above the usable CPUs is honoured (the user may know
    better, e.g. hyper-threads outside the mask) but never chosen by default."""
    if requested is not None:
        return _positive(str(requested), label), label
    for name in (ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            return _positive(value, name), name
    return usable_cpus(), DEFAULT_SOURCE


@dataclass(frozen=True)
class Threads:
    """The process's thread count and where it came from."""

    n: int
    source: str

    @property
    def adaptive(self) -> bool:
        """Whether the count may follow the load (only a count nobody asked for)."""
        return self.source == DEFAULT_SOURCE and self.n > 1

    def describe(self) -> str:
        return f"{self.n} thread{'s' if self.n != 1 else ''} ({self.source}{', follows the load' if self.adaptive else ''})"


_applied: Threads | None = None


def take_applied() -> Threads | None:
    """What :func:`apply_threads` set last (None: nothing since the last take). The run the
    CLI starts takes it, so its source is reported; any later run in the process resolves
    its own count."""
    global _applied
    current, _applied = _applied, None
    return current


def apply_threads(requested: int | None = None, label: str = "--threads") -> Threads:
    """Resolve the count and make the process use it; call before torch is imported where
    possible (libgomp sizes its pool from the environment when torch loads)."""
    global _applied
    n, source = resolve_threads(requested, label)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    _applied = Threads(n, source)
    return _applied


def busy_seconds(cpus: set[int], stat: Path = PROC_STAT) -> float | None:
    """CPU seconds spent busy (not idle, not waiting for I/O) by the CPUs ``cpus`` since boot,
    from ``/proc/stat`` (None where it cannot be read: not Linux)."""
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        for line in stat.read_text().splitlines():
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
                continue
            ticks = [int(f) for f in fields[:8]]
            total += sum(ticks) - ticks[3] - ticks[4]       # fields 4 and 5: idle, iowait
    except (OSError, ValueError, IndexError):
        return None
    return total / hz


class LoadGovernor:
    """Keeps the thread count at the CPUs other processes leave free, at most ``ceiling``.

    :meth:`tick` is cheap (one clock read) and is called once per step; every ``interval``
    seconds it compares the CPUs' busy time with this process's own CPU time: the rest is the
    others' load, and the count becomes the free CPUs, rounded, at least 1. Two searches on two
    cores thus settle at one thread each, and one alone goes back to two."""

    def __init__(self, ceiling: int, set_threads: Callable[[int], None], *, cpus: set[int] | None = None,
                 interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 own_seconds: Callable[[], float] = time.process_time,
                 busy: Callable[[set[int]], float | None] = busy_seconds):
        self.ceiling, self.set_threads, self.interval = ceiling, set_threads, interval
        self.cpus = cpus if cpus is not None else _affinity()
        self.capacity = min(len(self.cpus), usable_cpus()) if cpus is None else len(self.cpus)
        self.clock, self.own_seconds, self.busy = clock, own_seconds, busy
        self.current = ceiling
        self._last = self._sample()

    def _sample(self) -> tuple[float, float, float | None]:
        return self.clock(), self.own_seconds(), self.busy(self.cpus)

    def target(self, others: float) -> int:
        """The count when other processes keep ``others`` CPUs busy."""
        return max(1, min(self.ceiling, int(self.capacity - others + 0.5)))

    def tick(self) -> int:
        """The thread count now (changed through ``set_threads`` when the load says so)."""
        now = self.clock()
        if now - self._last[0] < self.interval:
            return self.current
        sample = self._sample()
        (t0, own0, busy0), (t1, own1, busy1) = self._last, sample
        self._last = sample
        if busy0 is None or busy1 is None or t1 <= t0:
            return self.current
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)
        n = self.target(others)
        if n != self.current:
            self.set_threads(n)
            self.current = n
        return self.current
