"""`geno search`: run (or resume) the ICDARTS search an experiment describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.errors import ConfigError


def parse_sets(pairs: List[str] | None) -> dict[str, object]:
    """``["search.batch=32", "algorithm.route=A2"]`` → overrides; values read as JSON when
    they parse (numbers, booleans, lists), else kept as strings."""
    out: dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--set expects KEY=VALUE, got `{pair}`", hint="e.g. --set search.batch=32")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def common_overrides(seed, device, channels_last, limit, sets) -> dict[str, object]:
    overrides: dict[str, object] = {"seed": seed, "device": device, "data.limit": limit}
    if channels_last:
        overrides["channels_last"] = True
    overrides.update(parse_sets(sets))
    return overrides


@app.command()
def search(
    spec: Optional[Path] = typer.Argument(None, help="Spec file with an experiment (not needed with --resume)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help="Experiment name (default: the first)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder for run directories."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Search epochs (after pre-training)."),
    pretrain_epochs: Optional[int] = typer.Option(None, "--pretrain-epochs"),
    batch: Optional[int] = typer.Option(None, "--batch"),
    steps: Optional[int] = typer.Option(None, "--steps-per-epoch", help="Cap the steps of every epoch."),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help="icdarts or cdarts."),
    route: Optional[str] = typer.Option(None, "--route", help="Ablation route: A1, A2, B1, B2."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 or auto."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training samples."),
    channels_last: bool = typer.Option(False, "--channels-last", help="NHWC memory format."),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Any setting: --set search.w_lr=0.05"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Search for a genotype; writes runs/<name>/genotype.geno, one genotype per epoch, metrics
    and a checkpoint per epoch. Ctrl-C leaves a run that `--resume` continues."""
    from genolang.runtime.driver import SearchInterrupted, resume_search, start_search

    overrides = common_overrides(seed, device, channels_last, limit, sets)
    overrides.update({"search.epochs": epochs, "search.pretrain_epochs": pretrain_epochs,
                      "search.batch": batch, "search.steps_per_epoch": steps,
                      "algorithm.name": algorithm, "algorithm.route": route})
    try:
        if resume is not None:
            result = resume_search(resume, progress=not quiet,
                                   overrides={k: v for k, v in overrides.items() if v is not None})
        else:
            if spec is None:
                raise ConfigError("give a spec file to search, or --resume RUN_DIR")
            result = start_search(spec, experiment=experiment, out=out, overrides=overrides, progress=not quiet)
    except SearchInterrupted as stop:
        typer.echo(f"interrupted; resume with: geno search --resume {stop.run_dir}", err=True)
        raise SystemExit(130)  # typer.Exit is swallowed by standalone_mode=False
    genotype = result.run_dir / "genotype.geno"
    typer.echo(f"genotype: {genotype}")
    typer.echo(f"next: geno train {genotype}")
