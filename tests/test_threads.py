"""The thread count a run takes: --threads, GENOLANG_THREADS, OMP_NUM_THREADS, then the usable CPUs."""

import os

import pytest

from genolang import threads
from genolang.errors import ConfigError


def test_precedence(monkeypatch):
    monkeypatch.setenv("GENOLANG_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "5")
    assert threads.resolve_threads(2) == (2, "--threads")
    assert threads.resolve_threads() == (3, "GENOLANG_THREADS")
    monkeypatch.delenv("GENOLANG_THREADS")
    assert threads.resolve_threads() == (5, "OMP_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.resolve_threads() == (threads.usable_cpus(), "usable CPUs")


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_bad_values_are_config_errors(monkeypatch, bad):
    monkeypatch.setenv("GENOLANG_THREADS", bad)
    with pytest.raises(ConfigError, match="GENOLANG_THREADS"):
        threads.resolve_threads()


def test_usable_cpus_follows_the_affinity_mask():
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        assert threads.usable_cpus() == 1
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.parametrize("text, cpus", [("150000 100000\n", 1.5), ("max 100000\n", None), ("garbage", None)])
def test_cgroup_v2_quota(tmp_path, text, cpus):
    (tmp_path / "cpu.max").write_text(text)
    assert threads.cgroup_cpu_limit(tmp_path) == cpus


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_cpu_limit(tmp_path) == 0.5
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_limit(tmp_path) is None
