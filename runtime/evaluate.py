"""`geno eval`: test metrics of a finished retraining run, or the result of a search run."""

from __future__ import annotations

from pathlib import Path

from genolang.errors import ConfigError

__all__ = ["evaluate_run"]


def evaluate_run(target: str | Path, device: str | None = None) -> dict:
    from genolang.compiler.experiment import ExperimentConfig
    from genolang.runtime.checkpoint import load_checkpoint
    from genolang.runtime.genotext import genotype_summary

    target = Path(target)
    path = target / "checkpoint.pt" if target.is_dir() else target
    if not path.exists():
        raise ConfigError(f"no checkpoint at {path}")
    state = load_checkpoint(path)
    config = ExperimentConfig.model_validate(state["config"])
    if device is not None:
        config = config.with_overrides(device=device)
    if "net" not in state:   # a search checkpoint: report where it stands
        history = state.get("_history_ir") or []
        out = {"epochs_done": state["next_epoch"]}
        if history:
            out["genotype"] = genotype_summary(history[-1])
        return out

    from genolang.compiler.lower import load
    from genolang.runtime.data import Augment
    from genolang.runtime.driver import load_data, retrain_template
    from genolang.runtime.netlink import build_eval_net
    from genolang.runtime.retrain import evaluate
    from genolang.runtime.search import resolve_device

    spec = path.parent / "spec.geno"
    if not spec.exists():
        raise ConfigError(f"{path.parent} has no spec.geno to rebuild the network from")
    genotype = state["genotype"]
    template = retrain_template(load(spec), config, genotype)
    dev = resolve_device(config.device)
    net = build_eval_net(template, genotype, phase="retrain", affine=config.retrain.affine).to(dev)
    net.load_state_dict(state["net"])
    dataset = load_data(config)
    metrics = evaluate(net, dataset.test_x.to(dev), dataset.test_y.to(dev), Augment.for_dataset(dataset, train=False),
                       max(config.retrain.batch, 256))
    metrics["latency_s_per_batch"] = state.get("latency")
    return metrics
