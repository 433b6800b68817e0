"""The thread count a run takes: --threads, GENOLANG_THREADS, OMP_NUM_THREADS, then the usable CPUs."""

import os

import pytest

from genolang.base import threads
from genolang.base.errors import ConfigError


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


def test_apply_threads_sets_both_openmp_and_mkl(monkeypatch):
    """torch sizes its OpenMP pool from MKL's count when it loads: both variables must agree."""
    monkeypatch.delenv("GENOLANG_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    applied = threads.apply_threads(3)
    assert (os.environ["OMP_NUM_THREADS"], os.environ["MKL_NUM_THREADS"]) == ("3", "3")
    assert threads.take_applied() == applied == threads.Threads(3, "--threads")
    assert threads.take_applied() is None     # taken by one run only
    assert not applied.adaptive               # asked for: kept fixed


def test_only_a_default_count_follows_the_load():
    assert threads.Threads(2, threads.DEFAULT_SOURCE).adaptive
    assert not threads.Threads(1, threads.DEFAULT_SOURCE).adaptive
    assert not threads.Threads(2, "GENOLANG_THREADS").adaptive
    assert "follows the load" in threads.Threads(2, threads.DEFAULT_SOURCE).describe()


def test_busy_seconds_reads_the_masked_cpus(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal
    stat.write_text("cpu  30 0 10 500 5 0 0 0\ncpu0 20 0 5 100 5 0 0 0\ncpu1 10 0 5 400 0 0 0 0\nintr 1 2\n")
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 10)
    assert threads.busy_seconds({0}, stat) == 2.5
    assert threads.busy_seconds({0, 1}, stat) == 4.0
    assert threads.busy_seconds({0}, tmp_path / "missing") is None


class FakeMachine:
    """A clock, this process's CPU time and the CPUs' busy time, advanced by hand."""

    def __init__(self):
        self.t = self.own = self.busy = 0.0

    def run(self, seconds: float, own_cpus: float, other_cpus: float) -> None:
        self.t += seconds
        self.own += seconds * own_cpus
        self.busy += seconds * (own_cpus + other_cpus)


def governor(machine, ceiling=2, cpus=2):
    calls = []
    g = threads.LoadGovernor(ceiling, calls.append, cpus=set(range(cpus)), interval=1.0,
                             clock=lambda: machine.t, own_seconds=lambda: machine.own,
                             busy=lambda _: machine.busy)
    return g, calls


def test_governor_gives_way_to_another_search_and_takes_the_cpus_back():
    m = FakeMachine()
    g, calls = governor(m)
    m.run(1.5, own_cpus=2, other_cpus=0)
    assert g.tick() == 2 and calls == []               # alone: both cores
    m.run(1.5, own_cpus=1, other_cpus=1.8)             # a second search starts beside it
    assert g.tick() == 1 and calls == [1]
    m.run(0.5, own_cpus=1, other_cpus=0)
    assert g.tick() == 1 and calls == [1]              # between samples: nothing read, nothing changed
    m.run(1.0, own_cpus=1, other_cpus=0.1)             # it finished
    assert g.tick() == 2 and calls == [1, 2]


def test_governor_ignores_light_background_load_and_unreadable_stats():
    m = FakeMachine()
    g, calls = governor(m, ceiling=4, cpus=4)
    m.run(2, own_cpus=4, other_cpus=0.4)
    assert g.tick() == 4 and calls == []
    m.run(2, own_cpus=2, other_cpus=2.2)
    assert g.tick() == 2                                # 4 - 2.2 rounds to 2
    m.run(2, own_cpus=1, other_cpus=8)
    assert g.tick() == 1                                # never below one
    g.busy = lambda _: None                             # not Linux: keeps what it has
    m.run(2, own_cpus=1, other_cpus=0)
    assert g.tick() == 1
