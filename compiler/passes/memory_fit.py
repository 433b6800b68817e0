"""The memory pass of `geno compile`: refuse, with the figure, a network that would not fit in
memory here, estimated from its shapes (:mod:`.estimate`) before anything is allocated."""

from __future__ import annotations

from typing import Mapping

from genolang.base.errors import CompileError, GenolangError
from genolang.base.limits import network_memory_budget

from genolang.compiler.lower import ir
from genolang.compiler.lower.definitions import Program
from genolang.compiler.passes.estimate import estimate_network
from genolang.compiler.passes.shapes import plan_network

__all__ = ["MemoryPass"]


class MemoryPass:
    """The one network a command builds (``template`` on ``cells``: search cells or a
    genotype) at ``batch``; only a command that picked a network knows these."""

    name = "memory"
    clean_input = True          # a network the shapes pass refused is not estimated again

    def __init__(self, template: ir.NetworkTemplate, cells: Mapping | ir.Genotype, batch: int):
        self.template, self.cells, self.batch = template, cells, batch

    def run(self, program: Program) -> list[GenolangError]:
        template, cells = self.template, self.cells
        if isinstance(cells, ir.Genotype):
            if cells.macro is not None:      # macro networks are planned by their own builder
                return []
            cells = dict(cells.cells)
        try:        # a network the shapes pass does not plan (a template given on the command line)
            plan = plan_network(template, cells)
        except CompileError as exc:
            return [exc]
        estimate = estimate_network(plan, self.batch)
        budget = network_memory_budget()
        if estimate.bytes <= budget:
            return []
        return [CompileError(f"network `{template.name}` would need {estimate.describe()} to build and measure; "
                             f"the limit here is {budget / 2**30:.2f} GiB", template.span,
                             hint="make it smaller (channels, cells, input size) or use a smaller --batch; "
                                  "see docs/limits.md")]
