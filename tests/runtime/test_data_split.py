"""The 50/50 search split."""

import pytest
import torch

from genolang.base.errors import ConfigError
from genolang.runtime.data import Dataset, split_half


def _dataset(n=11):
    # Each image holds its own index, so a part's samples can be traced back.
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return Dataset(train_x=x, train_y=torch.arange(n) % 3, test_x=x[:2], test_y=torch.zeros(2, dtype=torch.int64),
                   classes=("a", "b", "c"), mean=(0.0,), std=(1.0,), name="toy", channels=1, size=2)


def _ids(part):
    return part.x[:, 0, 0, 0].long().tolist()


def test_index_order_takes_the_first_half_as_train():
    train, val = split_half(_dataset(11))
    assert _ids(train) == list(range(6)) and _ids(val) == list(range(6, 11))
    assert train.y.tolist() == [i % 3 for i in range(6)]


def test_shuffled_halves_are_disjoint_complete_and_reproducible():
    ds = _dataset(40)
    train, val = split_half(ds, seed=5, order="shuffled")
    assert len(train) == len(val) == 20
    assert set(_ids(train)).isdisjoint(_ids(val)) and set(_ids(train)) | set(_ids(val)) == set(range(40))
    again, _ = split_half(ds, seed=5, order="shuffled")
    other, _ = split_half(ds, seed=6, order="shuffled")
    assert _ids(again) == _ids(train) and _ids(other) != _ids(train)


def test_unknown_order():
    with pytest.raises(ConfigError, match="order"):
        split_half(_dataset(), order="random")
