"""Directories "someone sent you", for the hostile-directory tests: one finished tiny study
(a search, its retraining and a random genotype's retraining) made once, copied per test,
then damaged by the test; a sentinel file outside it that must stay untouched and unread.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
import tiny  # noqa: E402
from hostile import run_capped  # noqa: E402,F401

SECRET = "sentinel-7f3a: nobody may read or write this line"
STAMP = 1_000_000            # atime and mtime of the sentinel: a read moves atime (relatime: it is old)


@dataclass
class Sentinel:
    path: Path

    @classmethod
    def make(cls, folder: Path) -> "Sentinel":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "sentinel.txt"
        path.write_text(SECRET + "\n")
        os.utime(path, (STAMP, STAMP))
        return cls(path)

    def assert_untouched(self, *outputs: str, inside: Path | None = None) -> None:
        """Same content and mtime, not read (atime), not quoted in ``outputs`` nor copied
        into any file of ``inside``."""
        info = os.stat(self.path)
        assert self.path.read_text() == SECRET + "\n", "the sentinel was written"
        assert info.st_mtime == STAMP, "the sentinel was written (mtime)"
        assert info.st_atime == STAMP, "the sentinel was read (atime)"
        os.utime(self.path, (STAMP, STAMP))       # our own read_text above moved it
        for text in outputs:
            assert "sentinel-7f3a" not in text, "the sentinel's content was shown"
        if inside is not None:
            for path in inside.rglob("*"):
                if path.is_file() and not path.is_symlink():
                    assert b"sentinel-7f3a" not in path.read_bytes(), f"the sentinel's content was copied to {path}"


def make_study(root: Path) -> Path:
    """A finished study: search_s0, retrain_s0, retrain_random_0 (the retraining of a random genotype)."""
    from genolang.runtime.jobs.engines import engine_for
    from genolang.runtime.jobs.study import create_study, run_study

    spec = root / "tiny.geno"
    spec.write_text(tiny.STUDY_SPEC)
    study = create_study(root / "study", spec, seeds=1, random=1, label="V1")
    failed = run_study(study, engine=engine_for("local", jobs=1), echo=lambda _: None)
    assert not failed
    return root / "study"


def copy(study: Path, to: Path) -> Path:
    target = to / "received"
    shutil.copytree(study, target, symlinks=True)
    for lock in target.rglob(".lock"):      # no one runs the copy
        lock.unlink()
    return target


def clean_exit(outcome, *names: str) -> None:
    """Exit 2, no traceback, no hang, and the message names each of ``names``."""
    assert outcome.traceback is None, outcome.traceback
    assert not outcome.hung, "hung"
    assert outcome.code == 2, (outcome.code, outcome.stdout, outcome.stderr)
    for name in names:
        assert name in outcome.stderr, (name, outcome.stderr)
