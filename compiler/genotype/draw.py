"""Pictures as graphviz DOT text: cells in the style of the DARTS figures, network templates
and macro genotypes. Text only (no torch, no graphviz needed to make the text); `geno draw`
hands it to the `dot` program for SVG or PNG.

Cells read left to right: the two inputs ``c_{k-2}`` and ``c_{k-1}`` (green), the
intermediate nodes (blue), each edge labelled with its operation, and the output ``c_{k}``
(yellow) that concatenates the nodes (grey edges). Given softmax(α) of a search run, each
edge's colour and width show the weight α gave that operation on that edge.
"""

from __future__ import annotations

from typing import Mapping

from genolang.compiler.lower import ir
from genolang.compiler.genotype.hash import CellShape, cell_shape

__all__ = ["cell_dot", "genotype_dot", "network_dot", "alpha_colour"]

INPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor=darkseagreen2'
NODE_STYLE = 'shape=box, style="rounded,filled", fillcolor=lightblue'
OUTPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor=palegoldenrod'
ROW = 6          # cells per row of a network drawing


def _q(text: str) -> str:
    """A DOT quoted string: names may come from a received file, so quotes, backslashes and
    line breaks cannot end the string or add statements."""
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def alpha_colour(weight: float) -> str:
    """Grey (weight 0) to red (weight 1), as an RGB hex colour."""
    w = min(max(weight, 0.0), 1.0)
    r, g, b = (int(round(a + (c - a) * w)) for a, c in ((170, 214), (170, 39), (170, 40)))
    return f"#{r:02x}{g:02x}{b:02x}"


def _input_label(index: int, count: int) -> str:
    back = count - index
    return f"c_{{k-{back}}}"


