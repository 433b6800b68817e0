"""`geno macro-search`: the macro phase of hierarchical ICDARTS (Algorithm 4) on a micro genotype."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app, main_rank
from genolang.cli.search import THREADS_HELP
from genolang.base.errors import ConfigError


@app.command("macro-search")
def macro_search(
    spec: Optional[Path] = typer.Argument(None, help="Spec file with the macro definition and an experiment "
                                                      "(not needed with --resume)."),
    macro: Optional[str] = typer.Option(None, "--macro", "-m", help="Macro definition (default: the first)."),
    genotype: Optional[str] = typer.Option(None, "--genotype", "-g",
                                           help="Micro genotype: a name in the spec, FILE.geno or FILE.geno:NAME "
                                                "(default: the spec's first genotype)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e",
                                             help="Experiment giving data and schedule (default: the first)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder for run directories."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Macro search epochs (after pre-training)."),
    pretrain_epochs: Optional[int] = typer.Option(None, "--pretrain-epochs"),
    batch: Optional[int] = typer.Option(None, "--batch"),
    steps: Optional[int] = typer.Option(None, "--steps-per-epoch", help="Cap the steps of every epoch."),
    beta: float = typer.Option(1.0, "--beta", help="Version 1: γ init slope (nearest skip dominates)."),
    gamma_lr: float = typer.Option(3e-3, "--gamma-lr", help="Adam learning rate of γ (A21)."),
    warmup_epochs: Optional[int] = typer.Option(None, "--warmup-epochs",
                                                help="E_macro warm-up epochs per regeneration (default 1 for "
                                                     "version 1, 2 for version 2)."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 or auto."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training samples."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Any setting: --set search.w_lr=0.05"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
    force: bool = typer.Option(False, "--force", help="With --resume: accept settings that differ from the run's."),
) -> None:
    """Search the macro structure (skip inputs, version 1; cell type per depth, version 2) over a
    micro genotype's cells; writes runs/<name>/genotype.geno (the genotype with a `macro` block),
    macro.json, metrics and a checkpoint per epoch. Ctrl-C leaves a run that `--resume` continues."""
    from genolang.cli.search import add_options, check_device, common_overrides, given, use_threads

    labels: dict[str, str] = {}
    thread_count = use_threads(threads)
    from genolang.runtime.jobs.driver import SearchInterrupted
    from genolang.runtime.jobs.hierarchical import MacroOptions, resume_macro_search, start_macro_search

    check_device(device)
    overrides = common_overrides(seed, device, False, limit, sets, labels, threads=(threads, thread_count))
    add_options(overrides, labels, {
        "search.epochs": ("--epochs", epochs), "search.pretrain_epochs": ("--pretrain-epochs", pretrain_epochs),
        "search.batch": ("--batch", batch), "search.steps_per_epoch": ("--steps-per-epoch", steps)})
    from genolang.base.limits import MAX_EPOCHS

    if warmup_epochs is not None and not 0 <= warmup_epochs <= MAX_EPOCHS:
        raise ConfigError(f"--warmup-epochs {warmup_epochs}: must be in 0 .. {MAX_EPOCHS}")
    if not (gamma_lr > 0 and gamma_lr < float("inf")):
        raise ConfigError(f"--gamma-lr {gamma_lr}: must be a positive, finite learning rate")
    try:
        if resume is not None:
            result = resume_macro_search(resume, progress=not quiet, overrides=given(overrides), force=force,
                                         labels=labels)
        else:
            if spec is None:
                raise ConfigError("give a spec file with a macro definition, or --resume RUN_DIR")
            options = MacroOptions(beta=beta, gamma_lr=gamma_lr, warmup_epochs=warmup_epochs)
            from genolang.specname import spec_path

            result = start_macro_search(spec_path(spec), macro=macro, genotype=genotype, experiment=experiment, out=out,
                                        overrides=overrides, options=options, progress=not quiet, labels=labels)
    except SearchInterrupted as stop:
        if main_rank():
            typer.echo(f"interrupted; resume with: geno macro-search --resume {stop.run_dir}", err=True)
        raise SystemExit(130)  # typer.Exit is swallowed by standalone_mode=False
    if not main_rank():
        return
    from genolang.compiler.genotype.derive_macro import macro_summary

    if quiet or not result.history:   # else the progress of the last epoch has just shown it
        typer.echo(macro_summary(result.choice))
    genotype = result.run_dir / "genotype.geno"
    typer.echo(f"genotype: {genotype}")
    typer.echo(f"next: geno train {genotype}")
