"""Retraining at CPU size: schedule, drop-path ramp, aux head, final metrics, resume."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import tiny
from tiny import irfix

from genolang.runtime.data import Dataset
from genolang.runtime.retrain.loop import Retrainer, run_retrain
from genolang.compiler.genotype.sample import sample_genotype


def dataset(classes: int = 10, n: int = 32, test: int = 16) -> Dataset:
    g = torch.Generator().manual_seed(0)
    return Dataset(train_x=torch.randint(0, 256, (n, 3, 16, 16), generator=g, dtype=torch.uint8),
                   train_y=torch.randint(0, classes, (n,), generator=g),
                   test_x=torch.randint(0, 256, (test, 3, 16, 16), generator=g, dtype=torch.uint8),
                   test_y=torch.arange(test) % classes,
                   classes=tuple(str(i) for i in range(classes)), mean=(0.5,) * 3, std=(0.25,) * 3,
                   name="random", channels=3, size=16)


def template(classes: int = 10):
    t = irfix.tiny_template(cells=5, input_shape=(3, 16, 16), classes=classes)
    return dataclasses.replace(t, name="tiny_retrain", aux_after=t.reduction_indices[0])


def config(**retrain):
    return tiny.config(retrain={"epochs": 2, "batch": 16, "cutout": 8, "latency_batches": 1, **retrain})


def test_retrain_final_metrics_and_drop_path_ramp(tmp_path):
    genotype = irfix.darts_v2()
    result = run_retrain(config(drop_path=0.3), template=template(), genotype=genotype, dataset=dataset(),
                         run_dir=tmp_path / "run", progress=False)
    m = result.metrics
    assert 0.0 <= m["acc_test"] <= 1.0
    assert m["latency_s_per_batch"] > 0
    assert [r["drop_path"] for r in result.history] == pytest.approx([0.0, 0.15])
    assert result.history[0]["lr"] == pytest.approx(0.025)
    assert "acc_test" not in result.history[0]              # reported at the final epoch only
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    assert "roc_auc" not in m


def test_binary_task_reports_auc_and_fbeta():
    result = run_retrain(config(epochs=1), template=template(classes=2), genotype=irfix.darts_v2(),
                         dataset=dataset(classes=2), progress=False)
    m = result.metrics
    assert "roc_auc" in m and "fbeta_max" in m
    assert math.isnan(m["roc_auc"]) or 0.0 <= m["roc_auc"] <= 1.0
    assert 0.0 <= m["fbeta_max"] <= 1.0


def test_aux_head_adds_to_the_loss():
    trainer = Retrainer(config(epochs=1), template=template(), genotype=irfix.darts_v2(), dataset=dataset())
    trainer.net.train()
    out = trainer.net(torch.randn(4, 3, 16, 16))
    assert out.aux is not None
    trainer.net.eval()
    assert trainer.net(torch.randn(4, 3, 16, 16)).aux is None


@pytest.mark.parametrize("zero, kept", [("V2", "RandomOp"), ("V3", "Zero")])
def test_random_edges_at_retraining(zero, kept):
    """V2 retrains random edges as random; V3 turns them into zero edges (Table 3.1)."""
    cells = tiny.cells("darts", zero)
    genotype = next(g for g in (sample_genotype(cells, seed) for seed in range(100))
                    if any(e.op == "random" for _, c in g.cells for _, edges in c.nodes for e in edges))
    trainer = Retrainer(config(epochs=1), template=template(), genotype=genotype, dataset=dataset())
    names = {type(m).__name__ for m in trainer.net.modules()}
    assert kept in names
    assert ("RandomOp" in names) == (zero == "V2")


def test_retrain_resume_matches_uninterrupted(tmp_path):
    full = run_retrain(config(epochs=2), template=template(), genotype=irfix.darts_v2(), dataset=dataset(),
                       run_dir=tmp_path / "full", progress=False)
    part = Retrainer(config(epochs=2), template=template(), genotype=irfix.darts_v2(), dataset=dataset())
    part.cfg = part.cfg.model_copy(update={"epochs": 1})
    part.run()
    state = part.state_dict()
    resumed = Retrainer(config(epochs=2), template=template(), genotype=irfix.darts_v2(), dataset=dataset())
    resumed.load_state_dict(state)
    result = resumed.run()
    assert result.metrics["acc_test"] == full.metrics["acc_test"]
    assert result.metrics["loss_test"] == pytest.approx(full.metrics["loss_test"], abs=0)


def test_size_override_follows_the_cream_scripts():
    from genolang.runtime.retrain.loop import size_override
    assert size_override(2_900_000) == (3e-4, 0.2)
    assert size_override(3_000_000) == (3e-4, 0.3)
    assert size_override(3_600_000) == (5e-4, 0.3)
    trainer = Retrainer(config(epochs=1, size_override=True), template=template(), genotype=irfix.darts_v2(),
                        dataset=dataset())
    assert (trainer.cfg.wd, trainer.cfg.drop_path) == (3e-4, 0.2)       # a tiny network


@pytest.mark.parametrize("cap, timed", [(None, 3), (2, 2), (0, 0)])
def test_latency_is_timed_on_the_whole_test_set_by_default(cap, timed, monkeypatch):
    """§4.1.6: "average per batch inference times on the test dataset" (40 images, batch 16:
    3 batches); ``latency_batches`` caps the count, 0 turns it off."""
    import genolang.runtime.retrain.loop as retrain

    seen = []
    monkeypatch.setattr(retrain, "latency_per_batch", lambda net, batches, warmup, repeats, threads: seen.append(len(batches)) or 0.1)
    trainer = Retrainer(config(epochs=1, latency_batches=cap), template=template(), genotype=irfix.darts_v2(),
                        dataset=dataset(test=40))
    assert trainer.measure_latency() == (None if timed == 0 else 0.1)
    assert seen == ([timed] if timed else [])
