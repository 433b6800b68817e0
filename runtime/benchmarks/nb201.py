"""NAS-Bench-201 cells as their architecture strings, and genolang genotypes mapped onto them.

A NAS-Bench-201 cell has four states (0 is the input, 3 the output) and an operation on each
of the six edges i → j (i < j). The architecture string lists them node by node,
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; it is the key every table of this space is stored
under here, whatever order its own files use (each table's reader converts).
"""

from __future__ import annotations

from genolang.base.errors import UserError
from genolang.grammar import interop
from genolang.grammar import syntax as S

__all__ = ["SPACE", "EDGES", "OPS", "arch_string", "arch_ops", "arch_of_genotype"]

SPACE = "nb201"
# the architecture string's edge order: node 1's inputs, node 2's, node 3's
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
_NODES = 3


def arch_string(ops: dict[tuple[int, int], str]) -> str:
    """The architecture string of a cell given as ``{(i, j): op}`` over the six edges.

    Example:
        >>> arch_string({e: "skip_connect" for e in EDGES})
        '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|'
    """
    return "+".join("|" + "|".join(f"{ops[(i, j)]}~{i}" for i in range(j)) + "|" for j in range(1, _NODES + 1))


def arch_ops(arch: str) -> dict[tuple[int, int], str]:
    """The inverse of :func:`arch_string` (for strings this module wrote or a table stored)."""
    out: dict[tuple[int, int], str] = {}
    for j, group in enumerate(arch.split("+"), start=1):
        for token in group.strip("|").split("|"):
            op, _, src = token.partition("~")
            out[(int(src), j)] = op
    return out


def _space_of(definition: S.GenotypeDef) -> str | None:
    return next((s.name for s in definition.body if isinstance(s, S.GenoSpace)), None)


def arch_of_genotype(definition: S.GenotypeDef) -> str:
    """The architecture string of a genotype in the NAS-Bench-201 space (``space nb201``).

    Its cell must read one input, have three nodes and output the last one; an edge it leaves
    out is ``none``. Anything else is a :class:`UserError` located at the genotype.

    Example:
        >>> from genolang.grammar import parse
        >>> g = parse(
        ...     "genotype g { space nb201 cell normal { inputs c0 n0 = skip(c0) "
        ...     "n1 = nor_conv_3(n0) n2 = avg_pool_3(n1) output concat(n2) } }").items[0]
        >>> arch_of_genotype(g)
        '|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|avg_pool_3x3~2|'
    """
    space = _space_of(definition)
    hint = "the NAS-Bench-201 tables score cells of `space nb201` (compiler/stdlib/nb201.geno)"
    if space is not None and space != SPACE:
        raise UserError(f"genotype `{definition.name}` is in space `{space}`, not in the NAS-Bench-201 space",
                        definition.span, hint)
    try:
        arch = interop.export_nb201(definition)
    except UserError as err:
        raise UserError(f"genotype `{definition.name}` is not a NAS-Bench-201 cell: {err.message}",
                        err.span or definition.span, err.hint or hint) from err
    nodes = arch.count("+") + 1
    if nodes != _NODES:
        raise UserError(f"genotype `{definition.name}` is not a NAS-Bench-201 cell: its cell has {nodes} "
                        f"node{'s' if nodes != 1 else ''}, NAS-Bench-201 cells have {_NODES}", definition.span, hint)
    return arch
