"""The cyclic search: ICDARTS (Algorithm 1), the CDARTS baseline and the ablation routes.

One epoch of the search phase:

1. re-discretise α and build a new evaluation network E, inheriting its weights per
   (cell, edge, op) from the pool (A7);
2. warm E up for ``warmup_epochs`` on the ``warmup_split`` half (eq 3.5, A2);
3. for every pair of (train, val) batches:
   (1) α  ← Adam on CE_S(val) + λ·KD(val) [+ δ·P(α)], E's logits detached;
   (2) w_S ← SGD on CE_S(train) [+ λ·KD(train)];
   (3) w_E ← SGD on CE_E(split) [+ λ·KD(split) with gradient into E];
   which of the bracketed terms and splits apply is the route (Table 3.6);
4. write E's weights back to the pool, derive the genotype, log, checkpoint.

CE_S and CE_E in the weight objectives include ``head_ce`` times the CE of each distill head
(docs/fidelity.md). With ``algorithm.name = cdarts`` the step is instead Cream's, with its
gradient bookkeeping (:meth:`CyclicLoop.cream_step`). The loop (:class:`CyclicLoop`) is shared
with the macro phase of hierarchical search (:mod:`genolang.runtime.jobs.hierarchical`).

Two pre-training epochs of S (CE on train, α fixed) come first. Every ICDARTS backward pass
names the parameters it differentiates (``backward(inputs=...)``), so α is only ever
differentiated for Adam and weights only for their SGD: no optimiser can step a group on
another group's loss (tests/runtime/test_gradient_ownership.py). Batches are augmented
(crop, flip) when ``search.augment`` is on, drawn per (seed, epoch, stream, step). A checkpoint is written atomically at every epoch boundary; data order and every random
source are functions of (seed, epoch) or saved, so a resumed run repeats an interrupted epoch
exactly and reaches the same genotypes as an uninterrupted one (on CPU).

The cyclic step is capturable (docs/gpu.md): one batch shape, no host read inside it, its
constants made once; ``search.cuda_graphs = on`` replays it from a CUDA graph
(:mod:`genolang.runtime.search.graphed_step`), ``search.autocast = bf16`` runs its networks in
bfloat16 (:mod:`genolang.runtime.search.precision`). Every step also lets a thread count nobody
asked for follow the CPUs' load (:mod:`genolang.runtime.runs.run_threads`).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor, nn

from genolang.base.version import __version__
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate
from genolang.compiler.genotype.hash import genotype_hash
from genolang.base.errors import ConfigError, RunError
from genolang.runtime.data.batching import derive_seed, epoch_batches
from genolang.runtime.search.distributed import average_gradients, broadcast_module, init_from_env, shard, world
from genolang.runtime.runs.checkpoint import load_checkpoint, rng_state, seed_everything, set_rng_state
from genolang.runtime.runs.finite import NonFiniteError, check_state, stopped
from genolang.compiler.genotype.genojson import genotype_from_json
from genolang.compiler.genotype.genotext import genotype_json, genotype_summary
from genolang.runtime.search.latency import expected_latency
from genolang.runtime.search.losses import Route, cream_objective, net_ce, objectives
from genolang.runtime.runs.meter import Meter
from genolang.runtime.search.darts_step import DartsState, darts_step
from genolang.runtime.search.methods import begin_search_epoch, partial_layout
from genolang.runtime.search.regularizers import arch_regularizers
from genolang.runtime.search.bn_calibration import accuracy, calibration_batches, recalibrated_bn
from genolang.runtime.search.netlink import (
    alpha_layout, build_eval_net, build_search_net, share_stem_heads,
)
from genolang.runtime.search.graphed_step import GraphedStep, check_step_options
from genolang.runtime.search.precision import with_precision
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.tensorboard import log_search_epoch
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.runs.run_threads import RunThreads, start_threads
from genolang.runtime.search.weights import WeightPool

__all__ = ["SearchData", "SearchResult", "CyclicLoop", "CyclicSearch", "run_search", "cosine_lr", "epoch_batches",
           "resolve_device", "resolve_channels_last"]

CHECKPOINT_VERSION = 1


@dataclass
class SearchData:
    """The two halves of the training set and the test set, as normalised float tensors on
    the training device (small data sets live whole on the device; no loader processes)."""

    train_x: Tensor
    train_y: Tensor
    val_x: Tensor
    val_y: Tensor
    test_x: Tensor | None = None
    test_y: Tensor | None = None
    # The normalised value of a black pixel per channel (-mean/std): what the crop pads with,
    # so that padding happens "before normalisation", as in the DARTS/CDARTS pipeline.
    fill: tuple[float, ...] | None = None

    def augment(self, x: Tensor, pad: int, generator: torch.Generator) -> Tensor:
        """Random crop (zero-padded by ``pad`` pixels, in pixel space) and horizontal flip."""
        from genolang.runtime.data.augment import random_crop, random_flip

        if pad > 0:
            fill = x.new_tensor(self.fill or (0.0,) * x.shape[1]).view(1, -1, 1, 1)
            x = random_crop(x - fill, pad, generator) + fill
        return random_flip(x, generator)

    def to(self, device: torch.device, channels_last: bool = False) -> "SearchData":
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        moved = {}
        for f in dataclasses.fields(self):
            t = getattr(self, f.name)
            if t is None or not isinstance(t, Tensor):
                moved[f.name] = t
            elif t.dim() == 4:
                moved[f.name] = t.to(device).contiguous(memory_format=fmt)
            else:
                moved[f.name] = t.to(device)
        return SearchData(**moved)


@dataclass
class SearchResult:
    genotype: Genotype
    history: list[Genotype] = field(default_factory=list)
    run_dir: Path | None = None
    metrics: list[dict] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device `{name}` was asked for, but CUDA is not available")
    return device


def resolve_channels_last(flag: bool | None, device: torch.device) -> bool:
    """The memory format setting: ``None`` means channels-last on CPU, where it is the fast
    layout of the depthwise convolutions, and the contiguous layout on other devices."""
    return device.type == "cpu" if flag is None else bool(flag)


def cosine_lr(base: float, eta_min: float, step: int, total: int) -> float:
    """Cosine annealing from ``base`` to ``eta_min`` over ``total`` epochs (a pure function of
    the epoch, so the schedule needs no state of its own in a checkpoint)."""
    if total <= 0:
        return base
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * min(step, total) / total)) / 2


def _clip(params: list[nn.Parameter], max_norm: float) -> None:
    """Average the group's gradients over the ranks (a no-op in one process), then clip."""
    average_gradients(params)
    if params:
        nn.utils.clip_grad_norm_(params, max_norm, foreach=True)


