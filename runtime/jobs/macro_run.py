"""What a macro-phase run is, beside its spec copy and config: ``macro_run.json`` holds the
macro's and the network's names, the micro genotype (JSON and spec text) and the options, as
plain JSON, so that a resume rebuilds the IR from the run's own files and never unpickles it."""

from __future__ import annotations

import dataclasses
import json

from genolang.compiler.lower.ir import Genotype, MacroSpec, NetworkTemplate
from genolang.base.errors import SpecSemanticError
from genolang.compiler.genotype.genotext import genotype_json, genotype_text
from genolang.runtime.jobs.hierarchical import RUN_FILE, MacroOptions, _macro_of
from genolang.runtime.runs.rundir import RunDir, RunDirError, read_json

__all__ = ["macro_identity", "write_macro_run", "read_macro_run"]


def macro_identity(macro: MacroSpec, template: NetworkTemplate, genotype: Genotype, options: MacroOptions) -> dict:
    return {"macro": macro.name, "template": template.name, "genotype": genotype_json(genotype),
            "genotype_text": genotype_text(genotype), "options": dataclasses.asdict(options)}


def write_macro_run(rd: RunDir, identity: dict) -> None:
    if rd.writer and not (rd.path / RUN_FILE).exists():
        (rd.path / RUN_FILE).write_text(json.dumps(identity, indent=1), encoding="utf-8")


def read_macro_run(rd: RunDir) -> tuple[MacroSpec, NetworkTemplate, Genotype, MacroOptions]:
    """(macro, template, micro genotype, options) of a macro run, rebuilt from its spec copy
    (a micro genotype from another file, from the genotype text it recorded)."""
    from genolang.compiler.lower.program import load, loads

    saved = read_json(rd.path / RUN_FILE)
    if not isinstance(saved, dict) or not {"macro", "template", "genotype", "options"} <= set(saved):
        raise RunDirError(f"{rd.path / RUN_FILE}: not a macro-search run record")
    program = load(rd.path / "spec.geno")
    macro = _macro_of(program, saved["macro"])
    template = program.templates.get(saved["template"])
    if template is None:
        raise SpecSemanticError(f"macro `{macro.name}` names unknown network `{saved['template']}`", macro.span)
    name = saved["genotype"].get("name")
    micro = program.genotypes[name] if name in program.genotypes else None
    if micro is None or genotype_json(micro) != saved["genotype"]:
        if not saved.get("genotype_text"):
            raise RunDirError(f"{rd.path}: the micro genotype `{name}` of this run cannot be rebuilt")
        micro = next(iter(loads(saved["genotype_text"], file=str(rd.path / "micro.geno")).genotypes.values()))
    try:
        options = MacroOptions(**saved["options"])
    except TypeError:
        raise RunDirError(f"{rd.path / RUN_FILE}: unknown macro options {sorted(saved['options'])}") from None
    return macro, template, micro, options
