"""The local engine: work in this process (one job), or commands in J worker processes.

With one job a call runs here (no second torch start-up per item). With more, each study item
runs as a subprocess (``geno run-item STUDY ID``, its argv built by :class:`ItemRef`) whose
threads are its share of the CPUs (:func:`genolang.runtime.jobs.engine.
worker_threads`); work without a command still runs here, one at a time.
"""

from __future__ import annotations

import math
import subprocess
import time

from genolang.runtime.jobs.engine import Engine, Outcome, Work, placement, reap, worker_env, worker_threads

__all__ = ["LocalEngine"]


class LocalEngine(Engine):
    name = "local"

    def __init__(self, jobs: int = 1):
        self.jobs = jobs
        self.capacity = jobs
        self.threads = worker_threads(jobs)
        self._here: list[Work] = []
        self._running: dict[str, tuple[subprocess.Popen, object, dict]] = {}

    def describe(self) -> str:
        return f"{self.jobs} job(s) x {self.threads} thread(s)"

    def settings(self) -> dict:
        return {**super().settings(), "jobs": self.jobs}

    def submit(self, work: Work) -> None:
        if self.jobs == 1 and work.call is not None or work.item is None:
            self._here.append(work)
            return
        from genolang.base.safe_locks import create_fresh

        where = placement("local", self.threads)
        argv = work.item.argv()
        log = create_fresh(work.log) if work.log else subprocess.DEVNULL
        proc = subprocess.Popen(argv, cwd=work.item.study, env=worker_env(where), stdout=log,
                                stderr=subprocess.STDOUT)
        self._running[work.key] = (proc, log, where)

    def wait(self, timeout: float) -> list[Outcome]:
        if self._here:
            return [self._call(self._here.pop(0))]
        deadline = time.time() + timeout
        while True:
            done = []
            for key, (proc, log, where) in list(self._running.items()):
                cpu = reap(proc)
                if cpu is None:
                    continue
                del self._running[key]
                if log is not subprocess.DEVNULL:
                    log.close()
                why = "" if proc.returncode == 0 else f"exit code {proc.returncode}"
                done.append(Outcome(key, proc.returncode == 0, why=why, placement=where,
                                    cpu_s=None if math.isnan(cpu) else cpu))
            if done or not self._running or time.time() >= deadline:
                return done
            time.sleep(0.1)

    def _call(self, work: Work) -> Outcome:
        import torch

        where = placement("local", torch.get_num_threads())
        cpu = time.process_time()       # this process's CPU time: the work is all it does meanwhile
        try:
            value = work.call()
            return Outcome(work.key, True, value=value, placement=where, cpu_s=time.process_time() - cpu)
        except KeyboardInterrupt:
            raise
        except Exception as exc:     # one failed piece of work must not stop the others
            return Outcome(work.key, False, why=f"{type(exc).__name__}: {exc}", placement=where, error=exc)

    def cancel(self) -> None:
        self._here.clear()
        for proc, _, _ in self._running.values():
            proc.terminate()
        for proc, log, _ in self._running.values():
            proc.wait()
            if log is not subprocess.DEVNULL:
                log.close()
        self._running.clear()
