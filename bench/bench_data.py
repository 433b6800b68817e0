"""Throughput of the data path: batches per second of a CIFAR-sized stream with augmentation.

Run: ``python bench/bench_data.py [--device cuda] [--batches 200]``. Uses random uint8 images
of CIFAR's shape, so it needs no dataset on disk.
"""

from __future__ import annotations

import argparse
import time

import torch

from genolang.runtime.data import Augment, BatchStream
from genolang.runtime.data.cifar import CIFAR10_MEAN, CIFAR10_STD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--samples", type=int, default=25_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=100)
    args = parser.parse_args()

    x = torch.randint(0, 256, (args.samples, 3, 32, 32), dtype=torch.uint8)
    y = torch.randint(0, 10, (args.samples,))
    augment = Augment(crop_pad=4, flip=True, cutout=16, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    stream = BatchStream(x, y, args.batch_size, device=args.device, transform=augment)
    start, done = time.perf_counter(), 0
    while done < args.batches:
        for batch, _ in stream:
            done += 1
            if done == args.batches:
                break
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    print(f"{args.device}: {done / elapsed:.1f} batches/s ({elapsed / done * 1e3:.2f} ms per batch of "
          f"{args.batch_size}, crop+flip+normalise+cutout)")


if __name__ == "__main__":
    main()
