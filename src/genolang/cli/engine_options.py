"""The options that choose where independent runs go: `--engine`, `--address`, resources, retries.

Shared by `geno repeat` (a study's items) and `geno search` (a tournament's games). Nothing
here imports Ray or torch: only `--engine ray` loads Ray.
"""

from __future__ import annotations

from typing import Optional

import typer

ENGINE = typer.Option("local", "--engine", help="Where independent runs go: local (this machine, --jobs) or ray.")
ADDRESS = typer.Option(None, "--address", help="Ray cluster address (HOST:PORT from `ray start --head`; "
                                               "default: RAY_ADDRESS, else a Ray started here).")
CPUS_PER_RUN = typer.Option(None, "--cpus-per-run", help="Ray: CPUs (= threads) per run (default 1).")
GPUS_PER_RUN = typer.Option(None, "--gpus-per-run", help="Ray: GPUs per run, fractions allowed "
                                                         "(default 1 where the cluster has GPUs, else 0).")
RETRIES = typer.Option(None, "--retries", help="Retries of a failed run, which resumes what it left "
                                               "(default: 2 on Ray, 0 locally).")


def make_engine(engine: str, *, jobs: int = 1, address: Optional[str] = None, cpus_per_run: Optional[float] = None,
                gpus_per_run: Optional[float] = None, retries: Optional[int] = None):
    from genolang.base.errors import ConfigError
    from genolang.runtime.jobs.engines import engine_for

    if retries is not None and retries < 0:
        raise ConfigError(f"--retries {retries}: must be 0 or more")
    return engine_for(engine, jobs=jobs, address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