def _zero(params: list[nn.Parameter]) -> None:
    for p in params:
        p.grad = None


def _cream_step(loss: Tensor, owned: list[nn.Parameter], everything: list[nn.Parameter], max_norm: float,
                optimisers: list[torch.optim.Optimizer], reduce: list[nn.Parameter] | None = None) -> None:
    """One update as the official CDARTS code makes it: zero the stepped groups' gradients
    (``optimizer.zero_grad()``), backward into every parameter (gradients of the others
    accumulate, as ``loss.backward()`` does there), clip over every parameter
    (``clip_grad_norm_(controller.parameters())``), step."""
    _zero(owned)
    loss.backward(inputs=everything)
    average_gradients(reduce if reduce is not None else everything)
    grads = [p for p in everything if p.grad is not None]
    if grads:
        nn.utils.clip_grad_norm_(grads, max_norm, foreach=True)
    for opt in optimisers:
        opt.step()


@contextmanager
def _frozen(params: list[nn.Parameter]):
    """Record a forward pass without the graph of ``params`` (their gradients are not
    wanted in the pass's backward): no weight gradients in the α step, no saved op outputs
    for α's gradient in the weight steps. Values and the other gradients are unchanged."""
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class CyclicLoop(ABC):
    """Algorithm 1's schedule, shared by the cell search (α) and the macro phase (γ, Algorithm 4).

    Pre-train S; then every epoch: regenerate E from the architecture parameters (inheriting
    its weights from the pool), warm it up, run the cyclic steps, write E back to the pool,
    test E, record, checkpoint. Subclasses say what the architecture parameters are, how E is
    built from them and what an epoch records; the schedule, the batches, the augmentation,
    the steps and the optimisers are this class's, so a fix to any of them lands once.
    """

    phase = "search"            # the metrics' name of a joint epoch
    arch_name = "α"
    arch_loss = "loss_alpha"    # the metrics' name of the architecture objective

    def _setup(self, config: ExperimentConfig, data: SearchData, run_dir: RunDir | None,
               progress: Progress | None, device: torch.device | str | None, channels_last: bool | None) -> None:
        self.config = config
        self.search_cfg = config.search
        self.algo = config.algorithm
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        check_step_options(self.search_cfg, self.device, world()[1])
        self.graphs = self.search_cfg.cuda_graphs == "on"
        self.channels_last = resolve_channels_last(channels_last, self.device)
        self.data = data.to(self.device, self.channels_last)
        self.run_dir = run_dir
        self.total_epochs = self.search_cfg.pretrain_epochs + self.search_cfg.epochs
        self.progress = progress or Progress(self.total_epochs, enabled=False)
        self.cream = self.algo.update == "cdarts"
        self.update = self.algo.update      # darts: no E (runtime/search/darts_step.py)
        self.current_search_epoch = 0
        self.threads: RunThreads | None = None     # set by the runner (run_search, run_macro_search)
        seed_everything(config.seed)

    def _setup_optimisers(self, arch: list[nn.Parameter], w_search: list[nn.Parameter], arch_lr: float) -> None:
        self.arch, self.w_search = arch, w_search
        self._check_disjoint(self.arch, self.w_search, self.arch_name, "search weights")
        self._arch_lr = self._resolve_arch_lr(arch_lr)
        self._build_search_optimisers()
        self.pool = WeightPool()
        self.eval_net: nn.Module | None = None
        self.opt_e: torch.optim.Optimizer | None = None
        self.w_eval: list[nn.Parameter] = []
        self.next_epoch = 0

    def _build_search_optimisers(self) -> None:
        s = self.search_cfg
        self.opt_w = torch.optim.SGD(self.w_search, lr=s.w_lr, momentum=s.w_momentum,
                                     weight_decay=s.w_wd, foreach=True)
        # capturable: Adam's step count lives on the device, so a CUDA graph can replay the step
        self.opt_arch = torch.optim.Adam(self.arch, lr=self._arch_lr, betas=tuple(s.alpha_betas),
                                         weight_decay=s.alpha_wd, foreach=True, capturable=self.graphs)

    # ------------------------------------------------------------------------------ helpers
    def _to_device(self, net: nn.Module) -> nn.Module:
        net = net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net

    @staticmethod
    def _check_disjoint(a: list, b: list, name_a: str, name_b: str) -> None:
        if {id(p) for p in a} & {id(p) for p in b}:
            raise RunError(f"{name_a} and {name_b} share parameters; each optimiser must own its own")

    def _shared_modules(self) -> bool:
        return self.algo.share_stem_heads

    def _batches(self, part: str, epoch: int, stream: int) -> list[Tensor]:
        y = self.data.train_y if part == "train" else self.data.val_y
        idx = epoch_batches(len(y), self.search_cfg.batch, self.config.seed, epoch, stream)
        return [shard(i).to(self.device) for i in idx]

    def _get(self, part: str, idx: Tensor, epoch: int = 0, stream: int = 0, step: int = 0) -> tuple[Tensor, Tensor]:
        """The batch ``idx`` of one half, augmented (crop, flip) when the search is: each draw
        comes from a generator seeded by (seed, epoch, stream, step), so a resumed run sees
        the same augmented batches as an uninterrupted one."""
        if part == "train":
            x, y = self.data.train_x[idx], self.data.train_y[idx]
        else:
            x, y = self.data.val_x[idx], self.data.val_y[idx]
        if self.search_cfg.augment:
            gen = torch.Generator().manual_seed(derive_seed(self.config.seed, 7, epoch, stream, step))
            x = self.data.augment(x, self.search_cfg.crop_padding, gen)
        return x, y

    def _net(self, net: nn.Module):
        """``net`` as the steps call it: under bf16 autocast with float32 outputs where
        ``search.autocast = bf16`` (runtime/search/precision.py), else itself."""
        return with_precision(net, self.search_cfg.autocast, self.device, self.graphs)

    def _tick(self) -> None:
        """Once per step: lets the thread count follow the CPUs' load (genolang.base.threads)."""
        if self.threads is not None:
            self.threads.tick()

    def _limit(self, n: int) -> int:
        cap = self.search_cfg.steps_per_epoch
        return n if cap is None else min(n, cap)

    def _alpha_steps(self) -> int:
        """How many architecture steps the whole search takes (the α lr rule's denominator)."""
        batch = self.search_cfg.batch
        steps = self._limit(min(len(epoch_batches(len(self.data.train_y), batch, 0)),
                                len(epoch_batches(len(self.data.val_y), batch, 0))))
        return max(steps * self.search_cfg.epochs, 1)

    def _resolve_arch_lr(self, given: float | str) -> float:
        """``search.alpha_lr``, with ``auto`` resolved: the dissertation's α travel spread over
        this schedule's α steps (compiler/lower/experiment.py, docs/search-quality.md)."""
        if given != "auto":
            return float(given)
        return self.search_cfg.alpha_travel / self._alpha_steps()

    def _set_lrs(self, search_epoch: int) -> tuple[float, float]:
        s = self.search_cfg
        if s.lr_schedule == "cosine":
            lr_w = cosine_lr(s.w_lr, s.eta_min, search_epoch, s.epochs)
            lr_e = cosine_lr(s.e_lr, s.eta_min, search_epoch, s.epochs)
        else:
            lr_w, lr_e = s.w_lr, s.e_lr
        for group in self.opt_w.param_groups:
            group["lr"] = lr_w
        return lr_w, lr_e

    # ------------------------------------------------------------------------------ E
    @abstractmethod
    def _build_eval(self) -> nn.Module:
        """The discrete E of the current architecture parameters (remembering what it is)."""

    def regenerate_eval_net(self, lr_e: float) -> None:
        """Discretise, build E, inherit its weights, give it a fresh SGD (Cream rebuilds the
        evaluation optimiser at every regeneration; with ``reset_optimizers = all`` the
        search network's and the architecture's too, as Cream does)."""
        net = self._to_device(self._build_eval())
        if self.algo.inherit_eval_weights:
            self.pool.load_into(net)
        broadcast_module(net)
        if self._shared_modules():
            share_stem_heads(self.search_net, net)
        self.eval_net = net
        self.w_eval = [p for p in net.parameters() if p.requires_grad]
        self._check_disjoint(self.arch, self.w_eval, self.arch_name, "evaluation weights")
        if not self._shared_modules():
            self._check_disjoint(self.w_search, self.w_eval, "search weights", "evaluation weights")
        s = self.search_cfg
        self.opt_e = torch.optim.SGD(self.w_eval, lr=lr_e, momentum=s.e_momentum, weight_decay=s.e_wd,
                                     foreach=True)
        if self.algo.reset_optimizers == "all":
            lrs = [g["lr"] for g in self.opt_w.param_groups]
            self._build_search_optimisers()
            for group, lr in zip(self.opt_w.param_groups, lrs):
                group["lr"] = lr

    def _all_params(self) -> list[nn.Parameter]:
        """Every trainable parameter of S, E and the architecture, once each (Cream's
        ``controller.parameters()``, over which its gradient clipping runs)."""
        seen, out = set(), []
        for p in self.w_search + self.arch + self.w_eval:
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out

    # ------------------------------------------------------------------------------ epochs
    def pretrain_epoch(self, epoch: int) -> dict[str, float]:
        """CE_S on train (with the heads' CE, ``head_ce``), the architecture fixed
        (Algorithm 1's pre-training)."""
        meter = Meter()
        net = self._net(self.search_net.train())
        batches = self._batches("train", epoch, 0)
        batches = batches[: self._limit(len(batches))]
        for i, idx in enumerate(batches):
            self.progress.step("pretrain", epoch, i, len(batches), values=meter.means)
            self._tick()
            x, y = self._get("train", idx, epoch, 0, i)
            if self.cream:
                out = net(x)
                loss = net_ce(self.route, out, y)
                _cream_step(loss, self.w_search, self._all_params(), self.search_cfg.grad_clip, [self.opt_w])
            else:
                with _frozen(self.arch):
                    out = net(x)
                loss = net_ce(self.route, out, y)
                _zero(self.w_search)
                loss.backward(inputs=self.w_search)
                _clip(self.w_search, self.search_cfg.grad_clip)
                self.opt_w.step()
            meter.add("loss_S", loss)
            meter.add_correct("acc_S", out.logits, y)
        return meter.means()

    def _warmup_epochs(self) -> int:
        return self.search_cfg.warmup_epochs

    def warmup_eval(self, epoch: int) -> dict[str, float]:
        """E's own loss on the warm-up split (eq 3.5 / 6.1): CE of the classifier, plus CE of
        each distill head (``head_ce``)."""
        meter = Meter()
        part = self.algo.warmup_split
        net = self._net(self.eval_net.train())
        for w in range(self._warmup_epochs()):
            batches = self._batches(part, epoch, 10 + w)
            batches = batches[: self._limit(len(batches))]
            for i, idx in enumerate(batches):
                self.progress.step("warmup", epoch, i, len(batches), values=meter.means)
                self._tick()
                x, y = self._get(part, idx, epoch, 10 + w, i)
                out = net(x)
                loss = net_ce(self.route, out, y)
                if self.cream:
                    _cream_step(loss, self.w_eval, self._all_params(), self.search_cfg.grad_clip, [self.opt_e])
                else:
                    _zero(self.w_eval)
                    loss.backward(inputs=self.w_eval)
                    _clip(self.w_eval, self.search_cfg.grad_clip)
                    self.opt_e.step()
                meter.add("loss_E_warmup", loss)
        return meter.means()

    def _arch_penalty(self, meter: Meter, regular_weight: float) -> Tensor | None:
        """Extra terms of the architecture objective (latency, regulariser); none by default."""
        return None

    def cyclic_step(self, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter,
                    regular_weight: float = 0.0) -> None:
        """One architecture step, one w_S step and one w_E step (Algorithm 1 or the route;
        with ``name = cdarts``, Cream's step; with ``update = darts``, DARTS's)."""
        if self.update == "darts":
            return darts_step(self._darts_state(meter, regular_weight), x_t, y_t, x_v, y_v, meter)
        if self.cream:
            return self.cream_step(x_t, y_t, x_v, y_v, meter, regular_weight)
        S, E, route = self._net(self.search_net), self._net(self.eval_net), self.route
        clip = self.search_cfg.grad_clip
        shared = self._shared_modules()
        eval_on_val = route.we_split == "val"

        # (1) α on the val batch; E is the teacher, detached in the α objective.
        with _frozen(self.w_search):
            s_v = S(x_v)
        with torch.set_grad_enabled(eval_on_val):
            e_v = E(x_v)
        obj_v = objectives(route, s_val=s_v, e_val=e_v, y_val=y_v)
        loss_alpha = obj_v.alpha
        extra = self._arch_penalty(meter, regular_weight)
        if extra is not None:
            loss_alpha = loss_alpha + extra
        _zero(self.arch)
        if eval_on_val:
            _zero(self.w_eval)
            if shared:  # the shared stem is in both graphs: two passes over one graph
                loss_alpha.backward(inputs=self.arch, retain_graph=True)
                obj_v.w_eval.backward(inputs=self.w_eval)
            else:       # disjoint parameter sets: one pass gives both gradients
                (loss_alpha + obj_v.w_eval).backward(inputs=self.arch + self.w_eval)
            _clip(self.w_eval, clip)
            self.opt_e.step()
            meter.add("loss_E", obj_v.w_eval)
            meter.add_correct("acc_E", e_v.logits, y_v)
        else:
            loss_alpha.backward(inputs=self.arch)
        average_gradients(self.arch)
        self.opt_arch.step()
        meter.add(self.arch_loss, obj_v.alpha)

        # (2) w_S and (3) w_E on the train batch.
        with _frozen(self.arch):
            s_t = S(x_t)
        e_t = None
        eval_on_train = route.we_split == "train"
        joint = eval_on_train and not shared
        if route.ws_kd or joint:   # E as the teacher of w_S, and/or trained on this batch
            with torch.set_grad_enabled(joint):
                e_t = E(x_t)
        obj_t = objectives(route, s_train=s_t, e_train=e_t, y_train=y_t)
        _zero(self.w_search)
        if joint:
            _zero(self.w_eval)
            (obj_t.w_search + obj_t.w_eval).backward(inputs=self.w_search + self.w_eval)
            _clip(self.w_search, clip)
            _clip(self.w_eval, clip)
            self.opt_w.step()
            self.opt_e.step()
        else:
            obj_t.w_search.backward(inputs=self.w_search)
            _clip(self.w_search, clip)
            self.opt_w.step()
            if eval_on_train:
                # Shared modules changed in place by the w_S step: recompute E (§4.1.3 note).
                e_t = E(x_t)
                loss_e = objectives(route, s_train=s_t, e_train=e_t, y_train=y_t).w_eval
                _zero(self.w_eval)
                loss_e.backward(inputs=self.w_eval)
                _clip(self.w_eval, clip)
                self.opt_e.step()
                obj_t.w_eval = loss_e
        meter.add("loss_S", obj_t.w_search)
        meter.add_correct("acc_S", s_t.logits, y_t)
        if eval_on_train:
            meter.add("loss_E", obj_t.w_eval)
            meter.add_correct("acc_E", e_t.logits, y_t)

    def _darts_state(self, meter: Meter, regular_weight: float) -> DartsState:
        a = self.algo
        return DartsState(self._net(self.search_net), self.search_net, self.arch, self.w_search, self.opt_arch,
                          self.opt_w, self.search_cfg.grad_clip, a.order, a.alpha_step == "last",
                          lambda: self._arch_penalty(meter, regular_weight))

    def cream_step(self, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter,
                   regular_weight: float = 0.0) -> None:
        """The joint step of the official CDARTS code (``search_function.search``), with its
        gradient bookkeeping: gradients accumulate in ``.grad`` and are zeroed only where
        Cream zeroes them, and each clip runs over every parameter, so stale gradients enter
        the clip norm exactly as they do there.

        1. zero α, E (and the shared modules); ``(CE_S + CE_E)/λ + λ·KD`` on val, E not
           detached; one backward into everything; clip all; step E's SGD and α's Adam.
        2. zero S (and the shared modules); ``CE_S(train)``; backward; clip all; step S's SGD.
        """
        S, E, route = self._net(self.search_net), self._net(self.eval_net), self.route
        clip = self.search_cfg.grad_clip
        everything = self._all_params()
        s_v, e_v = S(x_v), E(x_v)
        loss = cream_objective(route, s_v, e_v, y_v)
        extra = self._arch_penalty(meter, regular_weight)
        if extra is not None:
            loss = loss + extra
        _cream_step(loss, self.arch + self.w_eval, everything, clip, [self.opt_e, self.opt_arch])
        meter.add(self.arch_loss, loss)
        meter.add("loss_E", loss)
        meter.add_correct("acc_E", e_v.logits, y_v)
        s_t = S(x_t)
        loss_s = nn.functional.cross_entropy(s_t.logits, y_t)
        _cream_step(loss_s, self.w_search, everything, clip, [self.opt_w])
        meter.add("loss_S", loss_s)
        meter.add_correct("acc_S", s_t.logits, y_t)

    def search_epoch(self, epoch: int, search_epoch: int) -> dict[str, float]:
        meter = Meter()
        train = self._batches("train", epoch, 1)
        val = self._batches("val", epoch, 2)
        steps = self._limit(min(len(train), len(val)))
        weight = self._regular_weight(search_epoch)
        self.search_net.train()
        if self.eval_net is not None:
            self.eval_net.train()
        # a graph per epoch: E, its optimiser, the learning rates and the regulariser's
        # weight are new each epoch, and a graph bakes in addresses and Python numbers
        step = (GraphedStep(lambda *batch: self.cyclic_step(*batch, weight)) if self.graphs
                else lambda *batch: self.cyclic_step(*batch, weight))
        for i in range(steps):
            x_t, y_t = self._get("train", train[i], epoch, 1, i)
            x_v, y_v = self._get("val", val[i], epoch, 2, i)
            step(x_t, y_t, x_v, y_v, meter)
            self.progress.step(self.phase, epoch, i, steps, values=meter.means)
            self._tick()
        return meter.means()

    def _regular_weight(self, search_epoch: int) -> float:
        """NNI's α-L1 regulariser weight, decaying linearly to 0 (off unless configured)."""
        a = self.algo
        if a.regular_coeff <= 0:
            return 0.0
        span = max(self.search_cfg.epochs * a.regular_ratio, 1e-9)
        return max(a.regular_coeff * (1 - search_epoch / span), 0.0)

    def test_accuracy(self, net: nn.Module) -> float | None:
        """``net``'s top-1 accuracy on the test set, in eval mode with BatchNorm statistics
        recalibrated on a fixed subset of the training half (``search.test_bn =
        recalibrate``, runtime/search/bn_calibration.py), or with the running statistics as they are
        (``running``). The random generators are forked around it (a random op draws in eval
        mode too), so nothing the search computes next depends on it."""
        if self.data.test_x is None or len(self.data.test_y) == 0:
            return None
        s = self.search_cfg
        b = max(s.batch, 256)
        x, y = self.data.test_x, self.data.test_y
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if s.test_bn == "running":
                was = net.training
                net.eval()
                try:
                    return accuracy(net, x, y, b)
                finally:
                    net.train(was)
            batches = calibration_batches(self.data.train_x, s.batch, s.bn_calibration_images)
            with recalibrated_bn(net, batches):
                return accuracy(net, x, y, b)

    # ------------------------------------------------------------------------------ loop
    def _regenerated(self) -> dict:
        """What the record says about the E just built (nothing by default)."""
        return {}

    @abstractmethod
    def _epoch_result(self, search_epoch: int) -> tuple[dict, Genotype]:
        """After a joint epoch: the record's extra fields and the stamped genotype."""

    @abstractmethod
    def _finish(self) -> Genotype:
        """Write the final result; returns the final genotype."""

    def settings_line(self) -> str:
        """The resolved settings that decide what the search computes, printed at the start
        (they are also in the run's config.json)."""
        a, s = self.algo, self.search_cfg
        route = a.route or a.name
        return (f"algorithm {a.name} (route {route}: ws_kd={a.ws_kd} we_kd={a.we_kd} we_split={a.we_split}); "
                f"share_stem_heads={a.share_stem_heads} edge_weights={a.edge_weights} head_ce={a.head_ce:g} "
                f"kd={a.kd_reduction} kd_mask={a.kd_mask} T={a.T:g} lam={a.lam:g} warmup_split={a.warmup_split} "
                f"reset_optimizers={a.reset_optimizers} augment={s.augment} "
                f"alpha_lr={self._arch_lr:.3g}{' (auto)' if s.alpha_lr == 'auto' else ''}; parts: {a.parts_line()}")

    def run_epochs(self) -> Genotype:
        s = self.search_cfg
        if self.threads is not None:          # the first line, on a resume too
            self.progress.message(self.threads.line())
        if self.next_epoch == 0:
            self.progress.begin()             # then the run directory and the resume command
            self.progress.message(self.settings_line())
        while self.next_epoch < self.total_epochs:
            epoch = self.next_epoch
            self.progress.start_epoch(epoch)
            if self.cream:   # no stale gradients across an epoch boundary: a checkpoint holds none
                _zero(self._all_params())
            if epoch < s.pretrain_epochs:
                record = {"phase": "pretrain", "epoch": epoch, **self.pretrain_epoch(epoch)}
                genotype = None
            else:
                k = epoch - s.pretrain_epochs
                lr_w, lr_e = self._set_lrs(k)
                begin_search_epoch(self, k)
                uses_eval = self.update != "darts"
                if uses_eval:
                    self.regenerate_eval_net(lr_e)
                record = {"phase": self.phase, "epoch": epoch, "search_epoch": k, "lr_w": lr_w,
                          **({"lr_e": lr_e, **self._regenerated()} if uses_eval else {})}
                if uses_eval:
                    record.update(self.warmup_eval(epoch))
                record.update(self.search_epoch(epoch, k))
                if uses_eval and self.algo.inherit_eval_weights:
                    self.pool.store_from(self.eval_net)
                if s.test_every and ((k + 1) % s.test_every == 0 or k + 1 == s.epochs):
                    if uses_eval:
                        record["acc_E_test"] = self.test_accuracy(self.eval_net)
                    # S is the only network of the darts update: tested whatever test_search_net says
                    if s.test_search_net or not uses_eval:
                        record["acc_S_test"] = self.test_accuracy(self.search_net)
                extra, genotype = self._epoch_result(k)
                record.update(extra)
            self.next_epoch = epoch + 1
            self._epoch_end(record, genotype)
        return self._finish()

    def _summary(self, genotype: Genotype) -> str:
        return genotype_summary(genotype)

    def _log_extra(self, genotype: Genotype | None, record: dict) -> None:
        """Side logs of an epoch (TensorBoard); none by default."""

    def _epoch_end(self, record: dict, genotype: Genotype | None) -> None:
        check_state(self.state_dict(), epoch=record["epoch"], phase=record["phase"])   # nothing non-finite is ever written
        values = {k: v for k, v in record.items() if isinstance(v, float)}
        self.progress.epoch(record["phase"], record["epoch"], values)
        if genotype is not None:
            self.progress.message(self._summary(genotype))
        if self.run_dir is None:
            return
        if genotype is not None:
            record.setdefault("genotype", self._summary(genotype))
            # numbered as the provenance and the report number it: search epochs from 1
            number = record["search_epoch"] + 1 if "search_epoch" in record else record["epoch"]
            self.run_dir.save_genotype(genotype, epoch=number)
        self.run_dir.log(record)
        self._log_extra(genotype, record)
        # written last: records and genotypes past the checkpoint are dropped on resume
        self.run_dir.save_checkpoint(self.state_dict())

    def resume_from(self, path: str | Path) -> None:
        # loaded to the CPU: RNG states must stay CPU tensors; load_state_dict moves the rest
        self.load_state_dict(load_checkpoint(path))
        if self.run_dir is not None:
            self.run_dir.truncate_metrics_from(self.next_epoch)
            self.run_dir.truncate_genotypes(self.next_epoch)


