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
"""

from __future__ import annotations

import os
from pathlib import Path

from genolang.errors import ConfigError

__all__ = ["ENV", "usable_cpus", "cgroup_cpu_limit", "resolve_threads"]

ENV = "GENOLANG_THREADS"

CGROUP_ROOT = Path("/sys/fs/cgroup")


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


def resolve_threads(requested: int | None = None) -> tuple[int, str]:
    """(threads, where the number came from): ``--threads``, ``GENOLANG_THREADS``, ``OMP_NUM_THREADS``
    or ``usable CPUs``. An explicit request above the usable CPUs is honoured (the user may know
    better, e.g. hyper-threads outside the mask) but never chosen by default."""
    if requested is not None:
        return _positive(str(requested), "--threads"), "--threads"
    for name in (ENV, "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            return _positive(value, name), name
    return usable_cpus(), "usable CPUs"
