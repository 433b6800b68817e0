"""Hierarchical ICDARTS (chapter 6): macro supernets over *discrete* cells, and their
discrete counterparts (icdarts-spec §4.6, ambiguity A20 -- experimental).

The cells inside every network here are the discrete cells of a micro genotype (one op per
kept edge, :class:`~genolang.compiler.build.discrete.SumNode`); only the macro structure is
relaxed, by γ:

**Version 1 -- skip-connection search** (:class:`MacroSearchNetworkV1`). Cell ``k`` reads
``c_{k-1}`` as its first input, as usual. Its second input, normally ``c_{k-2}``, is
``Σ_m softmax(γ_k)_m · align_{k,m}(c_m)`` over *every* earlier output ``m ∈ {-1 (stem), 0,
…, k-2}``. Candidate ``i`` of cell ``k`` is source ``m = i - 1``. Each candidate has its own
alignment (A20): one FactorizedReduce per 2× resolution gap to the cell's input resolution,
then ReLU-Conv1×1-BN to the cell's width ``C``. The alignment takes the place of the cell's
own ``pre0`` (which is the identity in these networks). Cells 0 and 1 have a single
candidate, the stem, and no γ. ``γ_{k,m} = -β·(k-2-m) + 1e-3·noise``, so the nearest skip
(``m = k-2``, the DARTS wiring) dominates at the start. :class:`MacroEvalNetworkV1` keeps the
single chosen source per cell.

**Version 2 -- cell placement** (:class:`MacroSearchNetworkV2`). At every depth ``d`` each
cell type of ``types`` runs on the same two inputs (the outputs of depths ``d-2`` and
``d-1``); depth ``d``'s output is ``Σ_t softmax(γ_d)_t · cell_t(s0, s1)``, γ of shape
``(depth, types)``, init ``1e-3·randn``. At a reduction position the same (normal) cell type
runs with stride 2 on its input edges -- the documented reading of A20; the dissertation
does not say how reductions exist when all types are normal cells. All types must have the
same number of output states, so that their outputs can be added.
:class:`MacroEvalNetworkV2` keeps one type per depth.

Depth: a macro network has ``depth`` cells. When the template has a different number of
slots, reduction positions and heads are rescaled (:func:`macro_template`: position ``i``
of ``n`` becomes ``i·depth // n``, so 20 cells reducing at 6, 13 become 8 cells reducing at
2, 5). Templates with replaced (fixed-op) slots are not supported.

Parameter names are shared between the search and discrete networks of one version:
``cells.<k>.…`` and ``skip_pre.<k>.<src>.…`` (``src`` = ``stem`` or ``c<m>``) in version 1,
``cells.<d>.<type>.…`` in version 2, plus ``stem``, ``distill_heads.<i>``, ``aux_head`` and
``classifier``. A discrete network's state dict is therefore a subset of its supernet's,
and weights move between regenerated evaluation networks by name. γ is registered as
``gamma.<k>`` (version 1) or ``gamma`` (version 2); ``arch_parameters()`` is γ alone and
``weight_parameters()`` everything else.

Every network returns the :class:`~genolang.compiler.build.cells.NetOutput` convention
(``logits``, ``ensemble`` over the distill heads, ``aux``), so the ICDARTS losses apply
unchanged.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Sequence

import torch
from torch import nn

from genolang.compiler.build.cells import Cell, NetOutput, attach_heads, attach_stem, net_output, relu_conv_bn
from genolang.compiler.build.discrete import SumNode, apply_phase
from genolang.compiler.lower.ir import Genotype, MacroChoice, MacroSpec, NetworkTemplate, Slot
from genolang.compiler.build.layers import FactorizedReduce
from genolang.compiler.passes.shapes import NetworkPlan, plan_network
from genolang.base.errors import CompileError, did_you_mean

__all__ = [
    "macro_template", "skip_sources", "SkipAlign",
    "MacroSearchNetworkV1", "MacroEvalNetworkV1", "MacroSearchNetworkV2", "MacroEvalNetworkV2",
    "build_macro_search", "build_macro_eval",
]

HW = tuple[int, int]


# ----------------------------------------------------------------------------- templates


def macro_template(template: NetworkTemplate, depth: int | None = None) -> NetworkTemplate:
    """``template`` with ``depth`` cells (reductions and heads rescaled, see the module doc)."""
    for slot in template.slots:
        if slot.replacement is not None or slot.cell is None:
            raise CompileError(f"network `{template.name}` replaces a cell by a fixed operation; "
                               "macro networks need searched cells in every slot", template.span)
    n = len(template.slots)
    if depth is None or depth == n:
        return template
    if depth < 1:
        raise CompileError(f"macro depth must be at least 1, got {depth}", template.span)
    pos = lambda i: i * depth // n
    reductions = [pos(i) for i in template.reduction_indices]
    if len(set(reductions)) != len(reductions):
        raise CompileError(f"depth {depth} is too small for the {len(reductions)} reductions of network "
                           f"`{template.name}`", template.span, hint="use a larger macro depth")
    normal = Counter(s.cell for s in template.slots if not s.reduction).most_common(1)
    reduce = Counter(s.cell for s in template.slots if s.reduction).most_common(1)
    slots = tuple(Slot(reduce[0][0] if i in reductions else normal[0][0] if normal else reduce[0][0],
                       None, i in reductions) for i in range(depth))
    distill = tuple(dict.fromkeys(pos(i) for i in template.distill_after))
    aux = None if template.aux_after is None else pos(template.aux_after)
    return dataclasses.replace(template, slots=slots, distill_after=distill, aux_after=aux)


def skip_sources(k: int) -> tuple[int, ...]:
    """Candidate second-input sources of cell ``k`` in version 1: -1 (stem), 0, …, k-2."""
    return tuple(range(-1, max(k - 1, 0)))


def _src_key(m: int) -> str:
    return "stem" if m < 0 else f"c{m}"


def _halvings(hw: HW, target: HW, what: str, span) -> int:
    count = 0
    while hw != target:
        if hw[0] < target[0] or hw[1] < target[1] or hw[0] % 2 or hw[1] % 2:
            raise CompileError(f"{what}: cannot bring {hw[0]}x{hw[1]} to {target[0]}x{target[1]} by halving",
                               span, hint="use an input size divisible by 2 for every reduction")
        hw = (hw[0] // 2, hw[1] // 2)
        count += 1
    return count


class SkipAlign(nn.Sequential):
    """A version-1 skip candidate's alignment: FactorizedReduce per 2× gap (keeping the
    width, rounded up to even), then ReLU-Conv1×1-BN to ``c_out``."""

    def __init__(self, c_in: int, halvings: int, c_out: int, affine: bool):
        layers: list[nn.Module] = []
        c = c_in
        for _ in range(halvings):
            c_next = c + c % 2
            layers.append(FactorizedReduce(c, c_next, affine))
            c = c_next
        layers.append(relu_conv_bn(c, c_out, affine))
        super().__init__(*layers)


class _Rate:
    """The drop-path probability, shared by reference with every node of a network."""

    def __init__(self, p: float):
        self.p = p


# ----------------------------------------------------------------------------- common parts


class _MacroBase(nn.Module):
    """Stem, side heads, classifier and ensemble of a macro network (the conventions of
    :class:`~genolang.compiler.build.cells.CellNetwork`)."""

    def _init_common(self, plan: NetworkPlan, genotype: Genotype, *, affine: bool, phase: str,
                     trainable_ensemble: bool) -> None:
        template = plan.template
        self.plan = plan
        self.template = template
        self.genotype = genotype
        self.phase = phase
        attach_stem(self, plan)
        attach_heads(self, plan, affine=affine, trainable_ensemble=trainable_ensemble)

    def _node_builder(self, affine: bool):
        rate = self._rate

        def build(row, node, edges, state_index):
            return SumNode(row, edges, state_index, affine, rate)

        return build

    def _side(self, i: int, s: torch.Tensor, side: list, aux):
        if i in self.distill_after:
            side.append(self.distill_heads[self.distill_after.index(i)](s))
        if i == self.aux_after and self.training:
            aux = self.aux_head(s)
        return aux

    def _output(self, s: torch.Tensor, side: list, aux) -> NetOutput:
        return net_output(self, self.classifier(s), side, aux)

    @property
    def drop_path_prob(self) -> float:
        return self._rate.p

    @drop_path_prob.setter
    def drop_path_prob(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {p}")
        self._rate.p = float(p)

    def arch_parameters(self) -> list[nn.Parameter]:
        return []

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]


def _phase_cells(genotype: Genotype, phase: str) -> dict:
    if phase not in ("eval", "retrain"):
        raise CompileError(f"unknown phase `{phase}`", hint="`eval` or `retrain`")
    return {key: apply_phase(cell, phase) for key, cell in genotype.cells}


# ----------------------------------------------------------------------------- version 1


class _V1Network(_MacroBase):
    """Discrete cells whose second input is a (weighted) set of aligned earlier outputs."""

    def __init__(self, template: NetworkTemplate, genotype: Genotype, sources: Sequence[Sequence[int]], *,
                 depth: int | None, affine: bool, phase: str, trainable_ensemble: bool, drop_path: float):
        super().__init__()
        t = macro_template(template, depth)
        plan = plan_network(t, _phase_cells(genotype, phase))
        self._rate = _Rate(drop_path)
        self._init_common(plan, genotype, affine=affine, phase=phase, trainable_ensemble=trainable_ensemble)
        builder = self._node_builder(affine)
        cells = []
        for row in plan.cells:
            cell = Cell(row, builder, affine)
            cell.pre0 = nn.Identity()        # the per-source alignment replaces it
            cells.append(cell)
        self.cells = nn.ModuleList(cells)
        out_shape = [(plan.stem_channels, plan.stem_hw)] + [(r.c_out, r.hw_out) for r in plan.cells]
        self.skip_pre = nn.ModuleList()
        self._skip_plan: list[list[tuple[int, nn.Module]]] = []
        for k, (row, srcs) in enumerate(zip(plan.cells, sources)):
            aligned = nn.ModuleDict()
            run = []
            for m in srcs:
                if m not in skip_sources(k):
                    raise CompileError(f"cell {k} cannot take its skip input from {m}",
                                       hint=f"cell {k} can read " + ", ".join(map(str, skip_sources(k))))
                c_m, hw_m = out_shape[m + 1]
                gaps = _halvings(hw_m, row.hw_p, f"skip {_src_key(m)} -> cell {k}", template.span)
                aligned[_src_key(m)] = SkipAlign(c_m, gaps, row.c_cur, affine)
                run.append((m + 1, aligned[_src_key(m)]))
            self.skip_pre.append(aligned)
            self._skip_plan.append(run)
        self._cell_list = list(self.cells)

    def skip_weights(self) -> list[torch.Tensor | None]:
        return [None] * len(self._cell_list)

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor | None] | None = None) -> NetOutput:
        """``weights[k]`` (over cell ``k``'s candidates, or None for a single one) override γ."""
        weights = self.skip_weights() if weights is None else weights
        s = self.stem(x)
        outs = [s]
        side: list[torch.Tensor] = []
        aux = None
        for k, cell in enumerate(self._cell_list):
            run, w = self._skip_plan[k], weights[k]
            if w is None:
                if len(run) != 1:
                    raise ValueError(f"cell {k} has {len(run)} skip candidates and no weights")
                skip = run[0][1](outs[run[0][0]])
            else:
                skip = None
                for (index, align), wi in zip(run, w.unbind(0)):
                    y = align(outs[index])
                    skip = wi * y if skip is None else torch.addcmul(skip, wi, y)
            s = cell(skip, s)
            outs.append(s)
            aux = self._side(k, s, side, aux)
        return self._output(s, side, aux)


class MacroSearchNetworkV1(_V1Network):
    """Version-1 macro supernet: every cell's second input searched over all earlier outputs.

    Example:
        >>> net = MacroSearchNetworkV1(template, genotype, depth=20, beta=1.0)
        >>> out = net(images)                 # NetOutput(logits, ensemble, aux)
        >>> net.choice()                      # MacroChoice(version=1, skips=(-1, -1, 0, …))
    """

    version = 1

    def __init__(self, template: NetworkTemplate, genotype: Genotype, *, depth: int | None = None,
                 beta: float = 1.0, generator: torch.Generator | None = None, affine: bool = False,
                 phase: str = "eval", trainable_ensemble: bool = False):
        n = len(macro_template(template, depth).slots)
        super().__init__(template, genotype, [skip_sources(k) for k in range(n)], depth=depth, affine=affine,
                         phase=phase, trainable_ensemble=trainable_ensemble, drop_path=0.0)
        self.beta = beta
        self.gamma = nn.ParameterDict()
        for k in range(2, n):
            m = torch.arange(-1, k - 1, dtype=torch.float32)
            init = -beta * (k - 2 - m) + 1e-3 * torch.randn(k, generator=generator)
            self.gamma[str(k)] = nn.Parameter(init)

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.gamma.parameters())

    def gammas(self) -> list[torch.Tensor | None]:
        """γ of every cell (None for cells 0 and 1, which have one candidate)."""
        return [self.gamma[str(k)] if str(k) in self.gamma else None for k in range(len(self._cell_list))]

    def skip_weights(self) -> list[torch.Tensor | None]:
        return [None if g is None else torch.softmax(g, dim=0) for g in self.gammas()]

    def hard_weights(self, skips: MacroChoice | Sequence[int]) -> list[torch.Tensor | None]:
        """0/1 weights selecting one source per cell: the supernet then computes exactly
        :class:`MacroEvalNetworkV1` with the same weights."""
        skips = _skips_of(skips, len(self._cell_list))
        out = []
        for k, g in enumerate(self.gammas()):
            if g is None:
                out.append(None)
                continue
            w = torch.zeros_like(g.detach())
            w[skip_sources(k).index(skips[k])] = 1.0
            out.append(w)
        return out

    def choice(self) -> MacroChoice:
        from genolang.compiler.genotype.derive_macro import choice_v1

        return choice_v1([None if g is None else g.detach() for g in self.gammas()])


