"""The CPU time of a study's work: read from the child's resource usage as it is reaped, and
from this process's CPU clock for work done in-process."""

from __future__ import annotations

import subprocess
import sys

from genolang.runtime.jobs.engine import Work, reap
from genolang.runtime.jobs.local_engine import LocalEngine

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}:\n    pass\nraise SystemExit({code})"


def test_a_reaped_child_reports_the_cpu_it_burned_and_its_exit_code():
    proc = subprocess.Popen([sys.executable, "-c", BURN.format(s=0.3, code=3)])
    cpu = reap(proc, block=True)
    assert proc.returncode == 3
    assert cpu >= 0.3


def test_a_running_child_is_not_reaped():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert reap(proc) is None and proc.returncode is None
    finally:
        proc.stdin.close()
    assert reap(proc, block=True) is not None and proc.returncode == 0


def test_the_local_engine_reports_in_process_cpu():
    def burn():
        exec(BURN.format(s=0.2, code=0), {})

    engine = LocalEngine(jobs=1)
    engine.submit(Work("w", call=lambda: _swallow(burn)))
    (outcome,) = engine.wait(1.0)
    assert outcome.ok and outcome.cpu_s >= 0.2


def _swallow(fn):
    try:
        fn()
    except SystemExit:
        pass
