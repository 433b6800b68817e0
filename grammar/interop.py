"""Genotypes from and to other tools' text formats, and an architecture diff.

Formats (all parsed without ``eval``):

* **DARTS flat** (quark0/darts, PC-DARTS, P-DARTS): ``Genotype(normal=[('sep_conv_3x3', 0),
  ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=range(2, 6))``.
  Consecutive pairs of ``(op, source)`` tuples are the two edges of one node. Keyword or
  positional fields; ``concat`` as a list, a tuple, ``range(a, b)`` or ``list(range(a, b))``; an
  optional ``NAME = `` in front gives the genotype its default name.
* **CDARTS nested** (microsoft/Cream): the same, but ``normal`` is a list with one list of edges
  per node, of any length (an empty list is a node with no inputs, ``n2 = 0``). The CDARTS cell
  files (``{"0": "Genotype(...)", "1": ..., "2": ...}``, one string per stage) are read too: identical
  stages collapse into one ``normal``/``reduce`` pair, differing ones become ``stage1.normal``, ...
  (the file counts stages from 0, genolang's networks from 1: stage ``"0"`` is ``stage1``).
* **NAS-Bench-201** cell strings: ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|...|``.

Source indices. DARTS/CDARTS: 0 = ``c0`` (output of cell k-2), 1 = ``c1`` (cell k-1), i >= 2 =
``n{i-2}``. NAS-Bench-201: node 0 = the cell input ``c0``, node i >= 1 = ``n{i-1}``; the ``+``-separated
groups define ``n0``, ``n1``, ... in order and the cell outputs its last node only
(``output concat(n2)`` for the usual 4-node cell).

Operation names become genolang labels:

=================  ==============   ===============  ==============
DARTS              label            NAS-Bench-201    label
=================  ==============   ===============  ==============
none               zero             none             zero
skip_connect       skip             skip_connect     skip
max_pool_3x3       max_pool_3       avg_pool_3x3     avg_pool_3
avg_pool_3x3       avg_pool_3       nor_conv_1x1     nor_conv_1
sep_conv_3x3       sep_conv_3       nor_conv_3x3     nor_conv_3
sep_conv_5x5       sep_conv_5
dil_conv_3x3       dil_conv_3
dil_conv_5x5       dil_conv_5
conv_7x1_1x7       conv_7x1_1x7
=================  ==============   ===============  ==============

Other DARTS names follow the same rule (``<x>_conv_KxK`` / ``<x>_pool_KxK`` -> ``..._K``, e.g.
``sep_conv_7x7`` -> ``sep_conv_7``); anything else is kept as it is. The exporters apply the
inverse. NAS-Bench-201 ``none`` edges are kept as explicit ``zero`` edges by default, so the
string round-trips exactly (the ``drop_none`` option leaves them out instead, as the benchmark's
``to_unique_str`` does). DARTS genotypes name ``space darts`` (``space nasnet`` when they use
an operation outside it, as NASNet-A and AmoebaNet-A do), NAS-Bench-201 ones ``space nb201``;
the spaces themselves live in the standard library specs. A DARTS node may apply the same
operation to the same input twice (NASNet-A's ``avg_pool_3(c0) + avg_pool_3(c0)``).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from genolang.errors import Span, SpecSyntaxError, UserError, did_you_mean, remember_source
from genolang.limits import MAX_FILE_BYTES, MAX_NODES

from . import syntax as S
from .parser import GRAMMAR
from .printer import print_module, print_stmt, print_value

__all__ = [
    "DARTS_TO_LABEL", "NB201_TO_LABEL", "FORMATS",
    "darts_label", "darts_op_name", "nb201_label", "nb201_op_name", "keywords", "check_name",
    "parse_darts", "parse_cdarts_json", "parse_nb201", "import_genotype",
    "genotype_text", "USUAL_TEMPLATE", "standalone_text",
    "find_genotype", "export_darts", "export_cdarts_json", "export_nb201",
    "diff_modules",
]

FORMATS = ("darts", "cdarts", "nb201")

DARTS_TO_LABEL = {
    "none": "zero",
    "skip_connect": "skip",
    "max_pool_3x3": "max_pool_3",
    "avg_pool_3x3": "avg_pool_3",
    "sep_conv_3x3": "sep_conv_3",
    "sep_conv_5x5": "sep_conv_5",
    "dil_conv_3x3": "dil_conv_3",
    "dil_conv_5x5": "dil_conv_5",
    "conv_7x1_1x7": "conv_7x1_1x7",
}
_LABEL_TO_DARTS = {v: k for k, v in DARTS_TO_LABEL.items()}

NB201_TO_LABEL = {
    "none": "zero",
    "skip_connect": "skip",
    "nor_conv_1x1": "nor_conv_1",
    "nor_conv_3x3": "nor_conv_3",
    "avg_pool_3x3": "avg_pool_3",
}
_LABEL_TO_NB201 = {v: k for k, v in NB201_TO_LABEL.items()}

_SQUARE = re.compile(r"^(.*_(?:conv|pool))_(\d+)x\2$")
_SIZED = re.compile(r"^(.*_(?:conv|pool))_(\d+)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def darts_label(name: str) -> str:
    """DARTS op name -> genolang label (``sep_conv_3x3`` -> ``sep_conv_3``)."""
    if name in DARTS_TO_LABEL:
        return DARTS_TO_LABEL[name]
    m = _SQUARE.match(name)
    return f"{m.group(1)}_{m.group(2)}" if m else name


def darts_op_name(label: str) -> str:
    """genolang label -> DARTS op name, the inverse of :func:`darts_label`."""
    if label in _LABEL_TO_DARTS:
        return _LABEL_TO_DARTS[label]
    m = _SIZED.match(label)
    return f"{m.group(1)}_{m.group(2)}x{m.group(2)}" if m else label


def nb201_label(name: str) -> str:
    return NB201_TO_LABEL[name]


def nb201_op_name(label: str) -> str:
    return _LABEL_TO_NB201[label]


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every word the grammar reserves (its string literals that look like names)."""
    text = GRAMMAR.read_text(encoding="utf-8")
    return frozenset(w for w in re.findall(r'"([^"\\]*)"', text) if _NAME.match(w))


