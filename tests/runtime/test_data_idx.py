"""IDX files (MNIST, Fashion-MNIST): good files, truncated files and hostile headers, written here."""

import gzip
import os
import resource

import numpy as np
import pytest
import torch

from genolang.base.errors import ConfigError, DataError
from genolang.runtime.data import load_dataset
from genolang.runtime.data.idx import MAX_PAYLOAD, idx_bytes, read_idx
from genolang.runtime.data.mnist import FASHION_MNIST_ROOT, IDX_FILES, stratified_subset


def _write(path, data: bytes, zipped: bool):
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path


def _folder(tmp_path, n_train=40, n_test=20, side=6, zipped=True, seed=0):
    """A folder with the four standard files: images whose first pixel is their label."""
    rng = np.random.default_rng(seed)
    for part, n in (("train", n_train), ("test", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, side, side)).astype(np.uint8)
        images[:, 0, 0] = labels
        stems = IDX_FILES[part]
        suffix = ".gz" if zipped else ""
        _write(tmp_path / (stems[0] + suffix), idx_bytes(images), zipped)
        _write(tmp_path / (stems[1] + suffix), idx_bytes(labels), zipped)
    return tmp_path


@pytest.mark.parametrize("zipped", [True, False])
@pytest.mark.parametrize("array", [np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
                                   np.array([-3, 7], dtype=np.int32), np.linspace(0, 1, 6).reshape(3, 2)])
def test_a_good_file_reads_back_exactly(tmp_path, zipped, array):
    path = _write(tmp_path / "a.idx", idx_bytes(array), zipped)
    back = read_idx(path)
    assert back.shape == array.shape and np.array_equal(back, array)


def test_the_header_is_big_endian(tmp_path):
    path = _write(tmp_path / "a.idx", idx_bytes(np.zeros((3, 258), dtype=np.uint8)), False)
    assert path.read_bytes()[:12].hex() == "00000802" + "00000003" + "00000102"


@pytest.mark.parametrize("zipped", [True, False])
@pytest.mark.parametrize("cut, words", [(2, "magic"), (6, "header"), (12 + 5, "truncated")])
def test_a_truncated_file_is_a_located_error(tmp_path, zipped, cut, words):
    data = idx_bytes(np.ones((2, 3, 4), dtype=np.uint8))
    path = _write(tmp_path / "t.idx", data[:cut], zipped)
    with pytest.raises(DataError) as err:
        read_idx(path, kind="mnist")
    text = err.value.message + " " + (err.value.hint or "")
    assert str(path) in err.value.message and "byte" in err.value.message and words in text
    assert err.value.message.startswith("mnist dataset:")


