"""CIFAR-10/100 from tiny files in the real python-pickle format."""

import pickle

import numpy as np
import pytest
import torch

from genolang.base.errors import DataError
from genolang.runtime.data import load_dataset
from genolang.runtime.data.cifar import CIFAR10_MEAN


def _batch(rng, n, label_key, num_classes):
    # The real files: b"data" uint8 N×3072 (R plane, G plane, B plane), labels as a list of ints.
    return {b"batch_label": b"tiny", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            label_key: [int(v) for v in rng.integers(0, num_classes, n)], b"filenames": [b"x.png"] * n}


def _dump(path, obj):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=2)


def write_cifar10(root, per_batch=4, test=6):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        _dump(folder / f"data_batch_{i}", _batch(rng, per_batch, b"labels", 10))
    _dump(folder / "test_batch", _batch(rng, test, b"labels", 10))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    _dump(folder / "batches.meta", {b"label_names": names, b"num_vis": 3072})
    return folder


def write_cifar100(root, train=10, test=4):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, n in (("train", train), ("test", test)):
        batch = _batch(rng, n, b"fine_labels", 100)
        batch[b"coarse_labels"] = [0] * n
        _dump(folder / name, batch)
    _dump(folder / "meta", {b"fine_label_names": [f"c{i}".encode() for i in range(100)],
                            b"coarse_label_names": [b"x"] * 20})
    return folder


def test_cifar10_reads_all_batches(tmp_path):
    folder = write_cifar10(tmp_path)
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.train_x.shape == (20, 3, 32, 32) and ds.train_x.dtype == torch.uint8
    assert ds.test_x.shape == (6, 3, 32, 32) and ds.test_y.dtype == torch.int64
    assert ds.classes[0] == "airplane" and ds.num_classes == 10 and ds.mean == CIFAR10_MEAN
    # Channel-major rows: the first 1024 bytes are the red plane of image 0.
    with open(folder / "data_batch_1", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")
    assert torch.equal(ds.train_x[0, 0].flatten(), torch.from_numpy(raw[b"data"][0, :1024]))
    assert ds.train_y[:4].tolist() == raw[b"labels"]


def test_root_may_be_the_extracted_folder_itself(tmp_path):
    folder = write_cifar10(tmp_path)
    assert len(load_dataset("cifar10", root=folder).train_y) == 20


def test_cifar100_uses_fine_labels(tmp_path):
    write_cifar100(tmp_path)
    ds = load_dataset("cifar100", root=tmp_path)
    assert ds.train_x.shape == (10, 3, 32, 32) and ds.num_classes == 100 and ds.classes[5] == "c5"


def test_missing_batch_names_the_file(tmp_path):
    folder = write_cifar10(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path)
    assert str(folder / "data_batch_3") in err.value.message and "python pickle" in err.value.message


def test_empty_folder_says_what_was_expected(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path)
    assert "cifar-10-batches-py/data_batch_1 (python pickle)" in err.value.message
    assert "cifar.html" in err.value.hint


def test_garbage_file_is_a_data_error(tmp_path):
    folder = write_cifar10(tmp_path)
    (folder / "test_batch").write_bytes(b"not a pickle at all")
    with pytest.raises(DataError, match="test_batch"):
        load_dataset("cifar10", root=tmp_path)


def test_wrong_shape_is_reported(tmp_path):
    folder = write_cifar10(tmp_path)
    _dump(folder / "data_batch_2", {b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4})
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", root=tmp_path)
    assert "data_batch_2" in err.value.message and "N×3072" in err.value.message


def test_cifar100_files_in_a_cifar10_folder_name_the_missing_key(tmp_path):
    folder = write_cifar10(tmp_path)
    _dump(folder / "data_batch_1", {b"data": np.zeros((4, 3072), np.uint8), b"fine_labels": [0] * 4})
    with pytest.raises(DataError, match="b'labels'"):
        load_dataset("cifar10", root=tmp_path)


def test_pickles_cannot_run_code(tmp_path):
    folder = write_cifar10(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    _dump(folder / "data_batch_1", {b"data": Evil(), b"labels": []})
    with pytest.raises(DataError, match="refusing"):
        load_dataset("cifar10", root=tmp_path)


def test_python3_pickles_with_str_keys_and_new_protocol(tmp_path):
    folder = write_cifar10(tmp_path)
    rng = np.random.default_rng(5)
    with open(folder / "data_batch_5", "wb") as handle:
        pickle.dump({"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": np.arange(4)},
                    handle, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(load_dataset("cifar10", root=tmp_path).train_y) == 20


def test_original_python2_module_names_are_accepted(tmp_path):
    # The released files were pickled by Python 2 with numpy.core.multiarray, renamed in numpy 2.
    folder = write_cifar10(tmp_path)
    rng = np.random.default_rng(9)
    blob = pickle.dumps({b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [1, 2, 3, 4]},
                        protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    (folder / "data_batch_4").write_bytes(blob)
    assert load_dataset("cifar10", root=tmp_path).train_y[12:16].tolist() == [1, 2, 3, 4]


def test_resizing_gives_float_images(tmp_path):
    write_cifar10(tmp_path)
    ds = load_dataset("cifar10", root=tmp_path, size=16)
    assert ds.train_x.shape == (20, 3, 16, 16) and ds.train_x.dtype == torch.float32 and ds.size == 16
    assert 0.0 <= float(ds.train_x.min()) and float(ds.train_x.max()) <= 1.0