def _alpha_of(alpha: Mapping | None, node: str, src: str, op: str) -> float | None:
    if not alpha or node not in alpha:
        return None
    entry = alpha[node]
    try:
        weight = float(entry["softmax"][entry["from"].index(src)][entry["ops"].index(op)])
    except (ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None
    return min(1.0, max(0.0, weight)) if weight == weight else None


def _weights(shape: CellShape, alpha: Mapping | None) -> list[float]:
    return [w for node, edges in shape.nodes for op, src in edges if (w := _alpha_of(alpha, node, src, op)) is not None]


def _legend(weights: list[float]) -> list[str]:
    """A graph label saying what the colours mean: the drawn weights span grey to red, so that
    close values (0.19 and 0.22 after a short search) still look different."""
    if not weights:
        return []
    lo, hi = min(weights), max(weights)
    return [f"  label={_q(f'edge colour and width: softmax(α) of the kept operation, grey = {lo:.2f} to red = {hi:.2f}')};",
            "  labelloc=b;"]


def _scaled(weight: float, span: tuple[float, float] | None) -> float:
    if span is None or span[1] <= span[0]:
        return weight
    return (weight - span[0]) / (span[1] - span[0])


def _cell_body(shape: CellShape, prefix: str, alpha: Mapping | None, indent: str = "  ",
               span: tuple[float, float] | None = None) -> list[str]:
    lines = []
    for i, s in enumerate(shape.inputs):
        lines.append(f"{indent}{_q(prefix + s)} [label={_q(_input_label(i, len(shape.inputs)))}, {INPUT_STYLE}];")
    for j, (node, _) in enumerate(shape.nodes):
        lines.append(f"{indent}{_q(prefix + node)} [label={_q(node)}, {NODE_STYLE}];")
    lines.append(f"{indent}{_q(prefix + 'out')} [label=\"c_{{k}}\", {OUTPUT_STYLE}];")
    for node, edges in shape.nodes:
        for op, src in edges:
            weight = _alpha_of(alpha, node, src, op)
            attrs = [f"label={_q(op if weight is None else f'{op} {weight:.2f}')}", "fontsize=10"]
            if weight is not None:
                shade = _scaled(weight, span)
                attrs += [f"color={_q(alpha_colour(shade))}", f"penwidth={1 + 3 * shade:.2f}"]
            lines.append(f"{indent}{_q(prefix + src)} -> {_q(prefix + node)} [{', '.join(attrs)}];")
    for s in shape.output:
        lines.append(f"{indent}{_q(prefix + s)} -> {_q(prefix + 'out')} [color=gray];")
    return lines


def cell_dot(cell: ir.GenoCell | CellShape, name: str = "cell", alpha: Mapping | None = None) -> str:
    """One cell as a DOT digraph; ``alpha`` is this cell's entry of a run's ``alpha_softmax``."""
    shape = cell if isinstance(cell, CellShape) else cell_shape(cell)
    weights = _weights(shape, alpha)
    span = (min(weights), max(weights)) if weights else None
    return "\n".join([f"digraph {_q(name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];',
                      '  edge [fontname="Helvetica"];', *_legend(weights), *_cell_body(shape, "", alpha, span=span),
                      "}"]) + "\n"


def genotype_dot(genotype: ir.Genotype, alpha: Mapping | None = None, cells: list[str] | None = None) -> str:
    """Every cell of a genotype (or those named), one cluster each, and the macro choice."""
    lines = [f"digraph {_q(genotype.name)} {{", "  rankdir=LR;", "  compound=true;",
             '  node [fontname="Helvetica"];', '  edge [fontname="Helvetica"];']
    drawn = [(key, cell_shape(cell)) for key, cell in genotype.cells if not cells or key in cells]
    weights = [w for key, shape in drawn for w in _weights(shape, (alpha or {}).get(key))]
    span = (min(weights), max(weights)) if weights else None
    lines += _legend(weights)
    for key, shape in drawn:
        title = f"{key} ({'reduction' if shape.reduction else 'normal'} cell)"
        lines += [f"  subgraph {_q('cluster_' + key)} {{", f"    label={_q(title)};", "    style=dashed;"]
        lines += _cell_body(shape, f"{key}.", (alpha or {}).get(key), "    ", span)
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def network_dot(template: ir.NetworkTemplate, macro: ir.MacroChoice | None = None, name: str | None = None) -> str:
    """A network template slot by slot (stem, cells, heads, classifier); with a macro choice,
    version 1's searched skip inputs as extra edges and version 2's cell type per depth."""
    # rows of ROW cells, top to bottom: a 20-cell network drawn as one left-to-right row is a
    # strip thousands of pixels wide and a hundred high
    lines = [f"digraph {_q(name or template.name)} {{", "  rankdir=TB;", "  newrank=true;",
             '  node [fontname="Helvetica", fontsize=10];']
    c, h, w = template.input_shape
    lines.append(f'  input [label="input {c}x{h}x{w}", {INPUT_STYLE}];')
    lines.append(f'  stem [label="{"stem" if template.stem is not None else "identity stem"}", shape=box];')
    lines.append("  input -> stem;")
    previous = ["stem", "stem"]
    for k, slot in enumerate(template.slots):
        kind = slot.cell or "replacement"
        if macro is not None and macro.types and k < len(macro.types) and not slot.reduction:
            kind = macro.types[k]
        label = f"{k}: {kind}" + (" (reduce)" if slot.reduction else "")
        fill = "lightsalmon" if slot.reduction else "lightblue"
        if slot.replacement is not None:
            fill = "lightgray"
        lines.append(f'  cell{k} [label={_q(label)}, shape=box, style="rounded,filled", fillcolor={fill}];')
        # the edge into a row's first cell comes from the end of the row above: no pull on layout
        lines.append(f"  {previous[-1]} -> cell{k}{' [constraint=false]' if k and k % ROW == 0 else ''};")
        if macro is not None and macro.version == 1 and k < len(macro.skips):
            # the searched second input: stem (-1) or an earlier cell's output
            src = "stem" if macro.skips[k] < 0 else f"cell{macro.skips[k]}"
            lines.append(f"  {src} -> cell{k} [color=crimson, style=dashed, constraint=false];")
        elif slot.replacement is None:
            lines.append(f"  {previous[-2]} -> cell{k} [color=gray, constraint=false];")
        previous.append(f"cell{k}")
        if k in template.distill_after:
            lines.append(f'  head{k} [label="distill head", shape=note];')
            lines.append(f"  cell{k} -> head{k} [style=dashed];")
        if template.aux_after == k:
            lines.append(f'  aux{k} [label="aux head", shape=note];')
            lines.append(f"  cell{k} -> aux{k} [style=dashed];")
    for start in range(0, len(template.slots), ROW):
        row = " ".join(f"cell{k};" for k in range(start, min(start + ROW, len(template.slots))))
        lines.append(f"  {{ rank=same; {row} }}")
        if start + ROW < len(template.slots):     # each row starts below the previous one's start
            lines.append(f"  cell{start} -> cell{start + ROW} [style=invis, weight=10];")
    lines.append(f'  classifier [label="pool + classifier ({template.classes})", {OUTPUT_STYLE}];')
    lines.append(f"  {previous[-1]} -> classifier;")
    lines.append("}")
    return "\n".join(lines) + "\n"
