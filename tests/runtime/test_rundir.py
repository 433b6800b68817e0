"""Run directories: names are one path component, fresh runs claim distinct directories
atomically, resumes refuse changed runs (with --force to accept), torn logs and orphan temp files
are repaired, a mistyped resume creates nothing, and the newest run of a name is found."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path

import pytest

import tiny

from genolang.base.errors import ConfigError
from genolang.runtime.runs.rundir import (
    RunDir, RunDirError, check_run_name, newest_run, new_run_dir, read_json, read_jsonl,
)


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "a\\b", "..", ".", "", "x\0y", "n" * 300])
def test_run_names_are_one_path_component(tmp_path, name):
    with pytest.raises(ConfigError, match="one path component"):
        new_run_dir(tmp_path / "runs", name)
    assert not (tmp_path / "x").exists() and not (tmp_path / "runs" / "a").exists()


def test_plain_names_pass():
    assert check_run_name("digits_v2-1.5") == "digits_v2-1.5"


def test_runs_started_at_once_get_distinct_directories(tmp_path):
    claimed: list[Path] = []
    barrier = threading.Barrier(6)

    def claim():
        barrier.wait()
        claimed.append(new_run_dir(tmp_path, "tiny"))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in claimed) == sorted(["tiny"] + [f"tiny-{i}" for i in range(2, 7)])
    assert all(json.loads((p / "run.json").read_text())["name"] == "tiny" for p in claimed)


def test_newest_run_of_a_name(tmp_path):
    first = new_run_dir(tmp_path, "digits")
    second = new_run_dir(tmp_path, "digits")
    other = new_run_dir(tmp_path, "digits-2x")                    # another name entirely
    assert (first.name, second.name, other.name) == ("digits", "digits-2", "digits-2x")
    assert newest_run(tmp_path / "digits") == second
    # a deleted run's index is reused: newest is by start time, not by index
    third = new_run_dir(tmp_path, "digits")
    (second / "run.json").write_text(json.dumps({"name": "digits", "created": time.time() + 60}))
    assert third.name == "digits-3" and newest_run(tmp_path / "digits") == second
    # the name alone works once its first directory is gone; an experiment named `digits-2`
    # is not a run of `digits`
    (second / "run.json").write_text(json.dumps({"name": "digits-2", "created": time.time() + 60}))
    assert newest_run(tmp_path / "digits") == third
    assert newest_run(tmp_path / "nothing") is None


def test_torn_last_jsonl_line_is_dropped_with_a_warning(tmp_path, capsys):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"epoch": 0}\n{"epoch": 1}\n{"epoch": 2, "lo')
    assert read_jsonl(log) == [{"epoch": 0}, {"epoch": 1}]
    assert log.read_text().endswith('"lo')                        # reading alone changes nothing
    assert read_jsonl(log, repair=True) == [{"epoch": 0}, {"epoch": 1}]
    assert f"{log}:3" in capsys.readouterr().err
    assert log.read_text() == '{"epoch": 0}\n{"epoch": 1}\n'
    log.write_bytes(b'{"epoch": 0}\n{"ep\xff\xfe\n{"epoch": 2}\n')    # damaged in the middle
    with pytest.raises(RunDirError, match=r"metrics.jsonl:2: not a valid JSON record"):
        read_jsonl(log, repair=True)


def test_torn_config_json_is_a_located_error(tmp_path):
    (tmp_path / "config.json").write_text('{\n  "seed": 0,\n  "search": {"epo')
    with pytest.raises(RunDirError, match=r"config.json:3:\d+: not valid JSON"):
        RunDir(tmp_path).load_config()
    (tmp_path / "config.json").write_text('{"search": {"batch": 0}}')
    with pytest.raises(RunDirError, match=r"`search.batch`"):
        RunDir(tmp_path).load_config()
    with pytest.raises(RunDirError):
        read_json(tmp_path / "missing.json")


def test_resume_of_a_mistyped_path_creates_nothing(tmp_path):
    with pytest.raises(RunDirError, match="no such run directory"):
        RunDir.existing(tmp_path / "runs" / "tyop", needs=("config.json",), what="search")
    assert not (tmp_path / "runs").exists()


def _begin(path, config, resume, force=False, spec="cell a {}\n", identity=None):
    rd = RunDir(path)
    spec_file = path.parent / "spec_src.geno"
    spec_file.write_text(spec)
    try:
        return rd.begin(config, resume=resume, force=force, spec_path=None if resume else spec_file,
                        identity=identity)
    finally:
        rd.close()


def test_resume_refuses_a_changed_run_unless_forced(tmp_path):
    run = tmp_path / "run"
    config = tiny.config()
    assert _begin(run, config, resume=False, identity={"genotype": {"cells": 1}}) is None
    same = dict(identity={"genotype": {"cells": 1}})
    _begin(run, config, resume=True, **same)                                       # unchanged: fine
    _begin(run, config.with_overrides(device="cuda:3", channels_last=True), resume=True, **same)   # safe
    with pytest.raises(RunDirError, match='search.memory: "plain" -> "recompute"'):   # rounds differently
        _begin(run, config.with_overrides(**{"search.memory": "recompute"}), resume=True, **same)
    changed = config.with_overrides(seed=7, **{"search.epochs": 5})
    with pytest.raises(RunDirError) as info:
        _begin(run, changed, resume=True, identity={"genotype": {"cells": 2}})
    message = info.value.render()
    assert "seed: 0 -> 7" in message and "search.epochs: 2 -> 5" in message and "genotype: differs" in message
    assert "--force" in message
    (run / "spec.geno").write_text("cell a {}\n# edited\n")
    with pytest.raises(RunDirError, match="spec.geno: edited"):
        _begin(run, config, resume=True, **same)
    _begin(run, changed, resume=True, force=True, **same)                         # accepted, and recorded
    info = json.loads((run / "run.json").read_text())
    assert info["fingerprint"]["config"]["seed"] == 7 and info["forced"]
    assert RunDir(run).load_config().seed == 7
    _begin(run, changed, resume=True, **same)                 # the forced settings are the run's now


def test_resume_removes_orphan_checkpoint_temp_files(tmp_path):
    run = tmp_path / "run"
    _begin(run, tiny.config(), resume=False)
    orphan = run / ".checkpoint.pt.k1ll3d.tmp"
    orphan.write_bytes(b"\0" * 10)
    _begin(run, tiny.config(), resume=True)
    assert not orphan.exists()


def test_a_running_run_is_locked(tmp_path):
    run = tmp_path / "run"
    holder = RunDir(run)
    holder.begin(tiny.config(), resume=False)
    try:
        with pytest.raises(RunDirError, match="in use by another running process"):
            RunDir(run).lock()
    finally:
        holder.close()
    RunDir(run).lock()


def test_shape_change_is_not_a_size_mismatch_traceback(tmp_path):
    """Forced past the fingerprint, a resume whose network changed shape is a clean error."""
    from genolang.runtime.search.loop import run_search

    s_t, e_t = tiny.templates(search_cells=3, eval_cells=3)
    kw = dict(search_template=s_t, eval_template=e_t, cells=tiny.cells(), data=tiny.data(), progress=False)
    search = {"epochs": 1, "pretrain_epochs": 1, "batch": 8, "steps_per_epoch": 1, "test_every": 0}
    run_search(tiny.config(search=search), run_dir=tmp_path / "run", **kw)
    wide = dataclasses.replace(s_t, channels=8)
    with pytest.raises(RunDirError, match=r"does not fit the network.*in the checkpoint but") as info:
        run_search(tiny.config(search=search), run_dir=tmp_path / "run", resume=True, force=True,
                   **{**kw, "search_template": wide})
    assert "size mismatch" not in info.value.render()
    assert (tmp_path / "run" / "genotype.geno").exists()
