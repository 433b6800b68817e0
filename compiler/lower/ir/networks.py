"""Network templates: the stem, the cell slots (reductions, fixed replacements), heads and
tail; and the macro spaces that search over templates."""

from __future__ import annotations

from dataclasses import dataclass, field

from genolang.base.errors import Span

from genolang.compiler.lower.ir.ops import OpExpr
from genolang.compiler.lower.ir.values import NO_SPAN

__all__ = ["Slot", "NetworkTemplate", "MacroSpec"]


@dataclass(frozen=True)
class Slot:
    """One position of a network's cell sequence: a searched cell type, or a fixed
    replacement operation (the reduction ablations of Table 3.5)."""

    cell: str | None = None
    replacement: OpExpr | None = None
    reduction: bool = False


@dataclass(frozen=True)
class NetworkTemplate:
    """Stem, cell sequence, heads and classifier of a search or evaluation network.

    ``stem`` is an op expression built with ``C`` bound to the initial channel count;
    ``None`` means the identity stem (cells see the raw image). ``distill_after`` lists the
    cell indices after which CDARTS distill heads sit (empty: no heads, KD on the final
    logits); ``aux_after`` the cell index of the DARTS auxiliary head used in retraining.
    """

    name: str
    input_shape: tuple[int, int, int]     # (channels, height, width)
    classes: int
    channels: int
    stem: OpExpr | None
    slots: tuple[Slot, ...]
    distill_after: tuple[int, ...] = ()
    aux_after: int | None = None
    stem_concat_input: bool = False       # the "concatenate inputs" stem ablation
    drop_path: float = 0.0
    tail: OpExpr | None = None            # before the global pool and classifier (NB201: bn >> relu)
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def reduction_indices(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.slots) if s.reduction)


@dataclass(frozen=True)
class MacroSpec:
    """A hierarchical macro graph (chapter 6).

    version 1: each cell's second input is searched over all earlier cell outputs (and the
    stem); version 2: at every depth each of ``cell_types`` runs in parallel and γ picks one.
    """

    name: str
    version: int
    template: str
    cell_types: tuple[str, ...] = ()
    depth: int = 20
    span: Span = field(default=NO_SPAN, compare=False)
