"""Atomic, checksummed checkpoints that load without running code, and the RNG state that
makes a resumed run repeat an uninterrupted one.

A checkpoint is written to a temporary file in the same directory, flushed to disk and then
renamed over the old one (``os.replace`` is atomic on POSIX), so a run killed at any moment
leaves either the previous checkpoint or the new one, never a torn file.

A run directory may come from someone else, so a checkpoint holds only tensors and plain
Python values (dicts, lists, tuples, numbers, strings) and is read with
``torch.load(weights_only=True)``: a file holding any other object (a pickled payload, say) is
refused before anything in it runs. The state is serialised once more inside an envelope that
carries its SHA-256, so a truncated or byte-flipped file is an error that names the file, not a
silently different run.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import random
import signal
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genolang.base.errors import UserError

__all__ = ["CheckpointError", "save_atomic", "load_checkpoint", "remove_orphans", "rng_state", "set_rng_state",
           "seed_everything", "FORMAT"]

FORMAT = "genolang-checkpoint/2"


class CheckpointError(UserError):
    """A checkpoint that cannot be used: missing, damaged, unsafe or not genolang's (exit 2)."""

    kind = "checkpoint error"


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def _envelope(obj: Any) -> dict:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = bytearray(buffer.getbuffer())
    return {"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(),
            "payload": torch.frombuffer(payload, dtype=torch.uint8)}


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Save ``obj`` (tensors and plain values only) to ``path`` atomically: tmp file, fsync,
    rename, fsync of the directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    envelope = _envelope(obj)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent)
    # Ctrl-C inside torch.save surfaces as a RuntimeError from its C++ writer (exit 1, not 130):
    # SIGINT waits until the write is done, then interrupts as usual.
    deferred = _DeferSigint()
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(envelope, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        deferred.restore()
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


class _DeferSigint:
    """Until :meth:`restore`, SIGINT is noted instead of raised (main thread only; elsewhere
    Python delivers no signals anyway); restore raises the KeyboardInterrupt it held back."""

    def __init__(self):
        self.hit = False
        try:
            self.previous = signal.signal(signal.SIGINT, self._note)
        except ValueError:                 # not the main thread
            self.previous = None

    def _note(self, signum, frame) -> None:
        self.hit = True

    def restore(self) -> None:
        if self.previous is None:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.hit and self.previous not in (signal.SIG_IGN, None):
            if callable(self.previous):
                self.previous(signal.SIGINT, None)
            else:
                raise KeyboardInterrupt


def _safe_load(source, map_location, path: Path, what: str):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # torch's notes on pickle protocols, not the user's concern
            return torch.load(source, map_location=map_location, weights_only=True)
    except Exception as exc:
        if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in str(exc):
            raise CheckpointError(
                f"{path}: {what} holds Python objects other than tensors and plain values; it is not loaded, "
                "since loading it could run code", hint="only load checkpoints written by genolang") from None
        raise CheckpointError(f"{path}: {what} is damaged and cannot be read ({_reason(exc)})",
                              hint=_DAMAGED_HINT) from None


_DAMAGED_HINT = ("restore the file from a copy, or start the run again; a run directory keeps one checkpoint, "
                 "written atomically at each epoch boundary")


def _reason(exc: BaseException) -> str:
    text = str(exc).split(". ")[0].strip() or type(exc).__name__
    return text[:160]


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """The state saved by :func:`save_atomic`; a :class:`CheckpointError` naming ``path`` if
    the file is missing, empty, truncated, altered, unsafe or not a genolang checkpoint."""
    path = Path(path)
    try:    # never through a link, never a FIFO or a device: a run directory may come from anyone
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        what = "is a symlink; not read" if os.path.islink(path) else f"no checkpoint there ({exc.strerror or exc})"
        raise CheckpointError(f"{path}: {what}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{path}: is not a checkpoint file")
        if info.st_size == 0:
            raise CheckpointError(f"{path}: the checkpoint is empty (0 bytes)", hint=_DAMAGED_HINT)
        os.set_blocking(fd, True)
        envelope = _safe_load(handle, "cpu", path, "the checkpoint")
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a genolang checkpoint of a supported format ({FORMAT})",
                              hint="checkpoints of older genolang versions cannot be resumed; start the run again")
    payload = envelope.get("payload")
    if not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8:
        raise CheckpointError(f"{path}: the checkpoint has no payload", hint=_DAMAGED_HINT)
    data = payload.numpy().tobytes()
    if hashlib.sha256(data).hexdigest() != envelope.get("sha256"):
        raise CheckpointError(f"{path}: the checkpoint is damaged (its checksum does not match its contents)",
                              hint=_DAMAGED_HINT)
    state = _safe_load(io.BytesIO(data), map_location, path, "the checkpoint's state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: the checkpoint holds no state", hint=_DAMAGED_HINT)
    return state


def remove_orphans(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a run killed while writing ``path`` left beside it."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(_tmp_prefix(path) + "*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state(generators: dict[str, torch.Generator] | None = None) -> dict:
    """Every random source a run draws from: python, numpy, torch (CPU and CUDA) and the
    named generators (random ops, data order), as tensors and plain values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generators: dict[str, torch.Generator] | None = None) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for key, gen in (generators or {}).items():
        if key in state["generators"]:
            gen.set_state(state["generators"][key])
