"""The running commands (search, train, macro-search, eval) against hostile and careless input:
bad options, planted or damaged checkpoints, torn logs, changed resumes, bad run names, a
diverging run, and the quick start's `geno train runs/NAME` on every repetition (exactly that run)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from test_checkpoint import _damage, plant

from tiny_macro import MACRO_PROGRAM

from genolang.runtime.jobs.driver import retrain_genotype, start_search
from genolang.runtime.jobs.hierarchical import start_macro_search

SPEC = MACRO_PROGRAM + """experiment tiny {
  data {
    kind = digits
    size = 16
    limit = 16
    test_limit = 4
  }
  templates {
    search = tiny
    eval = tiny
    retrain = tiny
    cells = [normal, reduce]
    space = darts
  }
  search {
    epochs = 1
    pretrain_epochs = 1
    batch = 8
    steps_per_epoch = 1
    test_every = 0
  }
  retrain {
    epochs = 1
    batch = 8
    steps_per_epoch = 1
    latency_batches = 0
  }
  device = "cpu"
}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One finished search, retraining and macro phase of the tiny spec (made once)."""
    root = tmp_path_factory.mktemp("runs")
    spec = root / "tiny.geno"
    spec.write_text(SPEC)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        search = start_search(spec, out=root / "made", progress=False).run_dir
        from genolang.compiler.lower.program import load
        program = load(spec)
        config = program.experiments["tiny"].config
        retrain = retrain_genotype(program.genotypes["micro"], program, config, out=root / "made",
                                   progress=False, spec_path=spec).run_dir
        macro = start_macro_search(spec, out=root / "made", progress=False).run_dir
    finally:
        torch.set_num_threads(before)
    return {"spec": spec, "search": search, "train": retrain, "macro": macro}


def copy_run(runs, kind, tmp_path):
    target = tmp_path / runs[kind].name
    shutil.copytree(runs[kind], target)
    return target


def resume_args(kind, run):
    return {"search": ["search", "--resume", str(run)], "train": ["train", str(run), "--resume", str(run)],
            "macro": ["macro-search", "--resume", str(run)], "eval": ["eval", str(run)]}[kind]


def assert_clean(ran, code=2):
    assert ran.returncode == code, (ran.stdout, ran.stderr)
    assert "Traceback" not in ran.stderr


# ------------------------------------------------------------------------------ options

@pytest.mark.parametrize("command", ["search", "macro-search", "train"])
@pytest.mark.parametrize("option, shown", [
    (["--batch", "0"], "--batch 0: Input should be greater than or equal to 1"),
    (["--epochs", "-1"], "--epochs -1: Input should be greater than or equal to "),
    (["--set", "search.nope=1"], "--set search.nope=1: unknown setting `search.nope`"),
    (["--device", "gpu:x"], "--device gpu:x: not a device name"),
    (["--set", "=1"], "--set expects KEY=VALUE"),
])
def test_bad_options_are_located_errors(geno, runs, tmp_path, command, option, shown):
    ran = geno(command, str(runs["spec"]), "-o", str(tmp_path), "-q", *option)
    assert_clean(ran)
    assert shown in ran.stderr
    assert not any(tmp_path.iterdir()), "nothing is created for a bad option"


def test_bad_route_names_the_choices(geno, runs, tmp_path):
    ran = geno("search", str(runs["spec"]), "-o", str(tmp_path), "--route", "Q")
    assert_clean(ran)
    assert "--route Q: Input should be 'icdarts', 'cdarts', 'A1'" in ran.stderr


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/genolang-absolute", "a/b"])
def test_run_name_is_one_path_component(geno, runs, tmp_path, name):
    out = tmp_path / "deep" / "runs"
    ran = geno("search", str(runs["spec"]), "-o", str(out), "-q", "--set", f"name={name}")
    assert_clean(ran)
    assert "one path component" in ran.stderr
    assert not (tmp_path / "escaped").exists() and not (out / "a").exists()


# ------------------------------------------------------------------------------ checkpoints

@pytest.mark.parametrize("kind", ["search", "train", "macro", "eval"])
def test_planted_pickle_checkpoint_never_runs(geno, runs, tmp_path, kind):
    run = copy_run(runs, "train" if kind == "eval" else kind, tmp_path)
    marker = tmp_path / "pwned"
    plant(run / "checkpoint.pt", marker, "torch")
    ran = geno(*resume_args(kind, run), "-q") if kind != "eval" else geno(*resume_args(kind, run))
    assert_clean(ran)
    assert "could run code" in ran.stderr and str(run / "checkpoint.pt") in ran.stderr
    assert not marker.exists()


@pytest.mark.parametrize("how", ["empty", "truncated", "flipped"])
def test_damaged_checkpoint_is_exit_2_with_the_file_named(geno, runs, tmp_path, how):
    run = copy_run(runs, "search", tmp_path)
    _damage(run / "checkpoint.pt", how)
    ran = geno(*resume_args("search", run), "-q")
    assert_clean(ran)
    assert str(run / "checkpoint.pt") in ran.stderr and "checkpoint error" in ran.stderr


def test_torn_config_json_is_located(geno, runs, tmp_path):
    run = copy_run(runs, "search", tmp_path)
    text = (run / "config.json").read_text()
    (run / "config.json").write_text(text[: len(text) // 2])
    ran = geno(*resume_args("search", run), "-q")
    assert_clean(ran)
    assert f"{run / 'config.json'}:" in ran.stderr and "not valid JSON" in ran.stderr


@pytest.mark.parametrize("kind", ["search", "macro"])
def test_torn_last_metrics_line_is_dropped_on_resume(geno, runs, tmp_path, kind):
    run = copy_run(runs, kind, tmp_path)
    rows = lambda: [(r["phase"], r["epoch"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]
    before = rows()
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"phase": "search", "epo')
    ran = geno(*resume_args(kind, run), "-q")
    assert_clean(ran, 0)
    assert "dropped a torn last line" in ran.stderr
    assert rows() == before


@pytest.mark.parametrize("kind", ["search", "train", "macro"])
def test_resume_of_a_mistyped_path_creates_nothing(geno, runs, tmp_path, kind):
    typo = tmp_path / "runs" / "tyop"
    ran = geno(*(resume_args(kind, typo) if kind != "train" else ["train", str(runs["train"]), "--resume",
                                                                   str(typo)]), "-q")
    assert_clean(ran)
    assert "no such run directory" in ran.stderr
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------------------ fingerprints

@pytest.mark.parametrize("kind, option, change", [
    ("search", ["--seed", "5"], "seed: 0 -> 5"),
    ("search", ["--epochs", "3"], "search.epochs: 1 -> 3"),
    ("search", ["--route", "A1"], "algorithm.route: null -> \"A1\""),
    ("search", ["--set", "search.memory=recompute"], "search.memory: \"plain\" -> \"recompute\""),
    ("macro", ["--seed", "5"], "seed: 0 -> 5"),
    ("train", ["--epochs", "4"], "retrain.epochs: 1 -> 4"),
])
def test_resume_refuses_changes(geno, runs, tmp_path, kind, option, change):
    run = copy_run(runs, kind, tmp_path)
    ran = geno(*resume_args(kind, run), "-q", *option)
    assert_clean(ran)
    assert "Changed since it started" in ran.stderr and change in ran.stderr and "--force" in ran.stderr


def test_resume_refuses_an_edited_spec_or_config_but_not_the_device(geno, runs, tmp_path):
    run = copy_run(runs, "search", tmp_path)
    assert_clean(geno(*resume_args("search", run), "-q", "--device", "cpu"), 0)
    config = json.loads((run / "config.json").read_text())
    config["search"]["w_lr"] = 0.5
    (run / "config.json").write_text(json.dumps(config))
    ran = geno(*resume_args("search", run), "-q")
    assert_clean(ran)
    assert "search.w_lr: 0.08 -> 0.5" in ran.stderr
    (run / "config.json").write_text(json.dumps({**config, "search": {**config["search"], "w_lr": 0.08}}))
    with open(run / "spec.geno", "a") as handle:
        handle.write("\n# edited\n")
    ran = geno(*resume_args("search", run), "-q")
    assert_clean(ran)
    assert "spec.geno: edited since the run started" in ran.stderr


def test_force_accepts_a_change_and_continues(geno, runs, tmp_path):
    run = copy_run(runs, "search", tmp_path)
    ran = geno(*resume_args("search", run), "-q", "--epochs", "2", "--force")
    assert_clean(ran, 0)
    epochs = [r["epoch"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
              if r["phase"] != "final"]
    assert epochs == [0, 1, 2]


def test_macro_search_takes_the_run_lock(geno, runs, tmp_path):
    from genolang.runtime.runs.rundir import RunDir

    run = copy_run(runs, "macro", tmp_path)
    holder = RunDir(run)
    holder.lock()
    try:
        ran = geno(*resume_args("macro", run), "-q")
    finally:
        holder.close()
    assert_clean(ran)
    assert "in use by another running process" in ran.stderr


# ------------------------------------------------------------------------------ divergence

@pytest.mark.parametrize("command, setting", [("search", "search.w_lr=1e6"), ("macro-search", "search.w_lr=1e6"),
                                              ("train", "retrain.lr=1e9")])
def test_diverging_run_exits_3_without_a_final_genotype(geno, runs, tmp_path, command, setting):
    ran = geno(command, str(runs["spec"]), "-o", str(tmp_path), "-q", "--set", setting,
               *(["--epochs", "2"] if command == "train" else ["--limit", "32", "--steps-per-epoch", "2"]))
    assert_clean(ran, 3)
    assert "training diverged in epoch" in ran.stderr and "not finite" in ran.stderr
    (run,) = tmp_path.iterdir()
    if command != "train":
        assert not (run / "genotype.geno").exists()
        assert (run / "checkpoint.pt").exists()     # the pre-training epoch's, finite
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["phase"] == "diverged"


# ------------------------------------------------------------------------------ quick start

def test_train_of_a_run_directory_trains_exactly_that_run(geno, runs, tmp_path):
    """Issue 22, item 4: `geno train runs/tiny` used to train runs/tiny-2 when both existed,
    into a retraining directory named after tiny."""
    out, retrained = tmp_path / "runs", tmp_path / "retrained"
    first = geno("search", str(runs["spec"]), "-o", str(out), "-q")
    second = geno("search", str(runs["spec"]), "-o", str(out), "-q", "--seed", "1")
    assert_clean(first, 0), assert_clean(second, 0)
    assert f"next: geno train {out / 'tiny'}\n" in first.stdout
    assert f"next: geno train {out / 'tiny-2'}\n" in second.stdout
    for run, seed in (("tiny", "0"), ("tiny-2", "1")):
        ran = geno("train", str(out / run), "-o", str(retrained), "-q")
        assert_clean(ran, 0)
        assert ran.stderr == "", ran.stderr
        provenance = json.loads((retrained / f"{run}-retrain" / "genotype.json").read_text())["provenance"]
        assert provenance["seed"] == seed
    # a name that is no run directory is an error naming the newest run of that name
    shutil.copytree(out / "tiny-2", tmp_path / "moved" / "tiny-2")
    ran = geno("train", str(tmp_path / "moved" / "tiny"), "-q")
    assert_clean(ran)
    assert "tiny: no such run directory" in ran.stderr and f"geno train {tmp_path / 'moved' / 'tiny-2'}" in ran.stderr
    # an interrupted run is named, not silently replaced by another
    from genolang.runtime.runs.rundir import new_run_dir
    new_run_dir(out, "tiny")
    ran = geno("train", str(out / "tiny-3"), "-q")
    assert_clean(ran)
    assert f"{out / 'tiny-3'} has no final genotype" in ran.stderr


def test_a_failed_start_leaves_no_run_directory(geno, runs, tmp_path):
    out = tmp_path / "runs"
    ran = geno("search", str(runs["spec"]), "-o", str(out), "-q", "--set", "data.kind=image_folder",
               "--set", f"data.path={tmp_path / 'missing'}")
    assert_clean(ran)
    assert "does not exist" in ran.stderr
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def test_an_unexpected_eof_is_not_reported_as_an_interrupt(geno, monkeypatch, runs):
    """click turns every EOFError into an Abort, which used to exit 130 with no message."""
    import genolang.runtime.jobs.driver as driver

    def torn(*args, **kwargs):
        raise EOFError("Ran out of input")

    monkeypatch.setattr(driver, "start_search", torn)
    ran = geno("search", str(runs["spec"]))
    assert ran.returncode == 1 and "unexpected end of data" in ran.stderr and "Ran out of input" in ran.stderr


def test_eval_measures_the_latency_on_this_machine(geno, runs, tmp_path, monkeypatch):
    """`geno eval` used to print the latency stored at training time (here none: the tiny
    retraining measures none), not a measurement (issue 22, item 11)."""
    import genolang.runtime.runs.metrics as metrics

    monkeypatch.setattr(metrics, "latency_per_batch", lambda net, batches, warmup=1: 0.125 * len(batches))
    ran = geno("eval", str(copy_run(runs, "train", tmp_path)))
    assert_clean(ran, 0)
    assert "latency: 0.1250 s/batch" in ran.stdout
