"""The Ray engine: every piece of work is a Ray task with its own resource request.

``geno repeat --engine ray [--address ADDR]`` and the games of a tournament run here. A task
asks for ``cpus_per_run`` CPUs (default 1) and ``gpus_per_run`` GPUs (default 1 where the
cluster has GPUs, else 0; fractions share a GPU); its worker gets that many threads and the
GPUs Ray assigned it (:func:`genolang.runtime.jobs.engine.worker_env`). A study item runs as a
subprocess of the task (``geno run-item STUDY ID``, built from the kind of work, never read
from the manifest) in the study directory, which must be on a filesystem the workers share with
the driver (a single machine, or an NFS path given as the study directory); the subprocess is
killed with its worker, so a retry never runs beside an orphan. Tasks are never retried by
Ray itself: :func:`genolang.runtime.jobs.engine.run_all` retries them, after the failed attempt
has stopped.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from genolang.base.errors import ConfigError
from genolang.runtime.jobs.engine import Engine, Outcome, Shared, Work, placement, reap, worker_env

__all__ = ["RayEngine", "MARKER_SUFFIX"]

MARKER_SUFFIX = ".worker.json"    # beside a command's log: which processes run it (for kill tests, ops)
INSTALL_HINT = "install it with `pip install 'genolang[ray]'` (or `pip install 'ray[default]'`)"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--engine ray needs Ray, which is not installed", hint=INSTALL_HINT) from None
    return ray


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """A HOST:PORT address answers, before Ray waits a minute on it."""
    if address in ("auto", "local") or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--address {address}: not HOST:PORT",
                          hint="the address `ray start --head` prints, e.g. 10.0.0.1:6379")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc})",
                          hint="start one with `ray start --head` on that machine (it prints the address), "
                               "or leave --address out to start a local Ray") from None


def _die_with_parent() -> None:
    """In the child: SIGKILL it when the Ray worker that started it dies (Linux)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def _wait_for_previous_attempt(marker: Path, timeout: float = 60.0) -> None:
    """A previous attempt's process on this host may still be dying (SIGKILL lands only after
    an fsync in flight): its run directory's lock is free once it is gone."""
    from genolang.base.errors import UserError
    from genolang.base.safe_files import read_json

    try:
        old = read_json(marker, missing_ok=True) or {}
    except UserError:
        return
    if old.get("host") != socket.gethostname() or not isinstance(old.get("pid"), int):
        return
    deadline = time.time() + timeout
    while _alive(old["pid"]) and time.time() < deadline:
        time.sleep(0.05)