def _skips_of(skips: MacroChoice | Sequence[int], n: int) -> tuple[int, ...]:
    if isinstance(skips, MacroChoice):
        if skips.version != 1:
            raise CompileError(f"a version-1 network needs a version-1 macro choice, got version {skips.version}")
        skips = skips.skips
    skips = tuple(int(s) for s in skips)
    if len(skips) != n:
        raise CompileError(f"the macro choice lists {len(skips)} skip sources; the network has {n} cells",
                           hint="one entry per cell, -1 for the stem")
    for k, m in enumerate(skips):
        if m not in skip_sources(k):
            raise CompileError(f"cell {k} cannot take its skip input from {m}",
                               hint=f"cell {k} can read " + ", ".join(map(str, skip_sources(k))))
    return skips


class MacroEvalNetworkV1(_V1Network):
    """Version-1 discrete macro network: ``c_{k-1}`` plus the single chosen skip ``skips[k]``."""

    version = 1

    def __init__(self, template: NetworkTemplate, genotype: Genotype, skips: MacroChoice | Sequence[int] | None = None,
                 *, depth: int | None = None, affine: bool = True, phase: str = "eval",
                 trainable_ensemble: bool = False, drop_path: float | None = None):
        t = macro_template(template, depth)
        if skips is None:
            skips = genotype.macro if genotype.macro is not None else [max(k - 2, -1) for k in range(len(t.slots))]
        skips = _skips_of(skips, len(t.slots))
        super().__init__(template, genotype, [(m,) for m in skips], depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble,
                         drop_path=t.drop_path if drop_path is None else drop_path)
        self.skips = skips
        self.choice_ = MacroChoice(1, skips=skips)


