"""Experiment specs as validated, frozen pydantic models.

An ``experiment`` block of a spec lowers to a plain dict that
:meth:`ExperimentConfig.model_validate` checks. Field names are simple snake_case so that
pydantic's error locations (``("search", "w_lr")``) map back onto the spec's spans.
Defaults are the ICDARTS settings of the dissertation (reference spec §1.6, §4.1.6); every
ambiguity of §4.9 that needs a switch has one here, with the recommended reading as default.
"""

from __future__ import annotations

import math

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from genolang.base.limits import (MAX_BATCH, MAX_DATA_SIZE, MAX_EPOCHS, MAX_POOL_OPS, MAX_RESOLUTION, MAX_STEPS,
                             MAX_THREADS, MAX_TIERS)
from genolang.compiler.lower.algorithm_config import (ALGORITHMS, LATENCY_TABLE, NAME_DEFAULTS, PART_KEYS, ROUTES,
                                                     AlgorithmConfig)
from genolang.compiler.lower.config_checks import DEVICE, device_problem, run_name_problem
from genolang.compiler.lower.frozen_settings import FrozenSettings as _Frozen

__all__ = [
    "DataConfig", "TemplatesConfig", "SearchConfig", "AlgorithmConfig", "RetrainConfig",
    "TournamentConfig", "ExperimentConfig", "ROUTES", "ALGORITHMS", "PART_KEYS", "LATENCY_TABLE", "NAME_DEFAULTS", "AUGMENTED_KINDS",
]


# Adam's betas are in [0, 1); a seed is what torch, numpy and Python's random all accept.
Beta = Annotated[float, Field(ge=0, lt=1)]
MAX_SEED = 2**32 - 1


class DataConfig(_Frozen):
    """Which dataset and where it lives.

    ``path`` and ``size`` (image side length) go to the loader as ``root`` and ``size``;
    ``options`` holds any other loader option. ``limit`` / ``test_limit`` keep only the first
    samples of the train / test set (quick runs; for a source whose file order carries the
    label, such as an image folder, a seeded subset in file order); ``split_order`` is how the
    training set is halved into ``train`` and ``val`` for the search (``index``: first and
    second half, as CDARTS does; ``shuffled``: a seeded permutation; ``stratified``: every class
    halved; ``auto``: ``index`` for cifar10, cifar100 and digits, whose files are not in class
    order, else ``stratified``). A split that leaves a class out of a half is an error.
    """

    kind: str = "cifar10"
    path: str | None = None
    size: int | None = Field(default=None, ge=1, le=MAX_RESOLUTION)
    limit: int | None = Field(default=None, ge=2, le=MAX_DATA_SIZE)
    test_limit: int | None = Field(default=None, ge=1, le=MAX_DATA_SIZE)
    split_order: Literal["auto", "index", "shuffled", "stratified"] = "auto"
    options: dict[str, Any] = Field(default_factory=dict)

    def loader_options(self) -> dict[str, Any]:
        opts = dict(self.options)
        if self.path is not None:
            opts.setdefault("root", self.path)
        if self.size is not None:
            opts.setdefault("size", self.size)
        return opts


class TemplatesConfig(_Frozen):
    """Names (in the spec program) of the networks and cells an experiment uses.

    ``cells`` are the searched cell types; empty means every cell the search template uses.
    ``retrain`` defaults to ``eval`` when not given.
    """

    search: str = "search_net"
    eval: str = "eval_net"
    retrain: str | None = None
    cells: tuple[str, ...] = ()
    space: str | None = None        # recorded in the genotype's provenance


# The dissertation's α learning rate times its number of α steps on CIFAR-10 (Adam moves each
# α by about lr per step, so this bounds how far α can travel in its search)
ALPHA_TRAVEL = 3e-4 * 30 * math.ceil(25_000 / 64)


