"""Genotype IR → text for the run directory.

The canonical form is the spec language: the genotype IR is raised to AST and printed by the
grammar's printer, with the definitions of the run's spec that it needs (so that the file reads
back on its own, see :func:`standalone_genotype_text`). A JSON form is always written as well:
it needs no printer, and it is what tests and tools read back without the front end.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from genolang.compiler.lower.ir import Genotype

__all__ = ["genotype_json", "genotype_text", "genotype_summary", "standalone_genotype_text"]


def genotype_json(genotype: Genotype) -> dict[str, Any]:
    """Nested per-node form: ``{"cells": {"normal": {"n0": [["sep_conv_3", "c0"], ...]}}}``."""
    cells = {}
    for name, cell in genotype.cells:
        cells[name] = {
            "inputs": list(cell.inputs),
            "nodes": {node: [[e.op, e.src] for e in edges] for node, edges in cell.nodes},
            "output": list(cell.output),
            "reduction": cell.reduction,
            "zero": cell.zero,
        }
    return {"name": genotype.name, "space": genotype.space, "template": genotype.template,
            "cells": cells, "provenance": dict(genotype.provenance)}


def genotype_summary(genotype: Genotype) -> str:
    """One short line per cell, for logs: ``normal: n0=sep_conv_3(c0)+skip(c1) ...``."""
    lines = []
    for name, cell in genotype.cells:
        nodes = " ".join(f"{n}=" + "+".join(f"{e.op}({e.src})" for e in edges) for n, edges in cell.nodes)
        lines.append(f"{name}: {nodes}")
    return "\n".join(lines)


def _printer():
    """The genotype printer (raise to AST, print), or None while the front end is absent."""
    try:
        from genolang.compiler.genotype.raise_ import genotype_text as printer
    except ImportError:
        return None
    return printer


def genotype_text(genotype: Genotype) -> str | None:
    """The genotype as spec text, or None when no printer is available."""
    printer = _printer()
    if printer is None:
        return None
    return printer(genotype)


def standalone_genotype_text(genotype: Genotype, program) -> str:
    """The genotype as a spec file that checks and compiles on its own: the `use` lines of
    the libraries ``program`` (the run's spec) relies on, copies of the definitions of its
    own that the genotype reaches, and the genotype naming its network."""
    from genolang.compiler.genotype.raise_ import genotype_text as printer
    from genolang.compiler.genotype.standalone import standalone_prelude

    provenance = dict(genotype.provenance)
    template = genotype.template or provenance.get("template") or provenance.get("macro_template")
    needed: tuple[str, ...] = genotype.macro.types if genotype.macro is not None else ()
    if template and template in program.templates:
        genotype = dataclasses.replace(genotype, template=template)
        needed += tuple(slot.cell for slot in program.templates[template].slots if slot.cell)
    uses, definitions = standalone_prelude(program.table, genotype, needed)
    return printer(genotype, uses=uses, definitions=definitions)


def dumps(genotype: Genotype) -> str:
    return json.dumps(genotype_json(genotype), indent=1)
