"""The cyclic search end to end at CPU size, and the optimiser/parameter-group invariants."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tiny

from genolang.compiler.lower.ir import ZERO_CONFIGS
from genolang.runtime.search.latency import expected_latency
from genolang.runtime.runs.checkpoint import load_checkpoint
from genolang.runtime.search.loop import CyclicSearch, cosine_lr, run_search


def make(rule="darts", zero="V1", **cfg) -> CyclicSearch:
    s_t, e_t = tiny.templates()
    return CyclicSearch(tiny.config(**cfg), search_template=s_t, eval_template=e_t,
                        cells=tiny.cells(rule, zero), data=tiny.data())


def _edges(genotype):
    return {name: [len(edges) for _, edges in cell.nodes] for name, cell in genotype.cells}


@pytest.mark.parametrize("rule", ["darts", "idarts", "xdarts"])
@pytest.mark.parametrize("zero", list(ZERO_CONFIGS))
def test_two_full_cycles(rule, zero):
    """Two regenerate → warm up → joint-epoch cycles (pre-training is covered elsewhere)."""
    search = make(rule, zero, search={"pretrain_epochs": 0})
    result = search.run()
    assert len(result.history) == 2
    keep = {"darts": [2, 2], "idarts": [2, 2], "xdarts": [2, 3]}[rule]
    assert all(counts == keep for counts in _edges(result.genotype).values())
    ops = {e.op for _, cell in result.genotype.cells for _, edges in cell.nodes for e in edges}
    if zero == "V0":
        assert "zero" not in ops            # ranked ignoring the zero op
    if zero == "V1":
        assert not ops & {"zero", "random"}
    for a in search.alpha:
        assert torch.isfinite(a).all()


def test_optimisers_own_disjoint_groups():
    search = make()
    search.regenerate_eval_net(0.08)
    ids = lambda opt: {id(p) for g in opt.param_groups for p in g["params"]}
    alpha, w_s, w_e = ({id(p) for p in ps} for ps in (search.alpha, search.w_search, search.w_eval))
    assert ids(search.opt_alpha) == alpha
    assert ids(search.opt_w) == w_s
    assert ids(search.opt_e) == w_e
    assert not (alpha & w_s) and not (alpha & w_e) and not (w_s & w_e)
    assert isinstance(search.opt_alpha, torch.optim.Adam)
    assert isinstance(search.opt_w, torch.optim.SGD) and isinstance(search.opt_e, torch.optim.SGD)


def _snapshot(params):
    return [p.detach().clone() for p in params]


def _changed(before, params):
    return any(not torch.equal(a, p.detach()) for a, p in zip(before, params))


@pytest.mark.parametrize("route", ["icdarts", "cdarts"])   # every route's losses: test_losses
def test_each_step_moves_only_its_group(route):
    """With α's lr at 0 only weights move; with both SGD lrs at 0 (no decay) only α moves."""
    one_epoch = {"epochs": 1, "pretrain_epochs": 0, "warmup_epochs": 0, "test_every": 0}
    frozen_alpha = make(algorithm={"route": route}, search=one_epoch)
    for group in frozen_alpha.opt_alpha.param_groups:
        group["lr"] = 0.0
    a0, w0 = _snapshot(frozen_alpha.alpha), _snapshot(frozen_alpha.w_search)
    frozen_alpha.run()
    assert not _changed(a0, frozen_alpha.alpha)
    assert _changed(w0, frozen_alpha.w_search)

    frozen_w = make(algorithm={"route": route}, search={**one_epoch, "w_wd": 0.0, "e_wd": 0.0})
    for group in frozen_w.opt_w.param_groups:
        group["lr"] = 0.0
    frozen_w._set_lrs = lambda epoch: (0.0, 0.0)        # w_S and the regenerated w_E at lr 0
    w0, a0 = _snapshot(frozen_w.w_search), _snapshot(frozen_w.alpha)
    frozen_w.run()
    assert not _changed(w0, frozen_w.w_search)
    assert all(not torch.equal(p0, p) for p0, p in zip(a0, frozen_w.alpha))