# ----------------------------------------------------------------------------- version 2


def _types_of(types: MacroChoice | Sequence[str], version_ok: int = 2) -> tuple[str, ...]:
    if isinstance(types, MacroChoice):
        if types.version != version_ok:
            raise CompileError(f"a version-2 network needs a version-2 macro choice, got version {types.version}")
        types = types.types
    return tuple(types)


class _V2Network(_MacroBase):
    def __init__(self, template: NetworkTemplate, genotype: Genotype, per_depth: Sequence[Sequence[str]], *,
                 depth: int | None, affine: bool, phase: str, trainable_ensemble: bool, drop_path: float):
        super().__init__()
        t = macro_template(template, depth)
        if len(per_depth) != len(t.slots):
            raise CompileError(f"the macro choice lists {len(per_depth)} cell types; the network has "
                               f"{len(t.slots)} depths", hint="one type per depth")
        cells = _phase_cells(genotype, phase)
        types = list(dict.fromkeys(ty for row in per_depth for ty in row))
        plans: dict[str, NetworkPlan] = {}
        for ty in types:
            if ty not in cells and not any(key.endswith("." + ty) for key in cells):
                raise CompileError(f"genotype `{genotype.name}` has no cell type `{ty}`", genotype.span,
                                   hint=did_you_mean(ty, cells) or "cell types: " + ", ".join(cells))
            if any(cell.reduction for key, cell in cells.items() if key == ty or key.endswith("." + ty)):
                raise CompileError(f"cell type `{ty}` is a reduction cell; version-2 types are normal cells "
                                   "(reduction positions run them with stride 2)", genotype.span)
            typed = dataclasses.replace(t, slots=tuple(Slot(ty, None, s.reduction) for s in t.slots))
            plans[ty] = plan_network(typed, cells)
        first = plans[types[0]]
        for ty, plan in plans.items():
            if [r.c_out for r in plan.cells] != [r.c_out for r in first.cells]:
                raise CompileError(f"cell types `{types[0]}` and `{ty}` output different widths; "
                                   "version 2 adds their outputs", genotype.span,
                                   hint="give every type the same number of output states")
        self._rate = _Rate(drop_path)
        self._init_common(first, genotype, affine=affine, phase=phase, trainable_ensemble=trainable_ensemble)
        builder = self._node_builder(affine)
        self.cells = nn.ModuleList(
            nn.ModuleDict({ty: Cell(plans[ty].cells[d], builder, affine) for ty in row})
            for d, row in enumerate(per_depth))
        self._branches = [list(block.values()) for block in self.cells]
        self.types_per_depth = tuple(tuple(row) for row in per_depth)

    def type_weights(self) -> torch.Tensor | None:
        return None

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> NetOutput:
        """``weights`` (depth × types) override softmax(γ)."""
        weights = self.type_weights() if weights is None else weights
        s0 = s1 = self.stem(x)
        side: list[torch.Tensor] = []
        aux = None
        for d, branches in enumerate(self._branches):
            if weights is None:
                out = branches[0](s0, s1)
            else:
                out = None
                for cell, w in zip(branches, weights[d].unbind(0)):
                    y = cell(s0, s1)
                    out = w * y if out is None else torch.addcmul(out, w, y)
            s0, s1 = s1, out
            aux = self._side(d, s1, side, aux)
        return self._output(s1, side, aux)


