"""Engines: what runs independent pieces of work (a study's items, a tournament tier's games).

A :class:`Work` is either a study item (an :class:`ItemRef`: the study and the item's id, run
as the subprocess ``geno run-item STUDY ID`` whose argv the engine builds itself: nothing read
from a manifest is ever executed) or a call (a picklable function of no arguments), or both,
and an engine runs each where it can: the local engine runs calls in this process (one job) or
items in a pool of worker processes (``--jobs J``); the Ray engine
(:mod:`genolang.runtime.jobs.ray_engine`) runs both as Ray tasks with a resource request each.
:func:`run_all` is the one scheduler for every
engine: it submits what is ready (its dependencies done), as many as the engine takes at once,
retries a failure a bounded number of times and, on Ctrl-C, cancels what is queued or running
and stops.

Each run's CPU share and GPU are assigned by the engine, never guessed: a worker gets
``GENOLANG_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and ``CUDA_VISIBLE_DEVICES``
set, and ``GENOLANG_PLACEMENT`` (JSON: engine, host, threads, GPUs) so that the run can record
where it ran.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence


__all__ = ["ENGINES", "Engine", "ItemRef", "Outcome", "PLACEMENT_ENV", "Shared", "Work", "placement",
           "reap", "run_all", "worker_env", "worker_threads"]

ENGINES = ("local", "ray")
PLACEMENT_ENV = "GENOLANG_PLACEMENT"


@dataclass(frozen=True)
class ItemRef:
    """A study's work item, run as ``geno run-item STUDY ID`` in the study directory."""

    study: Path
    id: str

    def argv(self) -> list[str]:
        """The command, built here from the kind of work, by this interpreter (no `geno` on PATH)."""
        from genolang.runtime.jobs.manifest import item_argv

        return item_argv(sys.executable, self.study, self.id)

    def describe(self) -> str:
        return f"geno run-item {self.study} {self.id}"


@dataclass(frozen=True)
class Work:
    key: str
    item: ItemRef | None = None                # run as a subprocess
    call: Callable[[], Any] | None = None      # the same work done in-process
    log: Path | None = None                    # where a subprocess's output goes


@dataclass
class Outcome:
    key: str
    ok: bool
    value: Any = None
    why: str = ""
    placement: dict = field(default_factory=dict)
    error: BaseException | None = None          # what the work raised, where it came back
    cpu_s: float | None = None                  # CPU seconds the work used (user + system), where known


def reap(proc, block: bool = False) -> float | None:
    """Collect a finished child and return the CPU seconds it used (user + system, its own
    children included), or None while it runs. ``os.wait4`` reads the child's resource usage as
    it reaps it; ``Popen.poll`` would reap it and lose that. Where there is no ``wait4`` the
    child is reaped the plain way and its CPU time is unknown (``nan``)."""
    if proc.returncode is not None:
        return math.nan
    if not hasattr(os, "wait4"):
        if (proc.wait() if block else proc.poll()) is None:
            return None
        return math.nan
    pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


class Shared:
    """A value every piece of work reads (a tournament's data): the local engine hands over
    the object itself, the Ray engine one copy in its object store."""

    def __init__(self, value: Any):
        self.value = value

    def get(self) -> Any:
        return self.value


def worker_threads(jobs: int) -> int:
    """Threads per worker: this process's thread budget (:func:`genolang.base.threads.resolve_threads`:
    GENOLANG_THREADS, OMP_NUM_THREADS, else the usable CPUs) split J ways."""
    from genolang.base.threads import resolve_threads

    return max(1, resolve_threads()[0] // max(1, jobs))


def placement(engine: str, threads: int, gpus: Sequence[str] = (), **extra: Any) -> dict:
    return {"engine": engine, "host": socket.gethostname(), "threads": threads, "gpus": [str(g) for g in gpus],
            **extra}


def worker_env(where: Mapping[str, Any], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker with this placement: its thread budget and its GPUs."""
    threads = str(where["threads"])
    env = dict(os.environ if base is None else base)
    env.update({"GENOLANG_THREADS": threads, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                PLACEMENT_ENV: json.dumps(dict(where))})
    if where.get("gpus") or "CUDA_VISIBLE_DEVICES" in env:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(where.get("gpus") or [])
    return env


class Engine(ABC):
    """Runs :class:`Work`; at most :attr:`capacity` at once are handed to it."""

    name: str = "?"
    capacity: int = 1
    threads: int = 1                  # each run's CPU share
    default_retries: int = 0

    @abstractmethod
    def submit(self, work: Work) -> None:
        """Start (or queue) ``work``; its outcome comes back from :meth:`wait`."""

    @abstractmethod
    def wait(self, timeout: float) -> list[Outcome]:
        """The outcomes of work that finished, waiting up to ``timeout`` s for the first."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop all submitted work (queued or running) and wait until it has stopped."""

    def share(self, value: Any) -> Shared:
        return Shared(value)

    def describe(self) -> str:
        return f"{self.name} engine"

    def settings(self) -> dict:
        """What the study manifest records about the engine."""
        return {"name": self.name, "threads_per_run": self.threads}


def run_all(engine: Engine, works: Sequence[Work], *, depends_on: Mapping[str, Sequence[str]] | None = None,
            retries: int | None = None, on_start: Callable[[Work], None] | None = None,
            check: Callable[[Outcome], str | None] | None = None,
            on_finish: Callable[[Outcome, bool], None] | None = None,
            echo: Callable[[str], None] = print) -> dict[str, Outcome]:
    """Run every work whose dependencies succeed; return the last outcome of each that ran.

    ``check(outcome)`` may turn a success into a failure (it returns why: a run directory that
    is not complete); a failure is retried up to ``retries`` times (the engine's default when
    None), so a retried run resumes from what its failed attempt left; ``on_finish(outcome,
    retrying)`` hears of every attempt's end. No work is ever submitted twice at once."""
    retries = engine.default_retries if retries is None else retries
    depends_on = depends_on or {}
    pending = list(works)
    attempts: dict[str, int] = {}
    flying: set[str] = set()
    outcomes: dict[str, Outcome] = {}
    ok = lambda key: key in outcomes and outcomes[key].ok  # noqa: E731
    try:
        while pending or flying:
            ready = [w for w in pending if all(ok(d) for d in depends_on.get(w.key, ()))]
            for work in ready[:max(0, engine.capacity - len(flying))]:
                pending.remove(work)
                attempts[work.key] = attempts.get(work.key, 0) + 1
                if on_start:
                    on_start(work)
                flying.add(work.key)
                engine.submit(work)
            if not flying:
                break                # the rest wait on work that failed
            for outcome in engine.wait(timeout=0.5):
                flying.discard(outcome.key)
                attempt = attempts[outcome.key]
                why = check(outcome) if check is not None and outcome.ok else None
                if why:
                    outcome.ok, outcome.why = False, why
                outcomes[outcome.key] = outcome
                retrying = not outcome.ok and attempt <= retries
                if on_finish is not None:
                    on_finish(outcome, retrying)
                if retrying:
                    left = retries - attempt
                    echo(f"{outcome.key}: attempt {attempt} failed ({outcome.why}); retrying"
                         + (f" ({left} more retr{'y' if left == 1 else 'ies'} after this)" if left else " (last try)"))
                    pending.insert(0, next(w for w in works if w.key == outcome.key))
    except BaseException:
        engine.cancel()
        raise
    return outcomes