def check_name(name: str, what: str = "genotype name") -> str:
    """Return ``name`` if it can be written as a genolang name, else raise a UserError."""
    if not _NAME.match(name or ""):
        raise UserError(f"`{name}` is not a valid {what}",
                        hint="names use letters, digits and `_`, and do not start with a digit")
    if name in keywords():
        raise UserError(f"`{name}` is a reserved word and cannot be a {what}",
                        hint=f"try `{name}_` or another name")
    return name


def _sanitize(name: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_]", "_", name.strip()).lower() or "imported"
    if out[0].isdigit():
        out = "g_" + out
    return out + "_" if out in keywords() else out


# ----------------------------------------------------------------------------- neutral cells


@dataclass
class _Cell:
    name: str
    inputs: tuple[str, ...]
    nodes: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # node, [(label, src)]
    output: tuple[str, ...] | None = None
    reduction: bool = False


def _build(name: str, space: str, fmt: str, source: str | None, cells: list[_Cell]) -> S.GenotypeDef:
    body: list[S.Stmt] = [S.GenoSpace(name=space)]
    entries = [S.Setting(key="format", value=S.Str(fmt))]
    if source:
        entries.append(S.Setting(key="source", value=S.Str(source)))
    body.append(S.Provenance(entries=tuple(entries)))
    for cell in cells:
        bad = [op for _, edges in cell.nodes for op, _ in edges if not _NAME.match(op)]
        if bad:     # every label is written into spec text: never anything but a name
            raise UserError(f"`{bad[0][:60]}` is not an operation name",
                            hint="operation names use letters, digits and `_`")
        stmts: list[S.Stmt] = [S.Inputs(names=cell.inputs)]
        if cell.reduction:
            stmts.append(S.Reduction())
        for node, edges in cell.nodes:
            stmts.append(S.NodeDef(node=node, edges=tuple(S.EdgeRef(op, src) for op, src in edges)))
        if cell.output is not None:
            stmts.append(S.Output(names=cell.output))
        body.append(S.GenoCellDef(name=cell.name, body=tuple(stmts)))
    return S.GenotypeDef(name=name, body=tuple(body))


def genotype_text(definition: S.GenotypeDef) -> str:
    """Canonical .geno text of one genotype definition."""
    return print_module(S.Module((definition,)))


# The network each format's genotypes are usually evaluated on; the standard library defines
# them (DARTS and CDARTS cells: the CIFAR retraining network of DARTS; NAS-Bench-201: its
# CIFAR-10 network).
USUAL_TEMPLATE = {"darts": "retrain_net", "cdarts": "retrain_net", "nb201": "nb201_net"}


