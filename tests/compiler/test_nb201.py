"""NAS-Bench-201 end to end: the stdlib space and networks against a reference built here.

The reference is written from the benchmark's definition (Dong & Yang, ICLR 2020, section 2.1):
a stem of a 3x3 conv and BN; three stages of N = 5 cells with C, 2C and 4C channels; between
them a residual block (ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut 2x2 average pool and 1x1
conv); then BN, ReLU, global average pool and a linear layer. A cell has 4 nodes: node 0 is its
input, node j sums one operation on every earlier node, the cell outputs node 3. Operations:
none, skip_connect, nor_conv_1x1 / nor_conv_3x3 (ReLU-conv-BN), avg_pool_3x3.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genolang.api import compile_eval, compile_search, loads
from genolang.compiler.build.measure import summarize
from genolang.grammar import interop

C, N = 16, 5
STRINGS = {
    "all_conv": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "all_skip": "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "mix": "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
}
# not one of the three of the issue: node 1 reads only `none` (with --drop-none, a node without edges)
STRINGS_MORE = {"none_node": "|none~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"}
TEMPLATES = {"nb201_net": (10, 32), "nb201_net_c100": (100, 32), "nb201_net_in16": (120, 16)}


# ----------------------------------------------------------------------------- the reference


def edges_of(string: str) -> list[list[tuple[str, int]]]:
    """[[(op, source node), ...] for node 1, 2, 3] from a NAS-Bench-201 string."""
    return [[(e.split("~")[0], int(e.split("~")[1])) for e in group.strip("|").split("|")]
            for group in string.split("+")]


def relu_conv_bn(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))


class Zero(nn.Module):
    def forward(self, x):
        return x * 0.0


def ref_op(name: str, c: int) -> nn.Module:
    return {"none": Zero, "skip_connect": nn.Identity,
            "nor_conv_1x1": lambda: relu_conv_bn(c, c, 1), "nor_conv_3x3": lambda: relu_conv_bn(c, c, 3),
            "avg_pool_3x3": lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False)}[name]()


class RefCell(nn.Module):
    def __init__(self, string: str, c: int):
        super().__init__()
        self.sources = [[src for _, src in node] for node in edges_of(string)]
        self.ops = nn.ModuleList(nn.ModuleList(ref_op(op, c) for op, _ in node) for node in edges_of(string))

    def forward(self, x):
        nodes = [x]
        for sources, ops in zip(self.sources, self.ops):
            nodes.append(sum(op(nodes[s]) for s, op in zip(sources, ops)))
        return nodes[-1]


class RefResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, stride=2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class RefNet(nn.Module):
    def __init__(self, string: str, classes: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)]
        for stage, c in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(RefResBlock(c // 2, c))
            layers += [RefCell(string, c) for _ in range(N)]
        layers += [nn.BatchNorm2d(4 * C), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(4 * C, classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def derived_params(string: str, classes: int) -> int:
    """The parameter count of the definition, by hand: conv weights and BN affine pairs."""
    per_edge = {"nor_conv_3x3": lambda c: 9 * c * c + 2 * c, "nor_conv_1x1": lambda c: c * c + 2 * c}
    cell = lambda c: sum(per_edge.get(op, lambda c: 0)(c) for node in edges_of(string) for op, _ in node)  # noqa: E731
    stem = 3 * C * 9 + 2 * C
    stages = sum(N * cell(c) for c in (C, 2 * C, 4 * C))
    blocks = sum(9 * c * 2 * c + 2 * 2 * c + 9 * (2 * c) ** 2 + 2 * 2 * c + c * 2 * c for c in (C, 2 * C))
    return stem + stages + blocks + 2 * 4 * C + 4 * C * classes + classes


def test_the_derivation_matches_the_published_sizes():
    # NAS-Bench-201 lists 1.531546 MB for the all-3x3-conv cell and 0.073306 MB for all-skip (CIFAR-10)
    assert derived_params(STRINGS["all_conv"], 10) == 1_531_546
    assert derived_params(STRINGS["all_skip"], 10) == 73_306


# ----------------------------------------------------------------------------- genolang's


def program(string: str, template: str, drop_none: bool = False):
    definition = interop.parse_nb201(string, name="g", drop_none=drop_none)
    return loads(interop.standalone_text(definition, ("nb201.geno",), template), "<nb201 test>")


@pytest.mark.parametrize("name", sorted(STRINGS))
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_parameter_counts_and_output_shapes(name, template):
    classes, size = TEMPLATES[template]
    net = compile_eval(program(STRINGS[name], template)).eval()
    assert sum(p.numel() for p in net.parameters()) == derived_params(STRINGS[name], classes)
    assert sum(p.numel() for p in RefNet(STRINGS[name], classes).parameters()) == derived_params(STRINGS[name], classes)
    assert net(torch.randn(2, 3, size, size)).logits.shape == (2, classes)


@pytest.mark.parametrize("name, drop_none", [(n, False) for n in sorted(STRINGS)] + [("none_node", True)])
def test_outputs_equal_the_reference_with_transplanted_weights(name, drop_none):
    string = {**STRINGS, **STRINGS_MORE}[name]
    ref = RefNet(string, 10)               # with drop_none, a node whose edges are all `none` has none
    with torch.no_grad():                            # non-trivial BN statistics and affine terms
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.5, 0.5)
    net = compile_eval(program(string, "nb201_net", drop_none))
    ours = {k: v for k, v in net.state_dict().items() if k != "ensemble_logits"}   # no side heads: uniform
    theirs = ref.state_dict()
    assert [tuple(t.shape) for t in ours.values()] == [tuple(t.shape) for t in theirs.values()]
    assert net.load_state_dict(dict(zip(ours, theirs.values())), strict=False).missing_keys == ["ensemble_logits"]
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(net.eval()(x).logits, ref.eval()(x), rtol=1e-4, atol=1e-5)


def test_stage_shapes_of_the_plan():
    summary = summarize(*_template_and_genotype(STRINGS["mix"]))
    rows = [(r.type, r.c_out, r.hw_out) for r in summary.plan.cells]
    assert rows == [("normal", 16, (32, 32))] * 5 + [("replacement", 32, (16, 16))] + \
        [("normal", 32, (16, 16))] * 5 + [("replacement", 64, (8, 8))] + [("normal", 64, (8, 8))] * 5


def _template_and_genotype(string):
    p = program(string, "nb201_net")
    return p.templates["nb201_net"], p.genotypes["g"]


def test_search_cell_builds_a_supernet_and_derives_an_nb201_genotype():
    p = loads('use "nb201.geno"\n\ncell normal like nb201_cell {\n}\n', "<nb201 search>")
    net = compile_search(p, "nb201_net")
    assert net(torch.randn(2, 3, 32, 32)).logits.shape == (2, 10)
    assert {tuple(a.shape) for a in net.alpha("normal").values()} == {(1, 5), (2, 5), (3, 5)}
    with torch.no_grad():
        net.alpha("normal")["n2"][0, 0] = 5.0            # `zero` may win an edge, as in the benchmark
    genotype = net.genotype()
    cell = genotype.cell("normal")
    assert [len(edges) for _, edges in cell.nodes] == [1, 2, 3]
    assert cell.edges_of("n2")[0].op == "zero" and cell.edges_of("n2")[0].src == "c0"
