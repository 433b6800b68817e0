"""NAS-Bench-201 cell strings: ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|``, read
and written."""

from __future__ import annotations

from genolang.base.errors import Span, SpecSyntaxError, UserError, did_you_mean, remember_source

from genolang.grammar import syntax as S
from genolang.grammar.interop.common import (
    _LABEL_TO_NB201, NB201_TO_LABEL, _build, _Cell, _flatten, check_name, genotype_cells,
)


def parse_nb201(text: str, *, name: str | None = None, source: str | None = None, space: str = "nb201",
                drop_none: bool = False, file: str = "<nb201 string>") -> S.GenotypeDef:
    """A NAS-Bench-201 cell string -> a genotype with one cell ``normal`` (inputs ``c0``)."""
    text = text.strip()
    remember_source(file, text)

    def err(col: int, message: str, hint: str | None = None) -> SpecSyntaxError:
        return SpecSyntaxError(message, Span(file, 1, col + 1, 1, col + 2), hint)

    if "\n" in text:
        raise err(text.index("\n"), "a NAS-Bench-201 string is one line")
    if not text:
        raise SpecSyntaxError("empty NAS-Bench-201 string",
                              hint="expected e.g. |nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|")
    cell = _Cell("normal", ("c0",))
    pos, group = 0, 0
    while True:
        if pos >= len(text) or text[pos] != "|":
            raise err(min(pos, len(text) - 1) if pos < len(text) else len(text),
                      f"expected `|` to start node {group + 1}'s edges",
                      "the format is |op~src|op~src|+|op~src|...")
        pos += 1
        edges: list[tuple[str, str]] = []
        while True:
            end = text.find("|", pos)
            if end < 0:
                raise err(len(text), "expected `|` after `op~source`")
            token = text[pos:end]
            if "~" not in token:
                raise err(pos, f"expected `op~source`, found `{token}`" if token else "expected `op~source`",
                          "each edge reads op~index, e.g. nor_conv_3x3~0")
            op, _, src_text = token.rpartition("~")
            if op not in NB201_TO_LABEL:
                raise err(pos, f"unknown NAS-Bench-201 operation `{op}`",
                          did_you_mean(op, NB201_TO_LABEL) or "operations: " + ", ".join(NB201_TO_LABEL))
            src_col = pos + len(op) + 1
            if not src_text.isdigit():
                raise err(src_col, f"expected a source node number after `~`, found `{src_text}`")
            src = int(src_text)
            if src > group:
                raise err(src_col, f"node {group + 1} reads node {src}, which is not computed before it",
                          f"node {group + 1} may read nodes 0 to {group}" if group else "node 1 reads node 0")
            state = "c0" if src == 0 else f"n{src - 1}"
            if not (drop_none and op == "none"):
                edges.append((NB201_TO_LABEL[op], state))
            pos = end + 1
            if pos >= len(text) or text[pos] == "+":
                break
        cell.nodes.append((f"n{group}", edges))
        group += 1
        if pos >= len(text):
            break
        pos += 1  # the "+"
    cell.output = (cell.nodes[-1][0],)
    name = check_name(name) if name else "imported"
    return _build(name, check_name(space, "space name"), "nb201", source, [cell])


def export_nb201(definition: S.GenotypeDef) -> str:
    """The NAS-Bench-201 string of a one-input cell whose output is its last node.

    Missing edges are written as ``none``; every label must be one of the NB201 operations."""
    cells = genotype_cells(definition)
    cell = cells.get("normal") or (next(iter(cells.values())) if len(cells) == 1 else None)
    if cell is None:
        raise UserError(f"genotype `{definition.name}` has no cell `normal` to write as a NAS-Bench-201 string",
                        hint="cells: " + ", ".join(cells) if cells else None)
    flat = _flatten(cell)
    if len(flat.inputs) != 1:
        raise UserError(f"cell `{cell.name}` has {len(flat.inputs)} inputs; NAS-Bench-201 cells have one",
                        cell.span, "write `inputs c0`")
    if not flat.nodes:
        raise UserError(f"cell `{cell.name}` has no nodes", cell.span)
    last = len(flat.nodes)
    if flat.output != [last]:
        raise UserError(f"cell `{cell.name}` must output only its last node to be a NAS-Bench-201 cell",
                        (flat.output_stmt or cell).span, f"write `output concat({flat.nodes[-1][0].node})`")
    groups = []
    for i, (node, edges) in enumerate(flat.nodes, start=1):
        by_src: dict[int, str] = {}
        for (op, src), ref in zip(edges, node.edges):
            if op not in _LABEL_TO_NB201:
                raise UserError(f"operation `{op}` is not a NAS-Bench-201 operation", ref.span,
                                did_you_mean(op, _LABEL_TO_NB201) or "labels: " + ", ".join(_LABEL_TO_NB201))
            if src in by_src:
                raise UserError(f"node `{node.node}` reads `{ref.src}` twice; NAS-Bench-201 has one edge per pair",
                                ref.span)
            by_src[src] = _LABEL_TO_NB201[op]
        groups.append("|" + "|".join(f"{by_src.get(j, 'none')}~{j}" for j in range(i)) + "|")
    return "+".join(groups)