class SearchConfig(_Frozen):
    """Schedule and optimisers of the search phase (Algorithm 1, §4.1.3)."""

    # at least 1: with none, the "final" genotype would be derived from an α never trained
    epochs: int = Field(default=30, ge=1, le=MAX_EPOCHS)
    pretrain_epochs: int = Field(default=2, ge=0, le=MAX_EPOCHS)
    warmup_epochs: int = Field(default=1, ge=0, le=MAX_EPOCHS)
    batch: int = Field(default=64, ge=1, le=MAX_BATCH)
    steps_per_epoch: int | None = Field(default=None, ge=1, le=MAX_STEPS)   # cap, for quick runs
    w_lr: float = Field(default=0.08, gt=0)
    w_momentum: float = Field(default=0.9, ge=0)
    w_wd: float = Field(default=3e-4, ge=0)
    e_lr: float = Field(default=0.08, gt=0)
    e_momentum: float = Field(default=0.9, ge=0)
    e_wd: float = Field(default=3e-4, ge=0)
    # α's Adam step size. `auto` spreads the dissertation's α travel over this schedule's α
    # steps: alpha_travel / (epochs × steps per epoch), where alpha_travel = 3e-4 × 11,730 is
    # its CIFAR-10 lr times its α step count (25,000 images / 64 × 30 epochs), so a short
    # search moves α as far as the dissertation's does (docs/search-quality.md); a number is
    # used as it is (the CIFAR-10 specs say 3e-4)
    alpha_lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] | Literal["auto"] = "auto"
    alpha_travel: float = Field(default=ALPHA_TRAVEL, gt=0)
    alpha_betas: tuple[Beta, Beta] = (0.5, 0.999)
    alpha_wd: float = Field(default=0.0, ge=0)
    grad_clip: float = Field(default=5.0, gt=0)
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    eta_min: float = Field(default=1e-3, ge=0)
    eval_affine: bool = False      # BN affine in the search-phase evaluation network (Cream)
    test_every: int = Field(default=1, ge=0, le=MAX_EPOCHS)   # epochs between E test evaluations; 0 = never
    # BatchNorm statistics of a search-phase test: `recalibrate` recomputes them on the first
    # `bn_calibration_images` training images first (E is young; its running statistics lag
    # its weights, docs/search-quality.md); `running` tests with the running statistics as they are
    test_bn: Literal["recalibrate", "running"] = "recalibrate"
    bn_calibration_images: int = Field(default=1024, ge=1, le=1_000_000)
    test_search_net: bool = True   # also test S (the supernet, α-weighted): acc_S_test
    # Crop (zero padding of `crop_padding` pixels) and flip both halves during the search, as
    # Cream and DARTS do; None: on for natural-image data (AUGMENTED_KINDS), off otherwise.
    augment: bool | None = None
    crop_padding: int = Field(default=4, ge=0, le=MAX_RESOLUTION)
    # Accelerator options (docs/gpu.md). `cuda_graphs`: capture the whole cyclic step once per
    # search epoch and replay it (CUDA only: refused on other devices); `autocast`: bf16
    # mixed precision of the forward passes (CUDA and CPU; α and the weights stay float32).
    cuda_graphs: Literal["off", "on"] = "off"
    autocast: Literal["off", "bf16"] = "off"
    # What the supernet keeps for the backward: `recompute` saves each mixed node's inputs
    # and recomputes its candidates in the backward (the same forward and the same maths in the
    # backward, rounded differently: a long search drifts to another α, so a resume that
    # changes it needs --force; it trades most of a step's peak memory for one more forward of
    # the supernet, measured by bench/bench_step.py, figures in the README); `plain` saves
    # every candidate's activations.
    memory: Literal["plain", "recompute"] = "plain"


class RetrainConfig(_Frozen):
    """Retraining of the discrete network (§1.6, dissertation column)."""

    epochs: int = Field(default=600, ge=0, le=MAX_EPOCHS)
    batch: int = Field(default=128, ge=1, le=MAX_BATCH)
    steps_per_epoch: int | None = Field(default=None, ge=1, le=MAX_STEPS)
    lr: float = Field(default=0.025, gt=0)
    momentum: float = Field(default=0.9, ge=0)
    wd: float = Field(default=5e-4, ge=0)
    eta_min: float = Field(default=0.0, ge=0)
    cutout: int = Field(default=16, ge=0, le=MAX_RESOLUTION)
    crop_padding: int = Field(default=4, ge=0, le=MAX_RESOLUTION)
    flip: bool = True
    drop_path: float = Field(default=0.3, ge=0, lt=1)
    aux_weight: float = Field(default=0.4, ge=0)
    grad_clip: float = Field(default=5.0, gt=0)
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    affine: bool = True
    size_override: bool = False     # A26: Cream/NNI set wd and drop path from the parameter count
    # batches timed for the s/batch figure; None: the whole test set (§4.1.6)
    latency_batches: int | None = Field(default=None, ge=0, le=MAX_STEPS)
    # how the figure is taken: the median of `latency_repeats` warm passes at a fixed
    # `latency_threads` (recorded with it), so that it is a property of the genotype; beside it
    # the run records the static multiply-adds of the cost model (`mult_adds`), the proxy a
    # study on a shared machine can rank by instead
    latency_repeats: int = Field(default=5, ge=1, le=1000)
    latency_threads: int = Field(default=1, ge=1, le=1024)


