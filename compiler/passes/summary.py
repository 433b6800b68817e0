"""Network summaries: parameters, multiply-adds, per-cell shapes, activation memory.

:func:`shape_summary` computes, from the shape plan of a template with a genotype (discrete
network) or with search cells (supernet), without building it and without torch
(:mod:`.cost` has the definitions):

* parameters, without and with the side heads (DARTS auxiliary head, CDARTS distill
  heads) -- the DARTS convention reports params without the auxiliary head; the
  architecture parameters α of a supernet are counted separately;
* multiply-adds of one image on the inference path (stem, cells, classifier): every
  ``Conv2d`` and ``Linear`` outside the side heads;
* the per-cell table of the shape pass;
* the activation memory of a training step at batch ``B``: the bytes of every distinct
  tensor autograd saves for the backward pass in one training-mode forward (parameters
  excluded), at :func:`probe_batch` ``(B)`` images scaled linearly to ``B`` -- the figure
  :mod:`genolang.compiler.build.measure` measures on the built modules.

A network using a primitive registered with its own module builder has no exact count here
(None): only its builder knows its layers, so :func:`genolang.compiler.build.measure.summarize`
builds and measures it instead. That fallback lives on the build floor, so that this pass imports
no later stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from genolang.compiler.passes.cost import network_cost
from genolang.compiler.lower.edges import apply_phase
from genolang.compiler.lower.ir import CellSpec, GenoCell, Genotype, NetworkTemplate
from genolang.compiler.passes.shapes import NetworkPlan, format_plan, plan_network

__all__ = ["NetworkSummary", "shape_summary", "format_summary", "probe_batch"]

SIDE_HEADS = ("aux_head.", "distill_heads.")
PROBE_BATCH = 8                     # the batch a summary measures activations at


@dataclass(frozen=True)
class NetworkSummary:
    name: str
    kind: str                        # "search" or "discrete"
    params: int                      # weights without side heads and without α
    params_with_heads: int           # weights including the side heads
    arch_params: int                 # α (search networks)
    mult_adds: int                   # per image, inference path
    batch: int
    activation_bytes: int            # estimated, training step at `batch`
    plan: NetworkPlan


def probe_batch(batch: int) -> int:
    """The batch activations are measured at: at most :data:`PROBE_BATCH`, and 2 for a batch
    of 1 (batch norm needs two samples in training)."""
    return min(batch, PROBE_BATCH) if batch > 1 else 2


def _cells(cells_or_genotype: Union[Genotype, Mapping[str, CellSpec]]) -> tuple[dict, bool] | None:
    """(cells as the builder plans them, whether it is a supernet), or None for a mapping the
    builders refuse (search and discrete cells mixed): measuring reports their error."""
    if isinstance(cells_or_genotype, Genotype):
        return dict(cells_or_genotype.cells), False
    cells = dict(cells_or_genotype)
    if all(isinstance(c, GenoCell) for c in cells.values()):
        return cells, False
    if all(isinstance(c, CellSpec) for c in cells.values()):
        return cells, True
    return None


def shape_summary(template: NetworkTemplate, cells_or_genotype: Union[Genotype, Mapping[str, CellSpec]], *,
                  batch: int = 1, phase: str = "retrain", activations: bool = True) -> NetworkSummary | None:
    """Summarise a network from its shapes (see the module docstring), or None where the cost
    model cannot count it exactly (a primitive with its own module builder): then only building
    it tells, which :func:`genolang.compiler.build.measure.summarize` does.

    Example:
        >>> s = shape_summary(retrain_template, darts_v2, batch=96)
        >>> s.params
        3349342
    """
    found = _cells(cells_or_genotype)
    if found is None:
        return None
    cells, search = found
    if not search:
        if phase not in ("eval", "retrain"):
            from genolang.base.errors import CompileError

            raise CompileError(f"unknown phase `{phase}`", hint="`eval` or `retrain`")
        cells = {key: apply_phase(cell, phase) for key, cell in cells.items()}
    plan = plan_network(template, cells)
    cost = network_cost(plan, search=search)
    if not cost.exact:
        return None
    probe = probe_batch(batch)
    act = cost.saved_bytes(probe) * batch // probe if activations else 0
    return NetworkSummary(template.name, "search" if search else "discrete", cost.params,
                          cost.params + cost.side_params, cost.arch_params, cost.mult_adds, batch, act, plan)



def _mega(n: int) -> str:
    return f"{n / 1e6:.3f} M"


def format_summary(summary: NetworkSummary) -> str:
    """A person-readable report of a :class:`NetworkSummary`."""
    lines = [f"network {summary.name} ({summary.kind})",
             f"  parameters            {_mega(summary.params)} ({summary.params:,})",
             f"  with side heads       {_mega(summary.params_with_heads)} ({summary.params_with_heads:,})"]
    if summary.arch_params:
        lines.append(f"  architecture (alpha)  {summary.arch_params:,}")
    lines += [f"  multiply-adds / image {summary.mult_adds / 1e6:.1f} M",
              f"  activation memory     {summary.activation_bytes / 2**20:.1f} MiB "
              f"(training step, batch {summary.batch}, estimate)",
              "", format_plan(summary.plan)]
    return "\n".join(lines)
