"""A damaged IDX file named by an experiment is a rendered data error (exit 2), not a traceback."""

import numpy as np

from genolang.runtime.data.idx import idx_bytes
from genolang.runtime.data.mnist import IDX_FILES


def test_a_truncated_idx_file_stops_the_search_with_a_located_error(geno, tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    for part, n in (("train", 40), ("test", 20)):
        images, labels = IDX_FILES[part]
        (data / images).write_bytes(idx_bytes(np.zeros((n, 8, 8), dtype=np.uint8))[:300])
        (data / labels).write_bytes(idx_bytes(np.zeros(n, dtype=np.uint8)))
    result = geno("search", "icdarts/digits", "--out", str(tmp_path / "runs"), "--device", "cpu",
                  "--set", "data.kind=mnist", "--set", f"data.path={data}")
    assert result.returncode == 2, result.stderr
    assert f"{data / 'train-images-idx3-ubyte'}, byte 16" in result.stderr and "Traceback" not in result.stderr
    assert "hint:" in result.stderr
