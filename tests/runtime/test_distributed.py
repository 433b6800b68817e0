"""Two CPU ranks (gloo): batches sharded, gradients averaged, α identical, rank 0 writes alone."""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path

import torch

import tiny


@contextlib.contextmanager
def _gloo_rank(rank: int, size: int, port: int):
    """This spawned process as rank ``rank`` of a gloo group on 127.0.0.1:``port``, one thread."""
    import os

    import torch.distributed as dist

    sys.path.insert(0, str(Path(__file__).parent))
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _spawn_two(main, out) -> None:
    """Run ``main(rank, 2, port, out)`` in two processes on a free port."""
    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(main, args=(2, port, str(out)), nprocs=2, join=True)


def _rank_main(rank: int, size: int, port: int, out: str) -> None:
    from genolang.runtime.search.distributed import world
    from genolang.runtime.runs.rundir import RunDir
    from genolang.runtime.search.loop import CyclicSearch

    with _gloo_rank(rank, size, port):
        assert world() == (rank, size)
        s_t, e_t = tiny.templates()
        search = CyclicSearch(tiny.config(search={"epochs": 1, "test_every": 0}), search_template=s_t,
                              eval_template=e_t, cells=tiny.cells(), data=tiny.data(),
                              run_dir=RunDir(Path(out) / "run"))
        result = search.run()
        torch.save({"alpha": [a.detach() for a in search.alpha], "cells": result.genotype.cells,
                    "batch": len(search._batches("train", 0, 1)[0])}, Path(out) / f"rank{rank}.pt")


def test_two_ranks_keep_alpha_identical(tmp_path):
    _spawn_two(_rank_main, tmp_path)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["batch"] == r1["batch"] == 8                 # a global batch of 16, halved
    assert all(torch.equal(a, b) for a, b in zip(r0["alpha"], r1["alpha"]))
    assert r0["cells"] == r1["cells"]
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 3   # not 6


def _retrain_rank_main(rank: int, size: int, port: int, out: str) -> None:
    import dataclasses

    from genolang.runtime.data import Dataset
    from genolang.runtime.search.distributed import shard
    from genolang.runtime.retrain.loop import Retrainer
    from genolang.runtime.runs.rundir import RunDir

    with _gloo_rank(rank, size, port):
        g = torch.Generator().manual_seed(0)
        data = Dataset(train_x=torch.randint(0, 256, (32, 3, 16, 16), generator=g, dtype=torch.uint8),
                       train_y=torch.randint(0, 10, (32,), generator=g),
                       test_x=torch.randint(0, 256, (8, 3, 16, 16), generator=g, dtype=torch.uint8),
                       test_y=torch.arange(8) % 10, classes=tuple(str(i) for i in range(10)), mean=(0.5,) * 3,
                       std=(0.25,) * 3, name="random", channels=3, size=16)
        template = tiny.irfix.tiny_template(cells=3, input_shape=(3, 16, 16), classes=10)
        config = tiny.config(retrain={"epochs": 2, "batch": 16, "cutout": 0, "latency_batches": 1})
        trainer = Retrainer(config, template=dataclasses.replace(template, name="tiny_retrain"),
                            genotype=tiny.irfix.darts_v2(), dataset=data, run_dir=RunDir(Path(out) / "retrain"))
        trainer.run()
        torch.save({"params": [p.detach() for p in trainer.params], "batch": len(shard(torch.arange(16)))},
                   Path(out) / f"retrain{rank}.pt")


def test_two_ranks_retrain_to_identical_weights(tmp_path):
    """The retraining's data parallelism: each rank half of every batch, gradients averaged,
    so the weights stay equal on both ranks; only rank 0 writes the run directory."""
    _spawn_two(_retrain_rank_main, tmp_path)
    r0, r1 = (torch.load(tmp_path / f"retrain{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["batch"] == r1["batch"] == 8
    assert all(torch.equal(a, b) for a, b in zip(r0["params"], r1["params"]))
    phases = [line for line in (tmp_path / "retrain" / "metrics.jsonl").read_text().splitlines()]
    assert len(phases) == 3                            # 2 epochs + final, once: not per rank
