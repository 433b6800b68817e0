"""`geno train` (retrain a genotype) and `geno eval` (test a finished run or checkpoint)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app
from genolang.cli.search import common_overrides
from genolang.errors import ConfigError


def _genotype_source(path: Path, spec: Optional[Path], genotype: Optional[str], experiment: Optional[str]):
    """(genotype, program, config, spec path) for a genotype file, a search run or a spec."""
    from genolang.api import load, pick
    from genolang.compiler.experiment import ExperimentConfig
    from genolang.runtime.driver import pick_experiment

    if path.is_dir():
        path = path / "genotype.geno"
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    geno_program = load(path)
    chosen = pick(geno_program, "genotype", genotype)
    run = path.parent
    if spec is None and (run / "spec.geno").exists() and (run / "config.json").exists():
        # a search run directory: its spec copy and resolved config
        program = load(run / "spec.geno")
        config = ExperimentConfig.model_validate(json.loads((run / "config.json").read_text()))
        if experiment is not None:
            config = pick_experiment(program, experiment)[1]
        return chosen, program, config, run / "spec.geno"
    program = load(spec) if spec is not None else geno_program
    if program.experiments or experiment is not None:
        config = pick_experiment(program, experiment)[1]
    else:
        config = ExperimentConfig()
    return chosen, program, config, spec or path


def _print_metrics(metrics: dict) -> None:
    for key in ("acc_test", "roc_auc", "fbeta_max", "latency_s_per_batch", "params"):
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if key == "acc_test":
            typer.echo(f"test accuracy: {100 * value:.2f}%")
        elif key == "latency_s_per_batch":
            typer.echo(f"latency: {value:.4f} s/batch")
        else:
            typer.echo(f"{key}: {value:g}")


@app.command()
def train(
    source: Path = typer.Argument(..., help="A genotype file, a search run directory, or a spec with genotypes."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="Spec with the experiment and networks."),
    genotype: Optional[str] = typer.Option(None, "--genotype", "-g", help="Genotype name in the file."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e"),
    out: Path = typer.Option(Path("runs"), "--out", "-o"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue this retraining run directory."),
    epochs: Optional[int] = typer.Option(None, "--epochs"),
    batch: Optional[int] = typer.Option(None, "--batch"),
    steps: Optional[int] = typer.Option(None, "--steps-per-epoch"),
    test_every: int = typer.Option(0, "--test-every", help="Also test every N epochs (the final epoch always)."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device"),
    limit: Optional[int] = typer.Option(None, "--limit"),
    channels_last: bool = typer.Option(False, "--channels-last"),
    sets: Optional[List[str]] = typer.Option(None, "--set"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Retrain a genotype (600 epochs, cutout, drop path, aux head by default) and report the
    final-epoch test accuracy (ROC AUC and max F-beta on binary tasks) and the latency."""
    from genolang.runtime.driver import SearchInterrupted, retrain_genotype

    chosen, program, config, spec_path = _genotype_source(source, spec, genotype, experiment)
    overrides = common_overrides(seed, device, channels_last, limit, sets)
    overrides.update({"retrain.epochs": epochs, "retrain.batch": batch, "retrain.steps_per_epoch": steps})
    config = config.with_overrides(**overrides)
    try:
        result = retrain_genotype(chosen, program, config, out=out, run_dir=resume, resume=resume is not None,
                                  progress=not quiet, test_every=test_every, spec_path=spec_path)
    except SearchInterrupted as stop:
        typer.echo(f"interrupted; resume with: geno train {source} --resume {stop.run_dir}", err=True)
        raise SystemExit(130)  # typer.Exit is swallowed by standalone_mode=False
    _print_metrics(result.metrics)
    if result.run_dir is not None:
        typer.echo(f"run: {result.run_dir}")
        typer.echo(f"next: geno eval {result.run_dir}")


@app.command("eval")
def evaluate(target: Path = typer.Argument(..., help="A retraining run directory or its checkpoint.pt."),
             device: Optional[str] = typer.Option(None, "--device")) -> None:
    """Test the network of a retraining checkpoint; for a search run, show its final genotype."""
    from genolang.runtime.evaluate import evaluate_run

    metrics = evaluate_run(target, device=device)
    if "genotype" in metrics:
        typer.echo(metrics.pop("genotype"))
    _print_metrics(metrics)
