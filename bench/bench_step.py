"""Our cyclic search step beside the official CDARTS step, in one run: s/step, img/s and peak
RSS at each batch and memory layout, interleaved A/B, each configuration in a fresh process.

    python bench/bench_step.py                      # b16 and b64, NCHW and channels-last, ~10 min
    python bench/bench_step.py --batches 2 --steps 1 --warmup 0 --ops         # ATen ops per step (any batch)
    python bench/bench_step.py --batches 4 --steps 2 --warmup 0 --threads 1   # a smoke run
    python bench/bench_step.py --algorithms icdarts darts darts:order=1 pcdarts gdas drnas beta_darts --memory plain

The reference is the official CDARTS code timed by the refbench harness
(``../shared/refbench``, with the Cream code beside it as its FETCH.md says), found at
``--ref`` or ``$GENOLANG_REFBENCH`` (default ``/work/ref/bench``); it runs there, outside
this project. Without it, ours is printed alone and the table says so.

Both sides run the same step on the same random data size (8-cell C16 supernet + 20-cell
evaluation network, b train + b val images): ``bench_cdarts.py --mode cyclic_step`` and
``bench_runtime.py --what search``. img/s = b / (s/step), on both sides. Peak RSS is the
process's ``ru_maxrss`` (the build included, on both sides). The order of the two alternates
from one configuration (and repeat) to the next, so a slow phase of a shared machine hits
both alike; the figures are medians over ``--repeats``. Each of our ``--memory`` modes
(``plain``: every activation saved; ``recompute``: mixed nodes recomputed in the backward)
is a row beside the same reference run, and so is each method preset of ``--algorithms``
(its own step: DARTS's for darts, pcdarts, gdas, drnas, beta_darts); a preset a setting
refuses (partial channels in channels-last on CPU, recompute with partial channels or GDAS)
is skipped with a note. ``darts`` is second order; ``darts:order=1`` sets a part over the preset
(``bench_runtime.py --set order=1``). With both ``pcdarts`` and a darts row, a line says what partial
channels buy (step time and peak RSS against the same update without them); ``--json`` keeps every run.

Targets (``docs`` / performance.md): ≥ 2x the reference's img/s in the same layout, at ≤ ½
its peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REF = "/work/ref/bench"
LAYOUTS = {"nchw": False, "cl": True}


def reference_dir(given: str | None) -> Path | None:
    """The refbench folder with the CDARTS code beside it, or None."""
    ref = Path(given or os.environ.get("GENOLANG_REFBENCH") or DEFAULT_REF)
    ok = (ref / "bench_cdarts.py").is_file() and (ref / "cdarts_ref" / "CDARTS").is_dir()
    return ref if ok else None


def _run(cmd: list[str], cwd: Path, threads: int, out_flag: str) -> dict:
    """Run one configuration in a fresh process; its figures come back as JSON."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        done = subprocess.run(cmd + [out_flag, str(out)], cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"{' '.join(cmd)} failed:\n  " + "\n  ".join(tail))
        return json.loads(out.read_text())


# (preset, layout or memory) pairs a preset refuses (compiler/lower/methods.py, runtime/search/methods.py)
REFUSED = {("pcdarts", "cl"), ("pcdarts", "recompute"), ("gdas", "recompute")}


PRESETS = ("icdarts", "cdarts", "darts", "pcdarts", "gdas", "drnas", "beta_darts")


def algorithm_arg(text: str) -> str:
    """A preset, or a preset with parts over it: ``darts:order=1`` (``,`` between parts)."""
    name, _, settings = text.partition(":")
    if name not in PRESETS:
        raise argparse.ArgumentTypeError(f"{name!r} is not a preset ({', '.join(PRESETS)})")
    if settings and not all("=" in item for item in settings.split(",")):
        raise argparse.ArgumentTypeError(f"{text!r}: parts are KEY=VALUE after the preset (darts:order=1)")
    return text


