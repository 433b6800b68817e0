"""Memory and time are bounded outside check/compile too: a search that cannot fit is refused
before it allocates, with the figure; epochs, sizes and the device are bounded when the spec
is checked; `geno import` bounds ranges before making them and never prints a name that is
not one into spec text; a `use` link to a file that is not .geno is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile import run_capped  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DIGITS = (ROOT / "specs" / "icdarts" / "digits.geno").read_text()
SECRET = "API_KEY=sentinel-7f3a"


def _spec(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DIGITS
    path = tmp_path / "digits.geno"
    path.write_text(DIGITS.replace(old, new))
    return path


def _refused(out, *words: str) -> None:
    assert out.traceback is None and not out.hung, out.traceback
    assert out.code == 2, (out.code, out.stdout, out.stderr)
    for word in words:
        assert word in out.stderr, (word, out.stderr)


def test_a_search_that_cannot_fit_is_refused_before_it_allocates(tmp_path, monkeypatch):
    """The quick start with `channels 512` (within the 4,096 limit): about 53 GiB for the
    supernet, E and the data; refused with the figure and what to lower, not run out of memory."""
    monkeypatch.setenv("GENOLANG_MAX_PROCESS_BYTES", str(16 * 2**30))
    spec = _spec(tmp_path, "channels 8", "channels 512")
    out = run_capped("search", str(spec), "--out", str(tmp_path / "runs"), "--quiet", seconds=60)
    _refused(out, "GiB", "supernet `digits_search`", "channels", "search.batch")
    assert out.peak_growth < 2 * 2**30
    assert not (tmp_path / "runs").exists()           # not even a run directory


def test_the_budget_is_the_process_limit_when_ulimit_is_lower(tmp_path):
    spec = _spec(tmp_path, "channels 8", "channels 64")          # about 5.5 GiB
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENOLANG_THREADS": "1"}
    done = subprocess.run(["bash", "-c", f"ulimit -v 5000000; {sys.executable} -m genolang search {spec} "
                           f"--out {tmp_path / 'runs'} --quiet"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "ulimit -v 5000000" in done.stderr and "Traceback" not in done.stderr


def test_a_data_size_that_cannot_fit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GENOLANG_MAX_PROCESS_BYTES", str(16 * 2**30))
    spec = _spec(tmp_path, "size = 16", "size = 2048")
    for command in (["search", str(spec)], ["train", "zoo/darts_v2", "--spec", str(spec)]):
        out = run_capped(*command, "--out", str(tmp_path / "runs"), "--quiet", seconds=60)
        _refused(out, "data `digits`", "at 2048 px")
        assert out.peak_growth < 2 * 2**30


@pytest.mark.parametrize("old,new,word", [
    ("epochs = 6", "epochs = 1e12", "search.epochs"),
    ("epochs = 6", "epochs = 6\n    warmup_epochs = 1000000", "search.warmup_epochs"),
    ("size = 16", "size = 100000", "data.size"),
    ("kind = digits", "kind = digits\n    limit = 10000000000000", "data.limit"),
    ("  algorithm {", "  device = \"meta\"\n  algorithm {", "device"),
    ("  algorithm {", "  device = \"toaster\"\n  algorithm {", "device"),
])
def test_numeric_settings_and_the_device_are_bounded_when_checked(tmp_path, old, new, word):
    spec = _spec(tmp_path, old, new)
    _refused(run_capped("check", str(spec), seconds=30), word)


def test_import_bounds_a_range_before_making_it(tmp_path):
    text = "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=range(0, 300000000))"
    out = run_capped("import", "darts", text, seconds=10)
    _refused(out, "range(0, 300000000)", "at most")
    assert out.peak_growth < 256 * 2**20


@pytest.mark.parametrize("name", ["sep_conv_3x3\nuse \"secret.geno\"", "op x = identity", "a b", "x;y", "x}"])
def test_import_never_prints_a_name_that_is_not_one(tmp_path, name):
    text = f"Genotype(normal=[({name!r}, 0), ('skip_connect', 1)], normal_concat=[2])"
    out = run_capped("import", "darts", text, "--out", str(tmp_path / "g.geno"), seconds=10)
    _refused(out, "is not an operation name")
    assert not (tmp_path / "g.geno").exists()


def test_a_use_link_to_a_file_that_is_not_geno_is_refused_inside_the_project(tmp_path):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / ".env").write_text(SECRET + "\n")
    (project / "specs").mkdir()
    (project / "specs" / "x.geno").symlink_to(project / ".env")
    main = project / "specs" / "main.geno"
    main.write_text('use "x.geno"\n')
    out = run_capped("check", str(main), seconds=10)
    _refused(out, "x.geno", "not a .geno file")
    assert "sentinel-7f3a" not in out.stdout + out.stderr


def test_a_long_chain_of_use_is_a_located_error_not_a_recursion_error(tmp_path):
    for i in range(600):
        (tmp_path / f"f{i}.geno").write_text(f'use "f{i + 1}.geno"\n' if i < 599 else "space s { skip = identity }\n")
    out = run_capped("check", str(tmp_path / "f0.geno"), seconds=30)
    _refused(out, "`use` chain deeper than 64 files")
