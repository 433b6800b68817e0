"""The `algorithm` block of an experiment: which one-shot method searches (ICDARTS, the CDARTS
baseline, DARTS and its descendants as presets of parts), its ablation route and options."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from genolang.compiler.lower.frozen_settings import FrozenSettings as _Frozen

__all__ = ["ROUTES", "LATENCY_TABLE", "NAME_DEFAULTS", "ALGORITHMS", "PART_KEYS", "AlgorithmConfig"]


# Ablation routes of Table 3.6 (§4.1.5) as the three flags they set. CDARTS is route "zero"
# of both ablation chains; ICDARTS is A3 = B3.
ROUTES: dict[str, dict[str, object]] = {
    "icdarts": {"ws_kd": True, "we_kd": False, "we_split": "train"},
    "cdarts": {"ws_kd": False, "we_kd": True, "we_split": "val"},
    "A1": {"ws_kd": True, "we_kd": True, "we_split": "val"},
    "A2": {"ws_kd": True, "we_kd": False, "we_split": "val"},
    "B1": {"ws_kd": False, "we_kd": True, "we_split": "train"},
    "B2": {"ws_kd": False, "we_kd": False, "we_split": "train"},
}

# Table 4.6: normalised latency of each op of space 3 (sums to 1.00). Keys are the stdlib's
# op labels; the DARTS-style names are accepted as aliases by runtime.latency.
LATENCY_TABLE: dict[str, float] = {
    "avg_pool_3": 0.06, "max_pool_3": 0.04, "sep_conv_3": 0.24, "sep_conv_5": 0.36,
    "dil_conv_3": 0.11, "dil_conv_5": 0.15, "skip": 0.04,
}


# Settings whose default depends on ``algorithm.name``: the CDARTS baseline is Cream's code
# (icdarts-spec §1.1, §1.4), ICDARTS keeps w_E independent of S (docs/fidelity.md). Each is an
# explicit setting, written resolved into the run's config.json; the routes never touch them.
# The one-shot baselines are presets of parts (docs/methods.md): an update scheme, edge
# weights from α (``relax``), partial channels and α regularisers.
_DARTS = {"update": "darts", "share_stem_heads": False, "edge_weights": "none", "head_ce": 0.0,
          "reset_optimizers": "eval"}
NAME_DEFAULTS: dict[str, dict[str, object]] = {
    "icdarts": {"update": "icdarts", "share_stem_heads": False, "edge_weights": "none", "head_ce": 0.4,
                "reset_optimizers": "eval"},
    "cdarts": {"update": "cdarts", "share_stem_heads": True, "edge_weights": "fixed", "head_ce": 0.0,
               "reset_optimizers": "all"},
    "darts": {**_DARTS, "order": 2},
    "pcdarts": {**_DARTS, "partial_channels": 4, "edge_weights": "learnable"},
    "gdas": {**_DARTS, "relax": "gumbel", "alpha_step": "last"},
    "drnas": {**_DARTS, "relax": "dirichlet", "kl_weight": 1e-3},
    "beta_darts": {**_DARTS, "beta_decay": 0.5},
}
ALGORITHMS = tuple(NAME_DEFAULTS)
# The parts each name sets (beyond the shared defaults above): what a run's first line shows.
PART_KEYS = ("update", "order", "alpha_step", "relax", "tau_max", "tau_min", "kl_weight", "partial_channels",
             "edge_weights", "beta_decay", "latency_delta")


class AlgorithmConfig(_Frozen):
    """ICDARTS or the CDARTS baseline, with the ablation routes and options of §4.1.5 and §4.4.

    ``name`` chooses the step: ``icdarts`` is Algorithm 1 with one objective per parameter
    group (the route's flags say which); ``cdarts`` is Cream's step as its code runs it (one
    backward of ``(CE_S + CE_E)/λ + λ·KD`` on val into α, w_E and the shared modules, one
    gradient clip over every parameter, then ``CE_S(train)`` for w_S).

    ``route`` is a shorthand that fills ``ws_kd``, ``we_kd`` and ``we_split``; flags given
    explicitly must agree with it. ``share_stem_heads``, ``edge_weights``, ``head_ce``
    and ``reset_optimizers`` default by ``name`` (:data:`NAME_DEFAULTS`) and are independent
    of the route, so an ablation chain changes only what its specs say.
    """

    name: Literal["icdarts", "cdarts", "darts", "pcdarts", "gdas", "drnas", "beta_darts"] = "icdarts"
    # Parts (docs/methods.md). update: the step (DARTS's bilevel α/w step, Algorithm 1, Cream's);
    # order: DARTS's α gradient (1: at the current w; 2: unrolled w' with the finite-difference
    # Hessian-vector product); alpha_step: α before the w step (DARTS) or after it (GDAS).
    update: Literal["icdarts", "cdarts", "darts"] = "icdarts"
    order: Literal[1, 2] = 1
    alpha_step: Literal["first", "last"] = "first"
    # relax: α -> edge weights. softmax; gumbel (GDAS: hard one-hot forward running the sampled
    # op only, straight-through gradient, τ linear from tau_max to tau_min over the search);
    # dirichlet (DrNAS: reparameterised samples of Dir(elu(α)+1), KL to Dir(1) times kl_weight).
    relax: Literal["softmax", "gumbel", "dirichlet"] = "softmax"
    tau_max: float = Field(default=10.0, gt=0)
    tau_min: float = Field(default=0.1, gt=0)
    kl_weight: float = Field(default=0.0, ge=0)
    # PC-DARTS: 1/K of each edge's channels through the candidates, the rest bypassing them,
    # then a channel shuffle (1 = off).
    partial_channels: int = Field(default=1, ge=1)
    # β-DARTS: + λ_k · mean over edges of logsumexp(α_edge), λ_k = beta_decay · search epoch.
    beta_decay: float = Field(default=0.0, ge=0)
    route: Literal["icdarts", "cdarts", "A1", "A2", "B1", "B2"] | None = None
    T: float = Field(default=2.0, gt=0)
    lam: float = Field(default=1.0, ge=0)
    kd_reduction: Literal["mean", "batchmean"] = "mean"   # A4: Cream/NNI's mean; eq 3.7 is batchmean
    warmup_split: Literal["val", "train"] = "val"
    share_stem_heads: bool = False
    # Cream weights the edges into node j by softmax(β) (β = 0.1, fixed: 1/(j+2)); DARTS sums.
    edge_weights: Literal["none", "fixed", "learnable"] = "none"
    # Weight of CE on each distill head in the weight objectives of S and E (w_S, w_E and
    # E's warm-up; never α's): the heads are two thirds of the teacher's ensemble and, when
    # unshared, would get no gradient at all in E (nor in S on routes without KD in w_S).
    head_ce: float = Field(default=0.4, ge=0)
    # Optimisers rebuilt at each regeneration of E: E's only (state kept), or all three (Cream).
    reset_optimizers: Literal["eval", "all"] = "eval"
    # Which samples E teaches S (in α's and w_S's objectives): every one (the dissertation), or
    # only those whose label E predicts, so that a young or collapsed teacher cannot pull S
    # (and through it α) towards its own errors (docs/search-quality.md)
    kd_mask: Literal["none", "teacher_correct"] = "none"
    ws_kd: bool = True
    we_kd: bool = False
    we_split: Literal["train", "val"] = "train"
    inherit_eval_weights: bool = True
    latency_delta: float = Field(default=0.0, ge=0)
    latency_table: dict[str, float] = Field(default_factory=lambda: dict(LATENCY_TABLE))
    latency_mode: Literal["alpha", "literal"] = "alpha"   # A12: "literal" only logs δP(α)
    regular_coeff: float = Field(default=0.0, ge=0)        # NNI α-L1 regulariser (A25), off
    regular_ratio: float = Field(default=0.2, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _apply_route(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        name = data.get("name", "icdarts")
        if name not in NAME_DEFAULTS:
            return data     # the Literal check reports the bad name
        update = data.get("update", NAME_DEFAULTS[name]["update"])
        if update != "icdarts" and data.get("route") not in (None, update):
            raise ValueError(f"algorithm `{name}` runs the {update} update, which has no route {data['route']}; "
                             "for an ablation route use name = icdarts with route = ...")
        route = data.get("route") or (name if update == "icdarts" else update)
        for key, value in ROUTES.get(route, {}).items():
            if key in data and data[key] != value and data.get("route") is not None:
                raise ValueError(f"`{key}` = {data[key]!r} contradicts route {route} ({key} = {value!r})")
            data.setdefault(key, value)
        for key, value in NAME_DEFAULTS[name].items():
            data.setdefault(key, value)
        return data

    @model_validator(mode="after")
    def _check_cdarts(self) -> "AlgorithmConfig":
        if self.update == "cdarts" and (self.ws_kd, self.we_kd, self.we_split) != (False, True, "val"):
            raise ValueError("algorithm `cdarts` fixes ws_kd = false, we_kd = true, we_split = val "
                             "(Cream's step); use name = icdarts to change them")
        if self.update == "cdarts" and self.lam == 0:
            raise ValueError("algorithm `cdarts` divides its CE terms by λ (Cream): lam must be > 0")
        from genolang.compiler.lower.methods import check_parts

        check_parts(self)
        return self

    def parts_line(self) -> str:
        """The parts this algorithm resolves to, as ``key=value`` (the run's first line)."""
        return " ".join(f"{key}={getattr(self, key)}" for key in PART_KEYS)
