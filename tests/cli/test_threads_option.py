"""`--threads`: applied before the run, printed first, recorded in config.json and run.json,
and free to change on a resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from tiny_macro import MACRO_PROGRAM

from genolang.base import threads

SPEC = MACRO_PROGRAM + """experiment tiny {
  data { kind = digits  size = 16  limit = 16  test_limit = 4 }
  templates { search = tiny  eval = tiny  retrain = tiny  cells = [normal, reduce]  space = darts }
  search { epochs = 1  pretrain_epochs = 0  batch = 8  steps_per_epoch = 1  test_every = 0 }
  device = "cpu"
}
"""


@pytest.fixture
def restored(monkeypatch):
    """The thread settings of the test process, put back after the test."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GENOLANG_THREADS"):
        monkeypatch.setenv(name, "1") if name != "GENOLANG_THREADS" else monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_applied", None)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_are_printed_first_recorded_and_may_change_on_resume(geno, tmp_path, restored):
    spec = tmp_path / "tiny.geno"
    spec.write_text(SPEC)
    ran = geno("search", str(spec), "-o", str(tmp_path / "runs"), "--threads", "1")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[0] == "device cpu, 1 thread (--threads)"
    run = tmp_path / "runs" / "tiny"
    assert json.loads((run / "config.json").read_text())["threads"] == 1
    # a resume with another count (from the environment this time) needs no --force
    ran = geno("search", "--resume", str(run), "-q", "--set", "threads=2")
    assert ran.returncode == 0, ran.stderr
    runtime = json.loads((run / "run.json").read_text())["runtime"]
    assert [(r["threads"], r["threads_source"], r["device"]) for r in runtime] == [
        (1, "--threads", "cpu"), (2, "threads setting", "cpu")]


def test_a_bad_thread_count_is_a_located_error(geno, restored):
    ran = geno("search", "icdarts/digits", "--threads", "0")
    assert ran.returncode == 2
    assert "--threads = '0': not a positive number of threads" in ran.stderr


def test_the_count_is_in_place_before_torch_loads():
    """torch sizes its OpenMP pool from the environment (MKL's count included) when it loads:
    the CLI applies --threads first, so a process started with 1 runs with the count asked."""
    code = ("import sys; from genolang.cli.search import use_threads; assert 'torch' not in sys.modules; "
            "use_threads(2); import torch; print(torch.get_num_threads())")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[-1] == "2"
