"""Speed and memory of the compiled networks: one forward + backward per step.

* search: the ICDARTS search supernet (8 cells, C=16, 32x32, DARTS space V1, distill heads
  after both reduction cells), batch 64, loss on the final logits and the ensemble;
* retrain: DARTS_V2 on the CIFAR retraining template (20 cells, C=36, auxiliary head after
  cell 13, drop path 0.2), batch 96, loss = CE + 0.4 CE(aux).

Prints the median step time after warm-up, images/s and peak memory (CUDA: the allocator's
peak; CPU: the growth of the process's peak resident set, reset before each network via
/proc/self/clear_refs where Linux allows it).

    python bench/bench_compiler.py [--device cpu|cuda] [--bf16] [--channels-last] [--steps N]
                                   [--batch N | --search-batch N --retrain-batch N]

The IR comes from tests/compiler/irfix.py (the same objects the spec files lower to).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "compiler"))
import irfix  # noqa: E402

from genolang.compiler.build import EvalNetwork, SearchNetwork  # noqa: E402


def _rss_peak_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak(device: torch.device) -> int:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device)
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")       # resets VmHWM to the current RSS
    return _rss_peak_bytes()


def _peak(device: torch.device, baseline: int) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) - baseline
    return _rss_peak_bytes() - baseline


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(name: str, net: torch.nn.Module, batch: int, args, device: torch.device) -> None:
    baseline = _reset_peak(device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    net = net.to(device).train()
    if args.channels_last:
        net.use_channels_last()
    shape = net.plan.template.input_shape
    x = torch.randn(batch, *shape, device=device).to(memory_format=memory_format)
    y = torch.randint(0, net.plan.template.classes, (batch,), device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if args.bf16 else contextlib.nullcontext()

    def step() -> None:
        with autocast:
            out = net(x)
            loss = F.cross_entropy(out.logits, y)
            if out.ensemble is not out.logits:
                loss = loss + out.ensemble.float().logsumexp(1).mean()
            if out.aux is not None:
                loss = loss + 0.4 * F.cross_entropy(out.aux, y)
        net.zero_grad(set_to_none=True)
        loss.backward()

    for _ in range(args.warmup):
        step()
    _sync(device)
    times, cpu_times = [], []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    median = statistics.median(times)
    peak = _peak(device, baseline)
    # CPU seconds per step is the figure to trust on a shared machine, where wall time
    # includes the time other processes hold the cores.
    print(f"{name:<8} batch {batch:>3}  {median * 1000:9.1f} ms/step  {batch / median:8.1f} img/s  "
          f"cpu {statistics.median(cpu_times):7.2f} s/step  peak {peak / 2**20:8.1f} MiB  "
          f"(median of {args.steps}, {args.warmup} warm-up)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--bf16", action="store_true", help="autocast to bfloat16")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, help="batch size of both networks")
    parser.add_argument("--search-batch", type=int, default=64)
    parser.add_argument("--retrain-batch", type=int, default=96)
    parser.add_argument("--threads", type=int, help="torch intra-op threads (CPU)")
    parser.add_argument("--only", choices=["search", "retrain"])
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if not args.quiet:
        print(f"device {device}  torch {torch.__version__}  threads {torch.get_num_threads()}  "
              f"bf16 {args.bf16}  channels_last {args.channels_last}")
    if args.only is None:
        # One process per network, so each starts from a clean allocator and its peak
        # memory is its own (a freed CPU heap is not returned to the OS).
        forwarded = list(argv if argv is not None else sys.argv[1:])
        for name in ("search", "retrain"):
            subprocess.run([sys.executable, __file__, *forwarded, "--only", name, "--quiet"], check=True)
        return
    if args.only == "search":
        net = SearchNetwork(irfix.search_template(), irfix.darts_cells(), generator=torch.Generator().manual_seed(0))
        run("search", net, args.batch or args.search_batch, args, device)
    if args.only == "retrain":
        net = EvalNetwork(irfix.retrain_template(drop_path=0.2), irfix.darts_v2())
        run("retrain", net, args.batch or args.retrain_batch, args, device)


if __name__ == "__main__":
    main()
