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

The losses are the runtime's (:func:`genolang.runtime.search.losses.objectives` under the ICDARTS
route, with the experiment's T, λ and KD reduction); optimiser settings, the cosine schedule,
gradient clipping, batching and the run directory are those of the micro search
(:mod:`genolang.runtime.search.cyclic`). The result is the micro genotype with a ``macro`` block,
written as spec text (``genotype.geno``) by :func:`genolang.compiler.genotype.raise_.genotype_text`.

A run is resumable: what it needs besides the spec copy and config (the macro's name, the
micro genotype, the options) is stored in ``macro_run.json`` when the run starts, and a
checkpoint at every epoch boundary holds the rest; data order is a function of (seed,
epoch), so a resumed run repeats an interrupted epoch exactly.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from genolang.base.version import __version__
from genolang.compiler.build.macro import build_macro_eval, build_macro_search, macro_template
from genolang.compiler.genotype.derive_macro import attach_macro, macro_summary
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import Genotype, MacroChoice, MacroSpec, NetworkTemplate
from genolang.base.errors import ConfigError, RunError, SpecSemanticError, did_you_mean
from genolang.runtime.data.batching import derive_seed
from genolang.runtime.runs.checkpoint import rng_state, set_rng_state
from genolang.runtime.search.losses import Route
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.jobs.macro_run import (
    GAMMA_LR, RUN_FILE, MacroOptions, macro_identity, macro_of, read_macro_run, write_macro_run,
)
from genolang.runtime.runs.run_threads import start_threads
from genolang.runtime.search.cyclic import CyclicLoop, alias
from genolang.runtime.search.device import resolve_device
from genolang.runtime.search.runner import loop_progress, run_to_end
from genolang.runtime.search.search_data import SearchData

__all__ = ["MacroOptions", "MacroResult", "MacroSearch", "run_macro_search", "start_macro_search",
           "resume_macro_search", "resolve_genotype", "GAMMA_LR"]

CHECKPOINT_VERSION = 1


@dataclass
class MacroResult:
    genotype: Genotype
    choice: MacroChoice
    history: list[MacroChoice] = field(default_factory=list)
    run_dir: Path | None = None
    metrics: list[dict] = field(default_factory=list)


def _choice_json(choice: MacroChoice) -> dict:
    return {"version": choice.version, "skips": list(choice.skips), "types": list(choice.types)}


