"""IR objects built by hand, for the compiler tests (until specs can be loaded from text).

The DARTS operation space (icdarts-spec §1.3), the four spaces of Table 4.1, the dynamic
space of Table 4.2, DARTS-style cells, the DARTS_V2 genotype and the search / evaluation /
retraining templates. Labels follow the stdlib names (``sep_conv_3``, ``skip``, ...).
"""

from __future__ import annotations

from genolang.compiler.lower.ir import (
    BinOp, CellSpec, GenoCell, GenoEdge, Genotype, NetworkTemplate, Num, OpExpr, OpImpl,
    OpSpace, Prim, Residual, Selection, Seq, Slot, Sym,
)

C, S = Sym("C"), Sym("s")


def P(name: str, **args) -> Prim:
    return Prim(name, tuple(args.items()))


def seq(*parts: OpExpr) -> Seq:
    return Seq(tuple(parts))


def times(factor: int, sym: Sym = C) -> BinOp:
    return BinOp("*", Num(factor), sym)


# ----------------------------------------------------------------------------- op definitions


def op(name: str, body: OpExpr, stride2: OpExpr | None = None, **params) -> OpImpl:
    return OpImpl(name, body, stride2, tuple(params.items()))


def skip() -> OpImpl:
    return op("skip", P("identity"), P("factorized_reduce"))


def pool(kind: str, k: int) -> OpImpl:
    return op(kind, P(kind, k=k, stride=S), k=k)


def sep_conv(k: int) -> OpImpl:
    half = lambda stride: (P("relu"), P("dwconv", k=k, stride=stride), P("pwconv"), P("bn"))
    return op("sep_conv", seq(*half(S), *half(1)), k=k)


def dil_conv(k: int, dilation: int = 2) -> OpImpl:
    return op("dil_conv", seq(P("relu"), P("dwconv", k=k, stride=S, dilation=dilation), P("pwconv"), P("bn")),
              k=k, dilation=dilation)


def shape_keeping(name: str, prim: Prim) -> OpImpl:
    """An activation or BN as an edge op: stride 2 subsamples first (spec ambiguity A17)."""
    return op(name, prim, seq(P("subsample", stride=2), prim))


def conv(k: int) -> OpImpl:
    return op("conv", P("conv", k=k, stride=S), k=k)


def dwconv(k: int) -> OpImpl:
    return op("dwconv", P("dwconv", k=k, stride=S), k=k)


def min_conv(k: int) -> OpImpl:
    return op("min_conv", seq(P("conv", k=k, stride=S), P("bn")), k=k)


def std_conv(k: int) -> OpImpl:
    return op("std_conv", seq(P("relu"), P("conv", k=k, stride=S), P("bn")), k=k)


def nx1_conv(k: int) -> OpImpl:
    return op("nx1_conv", seq(P("relu"), P("conv", k=(1, k), stride=(Num(1), S)),
                              P("conv", k=(k, 1), stride=(S, Num(1))), P("bn")), k=k)


def mbconv(k: int, t: int = 6) -> OpImpl:
    """MobileNetV2 inverted residual (Sandler 2018)."""
    return op("mbconv", Residual(seq(P("pwconv", out=times(t)), P("bn"), P("relu6"),
                                     P("dwconv", k=k, stride=S), P("bn"), P("relu6"),
                                     P("pwconv"), P("bn"))), k=k, t=t)


def mbconv_v2(k: int, g: int) -> OpImpl:
    """EfficientNet MBConv with expansion g and squeeze-excitation (Tan & Le 2019)."""
    expand = (P("pwconv", out=times(g)), P("bn"), P("silu")) if g > 1 else ()
    return op("mbconv_v2", Residual(seq(*expand, P("dwconv", k=k, stride=S), P("bn"), P("silu"),
                                        P("se", ratio=0.25), P("pwconv"), P("bn"))), k=k, g=g)


def fused_mbconv(k: int, g: int) -> OpImpl:
    """EfficientNetV2 Fused-MBConv (Tan & Le 2021)."""
    if g == 1:
        return op("fused_mbconv", Residual(seq(P("conv", k=k, stride=S), P("bn"), P("silu"))), k=k, g=g)
    return op("fused_mbconv", Residual(seq(P("conv", k=k, out=times(g), stride=S), P("bn"), P("silu"),
                                           P("pwconv"), P("bn"))), k=k, g=g)


# ----------------------------------------------------------------------------- op spaces


def space(name: str, **ops: OpImpl) -> OpSpace:
    return OpSpace(name, tuple(ops.items()))


