"""GPU check (issue 10, item 4): our cyclic step and the retraining step on one device, with
the projected time of a full CIFAR-10 ICDARTS search. Run through ``bench/gpu_check.sh``.

Rows: the cyclic step at b64 and b256, fp32 and bf16 autocast, CUDA graphs off and on (the
α step on a val batch, w_S and w_E on a train batch; img/s counts the train batch, as the
reference figures do); the retraining step of DARTS V2, 20 cells C36 at b128; then the
search's own pre-training and warm-up steps, which the projection needs. Each row prints
img/s and the peak GPU memory of that row (``torch.cuda.max_memory_allocated``).

Projection of a full search (specs/icdarts/cifar10.geno: 2 pre-training epochs, 30 search
epochs each with a one-epoch warm-up of E; 25k train and 25k val images; E tested on the
10k test images every epoch), from the measured step times at batch B::

    n = floor(25000 / B)                                       steps per epoch
    T = 2·n·t_pretrain + 30·(n·t_warmup + n·t_cyclic + (10000 / 256)·t_test)

``--tiny`` takes 3-cell networks of 2-node cells at C4 (``TINY``), batches 4 and 8, so that
``--device cpu --tiny`` runs in seconds: the suite runs it (tests/cli/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

import genolang
from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.runtime.data import Dataset
from genolang.runtime.runs.finite import NonFiniteError
from genolang.runtime.search.graphed_step import WARMUP, GraphedStep
from genolang.runtime.runs.meter import Meter
from genolang.runtime.retrain.loop import Retrainer
from genolang.runtime.search.loop import CyclicSearch, SearchData

ROOT = Path(__file__).resolve().parents[1]
TRAIN_IMAGES = VAL_IMAGES = 25_000
TEST_IMAGES, TEST_BATCH = 10_000, 256
PRETRAIN_EPOCHS, SEARCH_EPOCHS = 2, 30


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def seconds_per_call(fn, steps: int, warmup: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    sync(device)
    return (time.perf_counter() - start) / steps


# --tiny: cells of 2 nodes in 3-cell networks, small enough for a CI check of every row in
# seconds on one CPU thread (the supernet's op count, not the batch, sets a CPU step's time).
TINY = """use "spaces.geno"
cell normal { nodes 2  edges from darts  select darts top 2 }
cell reduce like normal { reduction }
network search_net { input 3x16x16  classes 10  channels 4  stem conv(k=3, out=3 * C) >> bn
                     cells 3 reduce at 1  heads distill after 1 }
network eval_net { input 3x16x16  classes 10  channels 4  stem conv(k=3, out=3 * C) >> bn
                   cells 3 reduce at 1  heads distill after 1 }
network retrain_net { input 3x16x16  classes 10  channels 4  stem conv(k=3, out=3 * C) >> bn
                      cells 3 reduce at 1  heads none  aux after 1 }