class MacroSearch(CyclicLoop):
    """State of one macro-phase run; the loop is the cell search's (:class:`CyclicLoop`),
    with γ in place of α. ``run()`` returns the genotype with its choice."""

    phase = "macro"
    arch_name = "γ"
    arch_loss = "loss_gamma"

    def __init__(self, config: ExperimentConfig, *, macro: MacroSpec, template: NetworkTemplate,
                 genotype: Genotype, data: SearchData, options: MacroOptions | None = None,
                 run_dir: RunDir | None = None, progress: Progress | None = None,
                 device: torch.device | str | None = None):
        if macro.version not in (1, 2):
            raise ConfigError(f"macro version {macro.version} does not exist")
        # The macro networks run in the contiguous layout (as before the loops were one).
        self._setup(config, data, run_dir, progress, device, channels_last=False)
        self.cream = False             # Algorithm 4 is ICDARTS's step, whatever the micro phase ran
        self.update = "icdarts"
        self.macro = macro
        self.template = template
        self.micro = genotype
        self.options = options or MacroOptions()
        self.warmup_epochs = self.options.warmup_for(macro.version)
        a = config.algorithm
        # Algorithm 4 is the ICDARTS route: KD in the γ and w_S objectives, w_E on CE_E(train).
        self.route = Route(ws_kd=True, we_kd=False, we_split="train", T=a.T, lam=a.lam, reduction=a.kd_reduction,
                           head_ce=a.head_ce)
        self.generators = {"gamma_init": torch.Generator().manual_seed(derive_seed(config.seed, 6))}
        options_kw: dict[str, Any] = {"generator": self.generators["gamma_init"], "affine": False}
        if macro.version == 1:
            options_kw["beta"] = self.options.beta
        self.search_net = build_macro_search(macro, template, genotype, **options_kw).to(self.device)
        self._setup_optimisers(self.options.gamma_lr)
        self.eval_choice: MacroChoice | None = None

    gamma = alias("arch")             # the names the rest of the runtime (and the tests) know
    opt_gamma = alias("opt_arch")

    def _shared_modules(self) -> bool:
        return False                   # S_macro and E_macro never share modules

    def _warmup_epochs(self) -> int:
        return self.warmup_epochs

    def settings_line(self) -> str:
        a, s = self.config.algorithm, self.search_cfg
        return (f"macro phase (Algorithm 4, ICDARTS step) version {self.macro.version}: γ lr {self.options.gamma_lr:g}, "
                f"warm-up {self.warmup_epochs} epoch(s), head_ce={a.head_ce:g} kd={a.kd_reduction} T={a.T:g} "
                f"lam={a.lam:g} warmup_split={a.warmup_split} augment={s.augment}")

    def current_choice(self) -> MacroChoice:
        return self.search_net.choice()

    def gamma_softmax(self) -> list:
        """softmax(γ) per cell (v1) or per depth (v2), as nested lists for the log."""
        if self.macro.version == 1:
            return [torch.softmax(g.detach(), 0).cpu().tolist() for g in self.gamma]
        return torch.softmax(self.gamma[0].detach(), -1).cpu().tolist()

    # ------------------------------------------------------------------------------ the loop's hooks
    def _build_eval(self) -> nn.Module:
        """E_macro of the current γ; its weights are inherited by name from the pool."""
        self.eval_choice = choice = self.current_choice()
        return build_macro_eval(self.macro, self.template, self.micro, choice, affine=self.search_cfg.eval_affine)

    def _regenerated(self) -> dict:
        return {"eval_choice": _choice_json(self.eval_choice)}

    def _epoch_result(self, search_epoch: int) -> tuple[dict, Genotype]:
        choice = self.current_choice()
        self.history.append(choice)
        genotype = self.stamp(choice, search_epoch)
        return {"choice": _choice_json(choice), "gamma_softmax": self.gamma_softmax(),
                "macro": macro_summary(choice)}, genotype

    def _summary(self, genotype: Genotype) -> str:
        return macro_summary(genotype.macro)

    def _finish(self) -> Genotype:
        s = self.search_cfg
        choice = self.current_choice()
        final = self.stamp(choice, max(s.epochs - 1, 0), final=True)
        if self.run_dir is not None:
            self.run_dir.save_genotype(final)
            from genolang.base.safe_files import inside, write_json

            write_json(inside(self.run_dir.path, "macro.json"),
                       {"macro": self.macro.name, **_choice_json(choice), "gamma_softmax": self.gamma_softmax()},
                       indent=1, durable=False)
            self.run_dir.log({"phase": "final", "epoch": self.total_epochs, "choice": _choice_json(choice),
                              "macro": macro_summary(choice)})
        return final

    def run(self) -> MacroResult:
        final = self.run_epochs()
        return MacroResult(final, self.current_choice(), list(self.history), self.run_dir.path if self.run_dir else None,
                           self.run_dir.metrics() if self.run_dir else [])

    def stamp(self, choice: MacroChoice, search_epoch: int, final: bool = False) -> Genotype:
        """The micro genotype with the macro choice and the macro phase's provenance."""
        a = self.config.algorithm
        options = (f"version={self.macro.version} depth={len(macro_template(self.template, self.macro.depth).slots)} "
                   f"beta={self.options.beta:g} gamma_lr={self.options.gamma_lr:g} warmup={self.warmup_epochs} "
                   f"T={a.T:g} lam={a.lam:g} kd={a.kd_reduction} warmup_split={a.warmup_split}")
        provenance = (("macro", self.macro.name), ("macro_template", self.template.name),
                      ("macro_algorithm", "hierarchical-icdarts"), ("macro_options", options),
                      ("macro_seed", str(self.config.seed)), ("macro_epoch", str(search_epoch + 1)),
                      ("macro_final", str(final).lower()), ("genolang", __version__))
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


def run_macro_search(config: ExperimentConfig, *, macro: MacroSpec, template: NetworkTemplate, genotype: Genotype,
                     data: SearchData, options: MacroOptions | None = None, run_dir: str | Path | None = None,
                     resume: bool = False, progress: bool = True, spec_path: str | Path | None = None,
                     force: bool = False) -> MacroResult:
    """Run (or resume) the macro phase and return the genotype with its macro choice (a
    resume refuses a changed run unless ``force``, as :func:`~genolang.runtime.search.loop.run_search`)."""
    config, threads = start_threads(config, resolve_device(config.device))
    rd = RunDir(run_dir) if run_dir is not None else None
    options = options or MacroOptions()
    searcher = MacroSearch(config, macro=macro, template=template, genotype=genotype, data=data, options=options,
                           run_dir=rd, progress=loop_progress(config, rd, enabled=progress, command="macro-search"))
    if rd is not None:     # lock, fingerprint (fresh) or compare it (resume), checkpoint
        identity = macro_identity(macro, template, genotype, options)
        rd.resume_into(searcher, rd.begin(config, resume=resume, force=force, spec_path=spec_path,
                                          identity=identity))
        write_macro_run(rd, identity)
        rd.note_runtime(threads.record())
    return run_to_end(searcher, rd, threads, "macro-search")


