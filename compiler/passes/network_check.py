"""The shapes pass: plan every network `geno compile` and `geno search` could build from the
main file (:mod:`.shapes`), without building one and without torch."""

from __future__ import annotations

from typing import Callable, Iterator, Mapping

from genolang.base.errors import CompileError, GenolangError

from genolang.compiler.lower import ir
from genolang.compiler.lower.definitions import Program, header_span
from genolang.compiler.passes.shapes import plan_network

__all__ = ["ShapesPass", "planned_networks"]


class ShapesPass:
    """Each network's shapes planned; ``plan`` plans one (a language server passes one that
    remembers the networks that planned cleanly, to check again only what an edit changed)."""

    name = "shapes"

    def __init__(self, plan: Callable = plan_network):
        self.plan = plan

    def run(self, program: Program) -> list[GenolangError]:
        errors: list[GenolangError] = []
        for template, cells, where in planned_networks(program):
            try:
                self.plan(template, cells)
            except CompileError as exc:
                span = exc.span if exc.span is not None and exc.span.known else header_span(template.span)
                errors.append(CompileError(f"{where}: {exc.message}" if where else exc.message, span, exc.hint))
        return errors


def planned_networks(program: Program) -> Iterator[tuple[ir.NetworkTemplate, Mapping, str]]:
    """(template, cells, where) of every network `geno compile` and `geno search` could build
    from the main file, once each: its networks with the search cells, its genotypes on
    their templates, its experiments' search, evaluation and retraining networks."""
    seen: set[str] = set()

    def once(template: ir.NetworkTemplate, cells, where: str, key: str):
        if key not in seen:
            seen.add(key)
            yield template, cells, where

    for name in program.local("network"):
        template = program.templates[name]
        if _cells_defined(program, template):
            yield from once(template, program.cells, "", template.name)
    for name in program.local("genotype"):
        genotype = program.genotypes[name]
        template = _genotype_template(program, genotype)
        if template is not None and genotype.macro is None:
            yield from once(template, dict(genotype.cells), f"genotype `{name}` on network `{template.name}`",
                            f"genotype {name}")
    for name in program.local("experiment"):
        config = program.experiments[name].config
        for role in ("search", "eval", "retrain"):
            network = getattr(config.templates, role)
            if network and network in program.templates:
                template = program.templates[network]
                if _cells_defined(program, template):
                    yield from once(template, program.cells, "", template.name)


def _cells_defined(program: Program, template: ir.NetworkTemplate) -> bool:
    """Whether every cell the template's slots name is defined (plainly or per stage); a file
    of templates alone (cells come from the files that use it) is not planned."""
    names = set(program.cells)
    for slot in template.slots:
        if slot.cell is not None and not any(key == slot.cell or key.endswith("." + slot.cell) for key in names):
            return False
    return True


def _genotype_template(program: Program, genotype: ir.Genotype) -> ir.NetworkTemplate | None:
    """The template `geno compile` would build a genotype on: its own, else the main file's first."""
    if genotype.template is not None:
        return program.templates[genotype.template] if genotype.template in program.templates else None
    first = program.first("network", local_only=True)
    return program.templates[first] if first is not None else None
