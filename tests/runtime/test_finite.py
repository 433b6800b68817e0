"""The divergence guard: a non-finite loss or parameter stops search, retraining and the macro
phase with a located error (exit code 3 in the CLI), keeps the last finite checkpoint as the one
to resume from, and writes no genotype derived from non-finite α."""

from __future__ import annotations

import math

import pytest
import torch

import tiny

from genolang.runtime.runs.checkpoint import load_checkpoint
from genolang.runtime.runs.finite import EXIT_NONFINITE, FiniteWatch, NonFiniteError, check_state
from genolang.runtime.runs.meter import Meter
from genolang.runtime.runs.rundir import RunDir
from genolang.runtime.search.loop import run_search

SEARCH = {"epochs": 1, "pretrain_epochs": 1, "batch": 8, "steps_per_epoch": 2, "test_every": 0}


def test_meter_stops_at_the_first_non_finite_loss():
    meter = Meter()
    meter.add("loss_S", torch.tensor(1.0))
    meter.add("acc_S", torch.tensor(3), 4)                     # counts are never in question
    meter.add("loss_S", torch.tensor(2.0))
    with pytest.raises(NonFiniteError) as info:
        meter.add("loss_S", torch.tensor(float("nan")))
    assert info.value.what == "loss_S" and info.value.step == 2 and math.isnan(info.value.value)
    assert info.value.exit_code == EXIT_NONFINITE == 3


def test_deferred_watch_keeps_the_first_bad_step_until_check():
    """On accelerators the watch keeps the first bad index on the device and syncs in check()."""
    watch = FiniteWatch(eager=False)
    for i, v in enumerate([1.0, float("inf"), float("nan"), 2.0]):
        watch.add("loss", torch.tensor(v), i)
    watch.add("other", torch.tensor(1.0), 0)
    with pytest.raises(NonFiniteError) as info:
        watch.check()
    assert info.value.what == "loss" and info.value.step == 1 and info.value.value == float("inf")


def test_check_state_names_a_non_finite_tensor():
    state = {"net": {"a": torch.ones(3), "b": torch.tensor([1.0, float("nan")])}, "rng": torch.zeros(4, dtype=torch.uint8),
             "opt": [{"m": torch.zeros(2)}]}
    check_state({"net": {"a": torch.ones(3)}, "steps": 3})
    with pytest.raises(NonFiniteError, match=r"`net\.b`") as info:
        check_state(state, epoch=4, phase="search")
    assert "epoch 5" in info.value.message


def _search(run_dir, resume=False, force=False, **search):
    s_t, e_t = tiny.templates(search_cells=3, eval_cells=3)
    return run_search(tiny.config(search={**SEARCH, **search}), search_template=s_t, eval_template=e_t,
                      cells=tiny.cells(), data=tiny.data(), run_dir=run_dir, resume=resume, force=force,
                      progress=False)


def test_diverging_search_stops_and_leaves_a_finite_resumable_checkpoint(tmp_path):
    run = tmp_path / "run"
    with pytest.raises(NonFiniteError) as info:
        _search(run, w_lr=1e6)
    message = info.value.render()
    assert "diverged in epoch 2/2 (search)" in message and "not finite" in message and "--resume" in message
    assert not (run / "genotype.geno").exists() and not (run / "genotype.json").exists()
    assert not list((run / "genotypes").glob("*")), "no per-epoch genotype from non-finite α either"
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["next_epoch"] == 1
    check_state(state)                                      # the kept checkpoint is finite
    assert RunDir(run).metrics()[-1]["phase"] == "diverged"
    # the kept checkpoint resumes (with the learning rate fixed, which needs --force)
    result = _search(run, resume=True, force=True)
    assert (run / "genotype.geno").exists()
    assert [r["epoch"] for r in result.metrics if r["phase"] != "final"] == [0, 1]


def test_diverging_retraining_stops(tmp_path):
    from test_retrain import config, dataset, template
    from tiny import irfix

    from genolang.runtime.retrain.loop import run_retrain

    with pytest.raises(NonFiniteError, match="retrain"):
        run_retrain(config(epochs=2, lr=1e9, steps_per_epoch=2), template=template(), genotype=irfix.darts_v2(),
                    dataset=dataset(), run_dir=tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "checkpoint.pt").exists() or check_state(load_checkpoint(
        tmp_path / "r" / "checkpoint.pt")) is None
    assert all(r["phase"] != "final" for r in RunDir(tmp_path / "r").metrics())