def ours(args, batch: int, channels_last: bool, memory: str, algorithm: str = "icdarts") -> dict:
    name, _, settings = algorithm.partition(":")
    sets = [f"--set={item}" for item in settings.split(",") if item]
    cmd = [sys.executable, str(ROOT / "bench" / "bench_runtime.py"), "--what", "search", "--batch", str(batch),
           "--algorithm", name, *sets,
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--memory", memory, "--channels-last" if channels_last else "--no-channels-last"]
    r = _run(cmd + (["--count-ops"] if args.ops else []), ROOT, args.threads, "--json")
    return _figures(args, r["step_s_median"], statistics.median(r["cpu_s"]), r["peak_rss_mib_process"],
                    r["peak_rss_mib_during_steps"], r.get("aten_ops_per_step"))


def reference(args, ref: Path, batch: int, channels_last: bool) -> dict:
    cmd = [sys.executable, str(ref / "bench_cdarts.py"), "--mode", "cyclic_step", "--batch", str(batch),
           "--warmup", str(args.warmup), "--iters", str(args.steps), "--threads", str(args.threads)]
    cmd += (["--channels_last"] if channels_last else []) + (["--census"] if args.ops else [])
    r = _run(cmd, ref, args.threads, "--out")
    if args.clock == "cpu" and "cpu_s_median" not in r:
        raise RuntimeError(f"{ref / 'benchlib.py'} does not report CPU seconds per step (cpu_s_median): "
                           "time_steps must record time.process_time() beside the wall time for --clock cpu")
    return _figures(args, r["step_s_median"], r.get("cpu_s_median"), r["peak_rss_mib_process"],
                    r.get("peak_rss_mib_during_steps"), r.get("census_aten_ops"))


def _figures(args, wall: float, cpu: float | None, rss: float, rss_steps: float | None, ops) -> dict:
    """One run's figures; ``s`` is the clock the table compares (wall, or CPU with --clock cpu)."""
    return {"s": cpu if args.clock == "cpu" else wall, "wall": wall, "cpu": cpu, "rss": rss,
            "rss_steps": rss_steps, "ops": ops}


def _done(runs: list[dict], run: dict, what: str) -> None:
    """Keep one run's figures and say so at once (a long matrix shows its progress)."""
    runs.append(run)
    cpu = f", cpu {run['cpu']:.2f} s/step" if run.get("cpu") is not None else ""
    print(f"  . {what}: wall {run['wall']:.2f} s/step{cpu}, peak RSS {run['rss']:.0f} MiB", flush=True)


def _run_jobs(jobs: list, n: int) -> None:
    """Run the configurations one after another, or ``n`` at a time (each its own process)."""
    if n <= 1:
        for job in jobs:
            job()
        return
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def _base(algorithm: str) -> str:
    return algorithm.partition(":")[0]


def _median(runs: list[dict]) -> dict:
    return {k: (statistics.median(r[k] for r in runs) if runs[0][k] is not None else None) for k in runs[0]}


def partial_channels(batch: int, layout: str, got: dict) -> None:
    """What PC-DARTS's partial channels buy: its step and peak RSS against DARTS's first-order
    step (the same update without them), when both ran."""
    pc = got.get(("pcdarts", "plain"))
    base = next((got[k] for k in (("darts:order=1", "plain"), ("darts", "plain")) if k in got), None)
    if pc is None or base is None:
        return
    which = "darts:order=1" if ("darts:order=1", "plain") in got else "darts (second order)"
    print(f"{batch:>5} {layout:>6} partial channels: pcdarts {pc['s'] / base['s']:.2f}x the step time and "
          f"{pc['rss'] / base['rss']:.0%} the peak RSS of {which} ({pc['rss']:.0f} vs {base['rss']:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=["nchw", "cl"])
    parser.add_argument("--memory", nargs="+", choices=["plain", "recompute"], default=["plain", "recompute"],
                        help="our supernet's search.memory modes to run (each beside the same reference)")
    parser.add_argument("--algorithms", nargs="+", default=["icdarts"], type=algorithm_arg,
                        help=f"method presets whose step to time (each a row beside the same reference): "
                             f"{', '.join(PRESETS)}, or one with parts set over it, e.g. darts:order=1 "
                             f"(the darts preset is second order)")
    parser.add_argument("--steps", type=int, default=2, help="timed steps per process (median)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="A/B repeats per configuration")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ops", action="store_true", help="also count ATen ops per step (one extra step)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="the s/step the table compares: wall time, or the process's CPU time per step "
                             "(one thread: robust to other work on a shared machine)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="configurations run at once (each its own process); > 1 needs --clock cpu")
    parser.add_argument("--json", default=None, help="also write every row (medians and each repeat) here")
    parser.add_argument("--ref", default=None, help=f"refbench folder (default $GENOLANG_REFBENCH or {DEFAULT_REF})")
    args = parser.parse_args()
    if args.jobs > 1 and args.clock != "cpu":
        parser.error("--jobs > 1 runs configurations side by side, so their wall times are not comparable: "
                     "add --clock cpu")
    ref = reference_dir(args.ref)
    if ref is None:
        print("reference: not available (no refbench with cdarts_ref/CDARTS at --ref, $GENOLANG_REFBENCH or "
              f"{DEFAULT_REF}); ours only")
    else:
        print(f"reference: official CDARTS cyclic_step via {ref}")
    print(f"threads {args.threads}, {args.warmup} warm-up + {args.steps} timed steps per process, "
          f"{args.repeats} A/B repeat(s), {args.jobs} at a time; s/step = {args.clock} seconds per step; "
          f"img/s = batch / (s/step); peak RSS = ru_maxrss of the process")
    header = f"{'batch':>5} {'layout':>6} {'ours':>20} | {'s/step':>7} {'img/s':>6} {'RSS MiB':>8} {'ops':>6} |" \
             f" {'ref s':>7} {'img/s':>6} {'RSS MiB':>8} {'ops':>6} | {'speed':>6} {'memory':>6}"
    print(header)
    turn = 0
    rows = []
    record: list[dict] = []
    for batch in args.batches:
        for layout in args.layouts:
            cl = LAYOUTS[layout]
            # one reference run per repeat, beside every memory mode of ours; the order
            # reverses from one repeat (and configuration) to the next
            rows_here = [(a, m) for a in args.algorithms for m in args.memory
                         if (_base(a), layout) not in REFUSED and (_base(a), m) not in REFUSED]
            for a, m in ((a, m) for a in args.algorithms for m in args.memory if (a, m) not in rows_here):
                print(f"{batch:>5} {layout:>6} {a + ' ' + m:>20} | refused by the preset's settings")
            mine: dict[tuple, list[dict]] = {row: [] for row in rows_here}
            theirs: list[dict] = []
            queue = []
            for _ in range(args.repeats):
                # the reference first (on a starved machine, the one run every row needs)
                jobs = [lambda: _done(theirs, reference(args, ref, batch, cl), "CDARTS reference")] if ref else []
                jobs += [lambda r=r: _done(mine[r], ours(args, batch, cl, r[1], r[0]), f"{r[0]} {r[1]}")
                         for r in rows_here]
                queue += jobs if turn % 2 == 0 else jobs[::-1]
                turn += 1
            _run_jobs(queue, args.jobs)
            b = _median(theirs) if theirs else None
            for (algorithm, memory) in rows_here:
                a = _median(mine[(algorithm, memory)])
                line = f"{batch:>5} {layout:>6} {algorithm + ' ' + memory:>20} | {a['s']:>7.3f} {batch / a['s']:>6.1f} " \
                       f"{a['rss']:>8.0f} {a['ops'] or '-':>6} |"
                if b is not None:
                    speed, mem = b["s"] / a["s"], a["rss"] / b["rss"]
                    line += f" {b['s']:>7.3f} {batch / b['s']:>6.1f} {b['rss']:>8.0f} {b['ops'] or '-':>6} |" \
                            f" {speed:>5.2f}x {mem:>5.0%}"
                    rows.append((speed, mem))
                print(line, flush=True)
                record.append({"batch": batch, "layout": layout, "algorithm": algorithm, "memory": memory,
                               "ours": a, "ours_runs": mine[(algorithm, memory)], "ref": b, "ref_runs": theirs})
            partial_channels(batch, layout, {(r["algorithm"], r["memory"]): r["ours"] for r in record
                                             if r["batch"] == batch and r["layout"] == layout})
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "steps": args.steps, "warmup": args.warmup,
                                               "repeats": args.repeats, "jobs": args.jobs, "clock": args.clock,
                                               "rows": record}, indent=1))
    if rows:
        print(f"targets: speed ≥ 2.00x (met in {sum(s >= 2 for s, _ in rows)}/{len(rows)}), "
              f"memory ≤ 50% of the reference's (met in {sum(m <= 0.5 for _, m in rows)}/{len(rows)})")


if __name__ == "__main__":
    main()
