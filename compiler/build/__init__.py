"""IR -> ``nn.Module``: the search supernet and the discrete network, built by one cell walker.

Imports are lazy so that the shape pass can use :mod:`.ops` and :mod:`.heads` without
pulling in the network modules (which themselves depend on the shape pass).
"""

from __future__ import annotations

import importlib

__all__ = ["SearchNetwork", "EvalNetwork", "NetOutput", "load_matching", "apply_phase"]

_WHERE = {
    "SearchNetwork": "supernet",
    "EvalNetwork": "discrete",
    "load_matching": "discrete",
    "apply_phase": "discrete",
    "NetOutput": "cells",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
