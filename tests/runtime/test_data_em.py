"""EPFL EM mitochondria crops from tiny multi-page TIFF stacks."""

import numpy as np
import pytest
import torch

from genolang.base.errors import DataError
from genolang.runtime.data import load_dataset
from genolang.runtime.data.em import _centre_counts, _crops, _sample_windows

Image = pytest.importorskip("PIL.Image")

SLICES, H, W, CROP = 3, 48, 56, 16


def _stacks(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(20, 230, (SLICES, H, W), dtype=np.uint8)
    truth = np.zeros((SLICES, H, W), np.uint8)
    truth[:, 10:30, 12:40] = 255  # one "mitochondrion" per slice
    return images, truth


def _write_tiff(path, stack):
    pages = [Image.fromarray(page) for page in stack]
    pages[0].save(path, save_all=True, append_images=pages[1:])


def write_em(root, images=None, truth=None, suffix=".tif"):
    root.mkdir(parents=True, exist_ok=True)
    default_images, default_truth = _stacks()
    images = default_images if images is None else images
    truth = default_truth if truth is None else truth
    for stem, stack in (("training", images), ("training_groundtruth", truth),
                        ("testing", images), ("testing_groundtruth", truth)):
        if suffix == ".npy":
            np.save(root / f"{stem}.npy", stack)
        else:
            _write_tiff(root / f"{stem}{suffix}", stack)
    return root


def _centre_labelled(truth_slice, y, x):
    top = (CROP - 4) // 2
    return int((truth_slice[y + top:y + top + 4, x + top:x + top + 4] > 0).sum())


def test_crops_alternate_classes_and_match_their_centres(tmp_path):
    root = write_em(tmp_path / "em")
    ds = load_dataset("em", root=root, crops_per_slice=(6, 4), size=CROP, seed=0)
    assert ds.shape == (1, CROP, CROP) and ds.classes == ("background", "mitochondria")
    assert len(ds.train_y) == SLICES * 6 and len(ds.test_y) == SLICES * 4
    assert ds.train_y.tolist() == [1, 0] * (SLICES * 3)
    assert float(ds.train_x.min()) >= 0.0 and float(ds.train_x.max()) <= 1.0
    # the min-max scaling is the whole preprocessing: normalisation must not undo it
    assert ds.mean == (0.0,) and ds.std == (1.0,)


def test_labels_follow_the_centre_rule():
    _, truth = _stacks()
    counts = _centre_counts(truth[0] > 0, CROP)
    assert counts.shape == (H - CROP + 1, W - CROP + 1)
    for y, x in [(0, 0), (10, 12), (4, 6), (5, 7), (30, 40), (20, 30)]:
        assert counts[y, x] == _centre_labelled(truth[0], y, x)


def test_sampled_windows_have_their_class_and_crops_are_those_windows():
    images, truth = _stacks()
    rng = np.random.default_rng(0)
    slices, positions, labels = _sample_windows(truth, 10, CROP, 8, rng, "test")
    crops = _crops(images, slices, positions, CROP)
    nx = W - CROP + 1
    for s, p, label, crop in zip(slices, positions, labels, crops):
        y, x = divmod(int(p), nx)
        n = _centre_labelled(truth[s], y, x)
        assert (n >= 8) if label == 1 else (n == 0)
        assert np.array_equal(crop, images[s, y:y + CROP, x:x + CROP])


def test_reproducible_from_the_seed(tmp_path):
    root = write_em(tmp_path / "em")
    a, b, c = (load_dataset("em", root=root, crops_per_slice=4, size=CROP, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_x, b.test_x)
    assert not torch.equal(a.train_x, c.train_x)


def test_npy_stacks_work_like_tiffs(tmp_path):
    tif = load_dataset("em", root=write_em(tmp_path / "t"), crops_per_slice=4, size=CROP)
    npy = load_dataset("em", root=write_em(tmp_path / "n", suffix=".npy"), crops_per_slice=4, size=CROP)
    assert torch.equal(tif.train_x, npy.train_x)


def test_slices_without_a_class_borrow_from_other_slices(tmp_path):
    images, truth = _stacks()
    truth[1] = 0  # slice 1 has no mitochondria at all
    ds = load_dataset("em", root=write_em(tmp_path / "em", images, truth), crops_per_slice=4, size=CROP)
    assert ds.train_y.tolist() == [1, 0] * (SLICES * 2)


def test_a_class_that_never_appears_is_an_error(tmp_path):
    images, truth = _stacks()
    root = write_em(tmp_path / "em", images, np.zeros_like(truth))
    with pytest.raises(DataError) as err:
        load_dataset("em", root=root, crops_per_slice=4, size=CROP)
    assert "training_groundtruth" in err.value.message and "positive" in err.value.message
    assert err.value.hint


def test_missing_and_mismatched_stacks(tmp_path):
    root = write_em(tmp_path / "em")
    (root / "testing.tif").unlink()
    with pytest.raises(DataError) as err:
        load_dataset("em", root=root, crops_per_slice=2, size=CROP)
    assert str(root / "testing.tif") in err.value.message and "multi-page TIFF" in err.value.message
    images, truth = _stacks()
    root = write_em(tmp_path / "em2", images, truth[:, :40])
    with pytest.raises(DataError, match="same shape"):
        load_dataset("em", root=root, crops_per_slice=2, size=CROP)


def test_bad_crop_counts_are_config_errors(tmp_path):
    from genolang.base.errors import ConfigError

    root = write_em(tmp_path / "em")
    for bad in (0, (3,), (2, 0), "300"):
        with pytest.raises(ConfigError, match="crops_per_slice"):
            load_dataset("em", root=root, crops_per_slice=bad, size=CROP)
