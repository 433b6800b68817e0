"""A study directory someone sent you is data: commands, escaping paths, symlinks, temp-name
links, cycles, torn manifests and a second `geno repeat` each end in a clean exit 2 that
names the file, and the sentinel outside the study is untouched and unread."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import received  # noqa: E402
from received import Sentinel, clean_exit, run_capped  # noqa: E402


@pytest.fixture
def case(finished, tmp_path):
    return received.copy(finished, tmp_path), Sentinel.make(tmp_path / "outside")


def _edit(study: Path, change) -> None:
    path = study / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _item(manifest: dict, item_id: str) -> dict:
    return next(i for i in manifest["items"] if i["id"] == item_id)


def _link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        import shutil

        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.symlink_to(target)


# ----------------------------------------------------------------------------- commands and paths


def test_a_command_in_the_manifest_is_refused_not_run(case, tmp_path):
    study, sentinel = case
    pwned = tmp_path / "outside" / "pwned"

    def plant(m):
        item = _item(m, "retrain_s0")
        item.update(command=["touch", str(pwned)], cwd="/", state="pending")
    _edit(study, plant)
    (study / "runs" / "retrain_s0" / "metrics.jsonl").unlink()      # not done: it would run
    for args in (["repeat", str(study), "--jobs", "2"], ["run-item", str(study), "retrain_s0"]):
        out = run_capped(*args, seconds=60)
        clean_exit(out, "manifest.json", "not a command line")
        assert not pwned.exists()
    sentinel.assert_untouched(out.stderr, out.stdout)


ESCAPES = {
    "id climbing out": lambda m, s: _item(m, "retrain_s0").update(id="../../outside/x"),
    "absolute run_dir": lambda m, s: _item(m, "retrain_s0").update(run_dir=str(s.path.parent)),
    "run_dir with ..": lambda m, s: _item(m, "retrain_s0").update(run_dir="runs/../../outside"),
    "source climbing out": lambda m, s: _item(m, "retrain_random_0").update(source="../outside/sentinel.geno"),
    "absolute source": lambda m, s: _item(m, "retrain_random_0").update(source=str(s.path)),
    "dependency climbing out": lambda m, s: _item(m, "retrain_s0").update(depends_on=["../x"]),
    "id with a newline": lambda m, s: _item(m, "search_s0").update(id="search\ns0"),
    "unknown kind": lambda m, s: _item(m, "search_s0").update(kind="shell"),
    "extra field": lambda m, s: _item(m, "search_s0").update(env={"LD_PRELOAD": "/tmp/x.so"}),
    "spec elsewhere": lambda m, s: m.update(spec=str(s.path)),
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_paths_that_escape_the_study_are_refused_before_anything_is_deleted(case, name):
    study, sentinel = case
    _edit(study, lambda m: ESCAPES[name](m, sentinel))
    (study / "runs" / "retrain_s0" / "metrics.jsonl").unlink()      # unfinished: would be cleared
    for args in (["repeat", str(study)], ["run-item", str(study), "retrain_s0"], ["report", str(study)]):
        out = run_capped(*args, seconds=60)
        clean_exit(out, "manifest.json")
        assert sentinel.path.exists() and (study / "runs" / "retrain_s0").is_dir()
        sentinel.assert_untouched(out.stderr, out.stdout)


def test_a_dependency_cycle_is_a_located_error(case):
    study, _ = case

    def cycle(m):
        _item(m, "search_s0")["depends_on"] = ["retrain_s0"]
    _edit(study, cycle)
    out = run_capped("repeat", str(study), seconds=60)
    clean_exit(out, "manifest.json", "cycle", "search_s0 -> retrain_s0 -> search_s0")


def test_an_unfinished_directory_genolang_did_not_create_is_not_deleted(case):
    study, _ = case
    run = study / "runs" / "retrain_s0"
    (run / "metrics.jsonl").unlink()
    (run / "checkpoint.pt").unlink()
    (run / ".genolang-created").unlink()
    out = run_capped("run-item", str(study), "retrain_s0", seconds=60)
    clean_exit(out, str(run), "not created by genolang")
    assert (run / "config.json").exists()


# ----------------------------------------------------------------------------- symlinks


STUDY_LINKS = {      # file -> (command, the name the error gives)
    "manifest.json": (["repeat"], "manifest.json"),
    ".lock": (["repeat"], ".lock"),
    "logs": (["repeat", "--jobs", "2"], "logs"),
    "runs": (["repeat"], "runs"),
    "runs/search_s0": (["repeat"], "search_s0"),
    "runs/retrain_s0/metrics.jsonl": (["repeat"], "metrics.jsonl"),
    "runs/retrain_s0/item.json": (["repeat"], "item.json"),
    "runs/search_s0/config.json": (["run-item", "{study}", "retrain_s0"], "config.json"),
    "runs/search_s0/genotype.geno": (["run-item", "{study}", "retrain_s0"], "genotype.geno"),
    "runs/search_s0/spec.geno": (["run-item", "{study}", "retrain_s0"], "spec.geno"),
    "genotypes/random_0.geno": (["run-item", "{study}", "retrain_random_0"], "random_0.geno"),
    "spec.geno": (["run-item", "{study}", "retrain_random_0"], "spec.geno"),
    "report": (["report"], "report"),
    "report/report.md": (["report"], "report.md"),
}


@pytest.mark.parametrize("name", list(STUDY_LINKS))
def test_a_symlink_in_a_study_is_refused(case, name):
    study, sentinel = case
    command, named = STUDY_LINKS[name]
    if name.startswith("runs/search_s0/") or name in ("genotypes/random_0.geno", "spec.geno"):
        rerun = "retrain_s0" if name.startswith("runs/search_s0/") else "retrain_random_0"
        import shutil

        shutil.rmtree(study / "runs" / rerun)          # so that the item runs and reads its inputs
    if name == "logs":
        (study / "runs" / "retrain_s0" / "metrics.jsonl").unlink()
    path = study / name
    path.parent.mkdir(parents=True, exist_ok=True)
    is_dir = name in ("logs", "runs", "runs/search_s0", "report")
    _link(path, sentinel.path.parent if is_dir else sentinel.path)
    args = [a.format(study=study) for a in command]
    args = args if "{study}" in " ".join(command) else [args[0], str(study), *args[1:]]
    out = run_capped(*args, seconds=120)
    clean_exit(out, named)
    sentinel.assert_untouched(out.stdout, out.stderr, inside=study)
    assert sorted(p.name for p in sentinel.path.parent.iterdir()) == ["sentinel.txt"]


def test_fixed_temporary_names_planted_as_links_are_never_written_through(case):
    study, sentinel = case
    for tmp in ("manifest.json.tmp", ".manifest.json.tmp", "runs/retrain_s0/item.json.tmp",
                "runs/retrain_s0/.item.json.tmp", "runs/search_s0/.run.json.tmp"):
        (study / tmp).symlink_to(sentinel.path)
    (study / "runs" / "retrain_s0" / "item.json").unlink()       # rewritten by the next repeat
    out = run_capped("repeat", str(study), seconds=120)
    assert out.code == 0 and out.traceback is None, out.stderr
    assert json.loads((study / "runs" / "retrain_s0" / "item.json").read_text())["id"] == "retrain_s0"
    sentinel.assert_untouched(out.stdout, out.stderr, inside=study)


# ----------------------------------------------------------------------------- integrity


TORN = {
    "cut short": lambda text: text[: len(text) // 2],
    "a list": lambda text: "[1, 2, 3]",
    "not UTF-8": lambda text: text.replace('"V1"', '"V\xff1"').encode("latin-1").decode("latin-1"),
    "NaN": lambda text: text.replace('"seed": 0', '"seed": NaN', 1),
    "a string seed": lambda text: text.replace('"seed": 0', '"seed": "zero"', 1),
    "no items": lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "items"}),
    "items not a list": lambda text: json.dumps({**json.loads(text), "items": {"a": 1}}),
    "old format": lambda text: json.dumps({**json.loads(text), "format": "genolang-study/1"}),
}


@pytest.mark.parametrize("name", list(TORN))
def test_a_torn_manifest_is_a_located_error(case, name):
    study, _ = case
    path = study / "manifest.json"
    text = TORN[name](path.read_text())
    path.write_bytes(text.encode("latin-1") if name == "not UTF-8" else text.encode())
    for args in (["repeat", str(study)], ["run-item", str(study), "search_s0"], ["report", str(study)]):
        clean_exit(run_capped(*args, seconds=60), "manifest.json")


def test_a_second_repeat_of_a_live_study_is_refused_naming_the_holder(case):
    from genolang.base.safe_locks import take_lock

    study, _ = case
    with take_lock(study / ".lock"):               # a first `geno repeat` of this study, running
        out = run_capped("repeat", str(study), seconds=60)
    clean_exit(out, str(study), f"process {os.getpid()}")
    assert run_capped("repeat", str(study), seconds=120).code == 0    # free again once it ends


def test_hostile_labels_are_escaped_in_the_report(case, tmp_path):
    study, _ = case
    label = "V1\n# injected heading\n<script>alert(1)</script> | col $\\frac{$ [x](http://e.vil)"
    _edit(study, lambda m: m.update(label=label))
    out = run_capped("report", str(study), "--out", str(tmp_path / "r"), seconds=120)
    assert out.code == 0 and out.traceback is None, out.stderr
    page = (tmp_path / "r" / "report.md").read_text()
    assert "\n# injected" not in page and "<script>" not in page and "](http" not in page
    row = next(line for line in page.splitlines() if "injected" in line and line.startswith("| "))
    assert row.count(" | ") == 4, row                 # the label's `|` did not add a column
    assert all((tmp_path / "r" / line.split("(")[-1].rstrip(")")).stat().st_size > 0
               for line in page.splitlines() if line.startswith("!["))


@pytest.mark.parametrize("value", [-1.0, "1e999", "12 s", [1]])
def test_a_forged_cpu_time_is_a_located_error_not_a_figure(case, value):
    """The report's search cost comes from the manifest's `cpu_s`: a negative, infinite or
    non-numeric one is refused naming the file, never averaged into the method table."""
    study, _ = case
    _edit(study, lambda m: _item(m, "search_s0").update(cpu_s=float(value) if value == "1e999" else value))
    clean_exit(run_capped("report", str(study), seconds=120), "manifest.json")


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "list_line", "non_utf8", "nan", "alpha_string"])
def test_damaged_metrics_in_a_study_are_errors_not_hangs(case, kind):
    study, sentinel = case
    metrics = study / "runs" / "search_s0" / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    if kind == "fifo":
        metrics.unlink()
        os.mkfifo(metrics)
    elif kind == "dev_zero":
        metrics.unlink()
        metrics.symlink_to("/dev/zero")
    elif kind == "list_line":
        metrics.write_text("\n".join([lines[0], "[1, 2]", *lines[1:]]) + "\n")
    elif kind == "non_utf8":
        metrics.write_bytes(b"\n".join([lines[0].encode(), b"{\"epoch\": \xff}", *[l.encode() for l in lines[1:]]]))
    elif kind == "nan":
        metrics.write_text("\n".join([lines[0].replace('"epoch": 0', '"epoch": NaN'), *lines[1:]]) + "\n")
    else:
        records = [json.loads(line) for line in lines]
        for r in records:
            if "alpha_softmax" in r:
                r["alpha_softmax"] = "not a table"
        metrics.write_text("".join(json.dumps(r) + "\n" for r in records))
    commands = [["report", str(study)], ["draw", str(study / "runs" / "search_s0"), "--out", str(study / "a.dot")]]
    if kind != "alpha_string":          # a run's state reads its metrics too; α is only drawn
        commands.append(["repeat", str(study)])
    for args in commands:
        out = run_capped(*args, seconds=30)
        clean_exit(out, "metrics.jsonl")
    sentinel.assert_untouched(out.stdout, out.stderr)


# ----------------------------------------------------------------------------- on Ray


@pytest.mark.skipif(not os.environ.get("GENO_RAY_ADDRESS"), reason="needs a Ray cluster: GENO_RAY_ADDRESS "
                    "(.ci/run starts one); a local Ray start is too slow for this test")
def test_the_ray_engine_runs_only_what_it_builds_and_refuses_linked_logs(case, tmp_path, ray_address):
    study, sentinel = case
    pwned = tmp_path / "outside" / "pwned"
    import shutil

    shutil.rmtree(study / "runs" / "retrain_random_0")
    _edit(study, lambda m: _item(m, "retrain_random_0").update(command=["touch", str(pwned)]))
    out = run_capped("repeat", str(study), "--engine", "ray", "--address", ray_address, seconds=120)
    clean_exit(out, "manifest.json", "not a command line")
    _edit(study, lambda m: _item(m, "retrain_random_0").pop("command"))
    (study / "logs" / "retrain_random_0.log").symlink_to(sentinel.path)
    out = run_capped("repeat", str(study), "--engine", "ray", "--address", ray_address, seconds=120)
    clean_exit(out, "retrain_random_0.log")
    (study / "logs" / "retrain_random_0.log").unlink()
    out = run_capped("repeat", str(study), "--engine", "ray", "--address", ray_address, seconds=300)
    assert out.code == 0 and out.traceback is None, out.stdout + out.stderr
    assert (study / "runs" / "retrain_random_0" / "item.json").exists() and not pwned.exists()
    sentinel.assert_untouched(out.stdout, out.stderr, inside=study)