class CyclicSearch(CyclicLoop):
    """State and loop of one cell search run. ``run()`` returns the final genotype."""

    def __init__(self, config: ExperimentConfig, *, search_template: NetworkTemplate,
                 eval_template: NetworkTemplate, cells: Mapping[str, CellSpec], data: SearchData,
                 run_dir: RunDir | None = None, progress: Progress | None = None,
                 device: torch.device | str | None = None):
        self._setup(config, data, run_dir, progress, device, partial_layout(config, device))
        self.route = Route.from_config(config.algorithm)
        self.search_template = search_template
        self.eval_template = eval_template
        self.cells = dict(cells)
        # α is initialised from its own generator (CPU: same α on every device)
        self.generators = {"alpha_init": torch.Generator().manual_seed(derive_seed(config.seed, 1))}
        self.search_net = self._to_device(build_search_net(
            search_template, self.cells, self.generators["alpha_init"], edge_weights=self.algo.edge_weights,
            memory=config.search.memory, relax=self.algo.relax, partial_channels=self.algo.partial_channels))
        broadcast_module(self.search_net)          # every rank starts from rank 0's weights and α
        self.alpha_layout = alpha_layout(self.search_net, search_template, self.cells)
        if self.algo.latency_delta > 0:
            self.latency_penalty()   # fail now, not after the first epoch, on ops without a latency
        self._setup_optimisers(list(self.search_net.arch_parameters()), list(self.search_net.weight_parameters()),
                               config.search.alpha_lr)
        self.eval_genotype: Genotype | None = None
        self.history: list[Genotype] = []

    # The names the rest of the runtime (and the tests) know these by.
    @property
    def alpha(self) -> list[nn.Parameter]:
        return self.arch

    @property
    def opt_alpha(self) -> torch.optim.Optimizer:
        return self.opt_arch

    def current_genotype(self) -> Genotype:
        return self.search_net.genotype()

    def latency_penalty(self) -> Tensor:
        return expected_latency(self.alpha_layout(), self.algo.latency_table)

    def _build_eval(self) -> nn.Module:
        genotype = self.current_genotype()
        self.eval_genotype = genotype
        return build_eval_net(self.eval_template, genotype, phase="eval", affine=self.search_cfg.eval_affine)

    def _arch_penalty(self, meter: Meter, regular_weight: float) -> Tensor | None:
        return arch_regularizers(self, meter, regular_weight)

    def alpha_softmax(self) -> dict:
        """The relaxed weights (softmax(α), scaled by softmax(β) where edges are weighted) of
        every cell node, with the predecessor and op names that index them: enough to draw α
        heat maps and trajectories from metrics.jsonl alone."""
        from genolang.compiler.lower.edges import candidate_ops

        weights = self.search_net.relaxed_weights()
        return {key: {node: {"from": list(cell.predecessors(node)),
                             "ops": [label for label, _ in candidate_ops(cell, node)],
                             "softmax": weights[key][node].detach().cpu().tolist()}
                      for node in cell.nodes}
                for key, cell in self.search_net.cell_specs.items()}

    def _epoch_result(self, search_epoch: int) -> tuple[dict, Genotype]:
        genotype = self._stamp(self.current_genotype(), search_epoch)
        self.history.append(genotype)
        return {"alpha_softmax": self.alpha_softmax()}, genotype

    def _finish(self) -> Genotype:
        s = self.search_cfg
        final = self._stamp(self.current_genotype(), max(s.epochs - 1, 0), final=True)
        if self.run_dir is not None:
            self.run_dir.save_genotype(final)
            self.run_dir.log({"phase": "final", "epoch": self.total_epochs,
                              "genotype": genotype_summary(final)})
        return final

    def run(self) -> SearchResult:
        final = self.run_epochs()
        return SearchResult(final, list(self.history), self.run_dir.path if self.run_dir else None,
                            self.run_dir.metrics() if self.run_dir else [])

    def _log_extra(self, genotype: Genotype | None, record: dict) -> None:
        log_search_epoch(self.run_dir, self.search_net, genotype, record["epoch"])

    def _stamp(self, genotype: Genotype, search_epoch: int, final: bool = False) -> Genotype:
        """The genotype with its provenance: space, algorithm and options, seed, epoch, version."""
        a = self.algo
        options = f"route={a.route or a.name} T={a.T:g} lam={a.lam:g} kd={a.kd_reduction} " \
                  f"ws_kd={a.ws_kd} we_kd={a.we_kd} we_split={a.we_split} warmup={a.warmup_split} " \
                  f"share_stem_heads={a.share_stem_heads} edge_weights={a.edge_weights} " \
                  f"head_ce={a.head_ce:g} delta={a.latency_delta:g}"
        if a.update == "darts":
            options += f" {a.parts_line()}"
        name = self.config.name or "found"
        spaces = {cell.space_of(node).name for cell in self.cells.values() for node in cell.nodes}
        space = self.config.templates.space or genotype.space or "+".join(sorted(spaces))
        provenance = ((("space", space),) if space else ()) + (
            ("algorithm", a.name), ("options", options), ("seed", str(self.config.seed)),
            ("epoch", str(search_epoch + 1)), ("final", str(final).lower()),      # search epochs from 1
            ("genolang", __version__),
            ("hash", genotype_hash(genotype)),     # architecture identity (compiler/genotype/hash.py)
        )
        # The retraining network comes from the experiment, not from the genotype: a template
        # reference would tie genotype.geno to the spec file that defines the network, while
        # without one the file stands alone (it only needs the op library).
        template = self.config.templates.retrain or self.config.templates.eval
        if template:
            provenance += (("template", template),)
        single_space = space if space and "+" not in space else genotype.space
        return dataclasses.replace(genotype, name=name, provenance=provenance, template=None,
                                   space=single_space)

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "next_epoch": self.next_epoch,
            "phase": ("pretrain" if self.next_epoch < self.search_cfg.pretrain_epochs
                      else "search" if self.next_epoch < self.total_epochs else "done"),
            "config": self.config.model_dump(mode="json"),
            "search_net": self.search_net.state_dict(),
            "alpha": [a.detach().clone() for a in self.alpha],
            "eval_net": self.eval_net.state_dict() if self.eval_net is not None else None,
            "eval_genotype": genotype_json(self.eval_genotype) if self.eval_genotype is not None else None,
            "pool": self.pool.state_dict(),
            "opt_w": self.opt_w.state_dict(),
            "opt_alpha": self.opt_alpha.state_dict(),
            "opt_e": self.opt_e.state_dict() if self.opt_e is not None else None,
            # lr schedules are pure functions of the epoch; data order of (seed, epoch, stream)
            "schedule": {"kind": self.search_cfg.lr_schedule, "next_epoch": self.next_epoch},
            "data_order": {"seed": self.config.seed, "next_epoch": self.next_epoch, "position": 0},
            "rng": rng_state(self.generators),
            "history": [genotype_json(g) for g in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") != CHECKPOINT_VERSION:
            raise RunError(f"checkpoint version {state.get('version')} is not supported")
        self.search_net.load_state_dict(state["search_net"])
        self.opt_w.load_state_dict(state["opt_w"])
        self.opt_alpha.load_state_dict(state["opt_alpha"])
        self.pool.load_state_dict(state["pool"])
        self.next_epoch = state["next_epoch"]
        self.history = [genotype_from_json(g, self.search_net.cell_specs) for g in state.get("history") or []]
        # E is not rebuilt: the next epoch regenerates it from α and the pool, which already
        # holds its weights (written back at the end of every epoch).
        set_rng_state(state["rng"], self.generators)

def run_search(config: ExperimentConfig, *, search_template: NetworkTemplate, eval_template: NetworkTemplate,
               cells: Mapping[str, CellSpec], data: SearchData, run_dir: str | Path | None = None,
               resume: bool = False, progress: bool = True, spec_path: str | Path | None = None,
               force: bool = False) -> SearchResult:
    """Run (or resume) a search and return its final genotype and per-epoch history.

    A resume refuses a changed config or spec unless ``force``; a diverging run raises
    :class:`~genolang.runtime.runs.finite.NonFiniteError` and keeps its last finite checkpoint."""
    device = resolve_device(config.device)
    init_from_env(device)
    config, threads = start_threads(config, device)
    rd = RunDir(run_dir) if run_dir is not None else None
    total = config.search.pretrain_epochs + config.search.epochs
    searcher = CyclicSearch(config, search_template=search_template, eval_template=eval_template,
                            cells=cells, data=data, run_dir=rd,
                            progress=Progress(total, enabled=progress and world()[0] == 0,
                                              pretrain_epochs=config.search.pretrain_epochs,
                                              run_dir=rd.path if rd else None,
                                              resume=f"geno search --resume {rd.path}" if rd else None))
    if rd is not None:     # lock, fingerprint (fresh) or compare it (resume), checkpoint
        rd.resume_into(searcher, rd.begin(config, resume=resume, force=force, spec_path=spec_path))
        rd.note_runtime(threads.record())
    searcher.threads = threads
    try:
        return searcher.run()
    except NonFiniteError as exc:     # stop; the last finite checkpoint stays the one to resume
        raise stopped(exc, epoch=searcher.next_epoch, total=searcher.total_epochs, run_dir=rd,
                      command="search --resume {run}") from None
    finally:
        searcher.progress.close()
        if rd is not None:
            rd.close()
