"""Class-per-folder images read with Pillow."""

import numpy as np
import pytest
import torch

from genolang.base.errors import DataError
from genolang.runtime.data import load_dataset

Image = pytest.importorskip("PIL.Image")


def _write(folder, count, colour, size=10, suffix=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(np.full((size, size, 3), colour, dtype=np.uint8)).save(folder / f"{i}{suffix}")


def test_given_train_and_test_folders(tmp_path):
    _write(tmp_path / "train" / "cat", 3, (255, 0, 0))
    _write(tmp_path / "train" / "dog", 2, (0, 0, 255), suffix=".jpg")
    _write(tmp_path / "test" / "cat", 1, (255, 0, 0))
    _write(tmp_path / "test" / "dog", 1, (0, 0, 255))
    ds = load_dataset("image_folder", root=tmp_path, size=8)
    assert ds.classes == ("cat", "dog") and ds.train_x.shape == (5, 3, 8, 8) and ds.test_x.shape == (2, 3, 8, 8)
    assert ds.train_x.dtype == torch.uint8 and ds.train_y.tolist() == [0, 0, 0, 1, 1]
    assert ds.train_x[0, :, 4, 4].tolist() == [255, 0, 0]


def test_single_pool_is_split_by_seed(tmp_path):
    _write(tmp_path / "a", 10, (10, 10, 10))
    _write(tmp_path / "b", 10, (200, 200, 200))
    ds = load_dataset("image_folder", root=tmp_path, channels=1, test_fraction=0.2, seed=1)
    assert ds.shape == (1, 10, 10) and len(ds.test_y) == 4 and sorted(ds.test_y.tolist()) == [0, 0, 1, 1]


def test_non_square_images_need_a_size(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / "a" / "x.png")
    with pytest.raises(DataError) as err:
        load_dataset("image_folder", root=tmp_path)
    assert "x.png" in err.value.message and "size" in err.value.hint
    assert load_dataset("image_folder", root=tmp_path, size=4, test_fraction=0.5).size == 4


def test_no_class_folders(tmp_path):
    with pytest.raises(DataError, match="one sub-folder per class"):
        load_dataset("image_folder", root=tmp_path)


def test_test_classes_must_exist_in_train(tmp_path):
    _write(tmp_path / "train" / "cat", 1, (0, 0, 0))
    _write(tmp_path / "test" / "cow", 1, (0, 0, 0))
    with pytest.raises(DataError, match="cow"):
        load_dataset("image_folder", root=tmp_path)


def test_damaged_image_is_named(tmp_path):
    _write(tmp_path / "a", 2, (0, 0, 0))
    (tmp_path / "a" / "broken.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="broken.png"):
        load_dataset("image_folder", root=tmp_path, size=10, test_fraction=0.5)