@pytest.mark.parametrize("algorithm", [{"name": "cdarts"}, {"route": "B1", "share_stem_heads": True}])
def test_shared_stem_and_heads(algorithm):
    """CDARTS shares stem and heads; with w_E on the train split E is recomputed after the
    w_S step (otherwise autograd fails on the in-place update of the shared weights)."""
    search = make(algorithm=algorithm, search={"epochs": 1, "test_every": 0})
    search.run()
    assert search.eval_net.stem is search.search_net.stem
    assert search.eval_net.distill_heads is search.search_net.distill_heads


def test_latency_penalty_reaches_alpha():
    search = make("xdarts", algorithm={"latency_delta": 0.05}, search={"epochs": 1})
    penalty = search.latency_penalty()
    grads = torch.autograd.grad(penalty, search.alpha)
    assert penalty > 0 and all(g.abs().sum() > 0 for g in grads)
    seen = []
    original = search._epoch_end
    search._epoch_end = lambda record, genotype: (seen.append(record), original(record, genotype))
    search.run()
    assert seen[-1]["latency_P"] > 0


def test_latency_prefers_cheap_ops():
    cells = tiny.cells("xdarts")
    labels = [[l for l, _ in cells["normal"].space_of(n).ops] for n in cells["normal"].nodes]
    cheap = [torch.zeros(j + 2, len(labels[j])) for j in range(2)]
    dear = [a.clone() for a in cheap]
    for a, names in zip(cheap, labels):
        a[:, names.index("skip")] = 10.0
    for a, names in zip(dear, labels):
        a[:, names.index("sep_conv_5")] = 10.0
    table = {"avg_pool_3": 0.06, "max_pool_3": 0.04, "sep_conv_3": 0.24, "sep_conv_5": 0.36,
             "dil_conv_3": 0.11, "dil_conv_5": 0.15, "skip": 0.04}
    p_cheap = expected_latency({"normal": (cheap, labels, 6, True)}, table)
    p_dear = expected_latency({"normal": (dear, labels, 6, True)}, table)
    assert p_cheap < p_dear


def test_cosine_schedule():
    assert cosine_lr(0.08, 1e-3, 0, 30) == pytest.approx(0.08)
    assert cosine_lr(0.08, 1e-3, 30, 30) == pytest.approx(1e-3)
    assert cosine_lr(0.08, 1e-3, 15, 30) == pytest.approx((0.08 + 1e-3) / 2)


def test_run_directory_contents(tmp_path):
    s_t, e_t = tiny.templates()
    result = run_search(tiny.config(name="tiny", channels_last=True), search_template=s_t, eval_template=e_t,
                        cells=tiny.cells(), data=tiny.data(), run_dir=tmp_path / "run", progress=False)
    run = tmp_path / "run"
    for name in ("config.json", "metrics.jsonl", "genotypes.jsonl", "genotype.geno", "genotype.json",
                 "checkpoint.pt", "genotypes/epoch_001.geno", "genotypes/epoch_002.json"):
        assert (run / name).exists(), name
    text = (run / "genotype.geno").read_text()
    assert "genotype tiny" in text and "provenance" in text and "seed" in text
    history = (run / "genotypes.geno").read_text()
    assert "genotype tiny_epoch_001" in history and "genotype tiny_epoch_002" in history
    assert [r["phase"] for r in result.metrics] == ["pretrain", "search", "search", "final"]
    assert not list(run.glob(".*.tmp"))
    state = load_checkpoint(run / "checkpoint.pt")
    for key in ("search_net", "alpha", "eval_net", "pool", "opt_w", "opt_alpha", "opt_e", "rng", "next_epoch"):
        assert key in state
    assert state["phase"] == "done" and state["next_epoch"] == 3


def test_nni_regulariser_decays_to_zero():
    search = make(algorithm={"regular_coeff": 5.0, "regular_ratio": 0.5}, search={"epochs": 4})
    assert search._regular_weight(0) == pytest.approx(5.0)
    assert search._regular_weight(1) == pytest.approx(2.5)
    assert search._regular_weight(3) == 0.0
    from genolang.runtime.search.netlink import regularizer_loss
    loss = regularizer_loss(search.alpha_layout())
    assert loss > 0 and torch.autograd.grad(loss, search.alpha)[0].abs().sum() > 0


