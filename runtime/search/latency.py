"""Expected network latency P(α) (Algorithm 3, §4.4) and the op latency table.

P(α) is differentiable in α: for each cell type the expected arrival latency of every node
is the softmax-weighted latency of its candidate (source, op) pairs, where an edge from an
intermediate node also carries that node's own expected latency; a smooth maximum over the
nodes gives the cell's critical path, and cells add up over the search network.

The node-level softmax of I-DARTS/XDARTS is what Algorithm 3 was written for (A19). For
per-edge (DARTS) cells the weights of a node sum to the number of edges, so they are divided
by it, which keeps P on the same scale.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor

from genolang.compiler.lower.experiment import LATENCY_TABLE
from genolang.runtime.search.constants import constant
from genolang.base.errors import ConfigError

__all__ = ["LATENCY_TABLE", "ALIASES", "op_latencies", "cell_latency", "expected_latency",
           "measure_op_table"]

# DARTS/CDARTS names of the table's ops, so a space written with those labels also works.
ALIASES = {
    "avg_pool_3x3": "avg_pool_3", "max_pool_3x3": "max_pool_3", "sep_conv_3x3": "sep_conv_3",
    "sep_conv_5x5": "sep_conv_5", "dil_conv_3x3": "dil_conv_3", "dil_conv_5x5": "dil_conv_5",
    "skip_connect": "skip", "identity": "skip",
}
# The special ops of the zero configurations cost nothing.
FREE_OPS = ("zero", "none", "random")


def op_latencies(labels: Sequence[str], table: Mapping[str, float]) -> list[float]:
    """Latency of each op label; an op absent from the table is a configuration error."""
    out = []
    for label in labels:
        key = label if label in table else ALIASES.get(label, label)
        if key in table:
            out.append(float(table[key]))
        elif label in FREE_OPS:
            out.append(0.0)
        else:
            raise ConfigError(f"no latency is known for operation `{label}`",
                              hint="the latency penalty needs every op of the space in "
                                   "algorithm.latency_table (Table 4.6 covers op space 3 only)")
    return out


def cell_latency(alphas: Sequence[Tensor], labels: Sequence[Sequence[str]],
                 table: Mapping[str, float], node_softmax: bool = True) -> Tensor:
    """Expected latency of one cell type.

    ``alphas[j]`` has shape ``(j + 2, |O_j|)`` (rows: cell inputs then earlier nodes) and
    ``labels[j]`` names its columns.
    """
    node_latency: list[Tensor] = []
    for j, alpha in enumerate(alphas):
        n_edges, _ = alpha.shape
        ops = constant(tuple(op_latencies(labels[j], table)), alpha)
        lat = ops.expand(n_edges, -1)
        if j > 0:
            # rows 2.. are edges from intermediate nodes 0..j-1: add their arrival latency
            earlier = torch.stack(node_latency).unsqueeze(1)
            lat = torch.cat([lat[:2], lat[2:] + earlier], dim=0)
        if node_softmax:
            weights = torch.softmax(alpha.flatten(), dim=0).view_as(alpha)
        else:
            weights = torch.softmax(alpha, dim=1) / n_edges
        node_latency.append((lat * weights).sum())
    nodes = torch.stack(node_latency)
    return (nodes * torch.softmax(nodes, dim=0)).sum()    # smooth max: the critical path


def expected_latency(cells: Mapping[str, tuple[Sequence[Tensor], Sequence[Sequence[str]], int, bool]],
                     table: Mapping[str, float]) -> Tensor:
    """P(α) = Σ_cell-types count · cell_latency. ``cells[name] = (alphas, labels, count,
    node_softmax)``, with ``count`` the number of cells of that type in the search network."""
    total = None
    for alphas, labels, count, node_softmax in cells.values():
        term = count * cell_latency(alphas, labels, table, node_softmax)
        total = term if total is None else total + term
    if total is None:
        raise ConfigError("the latency penalty needs at least one searched cell")
    return total


def measure_op_table(build_with_op: Callable[[str | None], torch.nn.Module], ops: Sequence[str],
                     batch: Tensor, runs: int = 20) -> dict[str, float]:
    """The §4.4 protocol: latency(network with the op repeated in the stem) − baseline,
    normalised to sum to 1. ``build_with_op(None)`` builds the baseline network."""
    from genolang.runtime.runs.metrics import latency_per_batch

    def timed(net: torch.nn.Module) -> float:
        return latency_per_batch(net.to(batch.device), [batch], repeats=runs)

    base = timed(build_with_op(None))
    raw = {op: max(timed(build_with_op(op)) - base, 0.0) for op in ops}
    total = sum(raw.values()) or 1.0
    return {op: value / total for op, value in raw.items()}
