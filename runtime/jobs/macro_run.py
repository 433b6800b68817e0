"""What a macro-phase run is, beside its spec copy and config: ``macro_run.json`` holds the
macro's and the network's names, the micro genotype (JSON and spec text) and the options, as
plain JSON, so that a resume rebuilds the IR from the run's own files and never unpickles it."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from genolang.compiler.lower.ir import Genotype, MacroSpec, NetworkTemplate
from genolang.base.errors import SpecSemanticError, did_you_mean
from genolang.compiler.genotype.genotext import genotype_json, genotype_text
from genolang.runtime.runs.rundir import RunDir, RunDirError, read_json

__all__ = ["MacroOptions", "GAMMA_LR", "RUN_FILE", "macro_of", "macro_identity", "write_macro_run", "read_macro_run"]

RUN_FILE = "macro_run.json"
GAMMA_LR = 3e-3          # A21: the "3e-3" of chapter 6 is γ's Adam learning rate


@dataclass(frozen=True)
class MacroOptions:
    """Settings of the macro phase that the experiment config does not hold.

    ``warmup_epochs`` None means 1 for version 1 and 2 for version 2 (chapter 6).
    """

    beta: float = 1.0
    gamma_lr: float = GAMMA_LR
    warmup_epochs: int | None = None

    def warmup_for(self, version: int) -> int:
        if self.warmup_epochs is not None:
            return self.warmup_epochs
        return 2 if version == 2 else 1


def macro_of(program, name: str | None) -> MacroSpec:
    macros = program.macros
    if name is None:
        first = program.first("macro")
        if first is not None:
            return macros[first]
        raise SpecSemanticError(f"{program.file} defines no macro",
                                hint="add `macro NAME version 1 { template NET  depth N }`")
    if name not in macros:
        raise SpecSemanticError(f"no macro named `{name}` in {program.file}",
                                hint=did_you_mean(name, macros) or ("macros: " + ", ".join(macros) if macros else None))
    return macros[name]


def macro_identity(macro: MacroSpec, template: NetworkTemplate, genotype: Genotype, options: MacroOptions) -> dict:
    return {"macro": macro.name, "template": template.name, "genotype": genotype_json(genotype),
            "genotype_text": genotype_text(genotype), "options": dataclasses.asdict(options)}


def write_macro_run(rd: RunDir, identity: dict) -> None:
    from genolang.base.safe_files import inside, write_json

    if rd.writer and not os.path.lexists(rd.path / RUN_FILE):
        write_json(inside(rd.path, RUN_FILE), identity, indent=1, durable=False)


def read_macro_run(rd: RunDir) -> tuple[MacroSpec, NetworkTemplate, Genotype, MacroOptions]:
    """(macro, template, micro genotype, options) of a macro run, rebuilt from its spec copy
    (a micro genotype from another file, from the genotype text it recorded)."""
    from genolang.compiler.lower.program import load, loads

    from genolang.base.safe_files import inside, received_spec

    saved = read_json(inside(rd.path, RUN_FILE))
    if not isinstance(saved, dict) or not {"macro", "template", "genotype", "options"} <= set(saved) \
            or not all(isinstance(saved[k], str) for k in ("macro", "template")) \
            or not isinstance(saved["genotype"], dict) or not isinstance(saved["options"], dict):
        raise RunDirError(f"{rd.path / RUN_FILE}: not a macro-search run record")
    program = load(received_spec(rd.path, "spec.geno"))
    macro = macro_of(program, saved["macro"])
    template = program.templates.get(saved["template"])
    if template is None:
        raise SpecSemanticError(f"macro `{macro.name}` names unknown network `{saved['template']}`", macro.span)
    name = saved["genotype"].get("name")
    micro = program.genotypes[name] if name in program.genotypes else None
    if micro is None or genotype_json(micro) != saved["genotype"]:
        if not isinstance(saved.get("genotype_text"), str) or not saved["genotype_text"]:
            raise RunDirError(f"{rd.path}: the micro genotype `{name}` of this run cannot be rebuilt")
        micro = next(iter(loads(saved["genotype_text"], file=str(rd.path / "micro.geno")).genotypes.values()))
    try:
        options = MacroOptions(**saved["options"])
    except TypeError:
        raise RunDirError(f"{rd.path / RUN_FILE}: unknown macro options {sorted(saved['options'])}") from None
    return macro, template, micro, options
