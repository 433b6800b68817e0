"""A compiled network as a plain classifier, for code that expects ``model(x) -> logits``
(timm-style training loops, Lightning modules, torchmetrics, ONNX export).

genolang's networks return ``NetOutput(logits, ensemble, aux)``: the distillation ensemble
and the auxiliary head's logits serve the ICDARTS losses. :class:`Classifier` keeps only the
logits; the network itself stays reachable as ``.network`` (its state-dict keys, and those of
genolang's checkpoints, gain the prefix ``network.``).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Classifier"]


class Classifier(nn.Module):
    """``Classifier(net)(x)`` is ``net(x).logits``, in training and in evaluation mode.

    Example:
        >>> model = genolang.compile_eval(genolang.zoo("darts_v2"), classifier=True)
        >>> loss = torch.nn.functional.cross_entropy(model(images), labels)
    """

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x).logits
