"""The public library API: load specs, compile them to modules, write genotypes as text.

Example:
    >>> import genolang
    >>> program = genolang.load("specs/icdarts/cifar10.geno")
    >>> net = genolang.compile_search(program, "search_net")
    >>> model = genolang.compile_eval(genolang.load("specs/zoo/darts_v2.geno"), "darts_v2", "retrain_net")
"""

from __future__ import annotations

from pathlib import Path

from genolang.compiler import ir
from genolang.compiler.lower import Experiment, Program, load, loads
from genolang.compiler.raise_ import genotype_text, genotype_to_ast
from genolang.errors import SpecSemanticError, did_you_mean

__all__ = ["load", "loads", "Program", "Experiment", "compile_search", "compile_eval",
           "genotype_text", "genotype_to_ast", "pick"]


def pick(program: Program, kind: str, name: str | None):
    """The definition ``name`` of ``kind`` ("genotype", "network", ...), or the only/first one
    the main file defines when ``name`` is None."""
    table = {"genotype": program.genotypes, "network": program.templates, "cell": program.cells,
             "space": program.spaces, "experiment": program.experiments, "macro": program.macros}[kind]
    if name is not None:
        if name not in table:
            raise SpecSemanticError(f"no {kind} named `{name}` in {program.file}",
                                    hint=did_you_mean(name, table) or (f"{kind}s: " + ", ".join(table) if table else f"the file defines no {kind}"))
        return table[name]
    local = [n for n in program.local(kind) if n in table]
    if local:
        return table[local[0]]
    if table:
        return next(iter(table.values()))
    raise SpecSemanticError(f"{program.file} defines no {kind}", hint=f"add a `{kind}` definition or name one")


def _cells_for(program: Program, template: ir.NetworkTemplate) -> dict[str, ir.CellSpec]:
    needed = {slot.cell for slot in template.slots if slot.cell is not None}
    missing = sorted(needed - set(program.cells))
    if missing:
        raise SpecSemanticError(f"network `{template.name}` uses cell types {', '.join(missing)} that are not defined",
                                template.span, hint="define them with `cell NAME { ... }` or `use` a file that does")
    return {name: program.cells[name] for name in needed}


def compile_search(program: Program, template: str | None = None, **options):
    """The ICDARTS search supernet of a network template and its search cells."""
    from genolang.compiler.build import SearchNetwork

    t = pick(program, "network", template)
    return SearchNetwork(t, _cells_for(program, t), **options)


def compile_eval(program: Program, genotype: str | ir.Genotype | None = None, template: str | None = None,
                 **options):
    """The discrete network of a genotype on a network template."""
    from genolang.compiler.build import EvalNetwork

    g = genotype if isinstance(genotype, ir.Genotype) else pick(program, "genotype", genotype)
    if template is None and g.template:
        template = g.template
    t = pick(program, "network", template)
    if g.macro is not None:  # a hierarchical-search genotype: the macro network of its choices
        from genolang.runtime.netlink import build_eval_net

        return build_eval_net(t, g, phase=options.get("phase", "retrain"), affine=options.get("affine", True))
    return EvalNetwork(t, g, **options)


def load_file(path: str | Path) -> Program:
    return load(path)
