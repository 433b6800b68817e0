"""Export a compiled network to TorchScript or ONNX, checking that the export computes the
same logits as the module it came from (eval mode, a fixed random input)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from genolang.compiler.build.layers import RandomOp
from genolang.base.errors import CompileError, RunError

__all__ = ["FORMATS", "export_network", "LogitsOnly"]

FORMATS = ("torchscript", "onnx")


class LogitsOnly(nn.Module):
    """The network in eval mode seen as ``x -> logits`` (the exported interface)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).logits


def _has_random(net: nn.Module) -> bool:
    return any(isinstance(m, RandomOp) for m in net.modules())


def _check(expected: torch.Tensor, actual: torch.Tensor, fmt: str, atol: float) -> None:
    if expected.shape != actual.shape or not torch.allclose(expected, actual, atol=atol, rtol=1e-4):
        diff = (expected - actual).abs().max().item() if expected.shape == actual.shape else float("nan")
        raise RunError(f"the {fmt} export does not reproduce the network's output (max difference {diff:.3g})")


def export_network(net: nn.Module, input_shape: tuple[int, int, int], fmt: str, path: str | Path, *,
                   batch: int = 2, atol: float = 1e-4) -> Path:
    """Write ``net`` (as ``x -> logits``) to ``path`` in ``fmt`` and check the export.

    Networks with ``random`` edges are not checked (their output is random by design).

    Raises:
        CompileError: unknown format, or ONNX requested without the ``onnx`` package.
        RunError: the exported model disagrees with the module.
    """
    if fmt not in FORMATS:
        raise CompileError(f"unknown export format `{fmt}`", hint="one of " + ", ".join(FORMATS))
    path = Path(path)
    model = LogitsOnly(net).eval()
    example = torch.randn(batch, *input_shape, generator=torch.Generator().manual_seed(0))
    check = not _has_random(net)
    with torch.no_grad():
        expected = model(example)
        if fmt == "torchscript":
            traced = torch.jit.trace(model, example, check_trace=False)
            traced.save(str(path))
            if check:
                _check(expected, torch.jit.load(str(path))(example), fmt, atol)
            return path
    return _export_onnx(model, example, expected if check else None, path, atol)


def _export_onnx(model: nn.Module, example: torch.Tensor, expected: torch.Tensor | None, path: Path,
                 atol: float) -> Path:
    if importlib.util.find_spec("onnx") is None:
        raise CompileError("ONNX export needs the `onnx` package, which is not installed",
                           hint="pip install 'genolang[onnx]' (onnx, onnxruntime), or use --export torchscript")
    with torch.no_grad():
        torch.onnx.export(model, (example,), str(path), input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    if expected is not None and importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        actual = torch.from_numpy(session.run(None, {"images": example.numpy()})[0])
        _check(expected, actual, "onnx", atol)
    return path
