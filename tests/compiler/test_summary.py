"""Summaries (params, mult-adds, shapes, activation memory) and exports."""

import dataclasses
import importlib.util
import os

import pytest
import torch

import irfix
from genolang.compiler.build import EvalNetwork
from genolang.compiler.build.export import export_network
from genolang.compiler.build.measure import count_mult_adds
from genolang.compiler.build.measure import summarize
from genolang.compiler.passes.summary import format_summary
from genolang.base.errors import CompileError


def test_darts_v2_summary():
    s = summarize(irfix.retrain_template(), irfix.darts_v2(), batch=2)
    assert s.params == 3_349_342                           # DARTS train.py: "param size = 3.349342MB"
    assert abs(s.params_with_heads - 3.83e6) / 3.83e6 < 0.01
    assert 0.4e9 < s.mult_adds < 0.7e9                    # ~0.54 G multiply-adds per 32x32 image
    assert s.activation_bytes > 0
    text = format_summary(s)
    assert "3.349 M" in text and "576" in text


def test_mult_adds_of_a_single_conv():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1, bias=False))
    assert count_mult_adds(net, torch.randn(1, 3, 4, 4)) == 8 * 16 * 3 * 9


def test_search_network_summary_counts_alpha_separately():
    t = irfix.tiny_template()
    s = summarize(dataclasses.replace(t, distill_after=(1,)), irfix.darts_cells(nodes=2), batch=4)
    assert s.kind == "search"
    assert s.arch_params == 2 * (2 * 7 + 3 * 7)
    assert s.params_with_heads > s.params
    assert [r.c_out for r in s.plan.cells] == [8, 16, 16, 32, 32]


def test_activation_estimate_scales_with_batch():
    t = irfix.tiny_template()
    small = summarize(t, irfix.darts_v2(), batch=2).activation_bytes
    large = summarize(t, irfix.darts_v2(), batch=8).activation_bytes
    assert 3.5 < large / small < 4.5


def test_torchscript_export_roundtrip(tmp_path):
    net = EvalNetwork(irfix.tiny_template(), irfix.darts_v2())
    path = export_network(net, (3, 16, 16), "torchscript", tmp_path / "net.pt")
    loaded = torch.jit.load(str(path))
    x = torch.randn(3, 3, 16, 16)
    torch.testing.assert_close(loaded(x), net.eval()(x).logits)


@pytest.mark.skipif(importlib.util.find_spec("onnx") is not None, reason="onnx is installed")
def test_onnx_export_without_onnx_is_a_clear_error(tmp_path):
    net = EvalNetwork(irfix.tiny_template(), irfix.darts_v2())
    with pytest.raises(CompileError, match="needs the `onnx` package"):
        export_network(net, (3, 16, 16), "onnx", tmp_path / "net.onnx")


# CI (.ci/run) installs the `onnx` extra and sets GENO_CI=1: there the round trip must run.
@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None and os.environ.get("GENO_CI") != "1",
                    reason="needs onnx and onnxruntime (pip install -e '.[onnx]')")
@pytest.mark.parametrize("network", ["darts_v2", "nb201"])
def test_onnx_export_roundtrip(tmp_path, network):
    import onnxruntime

    if network == "darts_v2":
        net = EvalNetwork(irfix.tiny_template(), irfix.darts_v2()).eval()
    else:                                       # one-input cells, residual blocks, a tail
        from genolang.api import compile_eval, loads

        text = ('use "nb201.geno"\n\nnetwork small {\n  input 3x16x16\n  classes 10\n  channels 8\n'
                "  stem conv(k=3) >> bn\n  cells 3 reduce at 1\n  replace 1 with nb201_resblock\n  heads none\n"
                "  tail bn >> relu\n}\n\ngenotype g {\n  space nb201\n  template small\n  cell normal {\n"
                "    inputs c0\n    n0 = nor_conv_3(c0)\n    n1 = zero(c0) + avg_pool_3(n0)\n"
                "    n2 = skip(c0) + nor_conv_1(n0) + skip(n1)\n    output concat(n2)\n  }\n}\n")
        net = compile_eval(loads(text, "<nb201 onnx>")).eval()
    path = export_network(net, (3, 16, 16), "onnx", tmp_path / "net.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 16, 16)
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(out), net(x).logits, atol=1e-4, rtol=1e-4)


def test_unknown_export_format(tmp_path):
    with pytest.raises(CompileError, match="unknown export format"):
        export_network(torch.nn.Identity(), (3, 4, 4), "tflite", tmp_path / "x")


def test_geno_compile_cli():
    from pathlib import Path

    from typer.testing import CliRunner

    from genolang.cli import app

    spec = Path(__file__).resolve().parents[2] / "specs" / "icdarts" / "digits.geno"
    result = CliRunner().invoke(app, ["compile", str(spec), "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "parameters" in result.output and "multiply-adds" in result.output
    result = CliRunner().invoke(app, ["compile", str(spec), "--export", "torchscript"])
    assert "--export needs --out" in str(result.exception)      # main() renders it, exit 2
