"""A source whose file order carries the label (an image folder lists class after class) is
halved per class for the search, and limited to a subset spread over the file; a split that
leaves a class out of either half is an error (issue 22, item 2)."""

import numpy as np
import pytest
import torch

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.base.errors import DataError
from genolang.runtime.data import Dataset, split_half
from genolang.runtime.jobs.driver import load_data, search_data

Image = pytest.importorskip("PIL.Image")


def _sorted(per_class=10, classes=3):
    n = per_class * classes
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    y = torch.arange(classes).repeat_interleave(per_class)
    return Dataset(train_x=x, train_y=y, test_x=x[:2], test_y=y[:2], classes=tuple("abc"[:classes]),
                   mean=(0.0,), std=(1.0,), name="toy", channels=1, size=2)


def test_index_split_of_class_sorted_data_is_an_error_naming_the_class():
    with pytest.raises(DataError) as err:
        split_half(_sorted(), order="index")
    assert "class(es) c" in err.value.message and "search-train" in err.value.message
    assert "split_order = stratified" in err.value.hint


@pytest.mark.parametrize("order", ["stratified", "auto"])
def test_stratified_halves_hold_every_class_and_are_disjoint_and_seeded(order):
    ds = _sorted(per_class=11)
    train, val = split_half(ds, seed=3, order=order)
    assert sorted(set(train.y.tolist())) == sorted(set(val.y.tolist())) == [0, 1, 2]
    ids = lambda part: part.x[:, 0, 0, 0].long().tolist()
    assert set(ids(train)).isdisjoint(ids(val)) and len(train) + len(val) == len(ds.train_y)
    assert ids(split_half(ds, seed=3, order=order)[0]) == ids(train)
    assert ids(split_half(ds, seed=4, order=order)[0]) != ids(train)


def test_auto_keeps_cdarts_index_split_for_cifar_and_digits():
    ds = _sorted()
    ds.train_y = torch.arange(30) % 3          # CIFAR's files are not in class order
    for kind in ("cifar10", "cifar100", "digits"):
        train, _ = split_half(ds, order="auto", kind=kind)
        assert train.x[:, 0, 0, 0].long().tolist() == list(range(15))


@pytest.fixture
def folder(tmp_path):
    """Two classes of 12 images each: `a` dark, `b` bright, given train and test parts."""
    for part, count in (("train", 12), ("test", 4)):
        for name, level in (("a", 20), ("b", 230)):
            (tmp_path / part / name).mkdir(parents=True)
            for i in range(count):
                Image.fromarray(np.full((8, 8), level + i, np.uint8)).save(tmp_path / part / name / f"{i}.png")
    return tmp_path


def _config(folder, **data):
    return ExperimentConfig.model_validate({"data": {"kind": "image_folder", "path": str(folder), "size": 8,
                                                     "options": {"channels": 1}, **data}})


def test_an_image_folder_searches_on_both_classes_in_both_halves(folder):
    config = _config(folder)
    halves = search_data(load_data(config), config)
    assert sorted(set(halves.train_y.tolist())) == [0, 1] and sorted(set(halves.val_y.tolist())) == [0, 1]


def test_an_image_folder_asked_for_the_index_split_is_refused(folder):
    config = _config(folder, split_order="index")
    with pytest.raises(DataError, match="leaves class"):
        search_data(load_data(config), config)


def test_a_limit_on_an_image_folder_keeps_both_classes(folder):
    config = _config(folder, limit=6, test_limit=4)
    dataset = load_data(config)
    assert len(dataset.train_y) == 6 and set(dataset.train_y.tolist()) == {0, 1}
    assert len(dataset.test_y) == 4 and set(dataset.test_y.tolist()) == {0, 1}
