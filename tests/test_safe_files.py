"""The safe file layer on its own: escapes, links, FIFOs, devices, temp names, deletion."""

from __future__ import annotations

import os

import pytest

from genolang.base import safe_files as sf
from genolang.base import safe_locks


def test_paths_that_climb_out_or_pass_a_link_are_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "sub").symlink_to(tmp_path)
    assert sf.inside(tmp_path / "run", "a", "b.json") == tmp_path / "run" / "a" / "b.json"
    for parts in (("../x",), ("/etc/passwd",), ("a/../../x",), ("sub", "x.json")):
        with pytest.raises(sf.UnsafeFileError):
            sf.inside(tmp_path / "run", *parts)
    for name in ("..", "a/b", "", "x\ny", "/abs", "a" * 300):
        with pytest.raises(sf.UnsafeFileError):
            sf.check_component(name, "a name", "here")


def test_reads_refuse_links_fifos_devices_and_big_files_and_json_damage(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "zero").symlink_to("/dev/zero")
    (tmp_path / "big").write_bytes(b"x" * 101)
    for name in ("fifo", "zero", "big"):
        with pytest.raises(sf.UnsafeFileError):
            sf.read_bytes(tmp_path / name, limit=100)
    for text in ('{"a": NaN}', "[1]", '{"a": ', b"\xff"):
        (tmp_path / "j.json").write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(sf.DamagedFileError, match="j.json"):
            sf.read_json(tmp_path / "j.json")
    (tmp_path / "log").write_text('{"a": 1}\n[2]\n{"b": 2}\n')
    with pytest.raises(sf.DamagedFileError, match="log:2"):
        sf.read_jsonl(tmp_path / "log")


def test_writes_replace_a_planted_link_and_never_write_through_it(tmp_path):
    target = tmp_path / "outside.txt"
    target.write_text("keep")
    (tmp_path / "out.json").symlink_to(target)
    sf.write_json(tmp_path / "out.json", {"a": 1})
    assert target.read_text() == "keep" and not (tmp_path / "out.json").is_symlink()
    (tmp_path / "log").symlink_to(target)
    with pytest.raises(sf.UnsafeFileError):
        sf.append_text(tmp_path / "log", "x")
    with pytest.raises(sf.UnsafeFileError):
        sf.open_lock(tmp_path / "log")
    assert target.read_text() == "keep"


def test_only_directories_genolang_created_are_deleted(tmp_path):
    made = sf.make_dir(tmp_path / "runs" / "a", mark=True)
    foreign = sf.make_dir(tmp_path / "runs" / "b")
    with pytest.raises(sf.UnsafeFileError, match="not created by genolang"):
        sf.remove_created(foreign, tmp_path)
    sf.remove_created(made, tmp_path)
    assert not made.exists() and foreign.exists()
    (tmp_path / "runs" / "c").symlink_to(foreign)
    with pytest.raises(sf.UnsafeFileError):
        sf.remove_created(tmp_path / "runs" / "c", tmp_path)
    assert foreign.exists()


def test_a_held_lock_names_its_holder(tmp_path):
    with safe_locks.take_lock(tmp_path / ".lock"):
        with pytest.raises(safe_locks.LockHeld) as held:
            safe_locks.take_lock(tmp_path / ".lock")
    assert held.value.pid == os.getpid()
