"""AST -> IR: name resolution, `like` inheritance, space algebra, templates, genotypes.

``lower(table)`` turns the definitions visible from a spec file into a :class:`Program` of IR
objects. Errors are collected (several are reported at once) and raised together as an
:class:`ErrorGroup` at the end; each names its place in the file and carries a hint.
"""

from __future__ import annotations

from pathlib import Path

from genolang.base.errors import ErrorGroup, GenolangError
from genolang.grammar import syntax as S

from genolang.compiler.lower import ir
from genolang.compiler.lower.cell_lowering import SELECT_RULES, CellLowering
from genolang.compiler.lower.definitions import Definitions, Experiment, Program
from genolang.compiler.lower.experiment_lowering import lower_experiment
from genolang.compiler.lower.genotype_lowering import lower_genotype
from genolang.compiler.lower.load import SymbolTable, load_path, load_text
from genolang.compiler.lower.lower_ops import SPECIAL_OPS, OpLowering, lower_errors
from genolang.compiler.lower.lowering import cycle_error
from genolang.compiler.lower.macro_lowering import lower_macro
from genolang.compiler.lower.network_lowering import DEFAULT_STEM, lower_network
from genolang.compiler.lower.space_lowering import SpaceLowering


def load(path: str | Path) -> Program:
    """Parse, resolve, lower and verify a spec file."""
    return lower(load_path(path))


def loads(text: str, file: str = "<string>") -> Program:
    return lower(load_text(text, file))


def lower(table: SymbolTable) -> Program:
    return _Lowerer(table).run()


def lower_lazily(table: SymbolTable) -> Program:
    """A :class:`Program` whose definitions are lowered when first looked up, and nothing
    checked up front: an editor asks about one definition of a file that may have errors
    elsewhere (a lookup still raises the errors of the definition it lowers)."""
    return _Lowerer(table).program


class _Lowerer:
    """The lowering of one symbol table (a :class:`~genolang.compiler.lower.lowering.Lowering`):
    each definition lowered once, by its kind's module, on first use."""

    def __init__(self, table: SymbolTable):
        self.table = table
        self.defs = table.defs
        self.errors: list[GenolangError] = list(table.errors)
        self.ops = OpLowering(self.defs["op"])
        self.program = Program(
            table.main, table,
            spaces=Definitions(self.defs["space"], self.space),
            cells=Definitions(self.defs["cell"], self.cell),
            templates=Definitions(self.defs["network"], self.network),
            macros=Definitions(self.defs["macro"], self.macro),
            experiments=Definitions(self.defs["experiment"], self.experiment),
            genotypes=Definitions(self.defs["genotype"], self.genotype),
        )
        self.spaces = SpaceLowering(self.defs, self.ops, self.program.spaces)

    def run(self) -> Program:
        """Lower and verify everything the main file defines (imports: on first use)."""
        ops = self.defs["op"]
        for name in self.table.local("op"):
            lower_errors(lambda op=ops[name]: self.ops.check_definition(op), self.errors)
        for kind, method in (("space", self.space), ("cell", self.cell), ("network", self.network),
                             ("macro", self.macro), ("genotype", self.genotype),
                             ("experiment", self.experiment)):
            for name in self.table.local(kind):
                lower_errors(lambda m=method, n=name: m(n), self.errors)
        if self.errors:
            unique = _unique(self.errors)
            raise unique[0] if len(unique) == 1 else ErrorGroup(unique)
        return self.program

    # one method per definition kind: the lowering lives in that kind's module; the driver
    # caches what it returns in the program
    def space(self, name: str, span=None) -> ir.OpSpace:
        return self.spaces.space(name, span)

    def space_expr(self, expr: S.SpaceExpr) -> tuple[tuple[str, ir.OpImpl], ...]:
        return self.spaces.space_expr(expr)

    def cell(self, name: str) -> ir.CellSpec:
        if self.program.cells.lowered(name) is not None:
            return self.program.cells.lowered(name)
        return self.program.cells.store(name, CellLowering(self).cell(name))

    def network(self, name: str) -> ir.NetworkTemplate:
        return self.program.templates.store(name, lower_network(self, name))

    def macro(self, name: str) -> ir.MacroSpec:
        return self.program.macros.store(name, lower_macro(self, name))

    def experiment(self, name: str) -> Experiment:
        return self.program.experiments.store(name, lower_experiment(self.defs["experiment"][name], self))

    def genotype(self, name: str) -> ir.Genotype:
        return self.program.genotypes.store(name, lower_genotype(self.defs["genotype"][name], self))


def _unique(errors: list[GenolangError]) -> list[GenolangError]:
    """Drop repeated errors, and report a definition cycle once (not once per member)."""
    seen, cycles, out = set(), set(), []
    for e in errors:
        key = (e.message, e.span)
        cycle = getattr(e, "cycle", None)
        if key in seen or (cycle is not None and cycle in cycles):
            continue
        seen.add(key)
        if cycle is not None:
            cycles.add(cycle)
        out.append(e)
    return out



__all__ = ["Program", "Experiment", "load", "loads", "lower", "lower_lazily", "SPECIAL_OPS", "SELECT_RULES",
           "DEFAULT_STEM", "cycle_error"]
