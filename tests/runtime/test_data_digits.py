"""The built-in digits dataset: shapes, scaling, stratified deterministic split."""

import pytest
import torch

from genolang.runtime.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_shapes_and_types(digits):
    assert digits.name == "digits" and digits.shape == (1, 8, 8) and digits.num_classes == 10
    assert len(digits.train_y) + len(digits.test_y) == 1797
    assert digits.train_x.dtype == torch.float32 and digits.train_y.dtype == torch.int64
    assert 0.0 <= float(digits.train_x.min()) and float(digits.train_x.max()) <= 1.0


def test_split_is_stratified_and_twenty_percent(digits):
    assert abs(len(digits.test_y) - 0.2 * 1797) <= 10
    counts = torch.bincount(digits.test_y, minlength=10)
    assert int(counts.min()) >= 30  # about 36 of each class


def test_split_depends_only_on_seed():
    a, b, c = (load_dataset("digits", seed=s) for s in (3, 3, 4))
    assert torch.equal(a.test_x, b.test_x) and torch.equal(a.test_y, b.test_y)
    assert not torch.equal(a.test_x, c.test_x)


def test_resize_to_16_and_32():
    for size in (16, 32):
        ds = load_dataset("digits", size=size, test_fraction=0.1)
        assert ds.train_x.shape[1:] == (1, size, size) and ds.size == size
        assert abs(len(ds.test_y) - 180) <= 10


def test_mean_and_std_come_from_the_train_set(digits):
    assert digits.mean[0] == pytest.approx(float(digits.train_x.mean()), abs=1e-5)
    assert digits.std[0] == pytest.approx(float(digits.train_x.std()), rel=1e-3)


def test_take_keeps_the_first_samples(digits):
    small = digits.take(train=32, test=8)
    assert len(small.train_y) == 32 and len(small.test_y) == 8
    assert torch.equal(small.train_x, digits.train_x[:32])
