"""DARTS genotypes (quark0/darts, PC-DARTS, P-DARTS: the flat form) and CDARTS ones (the nested
per-node form): the ``Genotype(...)`` repr, read without ``eval``, and written back."""

from __future__ import annotations

import ast
import textwrap

from genolang.base.errors import Span, SpecSyntaxError, UserError, did_you_mean, remember_source

from genolang.base.limits import MAX_NODES
from genolang.grammar import syntax as S
from genolang.grammar.interop.common import (
    _NAME, DARTS_TO_LABEL, _build, _Cell, _Flat, _flatten, _sanitize, check_name, darts_label, darts_op_name,
    genotype_cells,
)


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


def parse_darts_repr(text: str, *, name: str | None = None, source: str | None = None, space: str | None = None,
                file: str = "<darts genotype>") -> S.GenotypeDef:
    """A DARTS (flat) or CDARTS (nested) ``Genotype(...)`` repr -> a genotype definition."""
    py, call, target = _py_statement(text, file)
    cells, nested = _darts_cells(py, _fields(py, call))
    name = check_name(name) if name else _sanitize(target or "imported")
    space = check_name(space, "space name") if space else _darts_space(cells)
    return _build(name, space, "cdarts" if nested else "darts", source, cells)


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
    return _darts_string(genotype_cells(definition), nested, f"genotype `{definition.name}`")