def execute(work: Work, threads: int, cpus: float) -> dict:
    """The body of every task, in a Ray worker: a command as a subprocess, else the call."""
    import ray

    context = ray.get_runtime_context()
    where = placement("ray", threads, [str(g) for g in ray.get_gpu_ids()], cpus=cpus,
                      node=context.get_node_id(), worker_pid=os.getpid())
    env = worker_env(where)
    if work.item is None:
        os.environ.update({k: env[k] for k in ("GENOLANG_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        import torch

        torch.set_num_threads(threads)
        return {"placement": where, "value": work.call()}
    from genolang.base.safe_files import write_json
    from genolang.base.safe_locks import create_fresh

    marker = Path(str(work.log) + MARKER_SUFFIX) if work.log else None
    if marker is not None:
        _wait_for_previous_attempt(marker)
    argv = work.item.argv()
    log = create_fresh(work.log) if work.log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(argv, cwd=work.item.study, env=env, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        if marker is not None:
            write_json(marker, {**where, "pid": proc.pid}, durable=False)
        cpu = reap(proc, block=True)
        code = proc.returncode
    finally:
        if log is not subprocess.DEVNULL:
            log.close()
    if code != 0:
        raise RuntimeError(f"`{work.item.describe()}` exited with code {code}"
                           + (f"; see {work.log}" if work.log else ""))
    return {"placement": {**where, "pid": proc.pid}, "value": None, "cpu_s": None if math.isnan(cpu) else cpu}


class _RayShared(Shared):
    def __init__(self, ref):
        self.ref = ref

    def get(self) -> Any:
        import ray

        return ray.get(self.ref)


class RayEngine(Engine):
    name = "ray"
    default_retries = 2

    def __init__(self, address: str | None = None, cpus_per_run: float | None = None,
                 gpus_per_run: float | None = None):
        for option, value in (("--cpus-per-run", cpus_per_run), ("--gpus-per-run", gpus_per_run)):
            if value is not None and not value >= 0:
                raise ConfigError(f"{option} {value}: must be 0 or more")
        if cpus_per_run == 0:
            raise ConfigError("--cpus-per-run 0: a run needs some CPU", hint="e.g. --cpus-per-run 1 (fractions allowed)")
        ray = _import_ray()
        self._ray = ray
        if address is not None:
            _check_reachable(address)
        if not ray.is_initialized():       # a driver already connected (a notebook, a test) keeps its cluster
            try:
                ray.init(address=address, log_to_driver=False, include_dashboard=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(f"could not connect to Ray{f' at {address}' if address else ''}: {exc}",
                                  hint="check the address `ray start --head` printed") from None
        resources = ray.cluster_resources()
        self.cpus = 1.0 if cpus_per_run is None else float(cpus_per_run)
        self.gpus = (1.0 if resources.get("GPU", 0) > 0 else 0.0) if gpus_per_run is None else float(gpus_per_run)
        if self.gpus > resources.get("GPU", 0):
            raise ConfigError(f"--gpus-per-run {self.gpus:g}: the Ray cluster has {resources.get('GPU', 0):g} GPU(s)",
                              hint="--gpus-per-run 0 runs on CPUs")
        if self.cpus > resources.get("CPU", 0):
            raise ConfigError(f"--cpus-per-run {self.cpus:g}: the Ray cluster has {resources.get('CPU', 0):g} CPU(s)")
        self.threads = max(1, int(self.cpus))
        self.capacity = 1 << 30            # Ray queues what does not fit yet
        self._task = ray.remote(execute)
        self._refs: dict[Any, str] = {}

    def describe(self) -> str:
        nodes = len([n for n in self._ray.nodes() if n.get("Alive")])
        return (f"Ray engine ({nodes} node(s), {self._ray.cluster_resources().get('CPU', 0):g} CPU(s)): "
                f"{self.cpus:g} CPU(s) / {self.gpus:g} GPU(s) per run, {self.threads} thread(s)")

    def settings(self) -> dict:
        return {**super().settings(), "cpus_per_run": self.cpus, "gpus_per_run": self.gpus}

    def share(self, value: Any) -> Shared:
        return _RayShared(self._ray.put(value))

    def submit(self, work: Work) -> None:
        # a worker that ran a GPU call keeps its CUDA context: give each such call a fresh one
        options = {"num_cpus": self.cpus, "num_gpus": self.gpus, "max_retries": 0}
        if self.gpus and work.item is None:
            options["max_calls"] = 1
        ref = self._task.options(**options).remote(work, self.threads, self.cpus)
        self._refs[ref] = work.key

    def wait(self, timeout: float) -> list[Outcome]:
        ray = self._ray
        if not self._refs:
            return []
        ready, rest = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        outcomes = []
        for ref in ready:
            key = self._refs.pop(ref)
            try:
                result = ray.get(ref)
                outcomes.append(Outcome(key, True, value=result["value"], placement=result["placement"],
                                        cpu_s=result.get("cpu_s")))
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                outcomes.append(Outcome(key, False, why=f"{type(cause).__name__}: {str(cause).splitlines()[0]}",
                                        error=cause if isinstance(cause, Exception) else None))
            except ray.exceptions.RayError as exc:       # the worker died, the node was lost, ...
                outcomes.append(Outcome(key, False, why=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
        return outcomes

    def cancel(self) -> None:
        ray = self._ray
        refs = list(self._refs)
        for ref in refs:
            try:
                ray.cancel(ref, force=True)      # kills the worker, and with it a command's subprocess
            except Exception:                     # already finished
                pass
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=30)
        self._refs.clear()
        time.sleep(0.2)                           # let the killed subprocesses' deaths land
