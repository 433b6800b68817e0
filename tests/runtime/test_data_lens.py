"""SGLFC 2.0 lens candidates: folder and npz layouts, scaling, resizing, validation."""

import numpy as np
import pytest
import torch

from genolang.base.errors import DataError
from genolang.runtime.data import load_dataset

N = 10


def _bands(vis=20, nisp=6, seed=0):
    rng = np.random.default_rng(seed)
    return {"vis": rng.normal(5.0, 2.0, (N, vis, vis)).astype(np.float32),
            **{b: rng.normal(-3.0, 10.0, (N, nisp, nisp)).astype(np.float32) for b in ("j", "y", "h")}}


def write_folder(root, bands=None, flags=None):
    root.mkdir(parents=True, exist_ok=True)
    for name, array in (bands or _bands()).items():
        np.save(root / f"{name}.npy", array)
    flags = [i % 2 for i in range(N)] if flags is None else flags
    (root / "labels.csv").write_text("id,is_lens\n" + "".join(f"{100 + i},{f}\n" for i, f in enumerate(flags)))
    return root


def test_folder_layout(tmp_path):
    ds = load_dataset("lens", root=write_folder(tmp_path / "lens"))
    assert ds.shape == (4, 6, 6) and ds.classes == ("non_lens", "lens") and ds.train_x.dtype == torch.float32
    assert len(ds.train_y) == 8 and len(ds.test_y) == 2 and sorted(ds.test_y.tolist()) == [0, 1]
    images = torch.cat([ds.train_x, ds.test_x])
    # Per-candidate, per-band min–max: each NISP band spans exactly [0, 1]; VIS is scaled before
    # its area resize averages pixels, so it stays inside [0, 1].
    assert torch.allclose(images[:, 1:].amin(dim=(2, 3)), torch.zeros(N, 3))
    assert torch.allclose(images[:, 1:].amax(dim=(2, 3)), torch.ones(N, 3))
    assert 0.0 <= float(images[:, 0].min()) and float(images[:, 0].max()) <= 1.0


def test_vis_is_area_resized_and_bands_stay_in_order(tmp_path):
    bands = _bands()
    bands["vis"] = np.zeros((N, 20, 20), np.float32)
    bands["vis"][:, :10, :10] = 1.0  # top-left quarter bright
    ds = load_dataset("lens", root=write_folder(tmp_path / "l", bands=bands), test_fraction=0.5)
    vis = torch.cat([ds.train_x, ds.test_x])[:, 0]
    assert vis.shape[1:] == (6, 6)
    assert torch.all(vis[:, :3, :3] > 0.99) and torch.all(vis[:, 3:, :] < 0.01)


def test_npz_layout_matches_folder_layout(tmp_path):
    bands = _bands(seed=3)
    flags = np.array([i % 2 for i in range(N)])
    np.savez(tmp_path / "lens.npz", is_lens=flags, **bands)
    from_npz = load_dataset("lens", root=tmp_path / "lens.npz", seed=7)
    from_folder = load_dataset("lens", root=write_folder(tmp_path / "f", bands=bands), seed=7)
    assert torch.equal(from_npz.train_x, from_folder.train_x) and torch.equal(from_npz.test_y, from_folder.test_y)


def test_per_band_scaling_and_limit(tmp_path):
    ds = load_dataset("lens", root=write_folder(tmp_path / "l"), scaling="per_band", limit=6, test_fraction=0.5)
    images = torch.cat([ds.train_x, ds.test_x])
    assert len(images) == 6 and float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_missing_band_names_the_file(tmp_path):
    root = write_folder(tmp_path / "l")
    (root / "y.npy").unlink()
    with pytest.raises(DataError) as err:
        load_dataset("lens", root=root)
    assert str(root / "y.npy") in err.value.message and "labels.csv" in err.value.hint


def test_label_table_problems(tmp_path):
    root = write_folder(tmp_path / "l")
    (root / "labels.csv").write_text("id,label\n1,0\n")
    with pytest.raises(DataError, match="is_lens"):
        load_dataset("lens", root=root)
    write_folder(root, flags=["0"] * (N - 1) + ["maybe"])
    with pytest.raises(DataError, match="maybe"):
        load_dataset("lens", root=root)
    write_folder(root, flags=[0] * (N - 2))
    with pytest.raises(DataError, match="10 candidates but the labels have 8"):
        load_dataset("lens", root=root)


def test_mismatched_nisp_sizes(tmp_path):
    bands = _bands()
    bands["h"] = np.zeros((N, 5, 5), np.float32)
    with pytest.raises(DataError, match="NISP"):
        load_dataset("lens", root=write_folder(tmp_path / "l", bands=bands))


def test_fits_without_astropy_says_how_to_fix(tmp_path):
    try:
        import astropy  # noqa: F401
        pytest.skip("astropy is installed")
    except ImportError:
        pass
    root = write_folder(tmp_path / "l")
    (root / "j.npy").unlink()
    (root / "j.fits").write_bytes(b"SIMPLE")
    with pytest.raises(DataError) as err:
        load_dataset("lens", root=root)
    assert "astropy" in err.value.hint
