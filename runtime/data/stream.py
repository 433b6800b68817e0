"""Reproducible, resumable batches from tensors that already live on the training device.

The whole dataset is one tensor on the device, so a batch is one index operation: no workers,
no host-to-device copies per step. A batch's content is a pure function of
``(seed, epoch, step, rank)``, which is what makes data order checkpointable: the state is just
``epoch`` and ``position`` (batches already handed out in that epoch).
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch

from genolang.base.errors import ConfigError

from .seeding import generator_for
from .split import Part

Batch = tuple[torch.Tensor, torch.Tensor]
Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

# Distinct stream keys so that shuffling and augmentation never share random numbers.
_SHUFFLE_KEY, _AUGMENT_KEY = 1, 2


class _Resumable:
    """Epoch/position bookkeeping shared by the streams; subclasses define ``batch(epoch, step)``."""

    epoch: int = 0
    position: int = 0

    def __len__(self) -> int:  # batches per epoch
        raise NotImplementedError

    def batch(self, epoch: int, step: int):
        raise NotImplementedError

    def __iter__(self) -> Iterator:
        """The rest of the current epoch; the epoch counter moves on once it is exhausted."""
        while self.position < len(self):
            step = self.position
            # Counted before the yield: a checkpoint taken while this batch is being used records
            # it as consumed, so a resumed run continues with the next batch instead of repeating it.
            self.position += 1
            yield self.batch(self.epoch, step)
        self.set_epoch(self.epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.position = int(epoch), 0

    def _fingerprint(self) -> dict:
        return {"batches_per_epoch": len(self)}

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, **self._fingerprint()}

    def load_state_dict(self, state: dict) -> None:
        for key, value in self._fingerprint().items():
            if key in state and state[key] != value:
                raise ConfigError(f"cannot resume the data stream: the checkpoint has {key}={state[key]}, "
                                  f"this run has {value}",
                                  hint="resume with the same dataset, batch size and number of processes")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


class BatchStream(_Resumable):
    """Shuffled ``(x, y)`` batches of ``x``/``y``, moved once to ``device``.

    With ``world_size > 1`` every rank reads a disjoint shard of the same per-epoch permutation
    (the tail that does not divide evenly is dropped, so all ranks take the same number of
    steps, as DDP requires). ``transform(x, generator)`` (e.g. an :class:`Augment`) runs on each
    batch with a generator seeded from ``(seed, epoch, step, rank)``.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool = True,
                 drop_last: bool = False, seed: int = 0, device: torch.device | str | None = None,
                 rank: int = 0, world_size: int = 1, transform: Transform | None = None):
        if len(x) != len(y):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if batch_size < 1:
            raise ConfigError(f"batch size must be positive, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.x = x.to(device) if device is not None else x
        self.y = y.to(self.x.device)
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.transform = transform
        self._order: tuple[int, torch.Tensor] | None = None  # (epoch, indices): one permutation per epoch
        self.shard_size = len(self.y) // self.world_size
        if self.shard_size == 0 or (drop_last and self.shard_size < self.batch_size):
            raise ConfigError(f"{len(self.y)} samples are too few for batches of {batch_size} "
                              f"on {world_size} process(es)", hint="lower the batch size or use more data")

    @classmethod
    def of(cls, part: Part, batch_size: int, **options) -> "BatchStream":
        return cls(part.x, part.y, batch_size, **options)

    def __len__(self) -> int:
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(self.shard_size / self.batch_size)

    def _fingerprint(self) -> dict:
        return {"batches_per_epoch": len(self), "samples": len(self.y), "batch_size": self.batch_size,
                "world_size": self.world_size}

    def indices(self, epoch: int) -> torch.Tensor:
        """This rank's sample order in ``epoch`` (on the data's device)."""
        n = len(self.y)
        if self.shuffle:
            order = torch.randperm(n, generator=generator_for(self.seed, _SHUFFLE_KEY, epoch))
        else:
            order = torch.arange(n)
        order = order[: self.shard_size * self.world_size][self.rank::self.world_size]
        return order.to(self.x.device)

    def batch(self, epoch: int, step: int) -> Batch:
        """Batch ``step`` of ``epoch``; the same call always returns the same batch."""
        if not 0 <= step < len(self):
            raise IndexError(f"step {step} outside an epoch of {len(self)} batches")
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, self.indices(epoch))
        chosen = self._order[1][step * self.batch_size:(step + 1) * self.batch_size]
        x, y = self.x[chosen], self.y[chosen]
        if self.transform is not None:
            x = self.transform(x, generator_for(self.seed, _AUGMENT_KEY, epoch, step, self.rank))
        return x, y


class PairedStream(_Resumable):
    """``((train_x, train_y), (val_x, val_y))`` pairs for the search: the CDARTS loop zips the two
    loaders, so an epoch has ``min(len(train), len(val))`` steps."""

    def __init__(self, train: BatchStream, val: BatchStream):
        self.train, self.val = train, val

    def __len__(self) -> int:
        return min(len(self.train), len(self.val))

    def _fingerprint(self) -> dict:
        return {"batches_per_epoch": len(self), "train": self.train._fingerprint(), "val": self.val._fingerprint()}

    def batch(self, epoch: int, step: int) -> tuple[Batch, Batch]:
        return self.train.batch(epoch, step), self.val.batch(epoch, step)


def search_stream(train: Part, val: Part, batch_size: int, *, seed: int = 0,
                  device: torch.device | str | None = None, rank: int = 0, world_size: int = 1,
                  transform: Transform | None = None) -> PairedStream:
    """The search phase's paired stream; the halves get different seeds so their orders differ."""
    common = dict(seed=seed, device=device, rank=rank, world_size=world_size, transform=transform)
    return PairedStream(BatchStream.of(train, batch_size, **{**common, "seed": seed * 2}),
                        BatchStream.of(val, batch_size, **{**common, "seed": seed * 2 + 1}))
