"""`geno repeat` (a study: N searches + retrainings, K random baselines) and `geno run-item`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app, main_rank
from genolang.cli import engine_options as eo
from genolang.cli.search import parse_sets


@app.command()
def repeat(
    spec: Path = typer.Argument(..., help="Spec with an experiment (or a packaged name), or a study directory to continue."),
    seeds: int = typer.Option(4, "--seeds", help="Searches (seeds first-seed .. first-seed+N-1), each retrained."),
    random: int = typer.Option(0, "--random", help="Random genotypes from the same space, retrained the same way."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes; the cores are split between them."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Study directory (default runs/<spec>-study)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e"),
    label: Optional[str] = typer.Option(None, "--label", help="Row name in `geno report` (default: the experiment's name)."),
    first_seed: int = typer.Option(0, "--first-seed"),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Any setting, for searches and retrainings: --set search.epochs=2"),
    engine: str = eo.ENGINE,
    address: Optional[str] = eo.ADDRESS,
    cpus_per_run: Optional[float] = eo.CPUS_PER_RUN,
    gpus_per_run: Optional[float] = eo.GPUS_PER_RUN,
    retries: Optional[int] = eo.RETRIES,
) -> None:
    """Run a study: N searches and their retrainings, and K random genotypes retrained the same
    way, each in its own run directory under one study directory with a manifest.json of work
    items. Run it again (or `geno repeat STUDY_DIR`) to continue an interrupted study. With
    `--engine ray` every item is a Ray task (on the cluster at --address)."""
    from genolang.base.errors import ConfigError, RunError
    from genolang.runtime.jobs.study import MANIFEST, create_study, load_study, run_study
    from genolang.specname import spec_path

    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    runner = eo.make_engine(engine, jobs=jobs, address=address, cpus_per_run=cpus_per_run,
                            gpus_per_run=gpus_per_run, retries=retries)
    if spec.is_dir() and (spec / MANIFEST).exists():
        study = load_study(spec)
    else:
        path = spec_path(spec)
        study = create_study(out or Path("runs") / f"{path.stem}-study", path, seeds=seeds, random=random,
                             experiment=experiment, overrides=parse_sets(sets), jobs=jobs, label=label,
                             first_seed=first_seed)
    echo = typer.echo if main_rank() else (lambda _: None)
    echo(f"study {study.path}: {len(study.items)} work items, {runner.describe()}")
    try:
        failed = run_study(study, engine=runner, retries=retries, echo=echo)
    except KeyboardInterrupt:
        typer.echo(f"interrupted; continue with: geno repeat {study.path}", err=True)
        raise SystemExit(130)
    if failed:
        raise RunError(f"{len(failed)} work item(s) failed: " + ", ".join(i["id"] for i in failed),
                       hint=f"logs in {study.path / 'logs'}; run `geno repeat {study.path}` to retry them")
    echo(f"report: geno report {study.path}")


@app.command("run-item")
def run_item(study: Path = typer.Argument(..., help="A study directory (with manifest.json)."),
             item: str = typer.Argument(..., help="The work item's id, e.g. search_s0."),
             threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads (default: the environment's; "
                                                   "`geno repeat` gives each worker its share).")) -> None:
    """Do one work item of a study (fresh, or resumed from its checkpoint): the command each
    manifest item names, for `geno repeat` and for any other engine that runs the items."""
    from genolang.cli.search import use_threads

    use_threads(threads)      # before torch loads; the item's run applies it again
    from genolang.runtime.jobs.study import run_item as run

    run(study, item)
