"""A run's CPU threads: the count it was given (or that the CLI already applied), recorded in its
config and run directory, printed first, and kept at the free CPUs while the count may follow
the load (:mod:`genolang.base.threads`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genolang.base import threads as _threads
from genolang.compiler.lower.experiment import ExperimentConfig

__all__ = ["RunThreads", "start_threads"]


@dataclass
class RunThreads:
    """The threads and device of one run; :meth:`tick` once per training step."""

    threads: _threads.Threads
    device: torch.device
    governor: _threads.LoadGovernor | None = None

    def tick(self) -> None:
        if self.governor is not None:
            self.governor.tick()

    def line(self) -> str:
        """The first line a run prints: where it computes, with how many threads."""
        return f"device {self.device}, {self.threads.describe()}"

    def record(self) -> dict:
        """What run.json keeps of it (config.json has the count itself)."""
        return {"device": str(self.device), "threads": self.threads.n, "threads_source": self.threads.source,
                "threads_follow_load": self.threads.adaptive}


def start_threads(config: ExperimentConfig, device: torch.device) -> tuple[ExperimentConfig, RunThreads]:
    """Apply the run's thread count and return the config with it resolved.

    The CLI applies ``--threads`` before torch is imported; a count the config names (the
    API's ``threads=``, a spec's ``threads``) otherwise applies here as if given on the
    command line; else the environment and the usable CPUs decide."""
    current = _threads.take_applied()
    if current is None or config.threads != current.n:
        # the CLI passes the count it applied; anything else is resolved here
        current = _threads.apply_threads(config.threads, label="threads setting")
        _threads.take_applied()
    torch.set_num_threads(current.n)
    governor = None
    if current.adaptive and device.type == "cpu":
        governor = _threads.LoadGovernor(current.n, torch.set_num_threads)
    if config.threads != current.n:
        config = config.with_overrides(threads=current.n)
    return config, RunThreads(current, device, governor)
