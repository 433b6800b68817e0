"""The check scheduler: debounced, one check at a time, a stale check cancelled mid-run."""

from __future__ import annotations

import threading

from genolang.lsp.scheduler import Scheduler

CAP = 30.0                          # seconds: a cap against hangs, not a timing


def test_a_running_check_is_cancelled_by_a_new_request_for_its_file():
    started, finished, calls = threading.Event(), threading.Event(), []

    def check(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            with scheduler.cancellable():
                started.set()
                spin = 0
                while True:             # a check that would never end by itself
                    spin += 1
        finished.set()

    scheduler = Scheduler(check, debounce=0.0)
    try:
        scheduler.request(["a.geno"])
        assert started.wait(CAP)
        scheduler.request(["a.geno"])   # an edit: the running check is stale
        assert finished.wait(CAP), "the stale check was not cancelled"
        assert calls == ["a.geno", "a.geno"]
    finally:
        scheduler.stop()


def test_requests_in_a_burst_give_one_check_each_and_other_files_are_not_cancelled():
    done = threading.Event()
    calls: list[str] = []
    gate = threading.Event()

    def check(key: str) -> None:
        if key == "slow.geno":
            with scheduler.cancellable():      # requests for other files must not interrupt it
                gate.wait(CAP)
        calls.append(key)
        if len(calls) == 2:
            done.set()

    scheduler = Scheduler(check, debounce=0.05)
    try:
        scheduler.request(["slow.geno"], delay=0)
        for _ in range(20):
            scheduler.request(["b.geno"])      # keystrokes in another file: debounced to one check
        gate.set()
        assert done.wait(CAP)
        assert sorted(calls) == ["b.geno", "slow.geno"]
    finally:
        scheduler.stop()
