"""The cyclic step captured into a CUDA graph (``search.cuda_graphs = on``).

A search step on a GPU is bound by kernel launches (thousands of small ops over every
candidate op of every edge), not by arithmetic; replaying a captured graph launches them all
at once. The step is capturable by construction: its batches have one shape (the epoch's
batches drop the short last one), nothing in it reads a value back to the host
(tests/runtime/test_step_sync_free.py), α's Adam keeps its step count on the device
(``capturable=True``), and its metrics go to tensors the graph overwrites at each replay.

Per search epoch (E, its optimiser and the learning rates are new each epoch, and a graph
bakes in tensor addresses and Python scalars): ``WARMUP`` eager steps on a side stream
(they create SGD's momentum buffers and the libraries' lazy handles; capture must not),
then one capture, then a replay per step, each after copying the batch into the graph's
static inputs. A batch of another shape runs eagerly.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from genolang.base.errors import ConfigError
from genolang.runtime.runs.meter import Meter

__all__ = ["GraphedStep", "Recorder", "check_step_options"]

WARMUP = 3


def check_step_options(search, device: torch.device, world_size: int = 1) -> None:
    """Refuse ``cuda_graphs = on`` where it cannot work, before any data is moved."""
    if search.cuda_graphs != "on":
        return
    if device.type != "cuda":
        raise ConfigError(f"search.cuda_graphs = on needs a CUDA device; this run computes on {device}",
                          hint="set search.cuda_graphs = off, or run with --device cuda on a machine with a GPU")
    if world_size > 1:
        raise ConfigError("search.cuda_graphs = on runs in one process; this run has "
                          f"{world_size} (torchrun)", hint="set search.cuda_graphs = off for distributed runs")


class Recorder(Meter):
    """The meter of the captured step: keeps each metric's latest tensor (the graph rewrites
    it at every replay) instead of summing, and hands it to the epoch's meter after each replay."""

    def __init__(self) -> None:
        super().__init__(eager=False)
        self.latest: dict[str, tuple[Tensor, int]] = {}

    def add(self, key: str, value: Tensor, count: int = 1) -> None:
        self.latest[key] = (value.detach(), count)

    def into(self, meter: Meter) -> None:
        for key, (value, count) in self.latest.items():
            meter.add(key, value, count)


Step = Callable[[Tensor, Tensor, Tensor, Tensor, Meter], None]


class GraphedStep:
    """``step(x_t, y_t, x_v, y_v, meter)`` captured once and replayed (one instance per epoch).

    The CUDA calls are the three methods at the end, so that the schedule around them (warm-up
    steps, one capture, a copy into the static inputs before each replay) is tested on the CPU
    (tests/runtime/test_graphed_step.py)."""

    def __init__(self, step: Step):
        self.step = step
        self.eager_steps = 0
        self.captured = False
        self.inputs: list[Tensor] = []
        self.recorder = Recorder()

    def __call__(self, x_t: Tensor, y_t: Tensor, x_v: Tensor, y_v: Tensor, meter: Meter) -> None:
        batch = (x_t, y_t, x_v, y_v)
        if self.eager_steps < WARMUP:
            self.eager_steps += 1
            return self._on_side_stream(lambda: self.step(*batch, meter))
        if not self.captured:
            self.inputs = [t.clone() for t in batch]
            self._capture(lambda: self.step(*self.inputs, self.recorder))
            self.captured = True
        elif any(t.shape != s.shape for t, s in zip(batch, self.inputs)):
            return self.step(*batch, meter)
        for static, t in zip(self.inputs, batch):
            static.copy_(t)
        self._replay()
        self.recorder.into(meter)

    # ------------------------------------------------------------------------------ CUDA
    def _on_side_stream(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` eagerly on the capture stream (warm-up must not run on the default stream)."""
        if not hasattr(self, "stream"):
            self.stream = torch.cuda.Stream()
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream):
            fn()
        torch.cuda.current_stream().wait_stream(self.stream)

    def _capture(self, fn: Callable[[], None]) -> None:
        """Record ``fn``'s kernels into a graph (nothing runs), on the warm-up's stream."""
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, stream=self.stream):
            fn()

    def _replay(self) -> None:
        self.graph.replay()