class TournamentConfig(_Frozen):
    """Algorithm 2 over a dynamic op pool (§4.5)."""

    tiers: int = Field(default=3, ge=1, le=MAX_TIERS)
    o_max: int = Field(default=8, ge=1, le=MAX_POOL_OPS)
    # A14: one candidate list per (cell type, node), or per cell type. Per edge is not
    # supported: the IR holds candidates per node, so it is rejected when the spec is checked.
    granularity: Literal["node", "cell"] = "node"
    pool: str | None = None          # name of the op space holding the master pool


# Data kinds whose search phase is augmented by default (crop and flip make sense for
# natural images; not for digits, lens bands or EM crops).
AUGMENTED_KINDS = frozenset({"cifar10", "cifar100", "image_folder"})


class ExperimentConfig(_Frozen):
    """One reproducible run: data, networks, algorithm, schedules, seed and device."""

    name: str | None = None
    data: DataConfig = DataConfig()
    templates: TemplatesConfig = TemplatesConfig()
    search: SearchConfig = SearchConfig()
    algorithm: AlgorithmConfig = AlgorithmConfig()
    retrain: RetrainConfig = RetrainConfig()
    tournament: TournamentConfig | None = None
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    # "auto" | "cpu" | "cuda" | "cuda:1" | "mps": a device genolang runs on ("meta" and the
    # like are refused when the spec is checked, not by a torch traceback in the search)
    device: str = Field(default="auto", pattern=rf"^({DEVICE.pattern})$")
    # None: channels-last on CPU (1.5-2x faster there, for search and retraining), the
    # contiguous layout elsewhere; True / False force one layout
    channels_last: bool | None = None
    # CPU threads (None: chosen at the start, see genolang.base.threads); config.json records the
    # count the run used. Resuming with another count is allowed (rundir.SAFE_TO_CHANGE).
    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)

    @field_validator("algorithm")
    @classmethod
    def _check_accelerator_parts(cls, algorithm: AlgorithmConfig, info: ValidationInfo) -> AlgorithmConfig:
        """Parts the accelerator settings cannot run (located at the algorithm block)."""
        from genolang.compiler.lower.methods import check_search_settings

        search = info.data.get("search")
        if search is not None:
            check_search_settings(algorithm, search)
        return algorithm

    @field_validator("device", mode="before")     # before the pattern: a message that names the devices
    @classmethod
    def _device(cls, value: Any) -> Any:
        problem = device_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        problem = None if value is None else run_name_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="before")
    @classmethod
    def _resolve_augment(cls, data: Any) -> Any:
        """Write the data-dependent default of ``search.augment`` into the config, so the
        resolved value is what config.json records."""
        if not isinstance(data, dict):
            return data
        search = data.get("search")
        search = dict(search) if isinstance(search, dict) else ({} if search is None else search)
        if isinstance(search, dict) and search.get("augment") is None:
            data = dict(data)
            d = data.get("data")
            kind = (d.get("kind") if isinstance(d, dict) else getattr(d, "kind", None)) or "cifar10"
            search["augment"] = kind in AUGMENTED_KINDS
            data["search"] = search
        return data

    def with_overrides(self, **dotted: Any) -> "ExperimentConfig":
        """A copy with ``{"search.epochs": 3, "seed": 1}`` style overrides, re-validated.

        ``None`` values are skipped (an option the user did not give). Overriding the
        algorithm's ``name`` or ``route`` re-derives the flags those set.
        """
        data = self.model_dump()
        for path, value in dotted.items():
            if value is None:
                continue
            *parents, leaf = path.split(".")
            node = data
            for key in parents:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            if parents == ["algorithm"] and leaf in ("name", "route"):
                for derived in ("ws_kd", "we_kd", "we_split", "route"):
                    node.pop(derived, None)
                if leaf == "name":   # name defaults follow the name, unless set to something else
                    old = NAME_DEFAULTS.get(node.get("name", "icdarts"), {})
                    for key in {k for defaults in NAME_DEFAULTS.values() for k in defaults}:
                        default = old.get(key, AlgorithmConfig.model_fields[key].default)
                        if node.get(key) == default:
                            node.pop(key, None)
            if parents == ["data"] and leaf == "kind" and isinstance(data.get("search"), dict):
                data["search"].pop("augment", None)     # re-derived for the new kind
            node[leaf] = value
        return ExperimentConfig.model_validate(data)
