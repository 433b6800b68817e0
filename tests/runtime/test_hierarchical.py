"""The macro phase of hierarchical ICDARTS (Algorithm 4) at tiny size, and `geno macro-search`."""

from __future__ import annotations

import json

import pytest
import torch

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.ir import MacroChoice
from genolang.compiler.lower.program import load, loads
from genolang.runtime.jobs.hierarchical import (
    MacroOptions, MacroSearch, resolve_genotype, resume_macro_search, run_macro_search,
)
from genolang.runtime.search.loop import SearchData
from genolang.runtime.runs.checkpoint import load_checkpoint

from tiny import MACRO_CELLS as CELLS, MACRO_GENOTYPE as GENOTYPE, MACRO_NETWORK as NETWORK

EXPERIMENT = """
experiment tiny_digits {
  data {
    kind = digits
    size = 16
    limit = 16
    test_limit = 4
  }
  templates {
    search = tiny
    eval = tiny
  }
  search {
    epochs = 1
    pretrain_epochs = 0
    batch = 8
  }
  seed = 0
}
"""


@pytest.fixture(scope="module")
def program():
    return loads(CELLS + NETWORK % "3x16x16" + GENOTYPE)


def _data(n: int = 16, test: int = 4) -> SearchData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n + test, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (n + test,), generator=g)
    h = n // 2
    return SearchData(x[:h], y[:h], x[h:n], y[h:n], x[n:], y[n:])


def _config(**search) -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {"search": {"epochs": 2, "pretrain_epochs": 0, "batch": 8, **search}, "device": "cpu"})


@pytest.mark.parametrize("macro", ["skips", "place"])
def test_two_macro_epochs(program, macro, tmp_path):
    spec = program.macros[macro]
    result = run_macro_search(_config(), macro=spec, template=program.templates["tiny"],
                              genotype=program.genotypes["micro"], data=_data(), run_dir=tmp_path / "run",
                              progress=False)
    choice = result.choice
    assert choice.version == spec.version and len(result.history) == 2
    assert len(choice.skips if spec.version == 1 else choice.types) == 5
    g = result.genotype
    assert g.macro == choice and dict(g.provenance)["macro"] == macro
    assert g.cells == program.genotypes["micro"].cells          # the micro cells are unchanged
    # genotype.geno is spec text that loads back with the same macro block
    text = (tmp_path / "run" / "genotype.geno").read_text()
    assert "macro {" in text
    assert loads(text).genotypes[g.name].macro == choice
    records = [r for r in result.metrics if r.get("phase") == "macro"]
    assert len(records) == 2 and all("loss_gamma" in r and "loss_E" in r for r in records)
    assert json.loads((tmp_path / "run" / "macro.json").read_text())["version"] == spec.version


def test_steps_touch_only_their_groups(program):
    search = MacroSearch(_config(), macro=program.macros["skips"], template=program.templates["tiny"],
                         genotype=program.genotypes["micro"], data=_data())
    search.regenerate_eval_net(0.05)
    assert search.warmup_epochs == 1
    gamma0 = [g.detach().clone() for g in search.gamma]
    eval0 = [p.detach().clone() for p in search.w_eval]
    search.pretrain_epoch(0)                                   # w_S only
    assert all(torch.equal(a, b) for a, b in zip(gamma0, search.gamma))
    assert all(torch.equal(a, b) for a, b in zip(eval0, search.w_eval))
    search.search_epoch(0, 0)
    assert any(not torch.equal(a, b) for a, b in zip(gamma0, search.gamma))
    assert any(not torch.equal(a, b) for a, b in zip(eval0, search.w_eval))
    v2 = MacroSearch(_config(), macro=program.macros["place"], template=program.templates["tiny"],
                     genotype=program.genotypes["micro"], data=_data(), options=MacroOptions())
    assert v2.warmup_epochs == 2 and v2.opt_gamma.param_groups[0]["lr"] == 3e-3


def test_resume_matches_uninterrupted(program, tmp_path, monkeypatch):
    kw = dict(macro=program.macros["skips"], template=program.templates["tiny"],
              genotype=program.genotypes["micro"], progress=False)
    full = run_macro_search(_config(), data=_data(), run_dir=tmp_path / "full", **kw)
    original = MacroSearch.search_epoch

    def stop_in_second_epoch(self, epoch, search_epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch, search_epoch)

    monkeypatch.setattr(MacroSearch, "search_epoch", stop_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_macro_search(_config(), data=_data(), run_dir=tmp_path / "cut", **kw)
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["next_epoch"] == 1
    monkeypatch.setattr(MacroSearch, "search_epoch", original)
    resumed = run_macro_search(_config(), data=_data(), run_dir=tmp_path / "cut", resume=True, **kw)
    assert resumed.choice == full.choice and resumed.history == full.history
    read = lambda d: json.loads((tmp_path / d / "macro.json").read_text())
    assert read("cut") == read("full")                      # γ identical to the last bit
    assert [r["epoch"] for r in resumed.metrics] == [r["epoch"] for r in full.metrics]


def test_cli_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from genolang.cli import app

    spec = tmp_path / "hier.geno"
    spec.write_text(CELLS + NETWORK % "1x16x16" + GENOTYPE + EXPERIMENT)
    runner = CliRunner()
    result = runner.invoke(app, ["macro-search", str(spec), "--macro", "skips", "--genotype", "micro",
                                 "--out", str(tmp_path / "runs"), "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "macro v1 skips:" in result.output
    run = tmp_path / "runs" / "tiny_digits-skips"
    found = load(run / "genotype.geno")
    (g,) = found.genotypes.values()
    assert isinstance(g.macro, MacroChoice) and g.macro.version == 1
    # resume of a finished run: nothing left to do, same answer
    again = resume_macro_search(run, progress=False)
    assert again.choice == g.macro
    # the micro genotype may also come from a file
    micro_file = tmp_path / "micro.geno"
    micro_file.write_text(CELLS.split("cell normal")[0] + GENOTYPE)
    from_file = resolve_genotype(load(spec), f"{micro_file}:micro")
    assert from_file.name == "micro" and from_file.macro is None
    edges = lambda geno: {k: {n: set(e) for n, e in c.nodes} for k, c in geno.cells}
    assert edges(from_file) == edges(g)
    assert resolve_genotype(load(spec), str(run)).macro == g.macro      # a run directory
