"""Progress of long runs (search, retraining, macro search): bars on a terminal, lines in logs.

Two views of the same events:

* on a terminal, ``rich`` bars: the whole run (epochs, elapsed time, the run's ETA) and the
  current phase (steps, speed, current losses), with one line per finished epoch above them;
* elsewhere (CI, a log file, a pipe) plain lines, flushed as they are written, at most one
  step line every 30 seconds inside an epoch and one line per epoch.

``GENO_PROGRESS=plain|rich`` overrides the choice. The ETA covers the whole run, not the
current epoch, and leaves the first step's warm-up out of the rates (:mod:`.eta`). Losses
shown during an epoch come from ``values``, a callable the caller passes to :meth:`step`; it
is called at most once a second (it may synchronise with the device), never per step.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, TextIO

from genolang.runtime.runs.eta import RunClock

__all__ = ["Progress", "format_values", "format_seconds"]

Values = Mapping[str, float | None]


def format_values(values: Values) -> str:
    """``loss_S 1.2340  acc_S 45.60%`` (accuracies as percentages, None left out)."""
    parts = []
    for key, value in values.items():
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        parts.append(f"{key} {100 * value:.2f}%" if "acc" in key else f"{key} {value:.4f}")
    return "  ".join(parts)


def format_seconds(seconds: float | None) -> str:
    """``1h02m``, ``4m05s``, ``12s``; ``--`` when unknown."""
    if seconds is None:
        return "--"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _mode(stream: TextIO) -> str:
    chosen = os.environ.get("GENO_PROGRESS", "").lower()
    if chosen in ("plain", "rich"):
        return chosen
    isatty = getattr(stream, "isatty", None)
    return "rich" if isatty is not None and isatty() and os.environ.get("TERM") != "dumb" else "plain"


class Progress:
    """Progress of one run of ``total_epochs`` epochs (the first ``pretrain_epochs`` of them
    pre-training, timed separately).

    ``console`` (a ``rich.console.Console``) forces the bar view on it; otherwise the view
    follows ``stream`` (stderr by default): bars on a terminal, plain lines elsewhere.
    ``run_dir`` and ``resume`` give the run's first lines: where it writes and how to resume.
    """

    def __init__(self, total_epochs: int, stream: TextIO | None = None, enabled: bool = True, *,
                 pretrain_epochs: int = 0, run_dir: str | Path | None = None, resume: str | None = None,
                 console=None, step_every: float = 30.0, now: Callable[[], float] = time.perf_counter):
        self.total = total_epochs
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.clock = RunClock(total_epochs, pretrain_epochs, now)
        self.now = now
        self.run_dir, self.resume = run_dir, resume
        self.step_every = step_every
        self._epoch_start = now()
        self._last_line = -float("inf")
        self._last_values = -float("inf")
        self._values: Values = {}
        self._phase: tuple[str, int] | None = None
        self._started = False
        self._view = None
        if enabled:
            self._view = _RichView(self, console) if console is not None or _mode(self.stream) == "rich" \
                else _PlainView(self)

    # ------------------------------------------------------------------ events
    def begin(self) -> None:
        """Print the run's first lines (once): its run directory and how to resume it."""
        if self._started or not self.enabled:
            return
        self._started = True
        if self.run_dir is not None:
            self._view.line(f"run directory: {self.run_dir}")
            if self.resume:
                self._view.line(f"interrupt with Ctrl-C; resume with: {self.resume}")

    def start_epoch(self, epoch: int | None = None) -> None:
        self.begin()
        self.clock.start_epoch(epoch)
        self._epoch_start = self.now()
        self._last_line = self._epoch_start

    def step(self, phase: str, epoch: int, step: int, steps: int,
             values: Callable[[], Values] | None = None, every: float | None = None) -> None:
        """Step ``step`` of ``steps`` of ``phase`` in ``epoch`` (0-based)."""
        if not self.enabled or steps <= 0:
            return
        self.clock.step(phase, epoch, step, steps)
        now = self.now()
        if (phase, epoch) != self._phase:   # a new phase: its own losses
            self._phase, self._values, self._last_values = (phase, epoch), {}, -float("inf")
        if values is not None and now - self._last_values >= 1.0:
            self._last_values = now
            self._values = dict(values())
        self._view.step(phase, epoch, step, steps, now, self.step_every if every is None else every)

    def epoch(self, phase: str, epoch: int, values: Values) -> None:
        """The epoch's line: ``[search    3/32] loss_S 1.2340  acc_E 45.60%  12.3s  run ETA 4m05s``."""
        self.clock.end_epoch(epoch)
        self._values = {}
        if not self.enabled:
            return
        seconds = self.now() - self._epoch_start
        width = len(str(self.total))
        line = f"[{phase:<8} {epoch + 1:>{width}}/{self.total}] {format_values(values)}  {seconds:.1f}s"
        if epoch + 1 < self.total:
            line += f"  run ETA {format_seconds(self.clock.eta())}"
        self._view.epoch_done(line, epoch)

    def message(self, text: str) -> None:
        if self.enabled:
            self._view.line(text)

    def close(self) -> None:
        if self._view is not None:
            self._view.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ shared by the views
    def status(self, phase: str, epoch: int, step: int, steps: int, now: float) -> str:
        """``step 120/196 (61%), 0.52 s/step, loss_S 1.2340``."""
        done = step + 1
        text = f"step {done}/{steps} ({100 * done / steps:.0f}%)"
        phase_clock = self.clock.phases[-1] if self.clock.phases else None
        if phase_clock is not None and phase_clock.rate is not None:
            text += f", {phase_clock.rate:.2f} s/step"
        if self._values:
            text += ", " + format_values(self._values).replace("  ", ", ")
        return text


