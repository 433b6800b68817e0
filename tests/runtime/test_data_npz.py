"""NumPy-archive datasets: layouts, dtypes and validation messages."""

import numpy as np
import pytest
import torch

from genolang.base.errors import DataError
from genolang.runtime.data import load_dataset


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


def _arrays(shape_train=(6, 8, 8, 3), shape_test=(2, 8, 8, 3), dtype=np.uint8):
    rng = np.random.default_rng(0)
    make = (lambda s: rng.integers(0, 256, s).astype(dtype)) if dtype == np.uint8 else \
        (lambda s: rng.random(s).astype(dtype))
    return dict(x_train=make(shape_train), y_train=np.array([0, 1, 2, 0, 1, 2]),
                x_test=make(shape_test), y_test=np.array([1, 2]))


def test_nhwc_uint8_becomes_nchw(tmp_path):
    arrays = _arrays()
    ds = load_dataset("npz", root=_save(tmp_path / "d.npz", **arrays))
    assert ds.train_x.shape == (6, 3, 8, 8) and ds.train_x.dtype == torch.uint8 and ds.name == "d"
    assert torch.equal(ds.train_x[1, 2], torch.from_numpy(arrays["x_train"][1, :, :, 2]))
    assert ds.classes == ("0", "1", "2") and len(ds.mean) == 3


def test_nchw_float_and_class_names(tmp_path):
    arrays = _arrays((6, 1, 5, 5), (2, 1, 5, 5), dtype=np.float64)
    ds = load_dataset("npz", root=_save(tmp_path / "d.npz", classes=np.array(["a", "b", "c"]), **arrays))
    assert ds.train_x.dtype == torch.float32 and ds.shape == (1, 5, 5) and ds.classes == ("a", "b", "c")


def test_three_dimensional_images_get_one_channel(tmp_path):
    ds = load_dataset("npz", root=_save(tmp_path / "d.npz", **_arrays((6, 7, 7), (2, 7, 7))))
    assert ds.shape == (1, 7, 7)


def test_ambiguous_layout_needs_a_hint(tmp_path):
    path = _save(tmp_path / "d.npz", **_arrays((6, 3, 3, 3), (2, 3, 3, 3)))
    with pytest.raises(DataError) as err:
        load_dataset("npz", root=path)
    assert "NHWC or NCHW" in err.value.message and "layout" in err.value.hint
    assert load_dataset("npz", root=path, layout="nchw").shape == (3, 3, 3)


def test_missing_keys_are_listed(tmp_path):
    arrays = _arrays()
    del arrays["y_test"]
    path = _save(tmp_path / "d.npz", **arrays)
    with pytest.raises(DataError) as err:
        load_dataset("npz", root=path)
    assert str(path) in err.value.message and "lacks y_test" in err.value.message


def test_wrong_dtypes_and_lengths(tmp_path):
    arrays = _arrays()
    with pytest.raises(DataError, match="int32, expected uint8"):
        load_dataset("npz", root=_save(tmp_path / "a.npz", **{**arrays, "x_train": arrays["x_train"].astype(np.int32)}))
    with pytest.raises(DataError, match="3 labels for 6 images"):
        load_dataset("npz", root=_save(tmp_path / "b.npz", **{**arrays, "y_train": np.array([0, 1, 2])}))
    with pytest.raises(DataError, match="integer class indices"):
        load_dataset("npz", root=_save(tmp_path / "c.npz", **{**arrays, "y_test": np.array([0.5, 1.0])}))
    floats = {**_arrays(dtype=np.float32), "x_test": np.full((2, 8, 8, 3), 255.0, np.float32)}
    with pytest.raises(DataError, match=r"expected \[0, 1\]"):
        load_dataset("npz", root=_save(tmp_path / "e.npz", **floats))

def test_not_an_archive(tmp_path):
    path = tmp_path / "d.npz"
    path.write_text("hello")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset("npz", root=path)


def test_size_resizes(tmp_path):
    ds = load_dataset("npz", root=_save(tmp_path / "d.npz", **_arrays()), size=4)
    assert ds.shape == (3, 4, 4) and ds.train_x.dtype == torch.float32
