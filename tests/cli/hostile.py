"""Running `geno` on hostile input in-process, under a time and a memory cap.

:func:`run_capped` runs one CLI call through `genolang.cli.main` and reports what happened:
the exit code, the output, the CPU time it took (the work it did: unlike the wall time, it
does not grow when other processes load the machine), the wall time, how much the process's
peak memory grew, and whether it raised a traceback or ran past the wall-clock cap (a guard
against hangs, such as a read that blocks, not a measure). (The peak resident size only grows, so a call
that needs gigabytes shows as a jump; tracemalloc would be exact but slows every call 2-3x.) :func:`located` says whether an error report
names its place. Shared by the hostile-input tests and the fuzz test.
"""

from __future__ import annotations

import contextlib
import io
import re
import signal
import sys
import time
import resource
from dataclasses import dataclass

from genolang.cli import main

LOCATION = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): [a-z ]*error: ", re.M)


class Hang(Exception):
    """The call ran past its time cap."""


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float                  # wall time
    peak_growth: int                # bytes the process's peak resident size grew by
    traceback: str | None = None
    hung: bool = False
    cpu_seconds: float = 0.0        # CPU time of this process (all its threads) during the call

    @property
    def clean_error(self) -> bool:
        """Exit 2 with a located message and no traceback."""
        return self.code == 2 and self.traceback is None and not self.hung and located(self.stderr)


def located(stderr: str, file: str | None = None) -> bool:
    """Whether every error reported in ``stderr`` starts with file:line:col (of ``file``)."""
    reports = [line for line in stderr.splitlines() if re.search(r"\berror: ", line) and not line.startswith(" ")]
    if not reports:
        return False
    for line in reports:
        match = LOCATION.match(line)
        if match is None or int(match["line"]) < 1 or int(match["col"]) < 1:
            return False
        if file is not None and not match["file"].endswith(file):
            return False
    return True


def _alarm(signum, frame):
    raise Hang()


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024     # KiB on Linux


def run_capped(*args: str, seconds: float = 10.0) -> Outcome:
    """Run `geno ARGS` in this process with a wall-clock cap of ``seconds`` (SIGALRM, against
    hangs) and a memory probe."""
    argv = sys.argv
    out, err = io.StringIO(), io.StringIO()
    code, trace, hung = 0, None, False
    previous = signal.signal(signal.SIGALRM, _alarm)
    peak_before = _peak_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        sys.argv = ["geno", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Hang:
        hung, code = True, -1
    except BaseException as exc:  # noqa: BLE001 - any escape is what the caller looks for
        import traceback

        trace = "".join(traceback.format_exception(exc))
        code = -2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        growth = _peak_rss() - peak_before
        sys.argv = argv
    if trace is None and "Traceback (most recent call last)" in err.getvalue():
        trace = err.getvalue()
    return Outcome(code, out.getvalue(), err.getvalue(), elapsed, growth, trace, hung, cpu)
