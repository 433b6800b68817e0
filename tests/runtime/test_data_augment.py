"""Batched augmentation: crop, flip, cutout, normalise; shapes, determinism, semantics."""

import pytest
import torch

from genolang.runtime.data import Augment, cutout, normalise, random_crop, random_flip


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _images(n=8, c=3, size=12):
    return torch.rand(n, c, size, size, generator=_gen(42)) + 0.5  # no zeros, so padding is visible


def test_shapes_and_dtype_with_uint8_input():
    x = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    out = Augment(crop_pad=4, flip=True, cutout=16, mean=(0.5,) * 3, std=(0.25,) * 3)(x, _gen())
    assert out.shape == x.shape and out.dtype == torch.float32


def test_same_generator_seed_same_output():
    aug = Augment(crop_pad=4, flip=True, cutout=6, mean=(0.0,) * 3, std=(1.0,) * 3)
    x = _images()
    assert torch.equal(aug(x, _gen(1)), aug(x, _gen(1)))
    assert not torch.equal(aug(x, _gen(1)), aug(x, _gen(2)))


def test_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = _images(n=64)
    out = random_crop(x, 2, _gen(3))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(len(x)):
        matches = [(t, l) for t in range(5) for l in range(5)
                   if torch.equal(out[i], padded[i, :, t:t + 12, l:l + 12])]
        assert matches
        offsets.add(matches[0])
    assert len(offsets) > 10  # per-sample offsets, not one for the batch


def test_crop_with_zero_padding_is_identity():
    x = _images()
    assert torch.equal(random_crop(x, 0, _gen()), x)


def test_flip_mirrors_some_samples_exactly():
    x = _images(n=32)
    out = random_flip(x, _gen(5))
    flipped = [torch.equal(o, s.flip(2)) for o, s in zip(out, x)]
    kept = [torch.equal(o, s) for o, s in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and 5 < sum(flipped) < 27


def test_cutout_zeroes_one_clipped_square_per_sample():
    x = _images(n=200, c=2, size=10)
    out = cutout(x, 4, _gen(7))
    zeroed = out[:, 0] == 0
    assert torch.equal(zeroed, out[:, 1] == 0)  # same square in every channel
    sizes = zeroed.sum(dim=(1, 2))
    assert int(sizes.max()) == 16 and int(sizes.min()) >= 4  # a corner centre keeps a 2×2 square
    for mask in zeroed[:20]:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert int(mask.sum()) == len(rows) * len(cols)  # a rectangle, not scattered pixels


def test_normalise_and_test_time_augment():
    x = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    out = Augment(mean=(0.5, 0.5, 0.0), std=(0.5, 0.25, 1.0))(x)
    assert out[:, 0].eq(1.0).all() and out[:, 1].eq(2.0).all() and out[:, 2].eq(1.0).all()
    assert torch.allclose(normalise(torch.ones(1, 1, 2, 2), (0.5,), (0.5,)), torch.ones(1, 1, 2, 2))


def test_cutout_comes_after_normalisation():
    x = torch.ones(50, 1, 8, 8)
    out = Augment(cutout=4, mean=(0.5,), std=(0.5,))(x, _gen())
    assert set(out.unique().tolist()) == {0.0, 1.0}


def test_for_dataset_uses_the_dataset_statistics():
    class Stats:
        mean, std = (0.1, 0.2, 0.3), (0.4, 0.5, 0.6)

    train = Augment.for_dataset(Stats, cutout=16)
    test = Augment.for_dataset(Stats, train=False)
    assert (train.crop_pad, train.flip, train.cutout, train.mean) == (4, True, 16, Stats.mean)
    assert (test.crop_pad, test.flip, test.cutout) == (0, False, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_same_augmentation_on_cuda():
    aug = Augment(crop_pad=4, flip=True, cutout=8, mean=(0.0,) * 3, std=(1.0,) * 3)
    x = _images()
    assert torch.allclose(aug(x, _gen(9)), aug(x.cuda(), _gen(9)).cpu())
