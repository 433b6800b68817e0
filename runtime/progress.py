"""One progress line per phase and epoch; no dependencies, no terminal tricks.

Values arrive as floats that the caller has already synchronised once per epoch, so printing
never forces a device sync inside the step loop.
"""

from __future__ import annotations

import sys
import time
from typing import Mapping, TextIO

__all__ = ["Progress"]


class Progress:
    def __init__(self, total_epochs: int, stream: TextIO | None = None, enabled: bool = True):
        self.total = total_epochs
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._start = time.perf_counter()
        self._epoch_start = self._start

    def start_epoch(self) -> None:
        self._epoch_start = time.perf_counter()
        self._last_step_line = self._epoch_start

    def step(self, phase: str, epoch: int, step: int, steps: int, every: float = 30.0) -> None:
        """At most one line per ``every`` seconds inside a long epoch: position and speed
        only (showing losses would force a device sync every time)."""
        if not self.enabled or steps <= 0:
            return
        now = time.perf_counter()
        if now - getattr(self, "_last_step_line", self._epoch_start) < every:
            return
        self._last_step_line = now
        done = step + 1
        rate = (now - self._epoch_start) / done
        width = len(str(self.total))
        print(f"[{phase:<8} {epoch + 1:>{width}}/{self.total}] step {done}/{steps} "
              f"({100 * done / steps:.0f}%), {rate:.2f} s/step, ~{rate * (steps - done):.0f}s left",
              file=self.stream, flush=True)

    def epoch(self, phase: str, epoch: int, values: Mapping[str, float]) -> None:
        """Print ``[search  3/32] loss_S 1.234  acc_E 45.6%  12.3s``."""
        if not self.enabled:
            return
        parts = []
        for key, value in values.items():
            if value is None:
                continue
            if "acc" in key:
                parts.append(f"{key} {100 * value:.2f}%")
            else:
                parts.append(f"{key} {value:.4f}")
        seconds = time.perf_counter() - self._epoch_start
        width = len(str(self.total))
        line = f"[{phase:<8} {epoch + 1:>{width}}/{self.total}] " + "  ".join(parts) + f"  {seconds:.1f}s"
        print(line, file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if self.enabled:
            print(text, file=self.stream, flush=True)
