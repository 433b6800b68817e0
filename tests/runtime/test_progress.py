"""Progress: the whole run's ETA, plain lines for logs, rich bars for terminals."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from genolang.runtime.runs.eta import RunClock
from genolang.runtime.runs.progress import Progress, format_seconds


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def run_epoch(target, clock, epoch, steps, seconds, first=None, phase="search", **kw):
    """``steps`` steps of ``seconds`` each (the first one ``first``), reported as they end."""
    target.start_epoch(epoch)
    for i in range(steps):
        clock.t += first if (first is not None and i == 0) else seconds
        target.step(phase, epoch, i, steps, **kw)


def test_eta_covers_the_whole_run_and_skips_the_first_steps_warm_up():
    clock = Clock()
    eta = RunClock(total_epochs=4, now=clock)
    run_epoch(eta, clock, 0, steps=5, seconds=1.0, first=30.0)   # a slow first step: compilation
    # 0 steps left in this epoch, then 3 epochs of 5 one-second steps: the 30 s is not a rate
    assert eta.eta() == pytest.approx(15.0)
    eta.end_epoch(0)
    assert eta.eta() == pytest.approx(15.0)
    run_epoch(eta, clock, 1, steps=5, seconds=1.0)
    assert eta.eta() == pytest.approx(10.0)


def test_eta_before_any_rate_is_unknown_and_epoch_kinds_are_timed_apart():
    clock = Clock()
    eta = RunClock(total_epochs=3, pretrain_epochs=1, now=clock)
    eta.start_epoch(0)
    clock.t += 1
    eta.step("pretrain", 0, 0, 4)
    assert eta.eta() is None
    run_epoch(eta, clock, 0, steps=4, seconds=1.0, phase="pretrain")
    eta.end_epoch(0)
    # a search epoch: 4 warm-up steps then 4 search steps, 3 s each; the pretrain epoch took 4 s
    eta.start_epoch(1)
    for phase in ("warmup", "search"):
        for i in range(4):
            clock.t += 3.0
            eta.step(phase, 1, i, 4)
    eta.end_epoch(1)
    assert eta.eta() == pytest.approx(24.0)                 # the one search epoch left, as long as the last
    eta.start_epoch(2)
    for i in range(3):
        clock.t += 3.0
        eta.step("warmup", 2, i, 4)
    # one warm-up step left, then the 4 search steps the last epoch of this kind ran after it
    assert eta.eta() == pytest.approx(15.0)


def test_format_seconds():
    assert [format_seconds(s) for s in (None, 5, 65, 3725)] == ["--", "5s", "1m05s", "1h02m"]


class Recorder(io.StringIO):
    """A non-terminal stream that counts flushes."""

    flushes = 0

    def flush(self):
        self.flushes += 1
        super().flush()


def test_plain_lines_are_flushed_throttled_and_name_the_run(monkeypatch):
    monkeypatch.delenv("GENO_PROGRESS", raising=False)
    clock, out = Clock(), Recorder()
    progress = Progress(2, stream=out, run_dir="runs/digits", resume="geno search --resume runs/digits",
                        step_every=10.0, now=clock)
    for epoch in range(2):
        run_epoch(progress, clock, epoch, steps=30, seconds=1.0, values=lambda: {"loss_S": 0.5})
        progress.epoch("search", epoch, {"loss_S": 1.25, "acc_E": 0.5, "note": None})
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["run directory: runs/digits",
                         "interrupt with Ctrl-C; resume with: geno search --resume runs/digits"]
    step_lines = [line for line in lines if " step " in line]
    assert len(step_lines) == 6                               # 30 s per epoch, at most one line per 10 s
    assert step_lines[1] == "[search   1/2] step 20/30 (67%), 1.00 s/step, loss_S 0.5000, run ETA 40s"
    assert lines[-1] == "[search   2/2] loss_S 1.2500  acc_E 50.00%  30.0s"    # the last epoch: no ETA
    assert "run ETA 30s" in [line for line in lines if line.startswith("[search   1/2] loss_S")][0]
    assert out.flushes >= len(lines)                          # every line reaches the log at once
    assert "\x1b" not in out.getvalue()                        # no terminal codes in logs


def test_rich_bars_on_a_terminal(monkeypatch):
    monkeypatch.delenv("GENO_PROGRESS", raising=False)
    clock, screen = Clock(), io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    calls = []

    def losses():
        calls.append(clock.t)
        return {"loss_S": 0.75, "acc_S": 0.25}

    progress = Progress(3, console=console, run_dir="runs/x", resume="geno search --resume runs/x", now=clock)
    run_epoch(progress, clock, 0, steps=8, seconds=0.25, values=losses)
    progress.epoch("search", 0, {"loss_S": 0.7})
    run_epoch(progress, clock, 1, steps=8, seconds=0.25, values=losses)
    progress._view.bars.refresh()
    text = screen.getvalue()
    assert text.startswith("run directory: runs/x\n")
    assert "━" in text and "epochs" in text and "steps" in text        # the run bar and the phase bar
    assert "ETA 2s" in text                                              # 8 steps of 0.25 s left in the run
    assert "loss_S 0.7500" in text                                       # current losses on the bar
    assert "[search   1/3] loss_S 0.7000" in text                        # the finished epoch's line
    assert len(calls) <= 5 and all(b - a >= 1.0 for a, b in zip(calls, calls[1:]))  # at most once a second
    progress.close()


def test_the_view_follows_the_stream_unless_told(monkeypatch):
    monkeypatch.delenv("GENO_PROGRESS", raising=False)
    assert type(Progress(1, stream=io.StringIO())._view).__name__ == "_PlainView"

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("TERM", "xterm")
    assert type(Progress(1, stream=Tty())._view).__name__ == "_RichView"
    monkeypatch.setenv("GENO_PROGRESS", "plain")
    assert type(Progress(1, stream=Tty())._view).__name__ == "_PlainView"
    assert Progress(1, stream=Tty(), enabled=False)._view is None


def test_a_resumed_run_counts_only_the_epochs_it_has_left():
    clock = Clock()
    eta = RunClock(total_epochs=8, now=clock)
    run_epoch(eta, clock, 5, steps=4, seconds=2.0)           # resumed at epoch 6 of 8
    assert eta.eta() == pytest.approx(2 * 8.0)               # epochs 7 and 8, 4 steps of 2 s each
    assert eta.fraction() == pytest.approx(6 / 8)
