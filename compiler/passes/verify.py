"""The static passes beyond lowering: everything `geno compile` and `geno search` would check
before building a module, run without building one (and without torch).

:func:`verify` plans the shapes (:mod:`.shapes`) of every network the main file defines with
the search cells it uses, of every genotype on its template, of every experiment's search,
evaluation and retraining networks, and checks each experiment's dataset kind and loader
options. ``geno check`` runs it after :func:`~genolang.compiler.lower.load`.
"""

from __future__ import annotations

from typing import Iterator, Mapping

from genolang.base.errors import CompileError, ErrorGroup, GenolangError, SpecSemanticError, SpecWarning, did_you_mean

from genolang.compiler.lower import ir
from genolang.compiler.passes.data_kinds import DATA_KINDS
from genolang.compiler.lower.experiment_lowering import find_setting
from genolang.compiler.lower.definitions import Program, header_span
from genolang.compiler.passes.shapes import plan_network

__all__ = ["verify", "verify_errors", "verify_warnings", "planned_networks"]


def verify(program: Program) -> None:
    """Raise the errors of :func:`verify_errors` (one error, or a group)."""
    errors = verify_errors(program)
    if errors:
        raise errors[0] if len(errors) == 1 else ErrorGroup(errors)


def verify_errors(program: Program, plan=plan_network) -> list[GenolangError]:
    """Every error :func:`verify` reports; ``plan`` plans a network's shapes (a language server
    passes one that remembers the networks that planned cleanly, to check again only what an
    edit changed)."""
    errors: list[GenolangError] = []
    for template, cells, where in planned_networks(program):
        try:
            plan(template, cells)
        except CompileError as exc:
            span = exc.span if exc.span is not None and exc.span.known else header_span(template.span)
            errors.append(CompileError(f"{where}: {exc.message}" if where else exc.message, span, exc.hint))
    for name in program.local("experiment"):
        definition = program.table.defs["experiment"][name]
        errors.extend(_data_errors(program.experiments[name].config.data, definition, name))
    return errors


def verify_warnings(program: Program) -> list[GenolangError]:
    """What may be fine elsewhere but is not here: an experiment's ``data.path`` that does not
    exist (read as the search reads it, :mod:`.data_path`)."""
    from genolang.compiler.passes.data_path import data_root, experiment_file

    warnings: list[GenolangError] = []
    for name in program.local("experiment"):
        path = program.experiments[name].config.data.path
        if path is None:
            continue
        root = data_root(path, experiment_file(program, name))
        if not root.exists():
            node = find_setting(program.table.defs["experiment"][name].entries, ("data", "path"))
            warnings.append(SpecWarning(f"experiment `{name}`: `data.path` {root} does not exist here",
                                        header_span(node.span) if node else header_span(program.experiments[name].span),
                                        hint="a relative path is read from the spec file's folder (the packaged "
                                             "specs': the current directory); `geno check --strict` refuses this"))
    return warnings


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


def _data_errors(data, definition, experiment: str) -> list[GenolangError]:
    options = DATA_KINDS.get(data.kind)
    if options is None:
        node = find_setting(definition.entries, ("data", "kind"))
        return [SpecSemanticError(f"experiment `{experiment}`: unknown dataset kind `{data.kind}`",
                                  header_span(node.span if node else definition.span),
                                  hint=did_you_mean(data.kind, DATA_KINDS) or "known kinds: " + ", ".join(DATA_KINDS))]
    errors: list[GenolangError] = []
    for option in data.loader_options():
        if option not in options:
            path = ("data", "options", option) if option in data.options else ("data", {"root": "path"}.get(option, option))
            node = find_setting(definition.entries, path)
            errors.append(SpecSemanticError(
                f"experiment `{experiment}`: dataset `{data.kind}` has no option `{option}`",
                header_span(node.span if node else definition.span),
                hint=did_you_mean(option, options) or f"its options: {', '.join(options)}"))
    return errors