def test_a_truncated_gzip_stream_is_a_data_error(tmp_path):
    zipped = gzip.compress(idx_bytes(np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)))
    path = tmp_path / "t.idx.gz"
    path.write_bytes(zipped[: len(zipped) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


@pytest.mark.parametrize("zipped", [True, False])
@pytest.mark.parametrize("header, words", [
    (bytes([1, 0, 8, 1]) + (4).to_bytes(4, "big"), "wrong magic"),
    (bytes([0, 0, 7, 1]) + (4).to_bytes(4, "big"), "type code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 200]), "200 dimensions"),
])
def test_a_wrong_magic_number_is_refused(tmp_path, zipped, header, words):
    path = _write(tmp_path / "h.idx", header + bytes(4), zipped)
    with pytest.raises(DataError, match=words):
        read_idx(path)


@pytest.mark.parametrize("zipped", [True, False])
def test_huge_dimensions_are_refused_before_any_allocation(tmp_path, zipped):
    # 4 × 2^32-1 cubed uint8 values claimed, 16 bytes of data present
    header = bytes([0, 0, 8, 4]) + b"\xff\xff\xff\xff" * 4
    path = _write(tmp_path / "huge.idx", header + bytes(16), zipped)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert f"{MAX_PAYLOAD:,}" in err.value.message and "byte 4" in err.value.message
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000   # KiB: no big buffer


@pytest.mark.parametrize("zipped", [True, False])
def test_a_header_that_claims_more_than_the_file_holds_reads_only_the_file(tmp_path, zipped):
    # 1 GiB claimed (under the cap), 100 bytes present: an error naming both sizes, not a 1 GiB buffer
    header = bytes([0, 0, 8, 3]) + (1024).to_bytes(4, "big") * 3
    path = _write(tmp_path / "liar.idx", header + bytes(100), zipped)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert "1,073,741,824 bytes" in err.value.message and "100 bytes" in err.value.message
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000


@pytest.mark.parametrize("zipped", [True, False])
def test_extra_bytes_after_the_data_are_refused(tmp_path, zipped):
    path = _write(tmp_path / "long.idx", idx_bytes(np.zeros(4, dtype=np.uint8)) + b"xx", zipped)
    with pytest.raises(DataError, match="claims 4 values"):
        read_idx(path)


@pytest.mark.parametrize("zipped", [True, False])
def test_the_loader_reads_the_four_files(tmp_path, zipped):
    ds = load_dataset("mnist", root=_folder(tmp_path, zipped=zipped))
    assert ds.train_x.shape == (40, 1, 6, 6) and ds.train_x.dtype == torch.uint8 and ds.num_classes == 10
    assert torch.equal(ds.train_x[:, 0, 0, 0].long(), ds.train_y) and len(ds.test_y) == 20
    assert ds.name == "mnist" and len(ds.mean) == 1


def test_resizing_and_a_stratified_subset(tmp_path):
    ds = load_dataset("fashion_mnist", root=_folder(tmp_path, n_train=100), size=12, train_images=30,
                      test_images=10, seed=3)
    assert ds.train_x.shape == (30, 1, 12, 12) and ds.train_x.dtype == torch.float32
    assert torch.bincount(ds.train_y).tolist() == [3] * 10 and torch.bincount(ds.test_y).tolist() == [1] * 10
    assert ds.classes[0] == "T-shirt/top"
    again = load_dataset("fashion_mnist", root=tmp_path, size=12, train_images=30, test_images=10, seed=3)
    other = load_dataset("fashion_mnist", root=tmp_path, size=12, train_images=30, test_images=10, seed=4)
    assert torch.equal(again.train_x, ds.train_x) and not torch.equal(other.train_x, ds.train_x)


def test_a_stratified_subset_keeps_the_class_shares():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)
    keep = stratified_subset(labels, 11, seed=0)
    assert np.bincount(labels[keep]).tolist() == [6, 3, 2]   # 5.5, 3.3, 2.2: the spare one to class 0
    assert np.all(np.diff(keep) > 0) and len(stratified_subset(labels, 500, 0)) == 100


def test_a_subset_larger_than_the_set_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="train_images"):
        load_dataset("mnist", root=_folder(tmp_path), train_images=41)


def test_labels_that_do_not_match_the_images_are_refused(tmp_path):
    _folder(tmp_path)
    _write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(19, dtype=np.uint8)), True)
    with pytest.raises(DataError, match="19 labels for the 20 images"):
        load_dataset("mnist", root=tmp_path)


def test_labels_outside_ten_classes_are_refused(tmp_path):
    _folder(tmp_path)
    _write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full(20, 10, dtype=np.uint8)), True)
    with pytest.raises(DataError, match="label 10"):
        load_dataset("mnist", root=tmp_path)


def test_images_of_the_wrong_type_are_refused(tmp_path):
    _folder(tmp_path)
    _write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros((40, 6, 6), dtype=np.int32)), True)
    with pytest.raises(DataError, match="expected uint8"):
        load_dataset("mnist", root=tmp_path)


def test_missing_files_say_how_to_get_fashion_mnist(tmp_path):
    with pytest.raises(DataError) as err:
        load_dataset("fashion_mnist", root=tmp_path)
    assert "train-images-idx3-ubyte" in err.value.message
    assert "apt-get install dataset-fashion-mnist" in err.value.hint
    with pytest.raises(DataError) as err:
        load_dataset("fashion_mnist", root=tmp_path / "nowhere")
    assert "apt-get install dataset-fashion-mnist" in err.value.hint


def test_mnist_needs_a_path():
    with pytest.raises(ConfigError, match="needs `path`"):
        load_dataset("mnist")


def test_debian_s_fashion_mnist_by_default():
    """The files `apt-get install dataset-fashion-mnist` installs (.ci/run does; elsewhere this skips)."""
    if not FASHION_MNIST_ROOT.is_dir():
        if os.environ.get("GENO_CI") == "1":
            pytest.fail(f"GENO_CI=1 but {FASHION_MNIST_ROOT} is missing (apt-get install dataset-fashion-mnist)")
        pytest.skip(f"{FASHION_MNIST_ROOT} is not installed (apt-get install dataset-fashion-mnist)")
    ds = load_dataset("fashion_mnist", test_images=1000)
    assert ds.train_x.shape == (60_000, 1, 28, 28) and ds.train_x.dtype == torch.uint8
    assert torch.bincount(ds.train_y).tolist() == [6000] * 10 and torch.bincount(ds.test_y).tolist() == [100] * 10
    assert ds.classes[-1] == "Ankle boot"
