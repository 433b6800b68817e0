"""`geno eval`: test metrics of a finished retraining run, or the result of a search run.

The run directory may come from anyone: its spec and genotype are read only as plain files
inside it (:func:`genolang.base.safe_files.received_spec`), and a checkpoint whose contents are
not what genolang writes is a :class:`CheckpointError` naming it."""

from __future__ import annotations

from pathlib import Path

from genolang.base.errors import ConfigError

__all__ = ["evaluate_run"]


def _summary(genotype: dict) -> str:
    """``genotype_summary`` of a genotype's JSON form (checkpoints hold no IR)."""
    lines = []
    for name, cell in genotype["cells"].items():
        nodes = " ".join(f"{n}=" + "+".join(f"{op}({src})" for op, src in edges) for n, edges in cell["nodes"].items())
        lines.append(f"{name}: {nodes}")
    return "\n".join(lines)


def _unordered(cells: dict) -> dict:
    """Cells with each node's edges sorted: genotype.geno is written in canonical order, which
    need not be the order of the genotype the run was given (weights are named by edge, not
    by position)."""
    return {name: {**cell, "nodes": {n: sorted(map(tuple, edges)) for n, edges in cell["nodes"].items()}}
            for name, cell in cells.items()}


def _run_genotype(run: Path, recorded: dict):
    """The genotype of a retraining run, read from its ``genotype.geno`` and checked against
    the one its checkpoint recorded."""
    from genolang.compiler.lower.program import load
    from genolang.runtime.runs.checkpoint import CheckpointError
    from genolang.compiler.genotype.genotext import genotype_json

    from genolang.base.safe_files import received_spec

    if not (run / "genotype.geno").exists():
        raise ConfigError(f"{run} has no genotype.geno to rebuild the network from")
    path = received_spec(run, "genotype.geno")
    for genotype in load(path).genotypes.values():
        if _unordered(genotype_json(genotype)["cells"]) == _unordered(recorded["cells"]):
            return genotype
    raise CheckpointError(f"{path}: holds no genotype with the cells the checkpoint was trained on",
                          hint="the run's genotype.geno was edited; restore it")


def evaluate_run(target: str | Path, device: str | None = None) -> dict:
    from genolang.compiler.lower.experiment import ExperimentConfig
    from genolang.runtime.runs.checkpoint import CheckpointError, load_checkpoint

    target = Path(target)
    path = target / "checkpoint.pt" if target.is_dir() else target
    if not path.exists():
        raise ConfigError(f"no checkpoint at {path}")
    state = load_checkpoint(path)
    try:
        config = ExperimentConfig.model_validate(state["config"])
    except Exception:
        raise CheckpointError(f"{path}: the checkpoint's config is missing or invalid") from None
    if device is not None:
        config = config.with_overrides(device=device)
    if "net" not in state:   # a search checkpoint: report where it stands
        history = state.get("history") or []
        out = {"epochs_done": state.get("next_epoch")}
        if history:
            try:
                out["genotype"] = _summary(history[-1])
            except (TypeError, KeyError, AttributeError, IndexError, ValueError):
                raise CheckpointError(f"{path}: the checkpoint's genotype history is damaged") from None
        return out

    from genolang.compiler.lower.program import load
    from genolang.runtime.data import Augment
    from genolang.runtime.jobs.driver import load_data, retrain_template
    from genolang.runtime.search.netlink import build_eval_net
    from genolang.runtime.retrain.loop import evaluate
    from genolang.runtime.search.device import resolve_device

    from genolang.runtime.jobs.memory_check import check_run_memory
    from genolang.base.safe_files import received_spec

    if not (path.parent / "spec.geno").exists():
        raise ConfigError(f"{path.parent} has no spec.geno to rebuild the network from")
    spec = received_spec(path.parent, "spec.geno")
    recorded = state.get("genotype")
    if not isinstance(recorded, dict) or "cells" not in recorded:
        raise CheckpointError(f"{path}: the checkpoint records no genotype")
    genotype = _run_genotype(path.parent, recorded)
    program = load(spec)
    template = retrain_template(program, config, genotype)
    check_run_memory(config, "retrain", template, genotype=genotype)
    dev = resolve_device(config.device)
    net = build_eval_net(template, genotype, phase="retrain", affine=config.retrain.affine).to(dev)
    try:
        net.load_state_dict(state["net"])
    except RuntimeError:
        raise CheckpointError(f"{path}: the checkpoint's weights do not fit the network of {spec}") from None
    dataset = load_data(config)
    transform = Augment.for_dataset(dataset, train=False)
    metrics = evaluate(net, dataset.test_x.to(dev), dataset.test_y.to(dev), transform, max(config.retrain.batch, 256))
    metrics["latency_s_per_batch"] = _latency(net, dataset, transform, config, dev)
    return metrics


def _latency(net, dataset, transform, config: ExperimentConfig, device) -> float | None:
    """s/batch measured now, on this machine, as the retraining measures it (its batch size,
    ``latency_batches`` of the test set, all of it when that is 0 or unset); not the stored
    figure of the machine that trained."""
    from genolang.runtime.runs.metrics import latency_per_batch

    n, b = config.retrain.latency_batches, config.retrain.batch
    if len(dataset.test_y) == 0:
        return None
    stop = len(dataset.test_y) if not n else min(len(dataset.test_y), n * b)
    batches = [transform(dataset.test_x[i:i + b].to(device)) for i in range(0, stop, b)]
    return latency_per_batch(net, batches, warmup=1)
