"""The memory estimate a search is checked against, beside the peak it measures.

For the quick-start spec (digits) at several widths, one fresh process per width runs a
short search (pre-training off, 2 steps of one search epoch, batch 64, CPU) and reports the
growth of its peak resident size over what it held once torch and the spec were loaded, next
to :func:`genolang.runtime.jobs.memory_check.run_memory` (the figure `geno search` refuses by).

    python bench/bench_memory.py [--channels 8 16 32]

A benchmark, not a test: it prints a table, and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "specs" / "icdarts" / "digits.geno"

CHILD = r"""
import json, resource, sys
from pathlib import Path
import torch
from genolang.compiler.lower.program import load
from genolang.runtime.jobs.driver import cells_of, pick_experiment, start_search, templates_of
from genolang.runtime.jobs.memory_check import run_memory

spec = Path(sys.argv[1])
overrides = {"search.epochs": 1, "search.pretrain_epochs": 0, "search.warmup_epochs": 0,
             "search.steps_per_epoch": 2, "search.test_every": 0, "device": "cpu", "threads": 1}
program = load(spec)
config = pick_experiment(program, None)[1].with_overrides(**overrides)
search_t, eval_t, _ = templates_of(program, config)
estimate, parts = run_memory(config, "search", search_t, cells=cells_of(program, search_t, config),
                             evaluation=eval_t)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start_search(spec, out=sys.argv[2], overrides=overrides, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"estimate": estimate, "growth": peak - base, "base": base}))
"""


def measure(channels: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "digits.geno"
        spec.write_text(SPEC.read_text().replace("channels 8", f"channels {channels}"))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "GENOLANG_THREADS": "1"}
        done = subprocess.run([sys.executable, "-c", CHILD, str(spec), str(Path(tmp) / "runs")], env=env,
                              capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32])
    args = parser.parse_args()
    print(f"{'channels':>8} {'estimate (MiB)':>15} {'peak growth (MiB)':>18} {'estimate / peak':>16}")
    for c in args.channels:
        r = measure(c)
        print(f"{c:>8} {r['estimate'] / 2**20:>15.0f} {r['growth'] / 2**20:>18.0f} {r['estimate'] / max(1, r['growth']):>16.2f}")


if __name__ == "__main__":
    main()
