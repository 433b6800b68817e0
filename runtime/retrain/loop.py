"""Retraining of a discrete network (§1.2, §1.6, §4.1.6).

SGD with cosine annealing per epoch, random crop + flip + cutout, drop path ramped linearly
(``p · epoch / epochs``), the auxiliary head weighted 0.4, gradient clipping at 5. The figures
reported are those of the **final** epoch (not the best): test accuracy, and for binary tasks
ROC AUC and the maximum F_β (β² = 1e-3); plus the inference latency in s/batch of the
*untrained* network in eval mode, measured before training starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import Genotype, NetworkTemplate
from genolang.runtime.data.batching import derive_seed, epoch_batches
from genolang.runtime.runs.checkpoint import rng_state, seed_everything, set_rng_state
from genolang.runtime.runs.finite import FiniteWatch, NonFiniteError, check_state, stopped
from genolang.compiler.genotype.genotext import genotype_json
from genolang.compiler.build.measure import count_mult_adds
from genolang.runtime.data import Augment, Dataset
from genolang.runtime.search.distributed import average_gradients, broadcast_module, init_from_env, shard, world
from genolang.runtime.runs.metrics import LENS_BETA2, latency_per_batch, max_fbeta, positive_scores, roc_auc
from genolang.runtime.search.netlink import build_eval_net
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.runs.run_threads import RunThreads, start_threads
from genolang.runtime.search.device import resolve_channels_last, resolve_device
from genolang.runtime.search.schedules import cosine_lr

__all__ = ["RetrainResult", "Retrainer", "run_retrain", "evaluate", "count_params", "size_override"]

CHECKPOINT_VERSION = 1


@dataclass
class RetrainResult:
    metrics: dict[str, Any]
    run_dir: Path | None = None
    history: list[dict] = field(default_factory=list)


def count_params(net: nn.Module) -> int:
    """Parameters of the network without its auxiliary head (the figure papers report)."""
    return sum(p.numel() for name, p in net.named_parameters() if not name.startswith("aux_head"))


def size_override(params: int) -> tuple[float, float]:
    """(weight decay, drop path) by model size, as the Cream/NNI CIFAR retrain scripts do (A26)."""
    if params < 3_000_000:
        return 3e-4, 0.2
    if params < 3_500_000:
        return 3e-4, 0.3
    return 5e-4, 0.3


@torch.no_grad()
def evaluate(net: nn.Module, x: Tensor, y: Tensor, transform: Augment, batch: int,
             channels_last: bool = False) -> dict[str, float]:
    """Test metrics of ``net`` in eval mode: accuracy; ROC AUC and max F_β when binary."""
    was = net.training
    net.eval()
    logits = []
    device = next(net.parameters()).device
    for i in range(0, len(y), batch):
        xb = transform(x[i:i + batch].to(device))
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        logits.append(net(xb).logits.float())
    net.train(was)
    if not logits:
        return {}
    out = torch.cat(logits)
    y = y.to(out.device)
    metrics: dict[str, float] = {"acc_test": (out.argmax(1) == y).float().mean().item(),
                                 "loss_test": F.cross_entropy(out, y).item()}
    if out.shape[1] == 2:
        scores = positive_scores(out).cpu()
        metrics["roc_auc"] = roc_auc(scores, y.cpu())
        metrics["fbeta_max"], metrics["fbeta_threshold"] = max_fbeta(scores, y.cpu())
        metrics["fbeta_beta2"] = LENS_BETA2
    return metrics


class Retrainer:
    def __init__(self, config: ExperimentConfig, *, template: NetworkTemplate, genotype: Genotype,
                 dataset: Dataset, run_dir: RunDir | None = None, progress: Progress | None = None,
                 device: torch.device | str | None = None):
        self.config = config
        self.cfg = config.retrain
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.channels_last = resolve_channels_last(config.channels_last, self.device)
        self.dataset = dataset
        self.run_dir = run_dir
        self.progress = progress or Progress(self.cfg.epochs, enabled=False)
        seed_everything(config.seed)
        net = build_eval_net(template, genotype, phase="retrain", affine=self.cfg.affine).to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        broadcast_module(net)            # every rank starts from rank 0's weights
        self.net = net
        self.genotype = genotype
        self.train_x = dataset.train_x.to(self.device)
        self.train_y = dataset.train_y.to(self.device)
        self.test_x, self.test_y = dataset.test_x.to(self.device), dataset.test_y.to(self.device)
        self.train_tf = Augment.for_dataset(dataset, crop_pad=self.cfg.crop_padding, flip=self.cfg.flip,
                                            cutout=self.cfg.cutout)
        self.test_tf = Augment.for_dataset(dataset, train=False)
        self.params = [p for p in net.parameters() if p.requires_grad]
        if self.cfg.size_override:
            wd, dp = size_override(count_params(net))
            self.cfg = self.cfg.model_copy(update={"wd": wd, "drop_path": dp})
        self.opt = torch.optim.SGD(self.params, lr=self.cfg.lr, momentum=self.cfg.momentum,
                                   weight_decay=self.cfg.wd, foreach=True)
        self.next_epoch = 0
        self.latency: float | None = None
        self.threads: RunThreads | None = None     # set by run_retrain: the load-following thread count

    def measure_latency(self) -> float | None:
        """s/batch of the untrained network in eval mode on the test batches (§4.1.6: "average
        per batch inference times on the test dataset"); ``latency_batches`` caps the count."""
        n = self.cfg.latency_batches
        if n == 0 or len(self.test_y) == 0:
            return None
        b = self.cfg.batch
        stop = len(self.test_y) if n is None else min(len(self.test_y), n * b)
        batches = []
        for i in range(0, stop, b):
            x = self.test_tf(self.test_x[i:i + b])
            batches.append(x.contiguous(memory_format=torch.channels_last) if self.channels_last else x)
        return latency_per_batch(self.net, batches, warmup=1, repeats=self.cfg.latency_repeats,
                                 threads=self.cfg.latency_threads)

    def mult_adds(self) -> int | None:
        """Multiply-adds of one test image's inference (the static latency proxy)."""
        if len(self.test_y) == 0:
            return None
        x = self.test_tf(self.test_x[:1])
        return count_mult_adds(self.net, x)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg = self.cfg
        lr = cosine_lr(cfg.lr, cfg.eta_min, epoch, cfg.epochs)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.net.drop_path_prob = cfg.drop_path * epoch / max(cfg.epochs, 1)
        self.net.train()
        batches = epoch_batches(len(self.train_y), cfg.batch, self.config.seed, epoch, 100)
        if cfg.steps_per_epoch is not None:
            batches = batches[:cfg.steps_per_epoch]
        generator = torch.Generator().manual_seed(derive_seed(self.config.seed, epoch, 101))
        watch = FiniteWatch()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for i, idx in enumerate(batches):
            self.progress.step("retrain", epoch, i, len(batches),
                               values=lambda: {"loss_train": (loss_sum / max(seen, 1)).item()})
            if self.threads is not None:
                self.threads.tick()
            idx = shard(idx).to(self.device)
            x = self.train_tf(self.train_x[idx], generator)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = self.train_y[idx]
            out = self.net(x)
            loss = F.cross_entropy(out.logits, y, label_smoothing=cfg.label_smoothing)
            if out.aux is not None and cfg.aux_weight > 0:
                loss = loss + cfg.aux_weight * F.cross_entropy(out.aux, y, label_smoothing=cfg.label_smoothing)
            for p in self.params:
                p.grad = None
            watch.add("loss_train", loss, i)
            loss.backward()
            average_gradients(self.params)
            nn.utils.clip_grad_norm_(self.params, cfg.grad_clip, foreach=True)
            self.opt.step()
            loss_sum += loss.detach() * len(y)
            correct += (out.logits.detach().argmax(1) == y).sum()
            seen += len(y)
        watch.check()
        if seen == 0:
            return {"lr": lr, "drop_path": self.net.drop_path_prob}
        loss_mean, acc = (torch.stack([loss_sum, correct.float()]) / seen).tolist()
        return {"lr": lr, "drop_path": self.net.drop_path_prob, "loss_train": loss_mean, "acc_train": acc}

    def run(self, test_every: int = 0) -> RetrainResult:
        if self.next_epoch == 0 and self.latency is None:
            self.latency = self.measure_latency()
        history = []
        while self.next_epoch < self.cfg.epochs:
            epoch = self.next_epoch
            self.progress.start_epoch(epoch)
            record: dict[str, Any] = {"phase": "retrain", "epoch": epoch, **self.train_epoch(epoch)}
            last = epoch + 1 == self.cfg.epochs
            if last or (test_every and (epoch + 1) % test_every == 0):
                record.update(evaluate(self.net, self.test_x, self.test_y, self.test_tf,
                                       max(self.cfg.batch, 256), self.channels_last))
            check_state(self.state_dict(), epoch=epoch, phase="retrain")
            history.append(record)
            self.next_epoch = epoch + 1
            self.progress.epoch("retrain", epoch, {k: v for k, v in record.items()
                                                   if isinstance(v, float) and math.isfinite(v)})
            if self.run_dir is not None:
                self.run_dir.log(record)
                self.run_dir.save_checkpoint(self.state_dict())
        final = dict(history[-1]) if history else evaluate(self.net, self.test_x, self.test_y, self.test_tf,
                                                            max(self.cfg.batch, 256), self.channels_last)
        final["latency_s_per_batch"] = self.latency
        final["latency_threads"] = self.cfg.latency_threads
        final["mult_adds"] = self.mult_adds()
        final["params"] = count_params(self.net)
        final["phase"] = "final"
        final["epoch"] = self.cfg.epochs
        if self.run_dir is not None:
            self.run_dir.log(final)
        return RetrainResult(final, self.run_dir.path if self.run_dir else None, history)

    def state_dict(self) -> dict:
        return {"version": CHECKPOINT_VERSION, "next_epoch": self.next_epoch, "net": self.net.state_dict(),
                "opt": self.opt.state_dict(), "rng": rng_state(), "latency": self.latency,
                "config": self.config.model_dump(mode="json"), "genotype": genotype_json(self.genotype)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.next_epoch = state["next_epoch"]
        self.latency = state.get("latency")
        if state.get("version") != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {state.get('version')} is not {CHECKPOINT_VERSION}")
        set_rng_state(state["rng"])


def run_retrain(config: ExperimentConfig, *, template: NetworkTemplate, genotype: Genotype, dataset: Dataset,
                run_dir: str | Path | None = None, resume: bool = False, progress: bool = True,
                test_every: int = 0, force: bool = False) -> RetrainResult:
    """Retrain ``genotype`` on ``dataset`` and return the final-epoch metrics (a resume refuses
    another genotype or config unless ``force``; a diverging run raises NonFiniteError)."""
    device = resolve_device(config.device)
    init_from_env(device)
    config, threads = start_threads(config, device)
    rd = RunDir(run_dir) if run_dir is not None else None
    trainer = Retrainer(config, template=template, genotype=genotype, dataset=dataset, run_dir=rd,
                        progress=Progress(config.retrain.epochs, enabled=progress and world()[0] == 0,
                                          run_dir=rd.path if rd else None))
    if rd is not None:
        # loaded to the CPU: RNG states must stay CPU tensors
        rd.resume_into(trainer, rd.begin(config, resume=resume, force=force,
                                         identity={"genotype": genotype_json(genotype)}))
        if not resume or not (rd.path / "genotype.json").exists():
            rd.save_genotype(genotype)
        rd.note_runtime(threads.record())
    trainer.threads = threads
    trainer.progress.message(threads.line())
    try:
        return trainer.run(test_every)
    except NonFiniteError as exc:
        raise stopped(exc, epoch=trainer.next_epoch, total=trainer.cfg.epochs, run_dir=rd, command="train {run} --resume {run}") from None
    finally:
        trainer.progress.close()
        if rd is not None:
            rd.close()
