"""Throughput of the runtime's two hot loops, at configurable sizes.

* search: the full ICDARTS cyclic step (α step on a val batch, w_S and w_E steps on a train
  batch, E regenerated from α), in images/s = batch / step time (one train + one val batch
  per step, as the CDARTS reference figures in performance.md count them);
* retrain: one SGD step of the retraining network (aux head, drop path), images/s.

Example (CPU, the performance.md b16 reference point):

    python bench/bench_runtime.py --batch 16 --threads 2 --channels-last

The memory format is the config's default (channels-last on CPU) unless --channels-last /
--no-channels-last is given; --memory chooses the supernet's plain or recompute path.
--json writes the figures (step times, peak RSS, ATen ops per step with --count-ops) for
bench/bench_step.py, which compares them with the reference CDARTS step.

Networks come from specs/icdarts/cifar10.geno (search_net 8 cells C16, eval_net 20 cells C16,
retrain_net 20 cells C36) with DARTS_V2 (zoo) for retraining; --channels/--cells shrink them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import threading
import time
from pathlib import Path

import torch

import genolang
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.runtime.search.loop import CyclicSearch, SearchData, resolve_device
from genolang.runtime.retrain.loop import Retrainer

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


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class PeakRSS:
    """The peak resident memory while the block runs, sampled every 5 ms (``ru_maxrss`` would
    include the build)."""

    def __enter__(self):
        self.peak = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mib())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


def count_aten_ops(fn) -> int:
    """ATen ops dispatched by one call of ``fn`` (about the kernel launches; the same count
    as the reference harness's census, so the two compare)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    with Count():
        fn()
    return Count.n


def parts(settings: list[str]) -> dict:
    """``KEY=VALUE`` settings of the algorithm block (``order=1``): numbers as numbers."""
    out = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item}: expected KEY=VALUE (e.g. order=1)")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def saved_mib(net, x) -> float:
    """MiB the autograd graph of one forward of ``net`` keeps for its backward (each storage once):
    the activation memory of the step, whatever else the process holds or the machine runs."""
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = net(x)
    del out
    return sum(seen.values()) / 2 ** 20


def build_search(args, program, device):
    """The search of ``--algorithm`` (parts ``--set``) on random data, its networks in train mode."""
    t_s = _resize(program.templates["search_net"], args.channels, args.size)
    t_e = _resize(program.templates["eval_net"], args.channels, args.size)
    cells = {n: program.cells[n] for n in ("normal", "reduce")}
    c, h, w = t_s.input_shape
    n = args.batch
    data = SearchData(torch.randn(n, c, h, w), torch.randint(0, t_s.classes, (n,)),
                      torch.randn(n, c, h, w), torch.randint(0, t_s.classes, (n,)))
    search_cfg = {"batch": n} | ({"memory": args.memory} if args.memory else {})
    algorithm = ({"name": args.algorithm} if args.algorithm else {"route": args.route}) | parts(args.set)
    config = ExperimentConfig.model_validate({"search": search_cfg, "channels_last": args.channels_last,
                                              "algorithm": algorithm})
    search = CyclicSearch(config, search_template=t_s, eval_template=t_e, cells=cells, data=data, device=device)
    if search.update != "darts":      # the darts update has no evaluation network
        search.regenerate_eval_net(config.search.e_lr)
        search.eval_net.train()
    search.search_net.train()
    return search, config, t_s


def bench_saved(args, program, device) -> dict:
    search, _, t_s = build_search(args, program, device)
    mib = saved_mib(search.search_net, search.data.train_x)
    label = " ".join([args.algorithm or args.route] + args.set)
    print(f"search net forward ({label}) b{args.batch} C{t_s.channels}: {mib:.0f} MiB saved for the backward")
    return {"saved_mib_search_forward": mib, "batch": args.batch}


def bench_search(args, program, device) -> dict:
    search, config, t_s = build_search(args, program, device)
    n = args.batch
    c, h, w = t_s.input_shape
    from genolang.runtime.runs.meter import Meter
    meter = Meter()
    d = search.data
    step = lambda: search.cyclic_step(d.train_x, d.train_y, d.val_x, d.val_y, meter)
    with PeakRSS() as rss:
        times = _time(step, args.steps, args.warmup, device)
    med = statistics.median(times)
    label = " ".join([args.algorithm or args.route] + args.set)
    print(f"search  cyclic step ({label}, memory {config.search.memory}) b{n} C{t_s.channels} {h}x{w}: "
          f"median {med:.3f} s/step (min {min(times):.3f}), {n / med:.1f} img/s, "
          f"cpu {statistics.median(_time.cpu):.3f} s/step, peak RSS {rss.peak:.0f} MiB")
    result = {"step_s_median": med, "step_s": times, "cpu_s": _time.cpu, "memory": config.search.memory,
              "channels_last": search.channels_last, "batch": n,
              "peak_rss_mib_during_steps": rss.peak,
              "peak_rss_mib_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if args.count_ops:
        result["aten_ops_per_step"] = count_aten_ops(step)
        print(f"search  cyclic step: {result['aten_ops_per_step']} ATen ops per step")
    return result


def _darts_v2(program):
    """DARTS_V2 from the zoo, or a fixed random genotype of the spec's cells if the zoo
    cannot be loaded."""
    try:
        zoo = genolang.load(ROOT / "specs" / "zoo" / "darts_v2.geno")
        return next(iter(zoo.genotypes.values()))
    except Exception:
        from genolang.compiler.genotype.sample import sample_genotype
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
    parser.add_argument("--what", choices=["search", "retrain", "both", "saved"], default="both",
                        help="saved: only the MiB one search-net forward keeps for its backward")
    parser.add_argument("--batch", type=int, default=16, help="search batch (train and val each)")
    parser.add_argument("--retrain-batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=None, help="search/eval C (default: spec, 16)")
    parser.add_argument("--retrain-channels", type=int, default=None, help="retrain C (default: spec, 36)")
    parser.add_argument("--size", type=int, default=None, help="input resolution (default 32)")
    parser.add_argument("--route", default="icdarts")
    parser.add_argument("--algorithm", default=None, help="a preset (darts, pcdarts, gdas, ...): its step instead")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an algorithm part over the preset's (e.g. --algorithm darts --set order=1)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="memory format (default: the config's, channels-last on CPU)")
    parser.add_argument("--memory", choices=["plain", "recompute"], default=None,
                        help="the supernet's search.memory (default: the config's)")
    parser.add_argument("--count-ops", action="store_true", help="also count the ATen ops of one search step")
    parser.add_argument("--json", default=None, help="write the search figures to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    program = genolang.load(ROOT / "specs" / "icdarts" / "cifar10.geno")
    layout = {None: "default layout", True: "channels_last", False: "NCHW"}[args.channels_last]
    print(f"torch {torch.__version__}, {device}, threads {torch.get_num_threads()}, {layout}")
    if args.what == "saved":
        result = bench_saved(args, program, device)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
    if args.what in ("search", "both"):
        result = bench_search(args, program, device)
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1))
    if args.what in ("retrain", "both"):
        bench_retrain(args, program, device)


if __name__ == "__main__":
    main()
