"""How much memory a network will need, from its shape plan, before anything is allocated.

:func:`estimate_network` takes the cost of the plan (:mod:`.cost`, without torch):

* parameters: every weight the built network holds, side heads and α included;
* activations: the values autograd keeps for the backward pass of one training forward of a
  batch of ``batch`` images.

``geno compile`` refuses a network whose estimate exceeds
:func:`genolang.base.limits.network_memory_budget`, with the figure, instead of running out of
memory while building it.
"""

from __future__ import annotations

from dataclasses import dataclass

from genolang.compiler.passes.cost import FLOAT, network_cost
from genolang.compiler.lower.ir import CellSpec
from genolang.compiler.passes.shapes import NetworkPlan

__all__ = ["MemoryEstimate", "estimate_network", "BYTES_PER_VALUE"]

BYTES_PER_VALUE = FLOAT             # float32


@dataclass(frozen=True)
class MemoryEstimate:
    params: int                     # parameter values
    activations: int                # values kept by one training forward at ``batch``
    batch: int

    @property
    def bytes(self) -> int:
        # weights and their gradients, and the activations of one forward
        return (2 * self.params + self.activations) * BYTES_PER_VALUE

    def describe(self) -> str:
        return (f"about {_gib(self.bytes)} ({self.params:,} parameters, {_gib(self.activations * BYTES_PER_VALUE)} "
                f"of activations at batch {self.batch})")


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"


def estimate_network(plan: NetworkPlan, batch: int) -> MemoryEstimate:
    """Parameters and activations of the network of ``plan`` (see the module docstring)."""
    search = any(isinstance(row.cell, CellSpec) for row in plan.cells)
    cost = network_cost(plan, search=search)
    params = cost.params + cost.side_params + cost.arch_params
    return MemoryEstimate(params, -(-cost.saved_bytes(batch) // BYTES_PER_VALUE), batch)