genotype tiny {
  space darts
  cell normal { n0 = sep_conv_3(c0) + skip(c1)  n1 = dil_conv_3(n0) + max_pool_3(c0) }
  cell reduce { reduction  n0 = max_pool_3(c0) + sep_conv_5(c1)  n1 = skip(n0) + avg_pool_3(c1) }
}
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.device = torch.device(args.device)
        self.program = (genolang.loads(TINY, str(ROOT / "bench" / "tiny.geno")) if args.tiny
                        else genolang.load(ROOT / "specs" / "icdarts" / "cifar10.geno"))
        self.cells = {n: self.program.cells[n] for n in ("normal", "reduce")}
        self.rows: list[tuple[str, str, str, str]] = []
        self.times: dict[tuple, float] = {}
        self.start = time.perf_counter()

    def guarded(self, method: str) -> None:
        """A row whose losses stop being finite reports it and the check goes on."""
        inner = getattr(self, method)

        def run(batch, *options):
            try:
                inner(batch, *options)
            except NonFiniteError as exc:
                self.row(f"{method} b{batch} {' '.join(options)}", batch, None, f"diverged: {exc.what}")

        setattr(self, method, run)

    def over_budget(self) -> bool:
        return time.perf_counter() - self.start > self.args.budget

    def row(self, name: str, batch: int, seconds: float | None, note: str = "") -> None:
        rate = f"{batch / seconds:,.0f}" if seconds else "-"
        memory = peak_gib(self.device)
        self.rows.append((name, rate, "-" if memory is None or seconds is None else f"{memory:.2f}", note))
        log(f"  {name}: {rate} img/s {note}")

    # ------------------------------------------------------------------------------ search
    def searcher(self, batch: int, autocast: str, graphs: str, steps: int) -> CyclicSearch:
        t_s, t_e = self.program.templates["search_net"], self.program.templates["eval_net"]
        c, h, w = t_s.input_shape
        n = batch * steps
        g = torch.Generator().manual_seed(0)
        data = SearchData(torch.randn(n, c, h, w, generator=g), torch.randint(0, 10, (n,), generator=g),
                          torch.randn(n, c, h, w, generator=g), torch.randint(0, 10, (n,), generator=g),
                          torch.randn(min(n, TEST_BATCH), c, h, w, generator=g),
                          torch.randint(0, 10, (min(n, TEST_BATCH),), generator=g))
        config = ExperimentConfig.model_validate({
            "search": {"batch": batch, "autocast": autocast, "cuda_graphs": graphs, "steps_per_epoch": steps,
                       "augment": False},
            "device": str(self.device)})
        s = CyclicSearch(config, search_template=t_s, eval_template=t_e, cells=self.cells, data=data,
                         device=self.device)
        s.regenerate_eval_net(config.search.e_lr)
        s.search_net.train()
        s.eval_net.train()
        return s

    def cyclic(self, batch: int, autocast: str, graphs: str) -> None:
        name = f"search b{batch} {'bf16' if autocast == 'bf16' else 'fp32'} graphs {graphs}"
        if graphs == "on" and self.device.type != "cuda":
            return self.row(name, batch, None, "skipped: CUDA graphs need a CUDA device")
        if self.over_budget():
            return self.row(name, batch, None, "skipped: time budget spent")
        reset_peak(self.device)
        s = self.searcher(batch, autocast, graphs, 1)
        d, meter = s.data, Meter()
        step = GraphedStep(s.cyclic_step) if graphs == "on" else s.cyclic_step
        warmup = max(self.args.warmup, WARMUP + 1) if graphs == "on" else self.args.warmup  # eager steps, capture
        seconds = seconds_per_call(lambda: step(d.train_x, d.train_y, d.val_x, d.val_y, meter),
                                   self.args.steps, warmup, self.device)
        meter.means()                                   # one read of the losses: finite or raise
        self.times[("cyclic", batch, autocast, graphs)] = seconds
        self.row(name, batch, seconds)

    def loops(self, batch: int, autocast: str) -> None:
        """The pre-training and warm-up steps and E's test pass, which the projection needs."""
        tag = "bf16" if autocast == "bf16" else "fp32"
        if self.over_budget():
            return self.row(f"pretrain+warmup b{batch} {tag}", batch, None, "skipped: time budget spent")
        k = max(1, self.args.steps // 2)
        s = self.searcher(batch, autocast, "off", k)
        reset_peak(self.device)
        t_pre = seconds_per_call(lambda: s.pretrain_epoch(0), 1, 1, self.device) / k
        self.row(f"pretrain step b{batch} {tag}", batch, t_pre)
        reset_peak(self.device)
        t_warm = seconds_per_call(lambda: s.warmup_eval(2), 1, 1, self.device) / k
        self.row(f"warmup step b{batch} {tag}", batch, t_warm)
        n_test = len(s.data.test_y)
        t_test = seconds_per_call(lambda: s.test_accuracy(s.eval_net), 1, 1, self.device) * TEST_BATCH / n_test
        self.times.update({("pretrain", batch, autocast): t_pre, ("warmup", batch, autocast): t_warm,
                           ("test", autocast): t_test})

    # ------------------------------------------------------------------------------ retrain
    def retrain(self, autocast: str = "off") -> None:
        batch = 8 if self.args.tiny else 128
        template = self.program.templates["retrain_net"]
        name = f"retrain b{batch} C{template.channels} {template.input_shape[1]}x{template.input_shape[2]} " \
               f"{'tiny genotype' if self.args.tiny else 'DARTS_V2'} fp32"
        if self.over_budget():
            return self.row(name, batch, None, "skipped: time budget spent")
        genotype = (self.program.genotypes["tiny"] if self.args.tiny else
                    next(iter(genolang.load(ROOT / "specs" / "zoo" / "darts_v2.geno").genotypes.values())))
        c, h, w = template.input_shape
        k = self.args.steps
        g = torch.Generator().manual_seed(0)
        ds = Dataset(train_x=torch.randint(0, 256, (batch * k, c, h, w), dtype=torch.uint8, generator=g),
                     train_y=torch.randint(0, 10, (batch * k,), generator=g),
                     test_x=torch.zeros(2, c, h, w, dtype=torch.uint8), test_y=torch.zeros(2, dtype=torch.long),
                     classes=tuple(str(i) for i in range(10)), mean=(0.5,) * c, std=(0.25,) * c,
                     name="synthetic", channels=c, size=h)
        config = ExperimentConfig.model_validate({"retrain": {"epochs": 10, "batch": batch, "latency_batches": 0,
                                                              "steps_per_epoch": k}, "device": str(self.device)})
        trainer = Retrainer(config, template=template, genotype=genotype, dataset=ds, device=self.device)
        reset_peak(self.device)
        self.row(name, batch, seconds_per_call(lambda: trainer.train_epoch(5), 1, 1, self.device) / k)

    # ------------------------------------------------------------------------------ checks
    def sync_free(self) -> str:
        """Whether one cyclic step runs with torch's sync debug mode set to error (CUDA only)."""
        if self.device.type != "cuda":
            return "not checked (torch.cuda.set_sync_debug_mode needs CUDA; tests/runtime/" \
                   "test_step_sync_free.py checks it on the CPU)"
        s = self.searcher(8 if self.args.tiny else 64, "off", "off", 1)
        d, meter = s.data, Meter(eager=False)
        s.cyclic_step(d.train_x, d.train_y, d.val_x, d.val_y, meter)        # lazy inits outside the check
        torch.cuda.set_sync_debug_mode("error")
        try:
            s.cyclic_step(d.train_x, d.train_y, d.val_x, d.val_y, meter)
            return "none"
        except RuntimeError as exc:
            return f"SYNCS: {str(exc).splitlines()[0]}"
        finally:
            torch.cuda.set_sync_debug_mode("default")

    def projection(self, batch: int, autocast: str, graphs: str) -> str | None:
        keys = [("cyclic", batch, autocast, graphs), ("pretrain", batch, autocast), ("warmup", batch, autocast),
                ("test", autocast)]
        if any(k not in self.times for k in keys):
            return None
        t_cyc, t_pre, t_warm, t_test = (self.times[k] for k in keys)
        n = TRAIN_IMAGES // batch
        total = PRETRAIN_EPOCHS * n * t_pre + SEARCH_EPOCHS * (n * t_warm + n * t_cyc
                                                                + TEST_IMAGES / TEST_BATCH * t_test)
        return f"{total / 60:,.1f} min"


def table(rows) -> str:
    head = ("row", "img/s", "peak GiB", "note")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny networks and batches (CI, CPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per row (default 20; tiny 2)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5; tiny 1)")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds; later rows are skipped past it")
    args = parser.parse_args()
    args.steps = args.steps or (1 if args.tiny else 20)
    args.warmup = args.warmup or (1 if args.tiny else 5)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: CUDA is not available here; run with --device cpu --tiny for the CPU check")
    bench = Bench(args)
    bench.guarded("cyclic")
    bench.guarded("loops")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    log(f"gpu_check on {name}, torch {torch.__version__}, {args.steps} timed steps per row")
    batches = (4, 8) if args.tiny else (64, 256)
    for batch in batches:
        for autocast in ("off", "bf16"):
            for graphs in ("off", "on"):
                bench.cyclic(batch, autocast, graphs)
    bench.retrain()
    for autocast in ("off", "bf16"):
        bench.loops(batches[0], autocast)
    print(f"device: {name}")
    print(table(bench.rows))
    print(f"host syncs inside the cyclic step: {bench.sync_free()}")
    b = batches[0]
    print(f"projected full CIFAR-10 ICDARTS search at b{b} (2 pre-training + 30 epochs, each with a warm-up epoch;"
          f" 25k train + 25k val; T = 2·n·t_pretrain + 30·(n·t_warmup + n·t_cyclic + 10000/256·t_test),"
          f" n = floor(25000/{b})):")
    for autocast in ("off", "bf16"):
        for graphs in ("off", "on"):
            projected = bench.projection(b, autocast, graphs)
            label = f"{'bf16' if autocast == 'bf16' else 'fp32'} graphs {graphs}"
            print(f"  {label}: {projected or 'not measured'}")
    print(f"target: <= 30 min on an H200; took {time.perf_counter() - bench.start:.0f} s")


if __name__ == "__main__":
    main()