class MacroSearchNetworkV2(_V2Network):
    """Version-2 macro supernet: every type of ``types`` at every depth, mixed by softmax(γ_d).

    Example:
        >>> net = MacroSearchNetworkV2(template, genotype, ("a", "b", "c", "d"), depth=20)
        >>> net.choice()                      # MacroChoice(version=2, types=("b", "a", …))
    """

    version = 2

    def __init__(self, template: NetworkTemplate, genotype: Genotype, types: Sequence[str], *,
                 depth: int | None = None, generator: torch.Generator | None = None, affine: bool = False,
                 phase: str = "eval", trainable_ensemble: bool = False):
        types = tuple(types)
        if len(types) < 1 or len(set(types)) != len(types):
            raise CompileError(f"version 2 needs distinct cell types, got {', '.join(types) or 'none'}")
        n = len(macro_template(template, depth).slots)
        super().__init__(template, genotype, [types] * n, depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble, drop_path=0.0)
        self.types = types
        self.gamma = nn.Parameter(1e-3 * torch.randn(n, len(types), generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.gamma]

    def type_weights(self) -> torch.Tensor:
        return torch.softmax(self.gamma, dim=-1)

    def hard_weights(self, types_per_depth: MacroChoice | Sequence[str]) -> torch.Tensor:
        chosen = _types_of(types_per_depth)
        if len(chosen) != len(self._branches):
            raise CompileError(f"the macro choice lists {len(chosen)} types; the network has "
                               f"{len(self._branches)} depths")
        w = torch.zeros_like(self.gamma.detach())
        for d, ty in enumerate(chosen):
            if ty not in self.types:
                raise CompileError(f"`{ty}` is not one of the searched types", hint=did_you_mean(ty, self.types))
            w[d, self.types.index(ty)] = 1.0
        return w

    def choice(self) -> MacroChoice:
        from genolang.compiler.genotype.derive_macro import choice_v2

        return choice_v2(self.gamma.detach(), self.types)


class MacroEvalNetworkV2(_V2Network):
    """Version-2 discrete macro network: one cell type per depth."""

    version = 2

    def __init__(self, template: NetworkTemplate, genotype: Genotype,
                 types_per_depth: MacroChoice | Sequence[str] | None = None, *, depth: int | None = None,
                 affine: bool = True, phase: str = "eval", trainable_ensemble: bool = False,
                 drop_path: float | None = None):
        if types_per_depth is None:
            if genotype.macro is None:
                raise CompileError(f"genotype `{genotype.name}` has no macro choice; give the types per depth",
                                   genotype.span)
            types_per_depth = genotype.macro
        chosen = _types_of(types_per_depth)
        t = macro_template(template, depth)
        super().__init__(template, genotype, [(ty,) for ty in chosen], depth=depth, affine=affine, phase=phase,
                         trainable_ensemble=trainable_ensemble,
                         drop_path=t.drop_path if drop_path is None else drop_path)
        self.choice_ = MacroChoice(2, types=chosen)


# ----------------------------------------------------------------------------- factories


def build_macro_search(spec: MacroSpec, template: NetworkTemplate, genotype: Genotype, **options) -> nn.Module:
    """The macro supernet of ``spec`` (version 1 or 2) on ``template`` with ``genotype``'s cells.
    ``options``: ``generator``, ``affine``, ``phase``, ``trainable_ensemble`` (and ``beta``
    for version 1)."""
    _check_template(spec, template)
    if spec.version == 1:
        return MacroSearchNetworkV1(template, genotype, depth=spec.depth, **options)
    options.pop("beta", None)
    return MacroSearchNetworkV2(template, genotype, spec.cell_types, depth=spec.depth, **options)


def build_macro_eval(spec: MacroSpec, template: NetworkTemplate, genotype: Genotype,
                     choice: MacroChoice | None = None, **options) -> nn.Module:
    """The discrete macro network of ``choice`` (default: the genotype's own macro block)."""
    _check_template(spec, template)
    choice = choice if choice is not None else genotype.macro
    if choice is not None and choice.version != spec.version:
        raise CompileError(f"macro `{spec.name}` is version {spec.version}, the choice is version {choice.version}",
                           spec.span)
    if spec.version == 1:
        return MacroEvalNetworkV1(template, genotype, choice, depth=spec.depth, **options)
    return MacroEvalNetworkV2(template, genotype, choice, depth=spec.depth, **options)


def _check_template(spec: MacroSpec, template: NetworkTemplate) -> None:
    if spec.version not in (1, 2):
        raise CompileError(f"macro version {spec.version} does not exist", spec.span)
    if spec.template != template.name:
        raise CompileError(f"macro `{spec.name}` is defined on network `{spec.template}`, "
                           f"not `{template.name}`", spec.span)
