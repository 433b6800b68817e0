"""Macro derivation: γ -> :class:`MacroChoice` (pure functions; icdarts-spec §4.6).

* version 1: for every cell ``k`` the argmax of ``γ_k`` over its candidate sources
  ``-1 (stem), 0, …, k-2`` (candidate ``i`` is source ``i - 1``); cells without γ (0 and 1,
  whose only candidate is the stem) get -1.
* version 2: for every depth the argmax type of ``γ_d``.

Ties go to the earlier candidate (``torch.argmax`` returns the first maximum). The choice
is attached to a genotype with :func:`attach_macro`; the printer writes it as the
genotype's ``macro { version = … skips = […] / types = […] }`` block.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch

from genolang.compiler.lower.ir import Genotype, MacroChoice, MacroSpec
from genolang.base.errors import CompileError

__all__ = ["choice_v1", "choice_v2", "derive_macro", "attach_macro", "check_choice", "default_skips",
           "macro_summary"]


def default_skips(n_cells: int) -> tuple[int, ...]:
    """The DARTS wiring as a version-1 choice: cell ``k`` reads ``c_{k-2}`` (stem for k < 2)."""
    return tuple(max(k - 2, -1) for k in range(n_cells))


def choice_v1(gammas: Sequence[torch.Tensor | None]) -> MacroChoice:
    """One skip source per cell from its γ (length ``k`` for cell ``k``; None: the stem)."""
    skips = []
    for k, gamma in enumerate(gammas):
        if gamma is None:
            skips.append(max(k - 2, -1))
            continue
        gamma = torch.as_tensor(gamma).detach().flatten()
        if gamma.numel() != max(k, 1):
            raise CompileError(f"γ of cell {k} has {gamma.numel()} entries, expected {max(k, 1)} "
                               "(sources -1 .. k-2)")
        skips.append(int(torch.argmax(gamma.double().cpu())) - 1)
    return MacroChoice(1, skips=tuple(skips))


def choice_v2(gamma: torch.Tensor, types: Sequence[str]) -> MacroChoice:
    """One cell type per depth from γ of shape ``(depth, len(types))``."""
    gamma = torch.as_tensor(gamma).detach()
    if gamma.dim() != 2 or gamma.shape[1] != len(types):
        raise CompileError(f"γ has shape {tuple(gamma.shape)}, expected (depth, {len(types)})")
    picks = gamma.double().cpu().argmax(dim=1).tolist()
    return MacroChoice(2, types=tuple(types[i] for i in picks))


def derive_macro(version: int, gamma, types: Sequence[str] = ()) -> MacroChoice:
    """Dispatch on the macro version: ``gamma`` is the per-cell list (v1) or the matrix (v2)."""
    if version == 1:
        return choice_v1(gamma)
    if version == 2:
        return choice_v2(gamma, types)
    raise CompileError(f"macro version {version} does not exist", hint="1 or 2")


def check_choice(choice: MacroChoice, spec: MacroSpec, n_cells: int | None = None) -> None:
    """Check a choice against its macro definition (version, length, sources / types)."""
    n = spec.depth if n_cells is None else n_cells
    if choice.version != spec.version:
        raise CompileError(f"macro `{spec.name}` is version {spec.version}, the choice is version {choice.version}",
                           spec.span)
    if spec.version == 1:
        if len(choice.skips) != n:
            raise CompileError(f"the choice lists {len(choice.skips)} skip sources, macro `{spec.name}` has {n} cells",
                               spec.span)
        for k, m in enumerate(choice.skips):
            if not (m == -1 if k < 2 else -1 <= m <= k - 2):
                raise CompileError(f"cell {k} cannot take its skip input from {m}", spec.span)
    else:
        if len(choice.types) != n:
            raise CompileError(f"the choice lists {len(choice.types)} types, macro `{spec.name}` has {n} depths",
                               spec.span)
        unknown = [t for t in choice.types if t not in spec.cell_types]
        if unknown:
            raise CompileError(f"`{unknown[0]}` is not a cell type of macro `{spec.name}`", spec.span)


def attach_macro(genotype: Genotype, choice: MacroChoice, *, name: str | None = None,
                 provenance: Sequence[tuple[str, str]] = ()) -> Genotype:
    """``genotype`` with ``choice`` as its macro block; ``provenance`` entries replace those
    with the same key and are appended otherwise."""
    merged = dict(genotype.provenance)
    merged.update(dict(provenance))
    return dataclasses.replace(genotype, macro=choice, name=name or genotype.name,
                               provenance=tuple(merged.items()))


def macro_summary(choice: MacroChoice) -> str:
    """One line for logs: ``macro v1 skips: 2<-stem 3<-c0 …`` or ``macro v2 types: a b a …``."""
    if choice.version == 1:
        parts = [f"{k}<-{'stem' if m < 0 else f'c{m}'}" for k, m in enumerate(choice.skips) if k >= 2]
        return "macro v1 skips: " + " ".join(parts)
    return "macro v2 types: " + " ".join(choice.types)
