"""What the macro networks of both versions share (:mod:`.macro`): the template rescaled to a
depth, the skip sources and their alignment, the drop-path rate, and the base module with the
stem, side heads and classifier."""

from __future__ import annotations

import dataclasses
from collections import Counter

import torch
from torch import nn

from genolang.base.errors import CompileError
from genolang.compiler.build.cells import NetOutput, attach_heads, attach_stem, net_output, relu_conv_bn
from genolang.compiler.build.discrete import DropPathSetting, SumNode, apply_phase
from genolang.compiler.build.layers import FactorizedReduce
from genolang.compiler.lower.ir import Genotype, NetworkTemplate, Slot
from genolang.compiler.passes.shapes import NetworkPlan

__all__ = ["HW", "macro_template", "skip_sources", "source_key", "halvings", "SkipAlign", "MacroBase",
           "phase_cells"]

HW = tuple[int, int]


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


def source_key(m: int) -> str:
    return "stem" if m < 0 else f"c{m}"


def halvings(hw: HW, target: HW, what: str, span) -> int:
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


class MacroBase(DropPathSetting, nn.Module):
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

    def arch_parameters(self) -> list[nn.Parameter]:
        return []

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]


def phase_cells(genotype: Genotype, phase: str) -> dict:
    if phase not in ("eval", "retrain"):
        raise CompileError(f"unknown phase `{phase}`", hint="`eval` or `retrain`")
    return {key: apply_phase(cell, phase) for key, cell in genotype.cells}
