"""The static passes beyond lowering, as one call: everything `geno compile` and `geno search`
would check before building a module, run without building one (and without torch).

These are the entry points of :mod:`.pipeline` that `geno check`, the language server and
the tests call: :func:`verify` raises the errors of the passes (the shapes of every network
the main file could build, each experiment's dataset kind and loader options),
:func:`verify_warnings` returns the warnings (a ``data.path`` that does not exist here).
"""

from __future__ import annotations

from genolang.base.errors import GenolangError

from genolang.compiler.lower.definitions import Program
from genolang.compiler.passes.network_check import planned_networks
from genolang.compiler.passes.data_check import DataPathsPass
from genolang.compiler.passes.pipeline import Pipeline, pipeline
from genolang.compiler.passes.shapes import plan_network

__all__ = ["verify", "verify_errors", "verify_warnings", "planned_networks"]


def verify(program: Program) -> None:
    """Raise the errors of the pipeline (one error, or a group)."""
    pipeline().check(program)


def verify_errors(program: Program, plan=plan_network) -> list[GenolangError]:
    """Every error :func:`verify` reports; ``plan`` plans a network's shapes (a language server
    passes one that remembers the networks that planned cleanly)."""
    return pipeline(plan=plan).errors(program)


def verify_warnings(program: Program) -> list[GenolangError]:
    """The warnings alone (the data paths pass), without planning the networks again."""
    return Pipeline([DataPathsPass()]).run(program)
