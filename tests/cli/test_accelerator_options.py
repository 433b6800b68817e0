"""The accelerator settings as a user meets them: ``search.cuda_graphs = on`` on a machine
without CUDA is a config error (exit 2) before any data loads; a bad value names the choices."""

from __future__ import annotations

from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [["search", "icdarts/digits"],
                                     ["macro-search", "hierarchical/v1", "-g", str(ROOT / "specs/zoo/darts_v2.geno")]],
                         ids=["search", "macro-search"])
def test_cuda_graphs_on_the_cpu_is_refused(geno, tmp_path, command):
    ran = geno(*command, "-o", str(tmp_path), "--device", "cpu", "--set", "search.cuda_graphs=on", "--threads", "1")
    assert ran.returncode == 2
    assert "search.cuda_graphs = on needs a CUDA device; this run computes on cpu" in ran.stderr
    assert "Traceback" not in ran.stderr and not any(tmp_path.iterdir())


def test_autocast_takes_off_or_bf16(geno, tmp_path):
    ran = geno("search", "icdarts/digits", "-o", str(tmp_path), "--set", "search.autocast=fp16", "--threads", "1")
    assert ran.returncode == 2
    assert "--set search.autocast=fp16" in ran.stderr and "'off' or 'bf16'" in ran.stderr
