"""The Python API for the whole loop: search and train return results, packaged specs load by
name, compiled networks work as plain classifiers."""

from __future__ import annotations

import json

import pytest
import torch

import genolang
from genolang.base.errors import ConfigError

TINY = {"device": "cpu", "data": {"limit": 32, "test_limit": 16}}


def edges(genotype):
    return {name: {node: {(e.op, e.src) for e in es} for node, es in cell.nodes} for name, cell in genotype.cells}


def test_settings_flatten_every_spelling():
    from genolang.api import settings

    assert settings({"search.batch": 8}, search={"epochs": 2}, data__limit=64, seed=1) == {
        "search.batch": 8, "search.epochs": 2, "data.limit": 64, "seed": 1}


def test_search_then_train(tmp_path):
    found = genolang.search("icdarts/digits", out=tmp_path,
                            search={"epochs": 1, "pretrain_epochs": 0, "steps_per_epoch": 1}, **TINY)
    assert found.run_dir == tmp_path / "digits" and (found.run_dir / "genotype.geno").is_file()
    assert found.genotype.space == "darts" and len(found.history) == 1
    assert any(r.get("phase") == "search" for r in found.metrics)
    trained = genolang.train(found, out=tmp_path, retrain={"epochs": 1, "steps_per_epoch": 1}, threads=1, **TINY)
    assert isinstance(trained, genolang.TrainResult)
    run_json = json.loads((trained.run_dir / "run.json").read_text())
    assert run_json["runtime"][0]["threads"] == 1 and run_json["runtime"][0]["threads_source"] == "threads setting"
    assert edges(trained.genotype) == edges(found.genotype)
    assert 0.0 <= trained.metrics["acc_test"] <= 1.0 and trained.metrics["params"] > 0
    assert trained.run_dir.parent == tmp_path and (trained.run_dir / "genotype.geno").is_file()
    assert len(trained.history) == 1
    # the same from the run directory, without writing a run of its own
    again = genolang.train(found.run_dir, out=None, retrain={"epochs": 1, "steps_per_epoch": 1}, **TINY)
    assert again.run_dir is None and edges(again.genotype) == edges(found.genotype)


def test_train_needs_a_spec_for_a_genotype_object():
    genotype = genolang.zoo("darts_v2").genotypes["darts_v2"]
    with pytest.raises(ConfigError, match="spec"):
        genolang.train(genotype)


def test_zoo_and_packaged_names():
    program = genolang.zoo("darts_v2")
    assert list(program.local("genotype")) == ["darts_v2"]
    assert genolang.load("zoo/darts_v2").genotypes["darts_v2"] == program.genotypes["darts_v2"]
    with pytest.raises(ConfigError, match="did you mean `darts_v2`"):
        genolang.zoo("darts_v3")
    with pytest.raises(ConfigError, match="icdarts/digits"):
        genolang.load("icdarts/digit")


def test_compiled_networks_as_plain_classifiers():
    model = genolang.compile_eval(genolang.zoo("darts_v2"), classifier=True)
    assert isinstance(model, genolang.Classifier) and isinstance(model, torch.nn.Module)
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([1, 7])
    logits = model(x)                                # training mode: the aux head is dropped
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 10)
    torch.nn.functional.cross_entropy(logits, y).backward()
    assert model.network.cells[0] is not None       # the network itself stays reachable
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (2, 10)
    search = genolang.compile_search(genolang.load("icdarts/digits"), "digits_search", classifier=True)
    assert search(torch.randn(2, 1, 16, 16)).shape == (2, 10)
