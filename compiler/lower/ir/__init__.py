"""The intermediate representation: what a spec *means*, independent of its syntax.

Lowering (:mod:`genolang.compiler.lower.program`) turns the AST into these objects; the module
builders (:mod:`genolang.compiler.build`) turn them into ``nn.Module`` s; derivation turns α
back into a :class:`Genotype`, which :mod:`genolang.compiler.genotype.raise_` turns back into AST for
the printer. Payloads are frozen dataclasses; graphs are networkx graphs wrapped by
:class:`CellGraph` (never subclassed), with stable path-like node ids such as ``normal.n2``;
networkx is imported only when a graph algorithm runs (importing it takes longer than a whole
``geno check``).

Operation expressions keep two free symbols, bound only when a module is built:

* ``C`` -- the channel count the operation must produce (and, for cell edges, receives);
* ``s`` -- the stride of the edge (1, or 2 on the input edges of a reduction cell).
"""

from __future__ import annotations

from genolang.compiler.lower.ir.cells import ZERO_CONFIGS, CellGraph, CellSpec, Selection
from genolang.compiler.lower.ir.genotypes import GenoCell, GenoEdge, Genotype, MacroChoice
from genolang.compiler.lower.ir.networks import MacroSpec, NetworkTemplate, Slot
from genolang.compiler.lower.ir.ops import Concat, OpExpr, OpImpl, OpSpace, Prim, Residual, Seq, Sum, free_symbols
from genolang.compiler.lower.ir.values import NO_SPAN, BinOp, Num, Sym, Value, arith, evaluate

__all__ = [
    "Sym", "Num", "BinOp", "Value", "evaluate", "free_symbols",
    "Prim", "Seq", "Residual", "Sum", "Concat", "OpExpr",
    "OpImpl", "OpSpace", "Selection", "CellSpec", "CellGraph",
    "GenoEdge", "GenoCell", "MacroChoice", "Genotype",
    "Slot", "NetworkTemplate", "MacroSpec", "ZERO_CONFIGS",
]