def standalone_text(definition: S.GenotypeDef, uses: tuple[str, ...], template: str | None) -> str:
    """A spec file that checks and compiles by itself: ``use`` lines for the files defining
    the genotype's space and template, then the genotype with ``template`` set."""
    body = [s for s in definition.body if not isinstance(s, S.GenoTemplate)]
    if template is not None:
        at = next((i + 1 for i, s in enumerate(body) if isinstance(s, S.GenoSpace)), 0)
        body.insert(at, S.GenoTemplate(name=check_name(template, "network name")))
    items = tuple(S.Use(path=path) for path in dict.fromkeys(uses))
    return print_module(S.Module(items + (dataclasses.replace(definition, body=tuple(body)),)))


# ----------------------------------------------------------------------------- DARTS / CDARTS


_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


class _Py:
    """Error helper over one piece of Python source: spans in characters, 1-based."""

    def __init__(self, text: str, file: str):
        self.text, self.file = text, file
        self.lines = text.splitlines()

    def _col(self, line: int, byte_col: int) -> int:
        if 0 < line <= len(self.lines):
            return len(self.lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", "ignore")) + 1
        return byte_col + 1

    def span(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", line) or line
        col = self._col(line, getattr(node, "col_offset", 0))
        end_col = self._col(end_line, getattr(node, "end_col_offset", 0) or 0)
        return Span(self.file, line, col, end_line, end_col)

    def error(self, message: str, node: ast.AST, hint: str | None = None) -> SpecSyntaxError:
        return SpecSyntaxError(message, self.span(node), hint)


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return "a negative number" if isinstance(node.op, ast.USub) else "a signed number"
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r}"
    return f"a {type(node).__name__.lower()} expression"


def _py_statement(text: str, file: str) -> tuple[_Py, ast.Call, str | None]:
    """Parse ``[NAME =] Callee(...)`` and return the call and the assigned name."""
    text = textwrap.dedent(text).rstrip()  # keeps line numbers; columns count from the common indent
    remember_source(file, text)
    py = _Py(text, file)
    if not text.strip():
        raise SpecSyntaxError("empty genotype text", hint="pass e.g. \"Genotype(normal=[...], ...)\"")
    try:
        tree = ast.parse(text, filename=file, mode="exec")
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        raise SpecSyntaxError(f"not a genotype expression: {exc.msg}", Span(file, line, col, line, col + 1),
                              "expected `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[...], "
                              "reduce=[...], reduce_concat=[...])`") from None
    except (RecursionError, MemoryError, ValueError):
        raise SpecSyntaxError("the genotype text is nested too deeply or is not text") from None
    if len(tree.body) != 1:
        node = tree.body[1] if len(tree.body) > 1 else tree
        raise py.error("expected exactly one `Genotype(...)` expression", node,
                       "import one genotype at a time")
    stmt = tree.body[0]
    target = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        target, value = stmt.targets[0].id, stmt.value
    elif isinstance(stmt, ast.Expr):
        value = stmt.value
    else:
        raise py.error("expected `Genotype(...)` or `NAME = Genotype(...)`", stmt)
    if not isinstance(value, ast.Call) or not isinstance(value.func, (ast.Name, ast.Attribute)):
        raise py.error(f"expected a call `Genotype(...)`, found {_describe(value)}", value)
    return py, value, target


def _fields(py: _Py, call: ast.Call) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    if len(call.args) > len(_FIELDS):
        raise py.error(f"a Genotype has {len(_FIELDS)} fields, found {len(call.args)} positional values",
                       call.args[len(_FIELDS)])
    for key, arg in zip(_FIELDS, call.args):
        if isinstance(arg, ast.Starred):
            raise py.error("`*` arguments are not supported", arg)
        found[key] = arg
    for kw in call.keywords:
        if kw.arg is None:
            raise py.error("`**` arguments are not supported", kw.value)
        if kw.arg not in _FIELDS:
            raise py.error(f"unknown Genotype field `{kw.arg}`", kw,
                           did_you_mean(kw.arg, _FIELDS) or "fields: " + ", ".join(_FIELDS))
        if kw.arg in found:
            raise py.error(f"Genotype field `{kw.arg}` given twice", kw)
        found[kw.arg] = kw.value
    if "normal" not in found:
        raise py.error("the Genotype has no `normal` field", call,
                       "expected `Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`")
    return found


def _is_pair(node: ast.AST) -> bool:
    return (isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == 2
            and isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str))


def _int(py: _Py, node: ast.AST, what: str) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0:
        return node.value
    raise py.error(f"expected {what} (an integer >= 0), found {_describe(node)}", node)


