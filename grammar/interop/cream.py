"""CDARTS cell files (microsoft/Cream): JSON ``{"0": "Genotype(...)", ...}``, one genotype repr per
stage, read and written."""

from __future__ import annotations

import json

from genolang.base.errors import Span, SpecSyntaxError, remember_source

from genolang.grammar import syntax as S
from genolang.grammar.interop.common import _build, _sanitize, check_name, genotype_cells
from genolang.grammar.interop.darts import _darts_cells, _darts_space, _darts_string, _fields, _py_statement


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


def export_cdarts_json(definition: S.GenotypeDef, stages: int = 3) -> str:
    """A CDARTS cell file: per-stage cells ``stageK.normal``/``stageK.reduce`` if the genotype has
    them, else its ``normal``/``reduce`` pair repeated for ``stages`` stages."""
    cells = genotype_cells(definition)
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
