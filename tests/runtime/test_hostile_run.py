"""A run directory someone sent you is data: every file genolang reads or writes in it, as a
symlink, a FIFO, /dev/zero or torn JSON, ends `search --resume`, `train --resume`, `eval`,
`draw` and `report` in a clean exit 2 naming the file, with the sentinel outside untouched
and unread; a resume without its checkpoint, or with an impossible one, refuses."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import received  # noqa: E402
from received import Sentinel, clean_exit, run_capped  # noqa: E402


@pytest.fixture
def runs(finished, tmp_path):
    study = received.copy(finished, tmp_path)
    return study / "runs" / "search_s0", study / "runs" / "retrain_s0", Sentinel.make(tmp_path / "outside")


def _commands(search: Path, retrain: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "search --resume": ["search", "--resume", str(search), "--quiet"],
        "train --resume": ["train", str(search), "--resume", str(retrain), "--quiet"],
        "eval": ["eval", str(retrain)],
        "draw": ["draw", str(search), "--out", str(tmp / "cell.dot")],
        "report": ["report", str(search.parent), "--out", str(tmp / "report")],
    }


# file of the run -> the commands that read or write it
RUN_FILES = {
    ".lock": ["search --resume", "train --resume"],
    "metrics.jsonl": ["search --resume", "train --resume", "draw", "report"],
    "genotypes.jsonl": ["search --resume"],
    "genotype.geno": ["search --resume", "train --resume", "eval", "draw", "report"],
    "genotype.json": ["search --resume"],
    "genotypes.geno": ["search --resume"],
    "config.json": ["search --resume", "train --resume", "report"],
    "run.json": ["search --resume", "train --resume"],
    "checkpoint.pt": ["search --resume", "train --resume", "eval"],
    "spec.geno": ["search --resume", "train --resume", "eval", "report"],
    "item.json": ["search --resume", "report"],
    "genotypes": ["search --resume"],
    "tb": ["search --resume", "train --resume"],
}


@pytest.mark.parametrize("name", list(RUN_FILES))
def test_a_symlink_on_any_file_of_a_run_is_refused(runs, tmp_path, name):
    search, retrain, sentinel = runs
    commands = _commands(search, retrain, tmp_path)
    for command in RUN_FILES[name]:
        run = retrain if command in ("train --resume", "eval") else search
        if command == "report" and name == "spec.geno":
            run = retrain                  # a retraining's spec gives the op counts over its network
        if command == "train --resume" and name in ("genotype.geno", "spec.geno"):
            run = search                   # the genotype and spec it retrains come from the search run
        path = run / name
        kept = tmp_path / "kept"
        shutil.move(path, kept) if os.path.lexists(path) else None
        directory = name in ("genotypes", "tb")
        path.symlink_to(sentinel.path.parent if directory else sentinel.path)
        out = run_capped(*commands[command], seconds=60)
        clean_exit(out, name)
        path.unlink()
        if os.path.lexists(kept):
            shutil.move(kept, path)
        sentinel.assert_untouched(out.stdout, out.stderr, inside=run.parent)
        assert sorted(p.name for p in sentinel.path.parent.iterdir()) == ["sentinel.txt"], command


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_metrics_that_are_a_fifo_or_dev_zero_are_refused_at_once(runs, tmp_path, kind):
    search, retrain, _ = runs
    for run in (search, retrain):
        metrics = run / "metrics.jsonl"
        metrics.unlink()
        os.mkfifo(metrics) if kind == "fifo" else metrics.symlink_to("/dev/zero")
    commands = _commands(search, retrain, tmp_path)
    for command in ("draw", "report", "search --resume", "train --resume"):
        out = run_capped(*commands[command], seconds=20)
        clean_exit(out, "metrics.jsonl")
        assert out.peak_growth < 512 * 2**20


TORN_FILES = {      # file -> damages, each with the commands that must refuse it
    "config.json": {"cut": "{\"name\": ", "list": "[1]", "nan": "{\"seed\": NaN}", "bytes": b"\xff\xfe"},
    "run.json": {"cut": "{\"name\": ", "nan": "{\"created\": NaN, \"name\": \"x\"}", "bytes": b"{\xff}"},
    "item.json": {"cut": "{\"id\": ", "list": "[]", "bytes": b"\xff"},
}


@pytest.mark.parametrize("name,damage", [(n, d) for n, ds in TORN_FILES.items() for d in ds])
def test_torn_json_of_a_run_is_a_located_error(runs, tmp_path, name, damage):
    search, retrain, _ = runs
    text = TORN_FILES[name][damage]
    for run in (search, retrain):
        (run / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    commands = _commands(search, retrain, tmp_path)
    wanted = {"config.json": ["search --resume", "train --resume", "report"],
              "run.json": ["search --resume", "train --resume"], "item.json": ["report"]}[name]
    for command in wanted:
        clean_exit(run_capped(*commands[command], seconds=60), name)


@pytest.mark.parametrize("damage", ["list_line", "non_utf8", "nan", "alpha_string", "alpha_nan", "alpha_ragged"])
def test_damaged_metrics_records_are_located_errors(runs, tmp_path, damage):
    search, retrain, _ = runs
    metrics = search / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    alpha = max(i for i, r in enumerate(records) if "alpha_softmax" in r)      # the one draw shows
    if damage == "list_line":
        lines.insert(1, "[1, 2]")
    elif damage == "non_utf8":
        lines.insert(1, "{\"epoch\": \"\udcff\"}")
    elif damage == "nan":
        lines[0] = lines[0].replace("{", "{\"loss\": NaN, ", 1)
    else:
        table = records[alpha]["alpha_softmax"]
        cell = next(iter(table.values()))
        node = next(iter(cell.values()))
        if damage == "alpha_string":
            records[alpha]["alpha_softmax"] = "not a table"
        elif damage == "alpha_nan":
            node["softmax"][0][0] = "NaN"
        else:
            node["softmax"][0] = node["softmax"][0][:-1]
        lines[alpha] = json.dumps(records[alpha])
    metrics.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    commands = _commands(search, retrain, tmp_path)
    wanted = ["draw", "report"] + (["search --resume"] if damage in ("list_line", "non_utf8", "nan") else [])
    for command in wanted:
        clean_exit(run_capped(*commands[command], seconds=60), "metrics.jsonl")


def test_a_list_or_a_string_where_a_number_belongs_is_left_out_not_a_traceback(runs, tmp_path):
    search, retrain, _ = runs
    for run, key in ((search, "acc_E_test"), (retrain, "acc_test")):
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        for record in records:
            if key in record:
                record[key] = "ninety"
        records.append(["a", "list", "as the last line"])        # a torn end: skipped
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = run_capped("report", str(search.parent), "--out", str(tmp_path / "r"), seconds=120)
    assert out.code == 0 and out.traceback is None, out.stderr


def test_a_dollar_in_a_run_name_is_shown_not_read_as_mathtext(runs, tmp_path):
    search, retrain, _ = runs
    for run in (search, retrain):
        (run / "item.json").unlink()          # rows by run name, not by the study's label
        config = json.loads((run / "config.json").read_text())
        config["name"] = "run $\\frac{$ \\undefinedcommand$ $"
        (run / "config.json").write_text(json.dumps(config))
    out = run_capped("report", str(search.parent), "--out", str(tmp_path / "r"), seconds=120)
    assert out.code == 0 and out.traceback is None, out.stderr
    assert "\\$\\\\frac" in (tmp_path / "r" / "report.md").read_text()


# ----------------------------------------------------------------------------- resume integrity


def test_a_resume_whose_checkpoint_is_gone_refuses_instead_of_appending(runs):
    search, _, _ = runs
    before = (search / "metrics.jsonl").read_bytes()
    (search / "checkpoint.pt").unlink()
    out = run_capped("search", "--resume", str(search), "--quiet", seconds=60)
    clean_exit(out, "checkpoint.pt", "earlier attempt")
    assert "start the run again" in out.stderr
    assert (search / "metrics.jsonl").read_bytes() == before


def test_a_checksummed_checkpoint_with_an_impossible_epoch_is_refused(runs):
    from genolang.runtime.runs.checkpoint import load_checkpoint, save_atomic

    search, retrain, _ = runs
    for run in (search, retrain):
        state = load_checkpoint(run / "checkpoint.pt")
        state["next_epoch"] = -1_000_000
        save_atomic(state, run / "checkpoint.pt")
    out = run_capped("search", "--resume", str(search), "--quiet", seconds=60)
    clean_exit(out, "checkpoint.pt", "next_epoch -1000000")
    out = run_capped("train", str(search), "--resume", str(retrain), "--quiet", seconds=60)
    clean_exit(out, "checkpoint.pt", "next_epoch -1000000")