def _edge(py: _Py, node: ast.AST) -> tuple[str, int, ast.AST]:
    if not _is_pair(node):
        raise py.error(f"expected an edge `('op_name', source_index)`, found {_describe(node)}", node)
    op, src = node.elts
    if not _NAME.match(darts_label(op.value)):
        raise py.error(f"{op.value[:60]!r} is not an operation name", op,
                       "operation names use letters, digits and `_` (they are written into spec text)")
    return op.value, _int(py, src, "a source index"), src


def _edge_lists(py: _Py, node: ast.AST, cell: str) -> tuple[list[list[tuple[str, int, ast.AST]]], bool]:
    """The edges of each node, and whether the form was nested (CDARTS)."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise py.error(f"expected the `{cell}` edge list `[...]`, found {_describe(node)}", node)
    items = node.elts
    if items and all(_is_pair(i) for i in items):
        if len(items) % 2:
            raise py.error(f"the flat DARTS form has 2 edges per node, but `{cell}` has {len(items)} edge{'s' if len(items) != 1 else ''}",
                           node, "use the nested form `[[(op, src), ...], ...]` for other edge counts")
        edges = [_edge(py, i) for i in items]
        return [edges[i:i + 2] for i in range(0, len(edges), 2)], False
    nodes = []
    for item in items:
        if _is_pair(item):
            raise py.error("mixed flat and nested edges: expected a list of edges for one node", item,
                           "write every node as `[(op, src), ...]`, or use the flat form throughout")
        if not isinstance(item, (ast.List, ast.Tuple)):
            raise py.error(f"expected a list of edges `[('op', src), ...]` for a node, found {_describe(item)}",
                           item)
        nodes.append([_edge(py, e) for e in item.elts])
    return nodes, True


def _concat(py: _Py, node: ast.AST) -> tuple[list[int], ast.AST]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "tuple") \
            and len(node.args) == 1 and not node.keywords:
        return _concat(py, node.args[0])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        if node.keywords or not 1 <= len(node.args) <= 2:
            raise py.error("expected `range(start, stop)`", node)
        bounds = [_int(py, a, "a range bound") for a in node.args]
        start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
        if stop - start > MAX_NODES + 2:     # checked before the range is made into a list
            raise py.error(f"`range({start}, {stop})` names {stop - start} states; a cell has at most "
                           f"{MAX_NODES + 2}", node)
        return list(range(start, stop)), node
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_int(py, e, "a node index") for e in node.elts], node
    raise py.error(f"expected a concat list `[2, 3, 4, 5]` or `range(2, 6)`, found {_describe(node)}", node)


def _darts_state(index: int) -> str:
    return f"c{index}" if index < 2 else f"n{index - 2}"


def _darts_cells(py: _Py, fields: dict[str, ast.expr]) -> tuple[list[_Cell], bool]:
    cells, nested_any = [], False
    for cell_name in ("normal", "reduce"):
        if cell_name not in fields:
            continue
        node_edges, nested = _edge_lists(py, fields[cell_name], cell_name)
        if len(node_edges) > MAX_NODES:
            raise py.error(f"`{cell_name}` has {len(node_edges)} nodes; a cell has at most {MAX_NODES}",
                           fields[cell_name])
        nested_any |= nested
        cell = _Cell(cell_name, ("c0", "c1"), reduction=cell_name == "reduce")
        for i, edges in enumerate(node_edges):
            out = []
            for op, src, src_node in edges:
                if src >= i + 2:
                    raise py.error(
                        f"`{cell_name}` node {i} (n{i}) reads source {src} ({_darts_state(src)}), which is not "
                        "computed before it", src_node,
                        f"sources of node {i} are 0, 1 (the cell inputs) and 2..{i + 1} (earlier nodes)"
                        if i else "the first node reads only 0 and 1, the cell inputs")
                out.append((darts_label(op), _darts_state(src)))
            cell.nodes.append((f"n{i}", out))
        key = f"{cell_name}_concat"
        if key in fields:
            indices, where = _concat(py, fields[key])
            if not indices:
                raise py.error(f"`{key}` is empty; a cell outputs at least one state", where)
            limit = 2 + len(node_edges)
            for index in indices:
                if index >= limit:
                    raise py.error(f"`{key}` names state {index}, but the cell has only states 0..{limit - 1}",
                                   where)
            cell.output = tuple(_darts_state(i) for i in indices)
        else:
            cell.output = tuple(n for n, _ in cell.nodes)
        cells.append(cell)
    return cells, nested_any


# The labels of the stdlib's `darts` space (and `zero`); other labels need `space nasnet`.
_DARTS_SPACE_LABELS = frozenset(set(DARTS_TO_LABEL.values()) - {"conv_7x1_1x7"})


def _darts_space(cells: list[_Cell]) -> str:
    labels = {op for cell in cells for _, edges in cell.nodes for op, _ in edges}
    return "darts" if labels <= _DARTS_SPACE_LABELS else "nasnet"


def parse_darts(text: str, *, name: str | None = None, source: str | None = None, space: str | None = None,
                file: str = "<darts genotype>") -> S.GenotypeDef:
    """A DARTS (flat) or CDARTS (nested) ``Genotype(...)`` repr -> a genotype definition.

    A text that starts with ``{`` is read as a CDARTS cell file (see :func:`parse_cdarts_json`).
    """
    if text.lstrip().startswith("{"):
        return parse_cdarts_json(text, name=name, source=source, space=space, file=file)
    py, call, target = _py_statement(text, file)
    cells, nested = _darts_cells(py, _fields(py, call))
    name = check_name(name) if name else _sanitize(target or "imported")
    space = check_name(space, "space name") if space else _darts_space(cells)
    return _build(name, space, "cdarts" if nested else "darts", source, cells)


def parse_cdarts_json(text: str, *, name: str | None = None, source: str | None = None, space: str | None = None,
                      file: str = "<cdarts genotype file>") -> S.GenotypeDef:
    """A CDARTS cell file ``{"0": "Genotype(...)", ...}`` (one genotype per stage)."""
    remember_source(file, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecSyntaxError(f"not a CDARTS genotype file: {exc.msg}",
                              Span(file, exc.lineno, exc.colno, exc.lineno, exc.colno + 1),
                              'expected {"0": "Genotype(...)", "1": "...", ...}') from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, str) for v in data.values()):
        raise SpecSyntaxError("a CDARTS genotype file maps stage numbers to Genotype strings",
                              Span(file, 1, 1, 1, 2), 'expected {"0": "Genotype(...)", "1": "...", ...}')
    stages = sorted(data, key=lambda k: (len(k), k))
    parsed = []
    for stage in stages:
        py, call, _ = _py_statement(data[stage], f"{file}[{stage}]")
        parsed.append(_darts_cells(py, _fields(py, call))[0])
    name = check_name(name) if name else "imported"
    space = check_name(space, "space name") if space else _darts_space([c for cells in parsed for c in cells])
    keys = [[(c.name, c.inputs, c.nodes, c.output, c.reduction) for c in cells] for cells in parsed]
    if all(k == keys[0] for k in keys):
        return _build(name, space, "cdarts", source, parsed[0])
    cells = []
    for stage, stage_cells in zip(stages, parsed):
        label = f"stage{int(stage) + 1}" if stage.isdigit() and len(stage) < 10 else _sanitize(stage)[:60]
        for c in stage_cells:
            c.name = f"{label}.{c.name}"
            cells.append(c)
    return _build(name, space, "cdarts", source, cells)


# ----------------------------------------------------------------------------- NAS-Bench-201


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


def import_genotype(fmt: str, text: str, **options) -> S.GenotypeDef:
    """Dispatch on the format name: ``darts`` (flat or nested, or a CDARTS JSON), ``cdarts``, ``nb201``.
    Imported text is data from anyone: its size, its ranges and its names are bounded and
    checked before anything is built from it or printed into spec text."""
    if len(text) > MAX_FILE_BYTES:
        raise UserError(f"the {fmt} genotype text is {len(text):,} characters; at most {MAX_FILE_BYTES:,} are read")
    return _import_genotype(fmt, text, **options)


def _import_genotype(fmt: str, text: str, **options) -> S.GenotypeDef:
    if fmt in ("darts", "cdarts"):
        options.pop("drop_none", None)
        return parse_darts(text, **options)
    if fmt == "nb201":
        return parse_nb201(text, **options)
    raise UserError(f"unknown genotype format `{fmt}`",
                    hint=did_you_mean(fmt, FORMATS) or "formats: " + ", ".join(FORMATS))


# ----------------------------------------------------------------------------- export


def find_genotype(module: S.Module, name: str | None = None) -> S.GenotypeDef:
    """The genotype named ``name`` in a module, or its only genotype."""
    genotypes = [i for i in module.items if isinstance(i, S.GenotypeDef)]
    if name is not None:
        for g in genotypes:
            if g.name == name:
                return g
        raise UserError(f"{module.file} has no genotype `{name}`",
                        hint=did_you_mean(name, [g.name for g in genotypes])
                        or ("genotypes: " + ", ".join(g.name for g in genotypes) if genotypes else None))
    if not genotypes:
        raise UserError(f"{module.file} defines no genotype", hint="export reads `genotype NAME { ... }`")
    if len(genotypes) > 1:
        raise UserError(f"{module.file} defines {len(genotypes)} genotypes; choose one with --genotype",
                        hint="genotypes: " + ", ".join(g.name for g in genotypes))
    return genotypes[0]


@dataclass
class _Flat:
    """A genotype cell as index lists, ready to write in another tool's format."""

    name: str
    inputs: tuple[str, ...]
    nodes: list[tuple[S.NodeDef, list[tuple[str, int]]]]
    output: list[int]
    output_stmt: S.Output | None


def _cells(definition: S.GenotypeDef) -> dict[str, S.GenoCellDef]:
    return {c.name: c for c in definition.body if isinstance(c, S.GenoCellDef)}


def _flatten(cell: S.GenoCellDef) -> _Flat:
    inputs: tuple[str, ...] = ("c0", "c1")
    nodes: list[S.NodeDef] = []
    output_stmt = None
    for stmt in cell.body:
        if isinstance(stmt, S.Inputs):
            inputs = stmt.names
        elif isinstance(stmt, S.NodeDef):
            nodes.append(stmt)
        elif isinstance(stmt, S.Output):
            output_stmt = stmt
    index = {n: i for i, n in enumerate(inputs)}
    flat_nodes = []
    for node in nodes:
        edges = []
        for e in node.edges:
            if e.src not in index:
                raise UserError(f"cell `{cell.name}` node `{node.node}` reads `{e.src}`, which is not "
                                "computed before it", e.span,
                                did_you_mean(e.src, index) or "states so far: " + ", ".join(index))
            edges.append((e.op, index[e.src]))
        flat_nodes.append((node, edges))
        if node.node in index:
            raise UserError(f"state `{node.node}` is defined twice in cell `{cell.name}`", node.span)
        index[node.node] = len(index)
    if output_stmt is None:
        output = [index[n.node] for n in nodes]
    else:
        output = []
        for n in output_stmt.names:
            if n not in index:
                raise UserError(f"cell `{cell.name}` outputs `{n}`, which it does not define", output_stmt.span,
                                did_you_mean(n, index))
            output.append(index[n])
    return _Flat(cell.name, inputs, flat_nodes, output, output_stmt)


def _darts_pairs(flat: _Flat, nested: bool) -> str:
    if len(flat.inputs) != 2:
        raise UserError(f"cell `{flat.name}` has {len(flat.inputs)} inputs; DARTS cells have 2 (c0, c1)")
    groups = []
    for node, edges in flat.nodes:
        if not nested and len(edges) != 2:
            raise UserError(f"cell `{flat.name}` node `{node.node}` has {len(edges)} edge"
                            f"{'s' if len(edges) != 1 else ''}; the flat DARTS form needs exactly 2 per node",
                            node.span, "use --nested (nested=True) for the CDARTS per-node form")
        groups.append(", ".join(f"({darts_op_name(op)!r}, {src})" for op, src in edges))
    if nested:
        return "[" + ", ".join(f"[{g}]" for g in groups) + "]"
    return "[" + ", ".join(g for g in groups if g) + "]"


def _darts_string(cells: dict[str, S.GenoCellDef], nested: bool, where: str) -> str:
    parts = []
    for cell_name in ("normal", "reduce"):
        if cell_name not in cells:
            raise UserError(f"{where} has no cell `{cell_name}`; DARTS genotypes have a normal and a reduce cell",
                            hint="cells: " + ", ".join(cells) if cells else None)
        flat = _flatten(cells[cell_name])
        parts.append(f"{cell_name}={_darts_pairs(flat, nested)}")
        parts.append(f"{cell_name}_concat=[{', '.join(str(i) for i in flat.output)}]")
    return "Genotype(" + ", ".join(parts) + ")"


def export_darts(definition: S.GenotypeDef, nested: bool = False) -> str:
    """The DARTS flat ``Genotype(...)`` repr (2 edges per node), or with ``nested`` the CDARTS form."""
    return _darts_string(_cells(definition), nested, f"genotype `{definition.name}`")


def export_cdarts_json(definition: S.GenotypeDef, stages: int = 3) -> str:
    """A CDARTS cell file: per-stage cells ``stageK.normal``/``stageK.reduce`` if the genotype has
    them, else its ``normal``/``reduce`` pair repeated for ``stages`` stages."""
    cells = _cells(definition)
    prefixes = sorted({n.split(".", 1)[0] for n in cells if "." in n},
                      key=lambda p: (len(p), p))
    out = {}
    if prefixes:
        for i, prefix in enumerate(prefixes):
            sub = {n.split(".", 1)[1]: c for n, c in cells.items() if n.startswith(prefix + ".")}
            numbered = prefix.startswith("stage") and prefix[5:].isdigit() and int(prefix[5:]) >= 1
            key = str(int(prefix[5:]) - 1) if numbered else str(i)
            out[key] = _darts_string(sub, True, f"stage `{prefix}` of genotype `{definition.name}`")
    else:
        text = _darts_string(cells, True, f"genotype `{definition.name}`")
        out = {str(i): text for i in range(stages)}
    return json.dumps(out)


def export_nb201(definition: S.GenotypeDef) -> str:
    """The NAS-Bench-201 string of a one-input cell whose output is its last node.

    Missing edges are written as ``none``; every label must be one of the NB201 operations."""
    cells = _cells(definition)
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


# ----------------------------------------------------------------------------- architecture diff


def _strip(stmt):
    """A statement without comments, for comparisons that ignore them."""
    if not isinstance(stmt, S.Stmt):
        return stmt
    changes = {"comments": (), "note": None}
    for name in ("body", "entries"):
        children = getattr(stmt, name, None)
        if isinstance(children, tuple):
            changes[name] = tuple(_strip(c) for c in children)
    return dataclasses.replace(stmt, **changes)


def _edge_text(e: tuple[str, str]) -> str:
    return f"{e[0]}({e[1]})"


def _cell_view(cell: S.GenoCellDef) -> dict:
    view = {"inputs": ("c0", "c1"), "reduction": False, "zero": None, "output": None, "nodes": {}}
    for stmt in cell.body:
        if isinstance(stmt, S.Inputs):
            view["inputs"] = stmt.names
        elif isinstance(stmt, S.Reduction):
            view["reduction"] = True
        elif isinstance(stmt, S.Zero):
            view["zero"] = stmt.config
        elif isinstance(stmt, S.Output):
            view["output"] = stmt.names
        elif isinstance(stmt, S.NodeDef):
            view["nodes"][stmt.node] = [(e.op, e.src) for e in stmt.edges]
    if view["output"] is None:
        view["output"] = tuple(view["nodes"])
    return view


def _node_diff(where: str, old: list, new: list) -> list[str]:
    common = Counter(old) & Counter(new)
    gone = _ordered(old, Counter(old) - common)
    came = _ordered(new, Counter(new) - common)
    lines = []
    for same in (1, 0):  # pair a removed and an added edge on the same source, then the same op
        for e in list(gone):
            match = next((c for c in came if c[same] == e[same]), None)
            if match is not None:
                lines.append(f"{where}: {_edge_text(e)} -> {_edge_text(match)}")
                gone.remove(e)
                came.remove(match)
    lines.extend(f"{where}: - {_edge_text(e)}" for e in gone)
    lines.extend(f"{where}: + {_edge_text(e)}" for e in came)
    return lines


def _ordered(items: list, keep: Counter) -> list:
    keep = Counter(keep)
    out = []
    for item in items:
        if keep[item] > 0:
            keep[item] -= 1
            out.append(item)
    return out


def _sum_text(edges: list) -> str:
    return " + ".join(_edge_text(e) for e in edges) if edges else "0"


def _cell_diff(prefix: str, a: S.GenoCellDef, b: S.GenoCellDef) -> list[str]:
    va, vb = _cell_view(a), _cell_view(b)
    lines = []
    if va["inputs"] != vb["inputs"]:
        lines.append(f"{prefix}.inputs: {', '.join(va['inputs'])} -> {', '.join(vb['inputs'])}")
    if va["reduction"] != vb["reduction"]:
        lines.append(f"{prefix}: {'+' if vb['reduction'] else '-'} reduction")
    if va["zero"] != vb["zero"]:
        lines.append(f"{prefix}.zero: {va['zero'] or '(default)'} -> {vb['zero'] or '(default)'}")
    for node in list(va["nodes"]) + [n for n in vb["nodes"] if n not in va["nodes"]]:
        where = f"{prefix}.{node}"
        if node not in vb["nodes"]:
            lines.append(f"{where}: - node ({_sum_text(va['nodes'][node])})")
        elif node not in va["nodes"]:
            lines.append(f"{where}: + node ({_sum_text(vb['nodes'][node])})")
        else:
            lines.extend(_node_diff(where, va["nodes"][node], vb["nodes"][node]))
    if va["output"] != vb["output"]:
        old, new = va["output"], vb["output"]
        if set(old) == set(new):
            lines.append(f"{prefix}.output: concat({', '.join(old)}) -> concat({', '.join(new)})")
        else:
            lines.extend(f"{prefix}.output: - {n}" for n in old if n not in new)
            lines.extend(f"{prefix}.output: + {n}" for n in new if n not in old)
    return lines


def _genotype_diff(a: S.GenotypeDef, b: S.GenotypeDef, prefix: str) -> list[str]:
    lines = []
    for kind, what in ((S.GenoSpace, "space"), (S.GenoTemplate, "template")):
        x = next((s.name for s in a.body if isinstance(s, kind)), None)
        y = next((s.name for s in b.body if isinstance(s, kind)), None)
        if x != y:
            lines.append(f"{prefix}{what}: {x or '(none)'} -> {y or '(none)'}")
    ma = next((_strip(s) for s in a.body if isinstance(s, S.GenoMacro)), None)
    mb = next((_strip(s) for s in b.body if isinstance(s, S.GenoMacro)), None)
    if ma != mb:
        for key in sorted({e.key for m in (ma, mb) if m for e in m.entries}):
            x = next((e for e in (ma.entries if ma else ()) if e.key == key), None)
            y = next((e for e in (mb.entries if mb else ()) if e.key == key), None)
            if x != y:
                lines.append(f"{prefix}macro.{key}: {_setting_text(x)} -> {_setting_text(y)}")
    ca, cb = _cells(a), _cells(b)
    for name in list(ca) + [n for n in cb if n not in ca]:
        if name not in cb:
            lines.append(f"{prefix}{name}: - cell")
        elif name not in ca:
            lines.append(f"{prefix}{name}: + cell")
        else:
            lines.extend(_cell_diff(f"{prefix}{name}", ca[name], cb[name]))
    return lines


def _setting_text(entry) -> str:
    if entry is None:
        return "(none)"
    if isinstance(entry, S.Setting):
        return print_value(entry.value)
    return " ".join(line.strip() for line in print_stmt(entry, 0))


def _kind(stmt: S.Stmt) -> str:
    return {S.Use: "use", S.OpDef: "op", S.SpaceDef: "space", S.CellDef: "cell", S.NetworkDef: "network",
            S.MacroDef: "macro", S.ExperimentDef: "experiment", S.GenotypeDef: "genotype"}[type(stmt)]


def _key(stmt: S.Stmt) -> tuple[str, str]:
    return (_kind(stmt), stmt.path if isinstance(stmt, S.Use) else stmt.name)


def diff_modules(a: S.Module, b: S.Module) -> list[str]:
    """An architecture-level diff of two spec files, one change a line; empty when equivalent.

    Genotypes are compared cell by cell and node by node (edge order, comments, provenance and
    layout do not count): ``normal.n2: sep_conv_3(c1) -> dil_conv_5(c1)``, ``normal.n3: + skip(c0)``,
    ``normal.output: - n1``. When each file holds exactly one genotype they are compared whatever
    their names. Other definitions are reported as added, removed or changed.
    """
    ga = [i for i in a.items if isinstance(i, S.GenotypeDef)]
    gb = [i for i in b.items if isinstance(i, S.GenotypeDef)]
    lines: list[str] = []
    if len(ga) == 1 and len(gb) == 1:
        if ga[0].name != gb[0].name:
            lines.append(f"genotype: {ga[0].name} -> {gb[0].name}")
        lines.extend(_genotype_diff(ga[0], gb[0], ""))
        pairs_done = True
    else:
        pairs_done = False
    da = {_key(i): i for i in a.items}
    db = {_key(i): i for i in b.items}
    for key in list(da) + [k for k in db if k not in da]:
        kind, name = key
        if kind == "genotype" and pairs_done:
            continue
        label = f'use "{name}"' if kind == "use" else f"{kind} {name}"
        if key not in db:
            lines.append(f"- {label}")
        elif key not in da:
            lines.append(f"+ {label}")
        elif kind == "genotype":
            lines.extend(_genotype_diff(da[key], db[key], f"{name}."))
        elif _strip(da[key]) != _strip(db[key]):
            lines.append(f"~ {label} changed")
    return lines
