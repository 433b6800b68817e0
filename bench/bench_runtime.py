"""Throughput of the runtime's two hot loops, at configurable sizes.

* search: the full ICDARTS cyclic step (α step on a val batch, w_S and w_E steps on a train
  batch, E regenerated from α), in images/s = batch / step time (one train + one val batch
  per step, as the CDARTS reference figures in performance.md count them);
* retrain: one SGD step of the retraining network (aux head, drop path), images/s.

Example (CPU, the performance.md b16 reference point):

    python bench/bench_runtime.py --batch 16 --threads 2 --channels-last

The memory format is the config's default (channels-last on CPU) unless --channels-last /
--no-channels-last is given.

Networks come from specs/icdarts/cifar10.geno (search_net 8 cells C16, eval_net 20 cells C16,
retrain_net 20 cells C36) with DARTS_V2 (zoo) for retraining; --channels/--cells shrink them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch

import genolang
from genolang.compiler.experiment import ExperimentConfig
from genolang.runtime.search import CyclicSearch, SearchData, resolve_device
from genolang.runtime.retrain import Retrainer

ROOT = Path(__file__).resolve().parents[1]


def _resize(template, channels: int | None, size: int | None):
    changes = {}
    if channels:
        changes["channels"] = channels
    if size:
        changes["input_shape"] = (template.input_shape[0], size, size)
    return dataclasses.replace(template, **changes) if changes else template


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, steps: int, warmup: int, device: torch.device) -> list[float]:
    """Wall seconds per step; the CPU seconds per step go to ``_time.cpu`` (the figure to
    trust on a shared machine, where wall time includes other processes' turns)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times, cpu = [], []
    for _ in range(steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    _time.cpu = cpu
    return times


def bench_search(args, program, device) -> None:
    t_s = _resize(program.templates["search_net"], args.channels, args.size)
    t_e = _resize(program.templates["eval_net"], args.channels, args.size)
    cells = {n: program.cells[n] for n in ("normal", "reduce")}
    c, h, w = t_s.input_shape
    n = args.batch
    data = SearchData(torch.randn(n, c, h, w), torch.randint(0, t_s.classes, (n,)),
                      torch.randn(n, c, h, w), torch.randint(0, t_s.classes, (n,)))
    config = ExperimentConfig.model_validate({"search": {"batch": n}, "channels_last": args.channels_last,
                                              "algorithm": {"route": args.route}})
    search = CyclicSearch(config, search_template=t_s, eval_template=t_e, cells=cells, data=data, device=device)
    search.regenerate_eval_net(config.search.e_lr)
    search.search_net.train()
    search.eval_net.train()
    from genolang.runtime.meter import Meter
    meter = Meter()
    d = search.data
    times = _time(lambda: search.cyclic_step(d.train_x, d.train_y, d.val_x, d.val_y, meter),
                  args.steps, args.warmup, device)
    med = statistics.median(times)
    print(f"search  cyclic step ({args.route}) b{n} C{t_s.channels} {h}x{w}: median {med:.3f} s/step "
          f"(min {min(times):.3f}), {n / med:.1f} img/s, cpu {statistics.median(_time.cpu):.3f} s/step")


def _darts_v2(program):
    """DARTS_V2 from the zoo, or a fixed random genotype of the spec's cells if the zoo
    cannot be loaded."""
    try:
        zoo = genolang.load(ROOT / "specs" / "zoo" / "darts_v2.geno")
        return next(iter(zoo.genotypes.values()))
    except Exception:
        from genolang.runtime.sample import sample_genotype
        return sample_genotype({n: program.cells[n] for n in ("normal", "reduce")}, seed=0)


def bench_retrain(args, program, device) -> None:
    genotype = _darts_v2(program)
    template = _resize(program.templates["retrain_net"], args.retrain_channels, args.size)
    c, h, w = template.input_shape
    n = args.retrain_batch
    from genolang.runtime.data import Dataset
    ds = Dataset(train_x=torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8),
                 train_y=torch.randint(0, template.classes, (n,)),
                 test_x=torch.randint(0, 256, (2, c, h, w), dtype=torch.uint8), test_y=torch.zeros(2, dtype=torch.long),
                 classes=tuple(str(i) for i in range(template.classes)), mean=(0.5,) * c, std=(0.25,) * c,
                 name="synthetic", channels=c, size=h)
    config = ExperimentConfig.model_validate({"retrain": {"epochs": 10, "batch": n, "latency_batches": 0},
                                              "channels_last": args.channels_last})
    trainer = Retrainer(config, template=template, genotype=genotype, dataset=ds, device=device)
    times = _time(lambda: trainer.train_epoch(5), args.steps, args.warmup, device)
    med = statistics.median(times)
    print(f"retrain step b{n} C{template.channels} {h}x{w}: median {med:.3f} s/step "
          f"(min {min(times):.3f}), {n / med:.1f} img/s, cpu {statistics.median(_time.cpu):.3f} s/step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", choices=["search", "retrain", "both"], default="both")
    parser.add_argument("--batch", type=int, default=16, help="search batch (train and val each)")
    parser.add_argument("--retrain-batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=None, help="search/eval C (default: spec, 16)")
    parser.add_argument("--retrain-channels", type=int, default=None, help="retrain C (default: spec, 36)")
    parser.add_argument("--size", type=int, default=None, help="input resolution (default 32)")
    parser.add_argument("--route", default="icdarts")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="memory format (default: the config's, channels-last on CPU)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    program = genolang.load(ROOT / "specs" / "icdarts" / "cifar10.geno")
    layout = {None: "default layout", True: "channels_last", False: "NCHW"}[args.channels_last]
    print(f"torch {torch.__version__}, {device}, threads {torch.get_num_threads()}, {layout}")
    if args.what in ("search", "both"):
        bench_search(args, program, device)
    if args.what in ("retrain", "both"):
        bench_retrain(args, program, device)


if __name__ == "__main__":
    main()