# ---------------------------------------------------------------------------------- driver


def resolve_genotype(program, genotype: str | Genotype | None) -> Genotype:
    """A genotype object, a name in ``program``, a ``.geno`` file (``file.geno`` holding one
    genotype, or ``file.geno:NAME``) or a search run directory (its ``genotype.geno``);
    None: the only/first genotype of ``program``."""
    from genolang.compiler.lower.program import load

    if isinstance(genotype, Genotype):
        return genotype
    if genotype is None:
        return _pick(program, None)
    if genotype in program.genotypes:
        return program.genotypes[genotype]
    path, _, name = genotype.partition(":") if not Path(genotype).exists() else (genotype, "", "")
    if Path(path).is_dir():                       # a search run directory: its final genotype
        path = str(Path(path) / "genotype.geno")
    if Path(path).exists():
        other = load(path)
        return _pick(other, name or None)
    raise SpecSemanticError(f"no genotype `{genotype}` in {program.file}, and no such file",
                            hint=did_you_mean(genotype, program.genotypes)
                            or "give a genotype name of the spec, or a .geno file (file.geno or file.geno:NAME)")


def _pick(program, name: str | None) -> Genotype:
    table = program.genotypes
    if name is not None:
        if name not in table:
            raise SpecSemanticError(f"no genotype `{name}` in {program.file}", hint=did_you_mean(name, table))
        return table[name]
    first = program.first("genotype")
    if first is not None:
        return table[first]
    raise SpecSemanticError(f"{program.file} defines no genotype", hint="pass --genotype FILE.geno")


def _config_of(program, experiment: str | None) -> tuple[str, ExperimentConfig]:
    from genolang.runtime.jobs.driver import pick_experiment

    if experiment is None and not program.experiments:
        raise SpecSemanticError(f"{program.file} defines no experiment (the macro phase takes its data and "
                                "schedule from one)", hint="add an `experiment NAME { data { ... } }` block")
    return pick_experiment(program, experiment)


def start_macro_search(spec: str | Path, *, macro: str | None = None, genotype: str | Genotype | None = None,
                       experiment: str | None = None, out: str | Path = "runs",
                       overrides: Mapping[str, Any] | None = None, options: MacroOptions | None = None,
                       progress: bool = True, labels: Mapping[str, str] | None = None) -> MacroResult:
    """The macro phase of ``spec``'s ``macro`` on ``genotype``'s cells, with the data and
    schedule of ``experiment``, in a new run directory under ``out``."""
    from genolang.compiler.lower.program import load
    from genolang.runtime.jobs.driver import load_data, new_run_config, search_data
    from genolang.runtime.runs.rundir import new_run_dir

    program = load(spec)
    spec_macro = macro_of(program, macro)
    micro = resolve_genotype(program, genotype)
    name, config = _config_of(program, experiment)
    config = new_run_config(config, name, overrides, labels)
    template = program.templates.get(spec_macro.template)
    if template is None:
        raise SpecSemanticError(f"macro `{spec_macro.name}` names unknown network `{spec_macro.template}`",
                                spec_macro.span)
    from genolang.runtime.jobs.memory_check import check_run_memory

    check_run_memory(config, "macro", template)
    data = search_data(load_data(config), config)
    run_dir = new_run_dir(out, f"{config.name}-{spec_macro.name}")
    return _interruptible(run_dir, lambda: run_macro_search(
        config, macro=spec_macro, template=template, genotype=micro, data=data, options=options,
        run_dir=run_dir, progress=progress, spec_path=spec))


def resume_macro_search(run_dir: str | Path, *, progress: bool = True,
                        overrides: Mapping[str, Any] | None = None, force: bool = False,
                        labels: Mapping[str, str] | None = None) -> MacroResult:
    """Continue an interrupted macro phase from its run directory."""
    from genolang.runtime.jobs.driver import apply_overrides, load_data, search_data

    rd = RunDir.existing(run_dir, needs=(RUN_FILE, "config.json", "spec.geno"), what="macro-search")
    macro, template, genotype, options = read_macro_run(rd)
    config = apply_overrides(rd.load_config(), overrides, labels)
    data = search_data(load_data(config), config)
    return _interruptible(rd.path, lambda: run_macro_search(
        config, macro=macro, template=template, genotype=genotype, data=data, options=options,
        run_dir=rd.path, resume=True, progress=progress, force=force))


def _interruptible(run_dir: Path, fn):
    from genolang.runtime.jobs.driver import _interruptible as interruptible

    return interruptible(Path(run_dir), fn)