def common() -> dict[str, OpImpl]:
    """identity, max pool 3, avg pool 3: in every space of Table 4.1."""
    return {"skip": skip(), "max_pool_3": pool("max_pool", 3), "avg_pool_3": pool("avg_pool", 3)}


def darts_space() -> OpSpace:
    """Operation space 3 (DARTS, the ICDARTS default, V1: no zero op): 7 ops."""
    return space("darts", **common(), sep_conv_3=sep_conv(3), sep_conv_5=sep_conv(5),
                 dil_conv_3=dil_conv(3), dil_conv_5=dil_conv(5))


def basic_space() -> OpSpace:
    """Operation space 1: 12 ops."""
    return space("basic", **common(), conv_3=conv(3), conv_5=conv(5), dwconv_3=dwconv(3),
                 dwconv_5=dwconv(5), relu=shape_keeping("relu", P("relu")),
                 leaky_relu=shape_keeping("leaky_relu", P("leaky_relu")),
                 sigmoid=shape_keeping("sigmoid", P("sigmoid")), tanh=shape_keeping("tanh", P("tanh")),
                 bn=shape_keeping("bn", P("bn")))


def simple_space() -> OpSpace:
    """Operation space 2: 9 ops."""
    return space("simple", **common(), min_conv_3=min_conv(3), min_conv_5=min_conv(5),
                 std_conv_3=std_conv(3), std_conv_5=std_conv(5), nx1_conv_7=nx1_conv(7),
                 nx1_conv_9=nx1_conv(9))


def mbconv_space() -> OpSpace:
    """Operation space 4: 6 ops."""
    return space("mbconv", **common(), mbconv_3=mbconv(3), mbconv_v2_3_1=mbconv_v2(3, 1),
                 fused_mbconv_3_1=fused_mbconv(3, 1))


def dynamic_space() -> OpSpace:
    """The combined space of Table 4.2: 33 ops."""
    ops = {"relu": shape_keeping("relu", P("relu")), "leaky_relu": shape_keeping("leaky_relu", P("leaky_relu")),
           "sigmoid": shape_keeping("sigmoid", P("sigmoid")), "tanh": shape_keeping("tanh", P("tanh")),
           "bn": shape_keeping("bn", P("bn")), "skip": skip()}
    for k in (3, 5):
        ops |= {f"conv_{k}": conv(k), f"max_pool_{k}": pool("max_pool", k), f"avg_pool_{k}": pool("avg_pool", k),
                f"min_conv_{k}": min_conv(k), f"std_conv_{k}": std_conv(k), f"sep_conv_{k}": sep_conv(k),
                f"dil_conv_{k}": dil_conv(k), f"mbconv_{k}": mbconv(k)}
        ops |= {f"mbconv_v2_{k}_{g}": mbconv_v2(k, g) for g in (1, 4, 6)}
    ops |= {f"nx1_conv_{k}": nx1_conv(k) for k in (7, 9)}
    ops |= {f"fused_mbconv_3_{g}": fused_mbconv(3, g) for g in (1, 4, 6)}
    return space("dynamic", **ops)


ALL_SPACES = {"darts": darts_space, "basic": basic_space, "simple": simple_space,
              "mbconv": mbconv_space, "dynamic": dynamic_space}


# ----------------------------------------------------------------------------- cells


def darts_cell(name: str, ops: OpSpace, *, reduction: bool = False, nodes: int = 4,
               select: Selection = Selection(), zero: str = "V1") -> CellSpec:
    node_names = tuple(f"n{j}" for j in range(nodes))
    return CellSpec(name, ("c0", "c1"), node_names, tuple((n, ops) for n in node_names),
                    select=select, zero=zero, reduction=reduction, output=node_names)


def darts_cells(ops: OpSpace | None = None, **kw) -> dict[str, CellSpec]:
    ops = ops or darts_space()
    return {"normal": darts_cell("normal", ops, **kw), "reduce": darts_cell("reduce", ops, reduction=True, **kw)}


def geno_cell(name: str, nodes: list[list[tuple[str, str]]], *, reduction: bool = False,
              ops: OpSpace | None = None, zero: str = "V1", extra_ops: dict[str, OpImpl] | None = None) -> GenoCell:
    """A discrete cell from per-node [(op, src)] lists; sources are c0, c1, n0, n1, ..."""
    node_names = tuple(f"n{j}" for j in range(len(nodes)))
    table = dict((ops or darts_space()).ops) | (extra_ops or {})
    return GenoCell(name, ("c0", "c1"),
                    tuple((n, tuple(GenoEdge(o, s) for o, s in edges)) for n, edges in zip(node_names, nodes)),
                    node_names, tuple(table.items()), reduction=reduction, zero=zero)


