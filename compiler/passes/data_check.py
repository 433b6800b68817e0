"""The data passes: each experiment's dataset kind and loader options (errors), and its
``data.path`` where the spec is checked (a warning: the data may live where the spec runs)."""

from __future__ import annotations

from genolang.base.errors import GenolangError, SpecSemanticError, SpecWarning, did_you_mean

from genolang.compiler.lower.definitions import Program, header_span
from genolang.compiler.lower.experiment_lowering import find_setting
from genolang.compiler.passes.data_kinds import DATA_KINDS

__all__ = ["DataKindsPass", "DataPathsPass"]


class DataKindsPass:
    """A dataset kind the loaders know, with options that kind takes."""

    name = "data kinds"

    def run(self, program: Program) -> list[GenolangError]:
        errors: list[GenolangError] = []
        for name in program.local("experiment"):
            definition = program.table.defs["experiment"][name]
            errors.extend(_data_errors(program.experiments[name].config.data, definition, name))
        return errors


class DataPathsPass:
    """What may be fine elsewhere but is not here: an experiment's ``data.path`` that does not
    exist (read as the search reads it, :mod:`.data_path`); its findings are warnings."""

    name = "data paths"

    def run(self, program: Program) -> list[GenolangError]:
        from genolang.compiler.passes.data_path import data_root, experiment_file

        warnings: list[GenolangError] = []
        for name in program.local("experiment"):
            path = program.experiments[name].config.data.path
            if path is None:
                continue
            root = data_root(path, experiment_file(program, name))
            if not root.exists():
                node = find_setting(program.table.defs["experiment"][name].entries, ("data", "path"))
                span = header_span(node.span) if node else header_span(program.experiments[name].span)
                warnings.append(SpecWarning(f"experiment `{name}`: `data.path` {root} does not exist here", span,
                                            hint="a relative path is read from the spec file's folder (the packaged "
                                                 "specs': the current directory); `geno check --strict` refuses this"))
        return warnings


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