class _PlainView:
    """Whole lines, flushed at once, step lines throttled: for logs and CI."""

    def __init__(self, progress: Progress):
        self.p = progress

    def line(self, text: str) -> None:
        print(text, file=self.p.stream, flush=True)

    def step(self, phase, epoch, step, steps, now, every) -> None:
        if now - self.p._last_line < every:
            return
        self.p._last_line = now
        width = len(str(self.p.total))
        self.line(f"[{phase:<8} {epoch + 1:>{width}}/{self.p.total}] {self.p.status(phase, epoch, step, steps, now)}"
                  f", run ETA {format_seconds(self.p.clock.eta())}")

    def epoch_done(self, line: str, epoch: int) -> None:
        self.line(line)

    def close(self) -> None:
        pass


class _RichView:
    """Two bars: the whole run (epochs, elapsed, ETA of the run) and the current phase (steps,
    speed, current losses); finished epochs print as lines above them."""

    def __init__(self, progress: Progress, console=None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn, TimeElapsedColumn

        self.p = progress
        self.console = console or Console(file=progress.stream, stderr=progress.stream is sys.stderr)
        self.bars = Bars(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                         TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("{task.fields[info]}"),
                         console=self.console, refresh_per_second=4, transient=False)
        self.run_task = self.bars.add_task("run", total=max(progress.total, 1), unit="epochs", info="ETA --")
        self.phase_task = None
        self._phase = None
        self._live = False

    def _start(self) -> None:
        if not self._live:
            self.bars.start()
            self._live = True
            atexit.register(self.close)

    def line(self, text: str) -> None:
        # soft_wrap: the terminal wraps a long line, so it stays one line when copied
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def step(self, phase, epoch, step, steps, now, every) -> None:
        self._start()
        width = len(str(self.p.total))
        label = f"{phase:<8} {epoch + 1:>{width}}/{self.p.total}"
        if self.phase_task is None:
            self.phase_task = self.bars.add_task(label, total=steps, unit="steps", info="")
        if (phase, epoch) != self._phase:
            self._phase = (phase, epoch)
            self.bars.reset(self.phase_task, total=steps, description=label)
        clock = self.p.clock.phases[-1] if self.p.clock.phases else None
        speed = f"{1 / clock.rate:.1f} step/s" if clock is not None and clock.rate else ""
        losses = {k: v for k, v in self.p._values.items() if "loss" in k}
        values = format_values(dict(list((losses or self.p._values).items())[:3]))  # fits beside the bar
        self.bars.update(self.phase_task, completed=step + 1, total=steps,
                         info="  ".join(x for x in (speed, values) if x))
        self._update_run()

    def _update_run(self) -> None:
        self.bars.update(self.run_task, completed=self.p.clock.fraction() * max(self.p.total, 1),
                         info=f"ETA {format_seconds(self.p.clock.eta())}")

    def epoch_done(self, line: str, epoch: int) -> None:
        self.line(line)
        self._update_run()
        if epoch + 1 >= self.p.total:
            self.close()

    def close(self) -> None:
        if self._live:
            self._live = False
            self.bars.stop()
