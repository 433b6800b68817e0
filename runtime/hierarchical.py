"""Hierarchical ICDARTS, the macro phase (Algorithm 4, icdarts-spec §4.6, eqs 6.1-6.4).

A micro genotype (from an ICDARTS search or a file) fixes the cells; a ``macro`` definition
names the network template, the version and the depth. The macro phase is Algorithm 1 with
γ in place of α:

1. ``pretrain_epochs`` epochs of S_macro on CE_S(train), γ fixed;
2. every epoch: E_macro ← discretise(γ) (one skip source per cell, or one type per depth),
   inheriting its weights by name from the pool of every earlier E_macro (A7);
   warm-up of E_macro on CE_E(``warmup_split``, val by default; eq 6.1) for 1 epoch
   (version 1) or 2 epochs (version 2);
3. for every (train, val) batch pair:
   (1) γ  ← Adam(lr 3e-3, A21) on CE_S(val) + λ·KD(val), E's logits detached   (6.2)
   (2) w_S ← SGD on CE_S(train) + λ·KD(train), E's logits detached               (6.3)
   (3) w_E ← SGD on CE_E(train)                                                  (6.4)
4. write E back to the pool, log the choice, checkpoint atomically.

The losses are the runtime's (:func:`genolang.runtime.losses.objectives` under the ICDARTS
route, with the experiment's T, λ and KD reduction); optimiser settings, the cosine schedule,
gradient clipping, batching and the run directory are those of the micro search
(:mod:`genolang.runtime.search`). The result is the micro genotype with a ``macro`` block,
written as spec text (``genotype.geno``) by :func:`genolang.compiler.raise_.genotype_text`.

A run is resumable: the IR it needs (macro, template, micro genotype) is stored in
``macro_run.pt`` when the run starts, and a checkpoint at every epoch boundary holds the
rest; data order is a function of (seed, epoch), so a resumed run repeats an interrupted
epoch exactly.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

import genolang
from genolang.compiler.build.macro import build_macro_eval, build_macro_search, macro_template
from genolang.compiler.derive_macro import attach_macro, macro_summary
from genolang.compiler.experiment import ExperimentConfig
from genolang.compiler.ir import Genotype, MacroChoice, MacroSpec, NetworkTemplate
from genolang.errors import ConfigError, RunError, SpecSemanticError, did_you_mean
from genolang.runtime.batching import derive_seed, epoch_batches
from genolang.runtime.checkpoint import load_checkpoint, rng_state, save_atomic, seed_everything, set_rng_state
from genolang.runtime.losses import Route, objectives
from genolang.runtime.progress import Progress
from genolang.runtime.rundir import RunDir
from genolang.runtime.meter import Meter
from genolang.runtime.search import SearchData, _clip, _zero, cosine_lr, resolve_device
from genolang.runtime.weights import WeightPool

__all__ = ["MacroOptions", "MacroResult", "MacroSearch", "run_macro_search", "start_macro_search",
           "resume_macro_search", "resolve_genotype", "GAMMA_LR"]

CHECKPOINT_VERSION = 1
RUN_FILE = "macro_run.pt"
GAMMA_LR = 3e-3          # A21: the "3e-3" of chapter 6 is γ's Adam learning rate


@dataclass(frozen=True)
class MacroOptions:
    """Settings of the macro phase that the experiment config does not hold.

    ``warmup_epochs`` None means 1 for version 1 and 2 for version 2 (chapter 6).
    """

    beta: float = 1.0
    gamma_lr: float = GAMMA_LR
    warmup_epochs: int | None = None

    def warmup_for(self, version: int) -> int:
        if self.warmup_epochs is not None:
            return self.warmup_epochs
        return 2 if version == 2 else 1


@dataclass
class MacroResult:
    genotype: Genotype
    choice: MacroChoice
    history: list[MacroChoice] = field(default_factory=list)
    run_dir: Path | None = None
    metrics: list[dict] = field(default_factory=list)


def _choice_json(choice: MacroChoice) -> dict:
    return {"version": choice.version, "skips": list(choice.skips), "types": list(choice.types)}


class MacroSearch:
    """State and loop of one macro-phase run; ``run()`` returns the genotype with its choice."""

    def __init__(self, config: ExperimentConfig, *, macro: MacroSpec, template: NetworkTemplate,
                 genotype: Genotype, data: SearchData, options: MacroOptions | None = None,
                 run_dir: RunDir | None = None, progress: Progress | None = None,
                 device: torch.device | str | None = None):
        if macro.version not in (1, 2):
            raise ConfigError(f"macro version {macro.version} does not exist")
        self.config = config
        self.search_cfg = s = config.search
        self.macro = macro
        self.template = template
        self.micro = genotype
        self.options = options or MacroOptions()
        self.warmup_epochs = self.options.warmup_for(macro.version)
        a = config.algorithm
        # Algorithm 4 is the ICDARTS route: KD in the γ and w_S objectives, w_E on CE_E(train).
        self.route = Route(ws_kd=True, we_kd=False, we_split="train", T=a.T, lam=a.lam, reduction=a.kd_reduction)
        self.device = torch.device(device) if device is not None else resolve_device(config.device)
        self.data = data.to(self.device)
        self.run_dir = run_dir
        self.total_epochs = s.pretrain_epochs + s.epochs
        self.progress = progress or Progress(self.total_epochs, enabled=False)

        seed_everything(config.seed)
        self.generators = {"gamma_init": torch.Generator().manual_seed(derive_seed(config.seed, 6))}
        options_kw: dict[str, Any] = {"generator": self.generators["gamma_init"], "affine": False}
        if macro.version == 1:
            options_kw["beta"] = self.options.beta
        self.search_net = build_macro_search(macro, template, genotype, **options_kw).to(self.device)
        self.gamma = list(self.search_net.arch_parameters())
        self.w_search = list(self.search_net.weight_parameters())
        if {id(p) for p in self.gamma} & {id(p) for p in self.w_search}:
            raise RunError("γ and the search weights share parameters")
        self.opt_w = torch.optim.SGD(self.w_search, lr=s.w_lr, momentum=s.w_momentum, weight_decay=s.w_wd)
        self.opt_gamma = torch.optim.Adam(self.gamma, lr=self.options.gamma_lr, betas=tuple(s.alpha_betas),
                                          weight_decay=s.alpha_wd)
        self.pool = WeightPool()
        self.eval_net: nn.Module | None = None
        self.eval_choice: MacroChoice | None = None
        self.opt_e: torch.optim.Optimizer | None = None
        self.w_eval: list[nn.Parameter] = []
        self.next_epoch = 0
        self.history: list[MacroChoice] = []

    # ------------------------------------------------------------------------------ helpers
    def _batches(self, part: str, epoch: int, stream: int) -> list[Tensor]:
        y = self.data.train_y if part == "train" else self.data.val_y
        idx = epoch_batches(len(y), self.search_cfg.batch, self.config.seed, epoch, stream)
        cap = self.search_cfg.steps_per_epoch
        idx = idx if cap is None else idx[:cap]
        return [i.to(self.device) for i in idx]

    def _get(self, part: str, idx: Tensor) -> tuple[Tensor, Tensor]:
        if part == "train":
            return self.data.train_x[idx], self.data.train_y[idx]
        return self.data.val_x[idx], self.data.val_y[idx]

    def current_choice(self) -> MacroChoice:
        return self.search_net.choice()

    def gamma_softmax(self) -> list:
        """softmax(γ) per cell (v1) or per depth (v2), as nested lists for the log."""
        if self.macro.version == 1:
            return [torch.softmax(g.detach(), 0).cpu().tolist() for g in self.gamma]
        return torch.softmax(self.gamma[0].detach(), -1).cpu().tolist()

    def _lrs(self, search_epoch: int) -> tuple[float, float]:
        s = self.search_cfg
        if s.lr_schedule == "cosine":
            lr_w = cosine_lr(s.w_lr, s.eta_min, search_epoch, s.epochs)
            lr_e = cosine_lr(s.e_lr, s.eta_min, search_epoch, s.epochs)
        else:
            lr_w, lr_e = s.w_lr, s.e_lr
        for group in self.opt_w.param_groups:
            group["lr"] = lr_w
        return lr_w, lr_e

    # ------------------------------------------------------------------------------ E_macro
    def regenerate_eval_net(self, lr_e: float) -> None:
        """Discretise γ, build E_macro, inherit its weights by name, give it a fresh SGD."""
        choice = self.current_choice()
        net = build_macro_eval(self.macro, self.template, self.micro, choice,
                               affine=self.search_cfg.eval_affine).to(self.device)
        if self.config.algorithm.inherit_eval_weights:
            self.pool.load_into(net)
        self.eval_net, self.eval_choice = net, choice
        self.w_eval = [p for p in net.parameters() if p.requires_grad]
        s = self.search_cfg
        self.opt_e = torch.optim.SGD(self.w_eval, lr=lr_e, momentum=s.e_momentum, weight_decay=s.e_wd)

    # ------------------------------------------------------------------------------ epochs
    def pretrain_epoch(self, epoch: int) -> dict[str, float]:
        """CE_S on train, γ fixed."""
        meter = Meter()
        net = self.search_net.train()
        batches = self._batches("train", epoch, 0)
        for i, idx in enumerate(batches):
            self.progress.step("pretrain", epoch, i, len(batches), values=meter.means)
            x, y = self._get("train", idx)
            out = net(x)
            loss = nn.functional.cross_entropy(out.logits, y)
            _zero(self.w_search)
            loss.backward(inputs=self.w_search)
            _clip(self.w_search, self.search_cfg.grad_clip)
            self.opt_w.step()
            meter.add("loss_S", loss)
            meter.add_correct("acc_S", out.logits, y)
        return meter.means()

    def warmup_eval(self, epoch: int) -> dict[str, float]:
        """CE_E on the warm-up split (eq 6.1), ``warmup_epochs`` passes."""
        meter = Meter()
        part = self.config.algorithm.warmup_split
        net = self.eval_net.train()
        for w in range(self.warmup_epochs):
            batches = self._batches(part, epoch, 10 + w)
            for i, idx in enumerate(batches):
                self.progress.step("warmup", epoch, i, len(batches), values=meter.means)
                x, y = self._get(part, idx)
                loss = nn.functional.cross_entropy(net(x).logits, y)
                _zero(self.w_eval)
                loss.backward(inputs=self.w_eval)
                _clip(self.w_eval, self.search_cfg.grad_clip)
                self.opt_e.step()
                meter.add("loss_E_warmup", loss)
        return meter.means()

    def macro_step(self, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
        """One γ step (6.2), one w_S step (6.3) and one w_E step (6.4)."""
        S, E, route = self.search_net, self.eval_net, self.route
        clip = self.search_cfg.grad_clip
        # (1) γ on the val batch, E the detached teacher.
        s_v = S(x_v)
        with torch.no_grad():
            e_v = E(x_v)
        loss_gamma = objectives(route, s_val=s_v, e_val=e_v, y_val=y_v).alpha
        _zero(self.gamma)
        loss_gamma.backward(inputs=self.gamma)
        self.opt_gamma.step()
        meter.add("loss_gamma", loss_gamma)
        # (2) w_S and (3) w_E on the train batch: disjoint parameters, one backward pass.
        s_t = S(x_t)
        e_t = E(x_t)
        obj = objectives(route, s_train=s_t, e_train=e_t, y_train=y_t)
        _zero(self.w_search)
        _zero(self.w_eval)
        (obj.w_search + obj.w_eval).backward(inputs=self.w_search + self.w_eval)
        _clip(self.w_search, clip)
        _clip(self.w_eval, clip)
        self.opt_w.step()
        self.opt_e.step()
        meter.add("loss_S", obj.w_search)
        meter.add("loss_E", obj.w_eval)
        meter.add_correct("acc_S", s_t.logits, y_t)
        meter.add_correct("acc_E", e_t.logits, y_t)

    def search_epoch(self, epoch: int) -> dict[str, float]:
        meter = Meter()
        train = self._batches("train", epoch, 1)
        val = self._batches("val", epoch, 2)
        self.search_net.train()
        self.eval_net.train()
        steps = min(len(train), len(val))
        for i in range(steps):
            x_t, y_t = self._get("train", train[i])
            x_v, y_v = self._get("val", val[i])
            self.macro_step(x_t, y_t, x_v, y_v, meter)
            self.progress.step("macro", epoch, i, steps, values=meter.means)
        return meter.means()

    @torch.no_grad()
    def test_accuracy(self, net: nn.Module) -> float | None:
        if self.data.test_x is None or len(self.data.test_y) == 0:
            return None
        was = net.training
        net.eval()
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        b = max(self.search_cfg.batch, 256)
        for i in range(0, len(self.data.test_y), b):
            correct += (net(self.data.test_x[i:i + b]).logits.argmax(1) == self.data.test_y[i:i + b]).sum()
        net.train(was)
        return correct.item() / len(self.data.test_y)

    # ------------------------------------------------------------------------------ loop
    def run(self) -> MacroResult:
        s = self.search_cfg
        while self.next_epoch < self.total_epochs:
            epoch = self.next_epoch
            self.progress.start_epoch(epoch)
            if epoch < s.pretrain_epochs:
                record = {"phase": "pretrain", "epoch": epoch, **self.pretrain_epoch(epoch)}
                genotype = None
            else:
                k = epoch - s.pretrain_epochs
                lr_w, lr_e = self._lrs(k)
                self.regenerate_eval_net(lr_e)
                record = {"phase": "macro", "epoch": epoch, "search_epoch": k, "lr_w": lr_w, "lr_e": lr_e,
                          "eval_choice": _choice_json(self.eval_choice)}
                record.update(self.warmup_eval(epoch))
                record.update(self.search_epoch(epoch))
                if self.config.algorithm.inherit_eval_weights:
                    self.pool.store_from(self.eval_net)
                if s.test_every and ((k + 1) % s.test_every == 0 or k + 1 == s.epochs):
                    record["acc_E_test"] = self.test_accuracy(self.eval_net)
                choice = self.current_choice()
                self.history.append(choice)
                record["choice"] = _choice_json(choice)
                record["gamma_softmax"] = self.gamma_softmax()
                genotype = self.stamp(choice, k)
            self.next_epoch = epoch + 1
            self._epoch_end(record, genotype)
        choice = self.current_choice()
        final = self.stamp(choice, max(s.epochs - 1, 0), final=True)
        if self.run_dir is not None:
            self.run_dir.save_genotype(final)
            (self.run_dir.path / "macro.json").write_text(json.dumps(
                {"macro": self.macro.name, **_choice_json(choice), "gamma_softmax": self.gamma_softmax()},
                indent=1), encoding="utf-8")
            self.run_dir.log({"phase": "final", "epoch": self.total_epochs, "choice": _choice_json(choice),
                              "macro": macro_summary(choice)})
        return MacroResult(final, choice, list(self.history), self.run_dir.path if self.run_dir else None,
                           self.run_dir.metrics() if self.run_dir else [])

    def _epoch_end(self, record: dict, genotype: Genotype | None) -> None:
        values = {k: v for k, v in record.items() if isinstance(v, float)}
        self.progress.epoch(record["phase"], record["epoch"], values)
        if genotype is not None:
            self.progress.message(macro_summary(genotype.macro))
        if self.run_dir is None:
            return
        if genotype is not None:
            record["macro"] = macro_summary(genotype.macro)
            self.run_dir.save_genotype(genotype, epoch=record["epoch"])
        self.run_dir.log(record)
        self.run_dir.save_checkpoint(self.state_dict())     # last: later records are dropped on resume

    def stamp(self, choice: MacroChoice, search_epoch: int, final: bool = False) -> Genotype:
        """The micro genotype with the macro choice and the macro phase's provenance."""
        a = self.config.algorithm
        options = (f"version={self.macro.version} depth={len(macro_template(self.template, self.macro.depth).slots)} "
                   f"beta={self.options.beta:g} gamma_lr={self.options.gamma_lr:g} warmup={self.warmup_epochs} "
                   f"T={a.T:g} lam={a.lam:g} kd={a.kd_reduction} warmup_split={a.warmup_split}")
        provenance = (("macro", self.macro.name), ("macro_template", self.template.name),
                      ("macro_algorithm", "hierarchical-icdarts"), ("macro_options", options),
                      ("macro_seed", str(self.config.seed)), ("macro_epoch", str(search_epoch)),
                      ("macro_final", str(final).lower()), ("genolang", genolang.__version__))
        name = re.sub(r"\W", "_", f"{self.micro.name}_{self.macro.name}")
        # No template reference: genotype.geno stands alone (the network is in the provenance).
        return dataclasses.replace(attach_macro(self.micro, choice, name=name, provenance=provenance), template=None)

    # ------------------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "version": CHECKPOINT_VERSION,
            "kind": "macro",
            "next_epoch": self.next_epoch,
            "config": self.config.model_dump(mode="json"),
            "search_net": self.search_net.state_dict(),
            "pool": self.pool.state_dict(),
            "opt_w": self.opt_w.state_dict(),
            "opt_gamma": self.opt_gamma.state_dict(),
            "rng": rng_state(self.generators),
            "history": [_choice_json(c) for c in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") != CHECKPOINT_VERSION or state.get("kind") != "macro":
            raise RunError("not a macro-search checkpoint of a supported version")
        self.search_net.load_state_dict(state["search_net"])
        self.opt_w.load_state_dict(state["opt_w"])
        self.opt_gamma.load_state_dict(state["opt_gamma"])
        self.pool.load_state_dict(state["pool"])
        self.next_epoch = state["next_epoch"]
        self.history = [MacroChoice(c["version"], tuple(c["skips"]), tuple(c["types"])) for c in state["history"]]
        set_rng_state(state["rng"], self.generators)

    def resume_from(self, path: str | Path) -> None:
        self.load_state_dict(load_checkpoint(path, map_location=self.device))
        if self.run_dir is not None:
            self.run_dir.truncate_metrics_from(self.next_epoch)
            self.run_dir.truncate_genotypes(self.next_epoch)


def run_macro_search(config: ExperimentConfig, *, macro: MacroSpec, template: NetworkTemplate, genotype: Genotype,
                     data: SearchData, options: MacroOptions | None = None, run_dir: str | Path | None = None,
                     resume: bool = False, progress: bool = True, spec_path: str | Path | None = None) -> MacroResult:
    """Run (or resume) the macro phase and return the genotype with its macro choice."""
    rd = RunDir(run_dir) if run_dir is not None else None
    options = options or MacroOptions()
    total = config.search.pretrain_epochs + config.search.epochs
    progress = Progress(total, enabled=progress, pretrain_epochs=config.search.pretrain_epochs,
                        run_dir=rd.path if rd else None,
                        resume=f"geno macro-search --resume {rd.path}" if rd else None)
    searcher = MacroSearch(config, macro=macro, template=template, genotype=genotype, data=data, options=options,
                           run_dir=rd, progress=progress)
    if rd is not None:
        if resume and rd.checkpoint_path.exists():
            searcher.resume_from(rd.checkpoint_path)
        elif not resume or not (rd.path / RUN_FILE).exists():
            rd.save_spec(spec_path)
            rd.save_config(config)
            save_atomic({"macro": macro, "template": template, "genotype": genotype,
                         "options": dataclasses.asdict(options)}, rd.path / RUN_FILE)
    try:
        return searcher.run()
    finally:
        searcher.progress.close()
        if rd is not None:
            rd.close()


# ---------------------------------------------------------------------------------- driver


def resolve_genotype(program, genotype: str | Genotype | None) -> Genotype:
    """A genotype object, a name in ``program``, a ``.geno`` file (``file.geno`` holding one
    genotype, or ``file.geno:NAME``) or a search run directory (its ``genotype.geno``);
    None: the only/first genotype of ``program``."""
    from genolang.compiler.lower import load

    if isinstance(genotype, Genotype):
        return genotype
    if genotype is None:
        return _pick(program.genotypes, program, None)
    if genotype in program.genotypes:
        return program.genotypes[genotype]
    path, _, name = genotype.partition(":") if not Path(genotype).exists() else (genotype, "", "")
    if Path(path).is_dir():                       # a search run directory: its final genotype
        path = str(Path(path) / "genotype.geno")
    if Path(path).exists():
        other = load(path)
        return _pick(other.genotypes, other, name or None)
    raise SpecSemanticError(f"no genotype `{genotype}` in {program.file}, and no such file",
                            hint=did_you_mean(genotype, program.genotypes)
                            or "give a genotype name of the spec, or a .geno file (file.geno or file.geno:NAME)")


def _pick(table: Mapping[str, Any], program, name: str | None):
    if name is not None:
        if name not in table:
            raise SpecSemanticError(f"no genotype `{name}` in {program.file}", hint=did_you_mean(name, table))
        return table[name]
    local = [n for n in program.local("genotype") if n in table]
    if local:
        return table[local[0]]
    if table:
        return next(iter(table.values()))
    raise SpecSemanticError(f"{program.file} defines no genotype", hint="pass --genotype FILE.geno")


def _macro_of(program, name: str | None) -> MacroSpec:
    macros = program.macros
    if name is None:
        local = [n for n in program.local("macro") if n in macros]
        if local or macros:
            return macros[local[0] if local else next(iter(macros))]
        raise SpecSemanticError(f"{program.file} defines no macro",
                                hint="add `macro NAME version 1 { template NET  depth N }`")
    if name not in macros:
        raise SpecSemanticError(f"no macro named `{name}` in {program.file}",
                                hint=did_you_mean(name, macros) or ("macros: " + ", ".join(macros) if macros else None))
    return macros[name]


def _config_of(program, experiment: str | None) -> tuple[str, ExperimentConfig]:
    from genolang.runtime.driver import pick_experiment

    if experiment is None and not program.experiments:
        raise SpecSemanticError(f"{program.file} defines no experiment (the macro phase takes its data and "
                                "schedule from one)", hint="add an `experiment NAME { data { ... } }` block")
    return pick_experiment(program, experiment)


def start_macro_search(spec: str | Path, *, macro: str | None = None, genotype: str | Genotype | None = None,
                       experiment: str | None = None, out: str | Path = "runs",
                       overrides: Mapping[str, Any] | None = None, options: MacroOptions | None = None,
                       progress: bool = True) -> MacroResult:
    """The macro phase of ``spec``'s ``macro`` on ``genotype``'s cells, with the data and
    schedule of ``experiment``, in a new run directory under ``out``."""
    from genolang.compiler.lower import load
    from genolang.runtime.driver import load_data, search_data
    from genolang.runtime.rundir import new_run_dir

    program = load(spec)
    spec_macro = _macro_of(program, macro)
    micro = resolve_genotype(program, genotype)
    name, config = _config_of(program, experiment)
    config = config.with_overrides(**(overrides or {}))
    if config.name is None:
        config = config.with_overrides(name=name)
    template = program.templates.get(spec_macro.template)
    if template is None:
        raise SpecSemanticError(f"macro `{spec_macro.name}` names unknown network `{spec_macro.template}`",
                                spec_macro.span)
    data = search_data(load_data(config), config)
    run_dir = new_run_dir(out, f"{config.name}-{spec_macro.name}")
    return _interruptible(run_dir, lambda: run_macro_search(
        config, macro=spec_macro, template=template, genotype=micro, data=data, options=options,
        run_dir=run_dir, progress=progress, spec_path=spec))


def resume_macro_search(run_dir: str | Path, *, progress: bool = True,
                        overrides: Mapping[str, Any] | None = None) -> MacroResult:
    """Continue an interrupted macro phase from its run directory."""
    from genolang.runtime.driver import load_data, search_data

    rd = RunDir(run_dir)
    if not (rd.path / RUN_FILE).exists() or not (rd.path / "config.json").exists():
        raise ConfigError(f"{run_dir} is not a macro-search run directory (no {RUN_FILE} / config.json)")
    saved = load_checkpoint(rd.path / RUN_FILE)
    config = ExperimentConfig.model_validate(rd.load_config_dict())
    if overrides:
        config = config.with_overrides(**overrides)
    data = search_data(load_data(config), config)
    return _interruptible(rd.path, lambda: run_macro_search(
        config, macro=saved["macro"], template=saved["template"], genotype=saved["genotype"], data=data,
        options=MacroOptions(**saved["options"]), run_dir=rd.path, resume=True, progress=progress))


def _interruptible(run_dir: Path, fn):
    from genolang.runtime.driver import _interruptible as interruptible

    return interruptible(Path(run_dir), fn)
