"""`geno search`: run (or resume) the ICDARTS search an experiment describes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional

import typer

from genolang.cli import app, main_rank
from genolang.cli import engine_options as eo
from genolang.base.errors import ConfigError


def parse_sets(pairs: List[str] | None, labels: dict[str, str] | None = None) -> dict[str, object]:
    """``["search.batch=32", "algorithm.route=A2"]`` → overrides; values read as JSON when
    they parse (numbers, booleans, lists), else kept as strings. ``labels`` receives how each
    key was given, for error messages."""
    out: dict[str, object] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set expects KEY=VALUE, got `{pair}`", hint="e.g. --set search.batch=32")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
        except RecursionError:
            raise ConfigError(f"--set {key}: the value is nested too deeply") from None
        if not _finite(out[key]):
            raise ConfigError(f"--set {pair}: not a finite number", hint="NaN and infinite settings are refused")
        if labels is not None:
            labels[key] = f"--set {pair}"
    return out


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def common_overrides(seed, device, channels_last, limit, sets, labels: dict[str, str] | None = None, *,
                     threads: tuple[int | None, dict[str, object]] | None = None) -> dict[str, object]:
    """The settings of ``--set`` and of the shared options; an option given on the command line
    wins over a ``--set`` of the same setting (see :func:`add_options`). ``threads``: the
    ``--threads`` option and what :func:`use_threads` applied."""
    if seed is not None and not 0 <= seed < 2**63:
        raise ConfigError(f"--seed {seed}: must be in 0 .. 2**63 - 1")
    labels = {} if labels is None else labels
    overrides = parse_sets(sets, labels)
    add_options(overrides, labels, {"seed": ("--seed", seed), "device": ("--device", device),
                                    "data.limit": ("--limit", limit),
                                    "channels_last": ("--channels-last", True if channels_last else None)})
    if threads is not None:
        option, applied = threads
        add_options(overrides, labels, {"threads": ("--threads", option)})
        overrides.setdefault("threads", applied["threads"])
    return overrides


def add_options(overrides: dict[str, object], labels: dict[str, str], given: dict[str, tuple[str, object]]) -> None:
    """Add ``{key: (option, value)}`` to ``overrides`` and label them. An option that was not
    given (None) leaves a ``--set`` of its setting standing; one that was given wins over it,
    and a note (the command's first output line) says so."""
    for key, (option, value) in given.items():
        if value is None:
            continue
        shown = option if value is True else f"{option} {value}"
        earlier = labels.get(key, "")
        if key in overrides and earlier.startswith("--set") and overrides[key] != value:
            if main_rank():
                typer.echo(f"note: {shown} wins over {earlier}", err=True)
        overrides[key] = value
        labels[key] = shown


def given(overrides: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in overrides.items() if v is not None}


THREADS_HELP = ("CPU threads (default: GENOLANG_THREADS, else OMP_NUM_THREADS, else the usable CPUs, "
                "lowered while other processes keep them busy).")


def use_threads(threads: int | None) -> dict[str, object]:
    """Apply the thread count now, before anything imports torch (its OpenMP pool is sized
    when it loads), and return it as the run's ``threads`` override."""
    from genolang.base.threads import apply_threads

    applied = apply_threads(threads)
    return {"threads": applied.n}


def check_device(device: str | None) -> None:
    """``--device`` names a device torch knows (checked before any data is loaded)."""
    if device is None or device == "auto":
        return
    import torch

    try:
        torch.device(device)
    except (RuntimeError, ValueError):
        raise ConfigError(f"--device {device}: not a device name", hint="cpu, cuda, cuda:1 or auto") from None


@app.command()
def search(
    spec: Optional[Path] = typer.Argument(None, help="Spec file (or packaged spec name, e.g. icdarts/digits) with an experiment (not needed with --resume)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e", help="Experiment name (default: the first)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder for run directories."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Search epochs (after pre-training)."),
    pretrain_epochs: Optional[int] = typer.Option(None, "--pretrain-epochs"),
    batch: Optional[int] = typer.Option(None, "--batch"),
    steps: Optional[int] = typer.Option(None, "--steps-per-epoch", help="Cap the steps of every epoch."),
    algorithm: Optional[str] = typer.Option(None, "--algorithm", help="icdarts, cdarts, darts, pcdarts, gdas, drnas or beta_darts (a preset of parts)."),
    route: Optional[str] = typer.Option(None, "--route", help="Ablation route: A1, A2, B1, B2."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 or auto."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N training samples."),
    channels_last: bool = typer.Option(False, "--channels-last", help="NHWC memory format."),
    threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP),
    sets: Optional[List[str]] = typer.Option(None, "--set", help="Any setting: --set search.w_lr=0.05"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
    force: bool = typer.Option(False, "--force", help="With --resume: accept settings or a spec that differ "
                                                      "from the run's (device and --channels-last never need it)."),
    engine: str = eo.ENGINE,
    address: Optional[str] = eo.ADDRESS,
    cpus_per_run: Optional[float] = eo.CPUS_PER_RUN,
    gpus_per_run: Optional[float] = eo.GPUS_PER_RUN,
) -> None:
    """Search for a genotype; writes runs/<name>/genotype.geno, one genotype per epoch, metrics
    and a checkpoint per epoch. Ctrl-C leaves a run that `--resume` continues. A run whose loss
    or weights stop being finite stops with exit code 3, keeping its last finite checkpoint.
    A tournament experiment's games can run on a Ray cluster (`--engine ray`)."""
    labels: dict[str, str] = {}
    thread_count = use_threads(threads)
    from genolang.runtime.jobs.driver import SearchInterrupted, resume_search, start_search

    check_device(device)
    runner = eo.make_engine(engine, address=address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    overrides = common_overrides(seed, device, channels_last, limit, sets, labels, threads=(threads, thread_count))
    add_options(overrides, labels, {
        "search.epochs": ("--epochs", epochs), "search.pretrain_epochs": ("--pretrain-epochs", pretrain_epochs),
        "search.batch": ("--batch", batch), "search.steps_per_epoch": ("--steps-per-epoch", steps),
        "algorithm.name": ("--algorithm", algorithm), "algorithm.route": ("--route", route)})
    try:
        if resume is not None:
            result = resume_search(resume, progress=not quiet, overrides=given(overrides), force=force, labels=labels,
                                   engine=runner)
        else:
            if spec is None:
                raise ConfigError("give a spec file to search, or --resume RUN_DIR")
            from genolang.specname import spec_path

            result = start_search(spec_path(spec), experiment=experiment, out=out, overrides=overrides,
                                  progress=not quiet, labels=labels, engine=runner)
    except SearchInterrupted as stop:
        if main_rank():
            typer.echo(f"interrupted; resume with: geno search --resume {stop.run_dir}" if stop.run_dir.exists()
                       else "interrupted before the run began; nothing to resume", err=True)
        raise SystemExit(130)  # typer.Exit is swallowed by standalone_mode=False
    if main_rank():
        typer.echo(f"genotype: {result.run_dir / 'genotype.geno'}")
        typer.echo(f"next: geno train {result.run_dir}")
