"""Small constant tensors a training step needs (op latencies, regulariser masks), made once
per device: a tensor built from Python data is a blocking host-to-device copy on a GPU, and an
error inside a CUDA-graph capture, so the step must not build one each time it runs."""

from __future__ import annotations

from torch import Tensor

__all__ = ["constant"]

_MADE: dict[tuple, Tensor] = {}


def constant(values: tuple, like: Tensor) -> Tensor:
    """``like.new_tensor(values)`` (device and dtype of ``like``), the same tensor every call."""
    key = (values, like.device, like.dtype)
    made = _MADE.get(key)
    if made is None:
        made = _MADE[key] = like.new_tensor(values)
    return made
