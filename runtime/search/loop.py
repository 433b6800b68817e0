"""The cell search: ICDARTS (Algorithm 1), the CDARTS baseline, the ablation routes and the
one-shot presets, on the one loop (:class:`~genolang.runtime.search.cyclic.CyclicLoop`).

One epoch of the search phase:

1. re-discretise α and build a new evaluation network E, inheriting its weights per
   (cell, edge, op) from the pool (A7);
2. warm E up for ``warmup_epochs`` on the ``warmup_split`` half (eq 3.5, A2);
3. for every pair of (train, val) batches, the update scheme's step:
   (1) α  ← Adam on CE_S(val) + λ·KD(val) [+ δ·P(α)], E's logits detached;
   (2) w_S ← SGD on CE_S(train) [+ λ·KD(train)];
   (3) w_E ← SGD on CE_E(split) [+ λ·KD(split) with gradient into E];
   which of the bracketed terms and splits apply is the route (Table 3.6,
   :mod:`.icdarts_step`); with ``algorithm.name = cdarts`` the step is Cream's
   (:mod:`.cream_step`), with ``update = darts`` DARTS's, without E (:mod:`.darts_step`);
4. write E's weights back to the pool, derive the genotype, log, checkpoint.

CE_S and CE_E in the weight objectives include ``head_ce`` times the CE of each distill head
(docs/fidelity.md). Two pre-training epochs of S (CE on train, α fixed) come first.
:class:`CyclicSearch` says what α is, how E is built from it, and what an epoch records (α's
softmax, the genotype with its provenance); :func:`run_search` runs or resumes one in a run
directory.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

import torch
from torch import Tensor, nn

from genolang.base.errors import RunError
from genolang.base.version import __version__
from genolang.compiler.genotype.genojson import genotype_from_json
from genolang.compiler.genotype.genotext import genotype_json, genotype_summary
from genolang.compiler.genotype.hash import genotype_hash
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import CellSpec, Genotype, NetworkTemplate
from genolang.runtime.data.batching import derive_seed, epoch_batches
from genolang.runtime.runs.checkpoint import rng_state, set_rng_state
from genolang.runtime.runs.meter import Meter
from genolang.runtime.runs.progress import Progress
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.runs.run_threads import start_threads
from genolang.runtime.runs.tensorboard import log_search_epoch
from genolang.runtime.search.cyclic import CyclicLoop, alias
from genolang.runtime.search.device import resolve_channels_last, resolve_device
from genolang.runtime.search.distributed import broadcast_module, init_from_env, world
from genolang.runtime.search.latency import expected_latency
from genolang.runtime.search.losses import Route
from genolang.runtime.search.methods import partial_layout
from genolang.runtime.search.netlink import alpha_layout, build_eval_net, build_search_net
from genolang.runtime.search.regularizers import arch_regularizers
from genolang.runtime.search.runner import loop_progress, run_to_end
from genolang.runtime.search.schedules import cosine_lr
from genolang.runtime.search.search_data import SearchData, SearchResult

# the loop's parts, importable from here as before the loop was split by concept
__all__ = ["SearchData", "SearchResult", "CyclicLoop", "CyclicSearch", "run_search", "cosine_lr", "epoch_batches",
           "resolve_device", "resolve_channels_last"]

CHECKPOINT_VERSION = 1


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
        self._setup_optimisers(config.search.alpha_lr)
        self.eval_genotype: Genotype | None = None

    alpha = alias("arch")             # the names the rest of the runtime (and the tests) know
    opt_alpha = alias("opt_arch")

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
    searcher = CyclicSearch(config, search_template=search_template, eval_template=eval_template,
                            cells=cells, data=data, run_dir=rd,
                            progress=loop_progress(config, rd, enabled=progress and world()[0] == 0, command="search"))
    if rd is not None:     # lock, fingerprint (fresh) or compare it (resume), checkpoint
        rd.resume_into(searcher, rd.begin(config, resume=resume, force=force, spec_path=spec_path))
        rd.note_runtime(threads.record())
    return run_to_end(searcher, rd, threads, "search")
