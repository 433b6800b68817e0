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

from torch import nn

from genolang.base.errors import CompileError
from genolang.compiler.build.macro_parts import SkipAlign, macro_template, skip_sources
from genolang.compiler.build.macro_v1 import MacroEvalNetworkV1, MacroSearchNetworkV1
from genolang.compiler.build.macro_v2 import MacroEvalNetworkV2, MacroSearchNetworkV2
from genolang.compiler.lower.ir import Genotype, MacroChoice, MacroSpec, NetworkTemplate

__all__ = [
    "macro_template", "skip_sources", "SkipAlign",
    "MacroSearchNetworkV1", "MacroEvalNetworkV1", "MacroSearchNetworkV2", "MacroEvalNetworkV2",
    "build_macro_search", "build_macro_eval",
]


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
