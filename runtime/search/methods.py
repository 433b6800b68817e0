"""Per-epoch state of the method's parts: the search epoch the regularisers' schedules read,
and GDAS's temperature (linear from ``tau_max`` to ``tau_min`` over the search epochs).

Both are functions of the search epoch, so a resumed run sets them again and needs nothing
in its checkpoint."""

from __future__ import annotations

import torch

from genolang.compiler.lower.methods import gumbel_tau
from genolang.base.errors import ConfigError

__all__ = ["begin_search_epoch", "partial_layout"]


def partial_layout(config, device) -> bool | None:
    """The channels-last setting of a search: as configured, except that partial channels on
    CPU run in the contiguous layout (compiler/build/partial.py says why)."""
    cpu = (torch.device(device).type if device is not None else
           "cuda" if config.device == "auto" and torch.cuda.is_available() else torch.device(
               "cpu" if config.device == "auto" else config.device).type) == "cpu"
    if config.algorithm.partial_channels == 1 or not cpu:
        return config.channels_last
    if config.channels_last:
        raise ConfigError("channels_last = true with partial_channels on CPU: the CPU convolutions' backward "
                          "corrupts memory at the small channel counts C/K in channels-last",
                          hint="leave channels_last unset (or false) for partial channels on CPU")
    return False


def begin_search_epoch(loop, search_epoch: int) -> None:
    """Called by the loop before each search epoch."""
    loop.current_search_epoch = search_epoch
    net = loop.search_net
    if getattr(net, "relaxation", "softmax") == "gumbel":
        net.tau = gumbel_tau(loop.algo, search_epoch, loop.search_cfg.epochs)