def darts_v2() -> Genotype:
    """DARTS_V2 (quark0/darts genotypes.py), in per-node form."""
    normal = [[("sep_conv_3", "c0"), ("sep_conv_3", "c1")], [("sep_conv_3", "c0"), ("sep_conv_3", "c1")],
              [("sep_conv_3", "c1"), ("skip", "c0")], [("skip", "c0"), ("dil_conv_3", "n0")]]
    reduce = [[("max_pool_3", "c0"), ("max_pool_3", "c1")], [("skip", "n0"), ("max_pool_3", "c1")],
              [("max_pool_3", "c0"), ("skip", "n0")], [("skip", "n0"), ("max_pool_3", "c1")]]
    return Genotype("DARTS_V2", (("normal", geno_cell("normal", normal)),
                                 ("reduce", geno_cell("reduce", reduce, reduction=True))), space="darts")


# ----------------------------------------------------------------------------- templates


def stem_3c() -> OpExpr:
    """CIFAR stem: conv 3x3 to 3C channels, then BN."""
    return seq(P("conv", k=3, out=times(3)), P("bn"))


def slots(n_cells: int, reductions: tuple[int, ...] | None = None) -> tuple[Slot, ...]:
    """DARTS layout: reductions at L//3 and 2L//3 unless given."""
    if reductions is None:
        reductions = (n_cells // 3, 2 * n_cells // 3)
    return tuple(Slot("reduce", reduction=True) if i in reductions else Slot("normal") for i in range(n_cells))


def template(name: str, *, cells: int, channels: int, input_shape=(3, 32, 32), classes: int = 10,
             distill: bool = False, aux_after: int | None = None, stem: OpExpr | None = None,
             **kw) -> NetworkTemplate:
    layout = slots(cells)
    heads = tuple(i for i, s in enumerate(layout) if s.reduction) if distill else ()
    return NetworkTemplate(name, input_shape, classes, channels, stem if stem is not None else stem_3c(),
                           layout, distill_after=heads, aux_after=aux_after, **kw)


def search_template(**kw) -> NetworkTemplate:
    """ICDARTS search network: 8 cells, C=16, distill heads after both reduction cells."""
    return template("search", cells=8, channels=16, distill=True, **kw)


def eval_template(**kw) -> NetworkTemplate:
    """The search-phase evaluation network: 20 cells, C=16, distill heads after cells 6 and 13."""
    return template("eval", cells=20, channels=16, distill=True, **kw)


def retrain_template(**kw) -> NetworkTemplate:
    """CIFAR retraining: 20 cells, C=36, DARTS auxiliary head after cell 13."""
    return template("retrain", cells=20, channels=36, aux_after=13, **kw)


def tiny_template(**kw) -> NetworkTemplate:
    """CPU-test size: 5 cells (reductions at 1 and 3), C=4, 16x16 input."""
    kw.setdefault("cells", 5)
    kw.setdefault("channels", 4)
    kw.setdefault("input_shape", (3, 16, 16))
    return template("tiny", **kw)


# A spec program for the macro phase (hierarchical ICDARTS): micro cells, a 5-cell template
# with one distill head, a skip-connection macro (v1) and a placement macro (v2), a genotype.
# MACRO_NETWORK takes the input shape (``MACRO_NETWORK % "3x16x16"``).
MACRO_CELLS = """
use "spaces.geno"

cell normal {
  nodes 2
  edges from darts
  select darts top 2
}
cell reduce like normal {
  reduction
}
cell a like normal {}
cell b like normal {}
"""

MACRO_NETWORK = """
network tiny {
  input %s
  classes 10
  channels 4
  stem conv(k=3, out=3 * C) >> bn
  cells 5 reduce at 1, 3
  heads distill after 1
}

macro skips version 1 {
  template tiny
  depth 5
}

macro place version 2 {
  template tiny
  types a, b
  depth 5
}
"""

MACRO_GENOTYPE = """
genotype micro {
  space darts
  cell normal {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }
  cell reduce {
    reduction
    n0 = max_pool_3(c0) + sep_conv_3(c1)
    n1 = skip(n0) + avg_pool_3(c1)
  }
  cell a {
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }
  cell b {
    n0 = dil_conv_3(c0) + avg_pool_3(c1)
    n1 = skip(n0) + sep_conv_3(c1)
  }
}
"""
