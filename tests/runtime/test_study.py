"""`geno repeat` killed midway and continued, then `geno report` on the study it made."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from genolang.cli import app

import tiny

TINY = tiny.STUDY_SPEC

EXPECTED = {"search_s0", "search_s1", "retrain_s0", "retrain_s1", "retrain_random_0"}


def _states(study: Path) -> dict[str, str]:
    from genolang.runtime.jobs.study import item_done

    states = {}
    for item in EXPECTED:
        run = study / "runs" / item
        states[item] = "done" if item_done(run) else "partial" if (run / "checkpoint.pt").exists() else "none"
    return states


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _wait_until_gone(group: int, timeout: float = 30) -> None:
    """SIGKILL lands when a process leaves the kernel (a worker in the middle of an fsync
    finishes it first): the run directories' locks are free only once the group is gone."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A 2-seed study with one random genotype: started with --jobs 2 in worker processes,
    SIGKILLed (with its workers) once one item is done and another is part-way, continued."""
    root = tmp_path_factory.mktemp("study")
    spec = root / "tiny.geno"
    spec.write_text(TINY)
    study = root / "study"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "genolang", "repeat", str(spec), "--seeds", "2", "--random", "1",
               "--jobs", "2", "--out", str(study), "--label", "V1"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 240
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        states = _states(study) if study.exists() else {}
        if "done" in states.values() and "partial" in states.values():
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = states
            break
        time.sleep(0.05)
    proc.wait()
    assert killed_at is not None, f"no point to kill at: {proc.stdout.read().decode()}"
    _wait_until_gone(proc.pid)
    restarted = time.time()
    out = CliRunner().invoke(app, ["repeat", str(study)])
    assert out.exit_code == 0, out.output
    return study, killed_at, restarted, out.output


def test_an_interrupted_study_continues_without_duplicate_or_missing_runs(study):
    path, killed_at, restarted, output = study
    assert {p.name for p in (path / "runs").iterdir()} == EXPECTED       # no `search_s0-2` and the like
    assert set(_states(path).values()) == {"done"}
    done_before = [i for i, s in killed_at.items() if s == "done"]
    assert f"{len(done_before)} of 5 items already done" in output
    for item, state in killed_at.items():
        records = _records(path / "runs" / item)
        epochs = [r["epoch"] for r in records if r["phase"] != "final"]
        assert len(epochs) == len(set(epochs)) and [r["phase"] for r in records].count("final") == 1, item
        if state in ("done", "partial"):    # kept (resumed), not started afresh
            assert records[0]["time"] < restarted, item
    manifest = json.loads((path / "manifest.json").read_text())
    assert {i["id"]: i["state"] for i in manifest["items"]} == dict.fromkeys(EXPECTED, "done")
    assert manifest["threads_per_job"] >= 1
    item = json.loads((path / "runs" / "search_s1" / "item.json").read_text())
    assert "command" not in item and item["kind"] == "search" and item["threads"] >= 1   # data, not a command


def test_search_provenance_carries_the_architecture_hash(study):
    from genolang.compiler.genotype.hash import genotype_hash
    from genolang.compiler.lower.program import load

    program = load(study[0] / "runs" / "search_s0" / "genotype.geno")
    genotype = next(iter(program.genotypes.values()))
    assert dict(genotype.provenance)["hash"] == genotype_hash(genotype)


def test_report_numbers_match_the_runs_and_figures_are_pngs(study, tmp_path):
    path = study[0]
    out = CliRunner().invoke(app, ["report", str(path), "--out", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "report" / "report.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| V1 |")]
    header = next(line for line in page.splitlines() if line.startswith("| configuration | Random acc"))
    assert header.strip("| ").split(" | ")[1:5] == ["Random acc (%)", "Random latency (ms)", "ICDARTS acc (%)", "ICDARTS latency (ms)"]
    cells = rows[0].strip("|").split(" | ")
    for column, items in ((1, ["retrain_random_0"]), (3, ["retrain_s0", "retrain_s1"])):
        finals = [_records(path / "runs" / i)[-1] for i in items]
        acc = [100 * f["acc_test"] for f in finals]
        lat = [1000 * f["latency_s_per_batch"] for f in finals]
        shown = lambda v: f"{statistics.fmean(v):.2f} " + (f"({statistics.stdev(v):.2f})" if len(v) > 1  # noqa: E731
                                                            else "(n = 1)")   # one run: no std
        assert cells[column].strip() == shown(acc)
        assert cells[column + 1].strip() == shown(lat)
    assert f"| `{path}` | V1 | 5 of 5 |" in page
    figures = [line.split("(")[-1].rstrip(")") for line in page.splitlines() if line.startswith("![")]
    assert len(figures) == 5
    for name in figures:
        with Image.open(tmp_path / "report" / name) as image:
            image.verify()
            assert image.format == "PNG"


def test_a_study_with_other_settings_is_not_overwritten(study):
    spec = study[0].parent / "tiny.geno"
    out = CliRunner().invoke(app, ["repeat", str(spec), "--seeds", "3", "--out", str(study[0])])
    from genolang.base.errors import ConfigError

    assert isinstance(out.exception, ConfigError) and "other settings (seeds, random)" in str(out.exception)
    assert "geno repeat" in out.exception.hint


def test_run_item_refuses_an_item_whose_dependency_is_unfinished(tmp_path):
    from genolang.base.errors import RunError
    from genolang.runtime.jobs.study import create_study, run_item

    spec = tmp_path / "tiny.geno"
    spec.write_text(TINY)
    created = create_study(tmp_path / "s", spec, seeds=1)
    assert [i["id"] for i in created.items] == ["search_s0", "retrain_s0"]
    with pytest.raises(RunError, match="needs `search_s0` finished first"):
        run_item(tmp_path / "s", "retrain_s0")


def test_report_reads_plain_run_directories_too(study, tmp_path):
    """A folder of run directories (no manifest): rows by experiment name, columns by the
    algorithm in each retrained genotype's provenance."""
    out = CliRunner().invoke(app, ["report", str(study[0] / "runs"), "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    page = (tmp_path / "r" / "report.md").read_text()
    assert "| configuration | Random acc (%) | Random latency (ms) | ICDARTS acc (%) |" in page
    assert "## Studies" not in page
    rows = [line.split(" | ")[0] for line in page.splitlines() if line.startswith("| ") and "---" not in line
            and not line.startswith("| configuration")]
    assert set(rows) == {"| V1"}      # the study's label, read through each run's item.json


def test_each_item_records_the_cpu_time_it_used(study):
    """Items that ran in worker processes (before the kill) and in-process (after) alike."""
    from genolang.runtime.jobs.study import load_study

    items = [i for i in load_study(study[0]).manifest["items"] if i.get("wall_s") is not None]
    assert items
    for item in items:
        assert 0 < item["cpu_s"] <= item["wall_s"] * (os.cpu_count() or 1) + 1, item
