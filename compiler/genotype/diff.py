"""An architecture-level diff of two spec files (`geno diff`): genotypes cell by cell and node by
node, other definitions added, removed or changed. Text only; it reads the AST."""

from __future__ import annotations

import dataclasses
from collections import Counter

from genolang.grammar import syntax as S
from genolang.grammar.interop.common import genotype_cells
from genolang.grammar.printer import print_stmt, print_value

__all__ = ["diff_modules"]


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
    ca, cb = genotype_cells(a), genotype_cells(b)
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
