"""Where a search or a retraining computes, and in which memory layout."""

from __future__ import annotations

import torch

from genolang.base.errors import ConfigError

__all__ = ["resolve_device", "resolve_channels_last"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device `{name}` was asked for, but CUDA is not available")
    return device


def resolve_channels_last(flag: bool | None, device: torch.device) -> bool:
    """The memory format setting: ``None`` means channels-last on CPU, where it is the fast
    layout of the depthwise convolutions, and the contiguous layout on other devices."""
    return device.type == "cpu" if flag is None else bool(flag)
