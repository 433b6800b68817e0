"""`--set KEY=VALUE` and the options with a setting of their own (`--epochs` is `search.epochs`
in `geno search`): either one alone reaches the run's config.json, and when both are given the
option wins and the command's first output line says so (issue 22, item 1). Each run stops
right after its run directory is written, so no training happens."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer.main

sys.path.insert(0, str(Path(__file__).parent))
from tiny_macro import MACRO_PROGRAM  # noqa: E402

from genolang.cli import app  # noqa: E402

# Every setting the experiment below leaves at a value none of the runs uses, so that a value
# seen in config.json came from the command line.
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
  }
  retrain {
    epochs = 1
    batch = 8
    steps_per_epoch = 1
    latency_batches = 0
  }
}
"""

# option -> (setting, value given alone and winning when both are given, the losing --set value)
SHARED = {"--seed": ("seed", 5, 7), "--device": ("device", "cpu", "auto"), "--limit": ("data.limit", 20, 24),
          "--threads": ("threads", 2, 1)}
SCHEDULE = {"--pretrain-epochs": ("search.pretrain_epochs", 3, 2), "--batch": ("search.batch", 4, 6),
            "--steps-per-epoch": ("search.steps_per_epoch", 3, 2), "--epochs": ("search.epochs", 3, 2)}
TWINS = {
    "search": {**SHARED, **SCHEDULE, "--channels-last": ("channels_last", True, False),
               "--algorithm": ("algorithm.name", "cdarts", "icdarts"), "--route": ("algorithm.route", "A1", "B1")},
    "macro-search": {**SHARED, **SCHEDULE},
    "train": {**SHARED, "--channels-last": ("channels_last", True, False), "--epochs": ("retrain.epochs", 3, 2),
              "--batch": ("retrain.batch", 4, 6), "--steps-per-epoch": ("retrain.steps_per_epoch", 3, 2)},
}
# The options that are no setting of the experiment (so have no --set twin).
NOT_SETTINGS = {
    "search": {"--experiment", "--out", "--resume", "--set", "--quiet", "--force", "--engine", "--address",
               "--cpus-per-run", "--gpus-per-run"},
    "macro-search": {"--macro", "--genotype", "--experiment", "--out", "--resume", "--beta", "--gamma-lr",
                     "--warmup-epochs", "--set", "--quiet", "--force"},
    "train": {"--spec", "--genotype", "--experiment", "--out", "--resume", "--test-every", "--set", "--quiet",
              "--force"},
}
CASES = [(command, option) for command, options in TWINS.items() for option in options]


def options_of(command: str) -> set[str]:
    click_command = typer.main.get_command(app).commands[command]
    return {next(o for o in p.opts if o.startswith("--")) for p in click_command.params
            if getattr(p, "opts", None) and p.opts[0].startswith("-")} - {"--help"}


@pytest.mark.parametrize("command", TWINS)
def test_every_option_is_a_setting_twin_or_no_setting(command):
    """A new option must be added to one of the tables, so that the test below covers it."""
    assert options_of(command) == set(TWINS[command]) | NOT_SETTINGS[command]


@pytest.fixture
def stop_after_the_run_dir(monkeypatch):
    """Interrupt every run right after it wrote config.json (exit 130, a run left to resume)."""
    from genolang.runtime.runs.rundir import RunDir

    real = RunDir.begin

    def begin(self, config, **kwargs):
        real(self, config, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "begin", begin)


def spelled(option: str, value) -> list[str]:
    return [option] if value is True else [option, str(value)]


def set_text(key: str, value) -> str:
    return f"{key}={json.dumps(value) if not isinstance(value, str) else value}"


def config_of(geno, tmp_path, command, *args):
    tmp_path.mkdir()
    spec = tmp_path / "tiny.geno"
    spec.write_text(SPEC)
    out = tmp_path / "runs"
    target = [str(spec), "-g", "micro"] if command == "train" else [str(spec)]
    ran = geno(command, *target, "-o", str(out), "-q", *args)
    assert ran.returncode == 130, (ran.stdout, ran.stderr)
    (run,) = out.iterdir()
    return json.loads((run / "config.json").read_text()), ran


def setting(config: dict, key: str):
    for part in key.split("."):
        config = config[part]
    return config


@pytest.mark.parametrize("command, option", CASES)
def test_set_alone_the_option_alone_and_both_reach_config_json(geno, tmp_path, stop_after_the_run_dir,
                                                                command, option):
    key, value, loser = TWINS[command][option]
    config, _ = config_of(geno, tmp_path / "set", command, "--set", set_text(key, value))
    assert setting(config, key) == value, "--set alone"
    config, _ = config_of(geno, tmp_path / "option", command, *spelled(option, value))
    assert setting(config, key) == value, "the option alone"
    config, ran = config_of(geno, tmp_path / "both", command, "--set", set_text(key, loser), *spelled(option, value))
    assert setting(config, key) == value, "the option wins over --set"
    shown = " ".join(spelled(option, value))
    assert ran.stderr.splitlines()[0] == f"note: {shown} wins over --set {set_text(key, loser)}"


@pytest.mark.parametrize("command", TWINS)
def test_a_set_value_of_the_wrong_type_is_a_located_error(geno, tmp_path, command):
    key = "retrain.epochs" if command == "train" else "search.epochs"
    spec = tmp_path / "tiny.geno"
    spec.write_text(SPEC)
    target = [str(spec), "-g", "micro"] if command == "train" else [str(spec)]
    ran = geno(command, *target, "-o", str(tmp_path / "runs"), "-q", "--set", f"{key}=abc")
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert f"--set {key}=abc: Input should be a valid integer" in ran.stderr
    assert not (tmp_path / "runs").exists()


def test_set_of_an_unknown_algorithm_is_refused_like_the_option(geno, tmp_path):
    spec = tmp_path / "tiny.geno"
    spec.write_text(SPEC)
    for args in (["--set", "algorithm.name=enas"], ["--algorithm", "enas"]):
        ran = geno("search", str(spec), "-o", str(tmp_path / "runs"), "-q", *args)
        assert ran.returncode == 2 and "Input should be 'icdarts'" in ran.stderr, ran.stderr
        assert "Traceback" not in ran.stderr
