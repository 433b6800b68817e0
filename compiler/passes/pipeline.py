"""The static passes, in one order, shared by `geno check`, `geno compile`, `geno search` and
the language server: after lowering (which checks each definition on its own), every pass
reads the whole :class:`~genolang.compiler.lower.definitions.Program` and returns what it
finds, each finding naming its pass (``error.pass_name``).

A pass is any object with a ``name`` and ``run(program) -> list of errors`` (:class:`Pass`);
a finding that is a :class:`~genolang.base.errors.SpecWarning` is reported, not raised. A new
pass is a class in its own module of this package, placed in :data:`ORDER` and built in
:func:`pipeline`; a pass that only makes sense for a command's chosen network (``memory``) is
given by that command and left out elsewhere.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

from genolang.base.errors import ErrorGroup, GenolangError, SpecWarning

from genolang.compiler.lower.definitions import Program
from genolang.compiler.passes.data_check import DataKindsPass, DataPathsPass
from genolang.compiler.passes.network_check import ShapesPass
from genolang.compiler.passes.shapes import plan_network

__all__ = ["Pass", "Pipeline", "ORDER", "pipeline", "check_program"]

# every pass by name, in the order it runs: shapes first (the others read planned networks or
# settings a broken network makes moot), warnings last
ORDER = ("shapes", "data kinds", "memory", "data paths")


@runtime_checkable
class Pass(Protocol):
    """One static check over a lowered program. ``clean_input`` (optional, default False): run
    only when the passes before it found no error (the memory pass plans a network the shapes
    pass may have refused)."""

    name: str

    def run(self, program: Program) -> list[GenolangError]: ...


class Pipeline:
    """Passes run in :data:`ORDER`; every finding is tagged with the pass that found it."""

    def __init__(self, passes: Sequence[Pass]):
        unknown = [p.name for p in passes if p.name not in ORDER]
        if unknown:
            raise ValueError(f"passes not placed in ORDER: {unknown}")
        self.passes = tuple(sorted(passes, key=lambda p: ORDER.index(p.name)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.passes)

    def run(self, program: Program) -> list[GenolangError]:
        """Every error and warning, in pass order."""
        found: list[GenolangError] = []
        for step in self.passes:
            if getattr(step, "clean_input", False) and any(not _is_warning(e) for e in found):
                continue
            for error in step.run(program):
                error.pass_name = step.name
                found.append(error)
        return found

    def errors(self, program: Program) -> list[GenolangError]:
        return [e for e in self.run(program) if not _is_warning(e)]

    def check(self, program: Program) -> list[GenolangError]:
        """Raise the errors (one error, or a group); return the warnings."""
        found = self.run(program)
        errors = [e for e in found if not _is_warning(e)]
        if errors:
            raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
        return found


def pipeline(*, plan: Callable = plan_network, memory: Pass | None = None) -> Pipeline:
    """The pipeline: ``plan`` plans one network (:func:`~genolang.compiler.passes.shapes.plan_network`
    unless a language server remembers clean plans); ``memory`` is the memory pass of the network
    a command builds (:class:`~genolang.compiler.passes.memory_fit.MemoryPass`), if any."""
    passes: list[Pass] = [ShapesPass(plan), DataKindsPass(), DataPathsPass()]
    if memory is not None:
        passes.append(memory)
    return Pipeline(passes)


def check_program(program: Program) -> list[GenolangError]:
    """What `geno check` and `geno search` run after loading: raise the errors, return the warnings."""
    return pipeline().check(program)


def _is_warning(error: GenolangError) -> bool:
    return isinstance(error, SpecWarning)
