"""Checkpoints: atomic, loaded with weights_only (a planted pickle never runs), checksummed (a
truncated, emptied or byte-flipped file is a clean error naming it), RNG state round trip."""

from __future__ import annotations

import os
import pickle
import random

import numpy as np
import pytest
import torch

from genolang.base.errors import UserError
from genolang.runtime.runs.checkpoint import (
    CheckpointError, load_checkpoint, remove_orphans, rng_state, save_atomic, set_rng_state,
)


class Payload:
    """What a hostile checkpoint holds: unpickling it would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(path, marker, how: str = "torch") -> None:
    """A code-running payload where a checkpoint should be (raw pickle, torch.save, or our
    own envelope wrapped around it)."""
    payload = {"version": 1, "next_epoch": 1, "x": Payload(marker)}
    if how == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)


@pytest.mark.parametrize("how", ["pickle", "torch"])
def test_planted_payload_is_refused_and_never_runs(tmp_path, how):
    marker = tmp_path / "pwned"
    plant(tmp_path / "checkpoint.pt", marker, how)
    with pytest.raises(CheckpointError, match="could run code") as info:
        load_checkpoint(tmp_path / "checkpoint.pt")
    assert str(tmp_path / "checkpoint.pt") in info.value.message
    assert isinstance(info.value, UserError)          # exit code 2
    assert not marker.exists()


def test_round_trip_of_tensors_and_plain_values(tmp_path):
    state = {"w": torch.randn(3, 4), "meta": {"epoch": 2, "name": "x", "list": [1, 2.5, None, True]},
             "tuple": (1, "a")}
    save_atomic(state, tmp_path / "c.pt")
    back = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(back["w"], state["w"]) and back["meta"] == state["meta"] and back["tuple"] == (1, "a")
    assert not list(tmp_path.glob(".*.tmp"))


def _damage(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "empty":
        data = bytearray()
    elif how == "truncated":
        data = data[: len(data) // 2]
    else:   # one byte flipped, in the middle (tensor data)
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_any_flipped_byte_gives_an_error_or_the_very_same_state(tmp_path):
    """Some bytes of a zip are padding; flipping one of them changes nothing. Every other flip
    must be reported, never loaded as a different state."""
    path = tmp_path / "checkpoint.pt"
    state = {"w": torch.randn(500), "meta": {"epoch": 3}}
    save_atomic(state, path)
    data = path.read_bytes()
    errors = 0
    for position in range(0, len(data), max(1, len(data) // 60)):
        flipped = bytearray(data)
        flipped[position] ^= 0x55
        path.write_bytes(bytes(flipped))
        try:
            back = load_checkpoint(path)
        except CheckpointError as exc:
            assert str(path) in exc.message
            errors += 1
            continue
        assert torch.equal(back["w"], state["w"]) and back["meta"] == state["meta"], position
    assert errors > 30


@pytest.mark.parametrize("how", ["empty", "truncated", "flipped"])
def test_damaged_checkpoint_is_a_clean_error(tmp_path, how):
    path = tmp_path / "checkpoint.pt"
    save_atomic({"w": torch.randn(2000)}, path)
    _damage(path, how)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(path) in info.value.message
    assert ("empty" if how == "empty" else "damaged") in info.value.message


def test_old_or_foreign_torch_files_are_refused(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "plain.pt")      # loadable, but not ours
    with pytest.raises(CheckpointError, match="not a genolang checkpoint"):
        load_checkpoint(tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_orphan_temp_files_are_removed(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_atomic({"a": 1}, path)
    orphan = tmp_path / ".checkpoint.pt.abc123.tmp"
    orphan.write_bytes(b"half a checkpoint")
    other = tmp_path / ".other.tmp"
    other.write_text("not ours")
    assert remove_orphans(path) == [orphan]
    assert not orphan.exists() and other.exists() and path.exists()


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    gen = torch.Generator().manual_seed(5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.standard_normal()     # leaves a cached gaussian in numpy's state
    save_atomic({"rng": rng_state({"g": gen})}, tmp_path / "c.pt")
    expected = (random.random(), np.random.standard_normal(), torch.rand(1), torch.rand(1, generator=gen))
    random.seed(9), np.random.seed(9), torch.manual_seed(9), gen.manual_seed(9)
    set_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"], {"g": gen})
    again = (random.random(), np.random.standard_normal(), torch.rand(1), torch.rand(1, generator=gen))
    assert expected[:2] == again[:2] and all(torch.equal(a, b) for a, b in zip(expected[2:], again[2:]))


# Run in a fresh process: the check needs Python's own Ctrl-C handling, which an earlier test in
# this process (or a library it loaded, such as a Ray driver) may have replaced.
CTRL_C_IN_THE_WRITE = """
import io, os, signal, sys
from pathlib import Path

import torch

from genolang.runtime.runs import checkpoint as ck

# Ctrl-C as a terminal delivers it: a process started in the background by a shell without job
# control (as CI runners may start the suite) inherits SIGINT ignored, and then rightly ignores it
signal.signal(signal.SIGINT, signal.default_int_handler)
real_save = torch.save


def interrupted_save(obj, handle):
    if not isinstance(handle, io.BytesIO):    # the write to disk, not the envelope's payload
        os.kill(os.getpid(), signal.SIGINT)   # arrives while the file is being written
    real_save(obj, handle)


path = Path(sys.argv[1])
ck.torch.save = interrupted_save
try:
    ck.save_atomic({"w": torch.arange(4)}, path)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
ck.torch.save = real_save
print("whole" if torch.equal(ck.load_checkpoint(path)["w"], torch.arange(4)) else "damaged")
"""


def test_ctrl_c_inside_the_write_interrupts_after_it_not_as_a_runtime_error(tmp_path):
    """SIGINT while torch.save writes (where torch's C++ writer would turn it into a RuntimeError,
    exit 1) waits for the write, then is a KeyboardInterrupt (exit 130), the checkpoint whole."""
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ran = subprocess.run([sys.executable, "-c", CTRL_C_IN_THE_WRITE, str(tmp_path / "c.pt")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["KeyboardInterrupt", "whole"], ran.stdout + ran.stderr
