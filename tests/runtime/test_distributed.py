"""Two CPU ranks (gloo): batches sharded, gradients averaged, α identical, rank 0 writes alone."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import tiny  # noqa: E402


def _rank_main(rank: int, size: int, port: int, out: str) -> None:
    import os

    import torch.distributed as dist

    sys.path.insert(0, str(Path(__file__).parent))
    from genolang.runtime.distributed import world
    from genolang.runtime.rundir import RunDir
    from genolang.runtime.search import CyclicSearch

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    try:
        assert world() == (rank, size)
        s_t, e_t = tiny.templates()
        search = CyclicSearch(tiny.config(search={"epochs": 1, "test_every": 0}), search_template=s_t,
                              eval_template=e_t, cells=tiny.cells(), data=tiny.data(),
                              run_dir=RunDir(Path(out) / "run"))
        result = search.run()
        torch.save({"alpha": [a.detach() for a in search.alpha], "cells": result.genotype.cells,
                    "batch": len(search._batches("train", 0, 1)[0])}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_ranks_keep_alpha_identical(tmp_path):
    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mp.spawn(_rank_main, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["batch"] == r1["batch"] == 8                 # a global batch of 16, halved
    assert all(torch.equal(a, b) for a, b in zip(r0["alpha"], r1["alpha"]))
    assert r0["cells"] == r1["cells"]
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 3   # not 6