def test_tournament_two_tiers(tmp_path):
    from genolang.runtime.jobs.tournament import run_tournament
    from tiny import irfix

    s_t, e_t = tiny.templates()
    config = tiny.config(search={"epochs": 1, "pretrain_epochs": 0, "warmup_epochs": 0, "test_every": 0},
                         tournament={"tiers": 2, "o_max": 3})
    pool = irfix.darts_space()
    result = run_tournament(config, pool=pool, cells=tiny.cells(), search_template=s_t, eval_template=e_t,
                            data=tiny.data(), run_dir=tmp_path, progress=False)
    assert [(g.tier, g.index) for g in result.games] == [(2, 0), (2, 1), (1, 0)]
    for game in result.games[:2]:
        assert all(len(v) == 3 for v in game.candidates.values())
        assert all(len(v) == 2 for v in game.kept.values())           # top ⌈3/2⌉
    final = result.games[2]
    for key, labels in final.candidates.items():                     # union of the feeders' kept ops
        assert set(labels) == set(result.games[0].kept[key]) | set(result.games[1].kept[key])
    used = {e.op for _, c in result.genotype.cells for node, edges in c.nodes for e in edges}
    assert used <= set(pool.labels)
    assert (tmp_path / "tournament.json").exists() and (tmp_path / "genotype.geno").exists()


def test_cli_search_train_eval_sample(tmp_path):
    """The commands end to end on the digits spec, cut to one step per epoch."""
    from typer.testing import CliRunner

    from genolang.cli import app

    spec = str(Path(__file__).resolve().parents[2] / "specs" / "icdarts" / "digits.geno")
    quick = ["--limit", "32", "--set", "data.test_limit=16", "--device", "cpu", "-q"]
    runner = CliRunner()
    out = runner.invoke(app, ["search", spec, "-o", str(tmp_path), "--epochs", "1", "--pretrain-epochs", "0",
                              "--steps-per-epoch", "1", *quick])
    assert out.exit_code == 0, out.output
    run = tmp_path / "digits"
    assert (run / "genotype.geno").exists()
    assert "run directory" not in out.output and "[search" not in out.output     # -q: no progress
    out = runner.invoke(app, ["train", str(run), "-o", str(tmp_path), "--epochs", "1", "--steps-per-epoch", "1",
                              *quick])
    assert out.exit_code == 0, out.output
    assert "test accuracy" in out.output and "latency" in out.output
    retrain_run = next(p for p in tmp_path.iterdir() if p.name.endswith("-retrain"))
    out = runner.invoke(app, ["eval", str(retrain_run)])
    assert out.exit_code == 0 and "test accuracy" in out.output, out.output
    out = runner.invoke(app, ["sample", spec, "--seed", "3"])
    assert out.exit_code == 0 and "genotype random_3" in out.output, out.output


@pytest.mark.parametrize("zero", ["V0", "V2"])
def test_recompute_memory_searches_as_plain(zero):
    """search.memory = recompute reaches the supernet; over two steps the search agrees with
    plain to float32 rounding (not bit for bit: the backward sums in another order)."""
    runs = {}
    for memory in ("plain", "recompute"):
        search = make("darts", zero, search={"pretrain_epochs": 0, "epochs": 1, "steps_per_epoch": 2,
                                             "warmup_epochs": 0, "memory": memory})
        nodes = [m for m in search.search_net.modules() if type(m).__name__ == "MixedNode"]
        assert nodes and {m.memory for m in nodes} == {memory}
        runs[memory] = (search.run().genotype, [a.detach().clone() for a in search.alpha],
                        {k: v.clone() for k, v in search.search_net.state_dict().items()})
    (g_plain, a_plain, w_plain), (g_rec, a_rec, w_rec) = runs["plain"], runs["recompute"]
    assert g_rec == g_plain
    torch.testing.assert_close(a_rec, a_plain, rtol=1e-4, atol=1e-6)
    for name, value in w_rec.items():
        torch.testing.assert_close(value, w_plain[name], rtol=1e-4, atol=1e-5, msg=name)
