"""Wall time of the tests' 3-seed tiny study (tests/runtime/tiny.py: 3 searches + 3
retrainings) on the local engine (1 job, in-process; 2 jobs) and on Ray (a Ray of ``--cpus``
CPUs started by this script and stopped at its end; its start-up is timed on its own).

    OMP_NUM_THREADS=1 python bench/bench_engines.py [--seeds 3] [--cpus 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "runtime"), str(ROOT / "tests" / "compiler")]   # tiny, and the irfix it imports


def study(spec: Path, out: Path, seeds: int, *options: str) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "genolang", "repeat", str(spec), "--seeds", str(seeds), "--out", str(out),
                    *options], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the Ray started here")
    args = parser.parse_args()
    import tiny

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = tmp / "tiny.geno"
        spec.write_text(tiny.STUDY_SPEC)
        print(f"{args.seeds}-seed tiny study ({2 * args.seeds} items), OMP_NUM_THREADS=1 per run")
        print(f"local, 1 job      {study(spec, tmp / 'local1', args.seeds):6.1f} s")
        print(f"local, 2 jobs     {study(spec, tmp / 'local2', args.seeds, '--jobs', '2'):6.1f} s")
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        address = ray.get_runtime_context().gcs_address
        print(f"ray start-up      {time.perf_counter() - start:6.1f} s  ({args.cpus} CPUs, once per cluster)")
        try:
            took = study(spec, tmp / "ray", args.seeds, "--engine", "ray", "--address", address)
            print(f"ray, 1 CPU/run    {took:6.1f} s  (connecting included)")
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
