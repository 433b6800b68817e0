"""A search killed mid-run (SIGKILL, after its first checkpoints) and resumed reaches the same
genotypes, bit for bit the same α, as an uninterrupted run with the same seed (CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import tiny

from genolang.runtime.runs.checkpoint import load_checkpoint
from genolang.runtime.search.loop import CyclicSearch, run_search

# augmentation on (as for CIFAR): the crops and flips must replay identically after the resume
SEARCH = {"epochs": 2, "pretrain_epochs": 1, "batch": 8, "augment": True}

CHILD = r"""
import sys, time, torch
sys.path[:0] = [sys.argv[2], sys.argv[2] + "/../compiler"]   # tiny and the irfix it imports
torch.set_num_threads(1)
import tiny
import genolang.runtime.search.loop as S

original = S.CyclicSearch.cyclic_step
def slow_step(self, *args, **kwargs):   # slow enough to be killed in the middle of an epoch
    time.sleep(0.4)
    return original(self, *args, **kwargs)
S.CyclicSearch.cyclic_step = slow_step

s_t, e_t = tiny.templates()
S.run_search(tiny.config(search=%r, threads=1), search_template=s_t, eval_template=e_t, cells=tiny.cells(),
             data=tiny.data(), run_dir=sys.argv[1], progress=False)
""" % (SEARCH,)


def _search(run_dir: Path, resume: bool = False):
    s_t, e_t = tiny.templates()
    # one thread, as the child: the same seed gives the same numbers only at the same thread
    # count (a reduction split over two threads rounds differently, and α now moves enough
    # for that to change an argmax)
    return run_search(tiny.config(search=SEARCH, threads=1), search_template=s_t, eval_template=e_t, cells=tiny.cells(),
                      data=tiny.data(), run_dir=run_dir, resume=resume, progress=False)


def _history(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "genotypes.jsonl").read_text().splitlines()]
    return [{"epoch": r["epoch"], "cells": r["cells"]} for r in rows]


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_killed_search_resumes_to_the_same_genotypes(tmp_path):
    killed = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(killed), str(Path(__file__).parent)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # wait for the checkpoint of the first search epoch, then kill inside the next epoch
        def first_search_epoch_saved() -> bool:
            ckpt = killed / "checkpoint.pt"
            return ckpt.exists() and (killed / "genotypes.jsonl").exists()
        assert _wait_for(first_search_epoch_saved, 120), child.stderr.read().decode() if child.poll() else "timeout"
        time.sleep(0.3)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert not (killed / "genotype.geno").exists(), "the child finished before it was killed"
    state = load_checkpoint(killed / "checkpoint.pt")
    assert 1 <= state["next_epoch"] < 1 + SEARCH["epochs"]

    resumed = _search(killed, resume=True)
    reference = _search(tmp_path / "reference")

    assert _history(killed) == _history(tmp_path / "reference")
    assert (killed / "genotypes.geno").read_text() == (tmp_path / "reference" / "genotypes.geno").read_text()
    assert resumed.genotype.cells == reference.genotype.cells
    a = load_checkpoint(killed / "checkpoint.pt")["alpha"]
    b = load_checkpoint(tmp_path / "reference" / "checkpoint.pt")["alpha"]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    epochs = [r["epoch"] for r in resumed.metrics if r["phase"] != "final"]
    assert epochs == list(range(1 + SEARCH["epochs"])), "a repeated epoch must not be logged twice"


@pytest.mark.parametrize("algorithm", ["icdarts", "cdarts"])
def test_state_dict_round_trip_continues_identically(algorithm):
    """In-process: stop after two epochs, restore into a fresh searcher, finish; compare (also
    for Cream's step, whose gradients accumulate within an epoch)."""
    s_t, e_t = tiny.templates()
    make = lambda: CyclicSearch(tiny.config(search=SEARCH, algorithm={"name": algorithm}), search_template=s_t,
                                eval_template=e_t, cells=tiny.cells("idarts", "V2"), data=tiny.data())
    whole = make()
    full = whole.run()
    full_alpha = [a.detach().clone() for a in whole.alpha]
    first = make()
    first.total_epochs = 2
    first.run()
    state = first.state_dict()
    second = make()
    second.load_state_dict(state)
    rest = second.run()
    assert [g.cells for g in rest.history] == [g.cells for g in full.history]
    assert rest.genotype.cells == full.genotype.cells
    assert all(torch.equal(a, b) for a, b in zip(second.alpha, full_alpha))
