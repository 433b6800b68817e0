"""Choosing an engine by name: the local engine, or the Ray engine (Ray imported only for it).

Apart from :mod:`.engine` (what every engine is) so that the engines import the base and this
module imports the engines, and no import goes round in a circle.
"""

from __future__ import annotations

from genolang.base.errors import ConfigError, did_you_mean
from genolang.runtime.jobs.engine import ENGINES, Engine
from genolang.runtime.jobs.local_engine import LocalEngine

__all__ = ["engine_for"]


def engine_for(name: str = "local", *, jobs: int = 1, address: str | None = None, cpus_per_run: float | None = None,
               gpus_per_run: float | None = None) -> Engine:
    """The engine ``name`` (``local`` or ``ray``); Ray is imported only for ``ray``."""
    if name == "local":
        if address is not None or gpus_per_run is not None or cpus_per_run is not None:
            raise ConfigError("--address, --cpus-per-run and --gpus-per-run are options of the Ray engine",
                              hint="add --engine ray, or drop them (the local engine splits the cores by --jobs)")
        return LocalEngine(jobs)
    if name == "ray":
        from genolang.runtime.jobs.ray_engine import RayEngine

        if jobs != 1:
            raise ConfigError("--jobs is the local engine's pool size; Ray schedules by resources",
                              hint="use --cpus-per-run / --gpus-per-run with --engine ray")
        return RayEngine(address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    raise ConfigError(f"--engine {name}: no such engine",
                      hint=did_you_mean(name, ENGINES) or "engines: " + ", ".join(ENGINES))
