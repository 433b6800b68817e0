"""`geno train` (retrain a genotype) and `geno eval` (test a finished run or checkpoint)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app, main_rank
from genolang.cli.search import THREADS_HELP, add_options, check_device, common_overrides, given, use_threads
from genolang.base.errors import ConfigError


def resolve_source(path: Path) -> Path:
    """The genotype file ``path`` names: a file, or a run directory's ``genotype.geno``. A run
    directory means exactly that run (the search prints the one it wrote: ``runs/digits-2``
    the second time); a run name that does not exist is an error naming that name's runs."""
    from genolang.runtime.runs.rundir import newest_run
    from genolang.specname import spec_path

    newest = newest_run(path) if path.suffix != ".geno" and not path.exists() else None
    if newest is not None:
        raise ConfigError(f"{path}: no such run directory",
                          hint=f"the newest run of that name is {newest}: `geno train {newest}`")
    path = spec_path(path)          # a packaged genotype name (zoo/darts_v2) when no such file exists
    if path.is_file() or (path.exists() and not path.is_dir()):
        return path
    if not path.exists():
        if path.suffix == ".geno":
            raise ConfigError(f"{path} does not exist")
        raise ConfigError(f"{path}: no such genotype file or run directory",
                          hint="give a .geno file, or the run directory a search printed")
    found = path / "genotype.geno"
    if os.path.lexists(found):
        from genolang.base.safe_files import received_spec

        return received_spec(path, "genotype.geno")    # a run directory may come from anyone: no links
    raise ConfigError(f"{path} has no final genotype (genotype.geno): the run was interrupted, "
                      "diverged or is still running", hint=f"resume it with `geno search --resume {path}`, or name "
                                                           "an earlier run's genotype.geno")


def _genotype_source(path: Path, spec: Optional[Path], genotype: Optional[str], experiment: Optional[str]):
    """(genotype, program, config, spec path) for a genotype file, a search run or a spec."""
    from genolang.api import training_inputs

    return training_inputs(resolve_source(path), spec, genotype, experiment)


def _print_metrics(metrics: dict) -> None:
    for key in ("acc_test", "roc_auc", "fbeta_max", "latency_s_per_batch", "params"):
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if key == "acc_test":
            typer.echo(f"test accuracy: {100 * value:.2f}%")
        elif key == "fbeta_max":
            from genolang.runtime.runs.metrics import LENS_BETA2

            beta2 = metrics.get("fbeta_beta2", LENS_BETA2)
            typer.echo(f"fbeta_max: {value:g} (F-beta with beta^2 = {beta2:g}: precision weighted {1 / beta2:g}x "
                       "over recall, the lens-finding challenge's; the best over all thresholds)")
        elif key == "latency_s_per_batch":
            typer.echo(f"latency: {value:.4f} s/batch")
        else:
            typer.echo(f"{key}: {value:g}")


@app.command()
def train(
    source: Path = typer.Argument(..., help="A genotype file, a search run directory, a spec with genotypes, or a packaged one (zoo/darts_v2)."),
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
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    sets: Optional[List[str]] = typer.Option(None, "--set"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    force: bool = typer.Option(False, "--force", help="With --resume: accept a genotype or settings that differ "
                                                      "from the run's."),
) -> None:
    """Retrain a genotype (600 epochs, cutout, drop path, aux head by default) and report the
    final-epoch test accuracy (ROC AUC and the best F-beta over thresholds on binary tasks, with
    the lens-finding β² = 1e-3: precision weighted 1000x over recall) and the latency. A search
    run directory (runs/digits-2, as the search printed it) means exactly that run; its
    retraining is written to runs/digits-2-retrain. A run whose loss or weights stop being
    finite stops with exit code 3."""
    labels: dict[str, str] = {}
    thread_count = use_threads(threads)
    from genolang.runtime.jobs.driver import SearchInterrupted, apply_overrides, retrain_genotype

    check_device(device)
    if test_every < 0:
        raise ConfigError(f"--test-every {test_every}: must be 0 (only the final epoch) or more")
    overrides = common_overrides(seed, device, channels_last, limit, sets, labels, threads=(threads, thread_count))
    add_options(overrides, labels, {"retrain.epochs": ("--epochs", epochs), "retrain.batch": ("--batch", batch),
                                    "retrain.steps_per_epoch": ("--steps-per-epoch", steps)})
    chosen, program, config, spec_path = _genotype_source(source, spec, genotype, experiment)
    config = apply_overrides(config, given(overrides), labels)
    # the retraining of run runs/mine-2 is runs/mine-2-retrain, whatever its experiment is called
    name = f"{source.name}-retrain" if source.is_dir() and (source / "genotype.geno").exists() else None
    try:
        result = retrain_genotype(chosen, program, config, out=out, run_dir=resume, resume=resume is not None,
                                  progress=not quiet, test_every=test_every, spec_path=spec_path, force=force,
                                  name=name)
    except SearchInterrupted as stop:
        if main_rank():
            typer.echo(f"interrupted; resume with: geno train {source} --resume {stop.run_dir}" if stop.run_dir.exists()
                       else "interrupted before the run began; nothing to resume", err=True)
        raise SystemExit(130)  # typer.Exit is swallowed by standalone_mode=False
    if not main_rank():
        return
    _print_metrics(result.metrics)
    if result.run_dir is not None:
        typer.echo(f"run: {result.run_dir}")
        typer.echo(f"next: geno eval {result.run_dir}")


@app.command("eval")
def evaluate(target: Path = typer.Argument(..., help="A retraining run directory or its checkpoint.pt."),
             device: Optional[str] = typer.Option(None, "--device"),
             threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP)) -> None:
    """Test the network of a retraining checkpoint (accuracy, and the latency measured now on
    this machine); for a search run, show its final genotype."""
    use_threads(threads)
    from genolang.runtime.jobs.evaluate import evaluate_run

    metrics = evaluate_run(target, device=device)
    if "genotype" in metrics:
        typer.echo(metrics.pop("genotype"))
    _print_metrics(metrics)
