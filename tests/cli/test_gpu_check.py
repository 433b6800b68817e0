"""`bench/gpu_check.sh --device cpu --tiny`: every row of the GPU check runs (CUDA-only rows
say they were skipped), and the projection is printed with its formula."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_runs_on_the_cpu_at_a_tiny_size():
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    ran = subprocess.run([str(ROOT / "bench" / "gpu_check.sh"), "--device", "cpu", "--tiny"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    rows = {cols[0]: cols for cols in (re.split(r"\s{2,}", line.strip()) for line in out.splitlines())}
    for batch in (4, 8):
        for precision in ("fp32", "bf16"):
            assert float(rows[f"search b{batch} {precision} graphs off"][1].replace(",", "")) > 0   # img/s
            assert rows[f"search b{batch} {precision} graphs on"][1:] == [
                "-", "-", "skipped: CUDA graphs need a CUDA device"]
    assert any(name.startswith("retrain b8 C4") for name in rows)
    assert {"pretrain step b4 fp32", "warmup step b4 fp32", "pretrain step b4 bf16"} <= set(rows)
    assert "T = 2·n·t_pretrain + 30·(n·t_warmup + n·t_cyclic + 10000/256·t_test)" in out
    fp32 = next(line for line in out.splitlines() if line.strip().startswith("fp32 graphs off:"))
    assert fp32.strip().endswith("min")
