"""Reading the CIFAR python-pickle batches without letting a pickle run arbitrary code.

The official CIFAR files are pickled dicts of numpy arrays and lists. A normal ``pickle.load``
would execute whatever a tampered file asks for, so this unpickler only rebuilds numpy arrays.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from genolang.base.errors import DataError

# The callables numpy arrays are rebuilt with, across numpy 1.x (numpy.core) and 2.x (numpy._core).
_ALLOWED = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                   "numpy._core.numeric", "numpy")
    for name in ("_reconstruct", "ndarray", "dtype", "_frombuffer", "scalar")
}
# Python 3 writes the bytes inside an array pickle (protocol < 3) as _codecs.encode(text, "latin1"),
# which only converts a string.
_ALLOWED.add(("_codecs", "encode"))


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_pickled_dict(kind: str, path: Path) -> dict:
    """The dict in a CIFAR pickle (keys as bytes, as written by the original Python 2 files)."""
    try:
        with open(path, "rb") as handle:
            data = _ArraysOnly(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise DataError(f"{kind} dataset: {path} is not a readable CIFAR batch (python pickle): {err}",
                        hint="download the 'python version' of the dataset and extract it unchanged") from err
    if not isinstance(data, dict):
        raise DataError(f"{kind} dataset: {path} holds a {type(data).__name__}, expected a pickled dict "
                        "with b'data' and labels")
    # Files pickled by Python 3 have str keys; the originals have bytes keys. Accept both.
    return {(key.encode() if isinstance(key, str) else key): value for key, value in data.items()}
