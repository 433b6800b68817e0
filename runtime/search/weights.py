"""Weight inheritance between successive evaluation networks (ambiguity A7).

Every time α is re-discretised the search builds a new evaluation network E. Like CDARTS's
``super_layers_pool`` and NNI's masked supernet, the weights of every (cell, edge, op) that
any E ever held persist here and are copied into the next E that uses the same op on the same
edge; they are never re-initialised. The builder names parameters
``cells.<i>.<node>.<src>.<op>.…``, so a state-dict key *is* the (cell, edge, op) identity and
the pool is a plain name → tensor map (batch-norm running statistics included).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["WeightPool"]


class WeightPool:
    def __init__(self) -> None:
        self._store: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: str) -> bool:
        return key in self._store

    @torch.no_grad()
    def load_into(self, net: nn.Module) -> tuple[int, int]:
        """Copy every pooled tensor whose name and shape match into ``net``.

        Returns (inherited, fresh) counts of state entries.
        """
        inherited = fresh = 0
        for key, tensor in net.state_dict(keep_vars=True).items():
            stored = self._store.get(key)
            if stored is not None and stored.shape == tensor.shape:
                tensor.copy_(stored)
                inherited += 1
            else:
                fresh += 1
        return inherited, fresh

    @torch.no_grad()
    def store_from(self, net: nn.Module) -> None:
        """Write ``net``'s current weights back (after each epoch of training it)."""
        for key, tensor in net.state_dict().items():
            held = self._store.get(key)
            if held is not None and held.shape == tensor.shape and held.dtype == tensor.dtype:
                held.copy_(tensor)
            else:
                self._store[key] = tensor.detach().clone()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self._store)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self._store = {k: v.clone() for k, v in state.items()}
