"""The one search loop: Algorithm 1's schedule, shared by the cell search (α,
:mod:`genolang.runtime.search.loop`) and the macro phase of hierarchical search (γ,
:mod:`genolang.runtime.jobs.hierarchical`).

Pre-train S (CE on train, the architecture fixed); then every epoch: regenerate E from the
architecture parameters (inheriting its weights per (cell, edge, op) from the pool, A7), warm
it up on the ``warmup_split`` half (eq 3.5, A2), run the steps, write E back to the pool,
test, record, checkpoint. The step is the update scheme's own module over an explicit state
(:mod:`.icdarts_step`, :mod:`.cream_step`, :mod:`.darts_step`; the darts scheme has no E);
the schedules are pure functions of the epoch (:mod:`.schedules`), the test is
:func:`.bn_calibration.held_out_accuracy`. Subclasses say what the architecture parameters
are, how E is built from them and what an epoch records.

Batches are augmented (crop, flip) when ``search.augment`` is on, drawn per (seed, epoch,
stream, step). A checkpoint is written atomically at every epoch boundary; data order and
every random source are functions of (seed, epoch) or saved, so a resumed run repeats an
interrupted epoch exactly and reaches the same genotypes as an uninterrupted one (on CPU).
The step is capturable (docs/gpu.md): ``search.cuda_graphs = on`` replays it from a CUDA graph
(:mod:`.graphed_step`), ``search.autocast = bf16`` runs its networks in bfloat16
(:mod:`.precision`). Every step also lets a thread count nobody asked for follow the CPUs'
load (:mod:`genolang.runtime.runs.run_threads`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from genolang.base.errors import RunError
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import Genotype
from genolang.runtime.data.batching import derive_seed, epoch_batches
from genolang.runtime.runs.checkpoint import seed_everything
from genolang.runtime.runs.meter import Meter
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.runs.run_threads import RunThreads
from genolang.runtime.search import schedules
from genolang.runtime.search.bn_calibration import held_out_accuracy
from genolang.runtime.search.cream_step import cream_step, cream_update
from genolang.runtime.search.darts_step import DartsState, darts_step
from genolang.runtime.search.device import resolve_channels_last, resolve_device
from genolang.runtime.search.distributed import broadcast_module, shard, world
from genolang.runtime.search.grads import all_params, clip, frozen, zero
from genolang.runtime.search.graphed_step import GraphedStep, check_step_options
from genolang.runtime.search.icdarts_step import icdarts_step
from genolang.runtime.search.joint_state import JointState
from genolang.runtime.search.losses import net_ce
from genolang.runtime.search.methods import begin_search_epoch
from genolang.runtime.search.netlink import share_stem_heads
from genolang.runtime.search.precision import with_precision
from genolang.runtime.search.records import EpochRecords
from genolang.runtime.search.search_data import SearchData
from genolang.runtime.search.weights import WeightPool

__all__ = ["CyclicLoop", "alias"]


def alias(name: str) -> property:
    """A read-only second name of an attribute (the loop's ``arch`` is the cell search's ``alpha``
    and the macro phase's ``gamma``: the names the rest of the runtime and the tests know)."""
    return property(lambda self: getattr(self, name), doc=f"``{name}``, by another name")


class CyclicLoop(EpochRecords, ABC):
    """Algorithm 1's schedule (module docstring); the schedule, the batches, the augmentation,
    the optimisers and the choice of step are this class's, so a fix to any of them lands once."""

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

    def _setup_optimisers(self, arch_lr: float | str) -> None:
        """The search network's architecture parameters and weights, their optimisers, an empty
        weight pool and no E yet (``self.search_net`` is built)."""
        self.arch = list(self.search_net.arch_parameters())
        self.w_search = list(self.search_net.weight_parameters())
        self._check_disjoint(self.arch, self.w_search, self.arch_name, "search weights")
        self._arch_lr = schedules.arch_lr(self.search_cfg, arch_lr, len(self.data.train_y), len(self.data.val_y))
        self._build_search_optimisers()
        self.pool = WeightPool()
        self.eval_net: nn.Module | None = None
        self.opt_e: torch.optim.Optimizer | None = None
        self.w_eval: list[nn.Parameter] = []
        self.next_epoch = 0
        self.history: list = []

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
        return schedules.capped(self.search_cfg, n)

    def _set_lrs(self, search_epoch: int) -> tuple[float, float]:
        lr_w, lr_e = schedules.epoch_lrs(self.search_cfg, search_epoch)
        for group in self.opt_w.param_groups:
            group["lr"] = lr_w
        return lr_w, lr_e

    def _regular_weight(self, search_epoch: int) -> float:
        return schedules.regular_weight(self.algo, self.search_cfg, search_epoch)

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
        """Every trainable parameter of S, E and the architecture, once each."""
        return all_params(self.w_search, self.arch, self.w_eval)

    # ------------------------------------------------------------------------------ epochs
    def _train_group(self, loss: Tensor, group: list[nn.Parameter], opt: torch.optim.Optimizer) -> None:
        """One update of ``group`` alone on ``loss`` (pre-training and warm-up): Cream's
        bookkeeping under its update scheme, else the group's own backward, clip and step."""
        if self.cream:
            cream_update(loss, group, self._all_params(), self.search_cfg.grad_clip, [opt])
            return
        zero(group)
        loss.backward(inputs=group)
        clip(group, self.search_cfg.grad_clip)
        opt.step()

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
            if self.cream:       # Cream's forward records α's graph too (its gradients accumulate)
                out = net(x)
            else:
                with frozen(self.arch):
                    out = net(x)
            loss = net_ce(self.route, out, y)
            self._train_group(loss, self.w_search, self.opt_w)
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
                self._train_group(loss, self.w_eval, self.opt_e)
                meter.add("loss_E_warmup", loss)
        return meter.means()

    def _arch_penalty(self, meter: Meter, regular_weight: float) -> Tensor | None:
        """Extra terms of the architecture objective (latency, regulariser); none by default."""
        return None

    def cyclic_step(self, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter,
                    regular_weight: float = 0.0) -> None:
        """One step of the update scheme: ICDARTS's (or the route's) α, w_S and w_E steps;
        Cream's with ``update = cdarts``; DARTS's with ``update = darts``."""
        def penalty() -> Tensor | None:
            return self._arch_penalty(meter, regular_weight)

        if self.update == "darts":
            a = self.algo
            state = DartsState(self._net(self.search_net), self.search_net, self.arch, self.w_search,
                               self.opt_arch, self.opt_w, self.search_cfg.grad_clip, a.order,
                               a.alpha_step == "last", penalty)
            return darts_step(state, x_t, y_t, x_v, y_v, meter)
        state = JointState(self._net(self.search_net), self._net(self.eval_net), self.route, self.arch,
                           self.w_search, self.w_eval, self.opt_arch, self.opt_w, self.opt_e,
                           self.search_cfg.grad_clip, self._shared_modules(), penalty, self.arch_loss)
        return (cream_step if self.cream else icdarts_step)(state, x_t, y_t, x_v, y_v, meter)

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

    def test_accuracy(self, net: nn.Module) -> float | None:
        """``net``'s test accuracy (:func:`.bn_calibration.held_out_accuracy`)."""
        return held_out_accuracy(net, self.data, self.search_cfg, self.device)

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

    def _search_epoch_record(self, epoch: int) -> tuple[dict, Genotype]:
        """One joint epoch: its learning rates, E regenerated and warmed up (not for the darts
        update), the steps, E written back to the pool, the tests."""
        s = self.search_cfg
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
        return record, genotype

    def run_epochs(self) -> Genotype:
        if self.threads is not None:          # the first line, on a resume too
            self.progress.message(self.threads.line())
        if self.next_epoch == 0:
            self.progress.begin()             # then the run directory and the resume command
            self.progress.message(self.settings_line())
        while self.next_epoch < self.total_epochs:
            epoch = self.next_epoch
            self.progress.start_epoch(epoch)
            if self.cream:   # no stale gradients across an epoch boundary: a checkpoint holds none
                zero(self._all_params())
            if epoch < self.search_cfg.pretrain_epochs:
                record, genotype = {"phase": "pretrain", "epoch": epoch, **self.pretrain_epoch(epoch)}, None
            else:
                record, genotype = self._search_epoch_record(epoch)
            self.next_epoch = epoch + 1
            self._epoch_end(record, genotype)
        return self._finish()
