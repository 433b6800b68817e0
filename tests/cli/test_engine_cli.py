"""`--engine`: a 3-seed study on Ray, one of whose workers is killed mid-run, completes with
every run present once and finds the local engine's genotypes; bad engine input is a clean
error (exit 2, a hint), before any study directory is made."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

import tiny


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "tiny.geno"
    path.write_text(tiny.STUDY_SPEC)
    return path


def _genotypes(study: Path) -> dict[str, str]:
    from genolang.compiler.genotype.hash import genotype_hash
    from genolang.compiler.lower.program import load

    out = {}
    for run in sorted((study / "runs").glob("search_s*")):
        program = load(run / "genotype.geno")
        out[run.name] = genotype_hash(next(iter(program.genotypes.values())))
    return out


def _kill_once_checkpointed(study: Path, item: str, killed: dict) -> None:
    """SIGKILL the Ray worker running ``item`` once its run has a checkpoint (found through
    the marker file the worker writes beside the item's log)."""
    from genolang.runtime.jobs.ray_engine import MARKER_SUFFIX
    from genolang.runtime.jobs.study import item_done

    marker, run = study / "logs" / f"{item}.log{MARKER_SUFFIX}", study / "runs" / item
    deadline = time.time() + 200
    while time.time() < deadline and not killed:
        if marker.exists() and (run / "checkpoint.pt").exists() and not item_done(run):
            where = json.loads(marker.read_text())
            killed.update(where, time=time.time())
            os.kill(where["worker_pid"], signal.SIGKILL)
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def test_a_three_seed_study_on_ray_survives_a_killed_worker_and_finds_the_local_genotypes(
        geno, spec, tmp_path, ray_address):
    """search_s1's Ray worker is killed mid-run: its subprocess dies with it, the retry resumes
    the run (not a second one beside it), and the genotypes equal the local engine's."""
    study = tmp_path / "ray"
    killed: dict = {}
    killer = threading.Thread(target=_kill_once_checkpointed, args=(study, "search_s1", killed), daemon=True)
    killer.start()
    ran = geno("repeat", str(spec), "--seeds", "3", "--set", "search.epochs=4", "--engine", "ray",
               "--address", ray_address, "--out", str(study))
    killer.join()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Ray engine" in ran.stdout and "1 CPU(s) / 0 GPU(s) per run" in ran.stdout
    assert killed, "search_s1 finished before it could be killed"
    assert "search_s1: attempt 1 failed" in ran.stdout
    assert not _alive(killed["pid"])                         # the item's subprocess died with its worker
    items = ["search_s0", "search_s1", "search_s2", "retrain_s0", "retrain_s1", "retrain_s2"]
    assert sorted(p.name for p in (study / "runs").iterdir()) == sorted(items)     # none twice
    run = study / "runs" / "search_s1"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r["epoch"] for r in records if r["phase"] != "final"]
    assert len(epochs) == len(set(epochs)) and [r["phase"] for r in records].count("final") == 1
    assert records[0]["time"] < killed["time"]               # resumed from its checkpoint, not restarted
    manifest = json.loads((study / "manifest.json").read_text())
    assert {i["id"]: (i["state"], i["attempts"]) for i in manifest["items"]} == {
        i: ("done", 2 if i == "search_s1" else 1) for i in items}
    assert manifest["engine"] == {"name": "ray", "threads_per_run": 1, "cpus_per_run": 1.0, "gpus_per_run": 0.0}
    for item in ("search_s1", "retrain_s2"):
        where = json.loads((study / "runs" / item / "item.json").read_text())["placement"]
        assert where["engine"] == "ray" and where["threads"] == 1 and where["gpus"] == []
        assert where["worker_pid"] != killed["worker_pid"]

    ran = geno("repeat", str(spec), "--seeds", "3", "--set", "search.epochs=4", "--out", str(tmp_path / "local"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    on_ray, local = _genotypes(study), _genotypes(tmp_path / "local")
    assert len(on_ray) == 3 and on_ray == local
    assert json.loads((tmp_path / "local" / "runs" / "search_s2" / "item.json").read_text())["placement"]["engine"] == "local"


def _refused(ran, *words: str) -> None:
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    for word in words:
        assert word in ran.stderr, ran.stderr


def test_an_unknown_engine_is_refused_with_the_known_ones(geno, spec, tmp_path):
    ran = geno("repeat", str(spec), "--engine", "rya", "--out", str(tmp_path / "s"))
    _refused(ran, "--engine rya: no such engine", "ray")
    ran = geno("search", str(spec), "--engine", "nope")
    _refused(ran, "--engine nope: no such engine", "local, ray")
    assert not (tmp_path / "s").exists()


def test_ray_options_without_the_ray_engine_are_refused(geno, spec, tmp_path):
    _refused(geno("repeat", str(spec), "--gpus-per-run", "1", "--out", str(tmp_path / "s")), "--engine ray")


def test_the_ray_engine_without_ray_installed_says_how_to_install_it(geno, spec, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # `import ray` raises ImportError
    _refused(geno("repeat", str(spec), "--engine", "ray", "--out", str(tmp_path / "s")),
             "needs Ray, which is not installed", "pip install 'genolang[ray]'")
    assert not (tmp_path / "s").exists()


def test_an_unreachable_ray_address_is_refused_quickly(geno, spec, tmp_path, ray_module):
    import socket

    with socket.socket() as sock:      # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _refused(geno("repeat", str(spec), "--engine", "ray", "--address", f"127.0.0.1:{port}", "--out",
                  str(tmp_path / "s")), f"--address 127.0.0.1:{port}: no Ray cluster answers there", "ray start --head")
    _refused(geno("repeat", str(spec), "--engine", "ray", "--address", "nowhere", "--out", str(tmp_path / "s")),
             "not HOST:PORT")


def test_a_single_search_on_ray_points_to_torchrun(geno, spec, tmp_path, ray_address):
    _refused(geno("search", str(spec), "--engine", "ray", "--out", str(tmp_path / "runs")),
             "this experiment is one search", "torchrun")


def test_choosing_an_engine_imports_neither_ray_nor_torch(spec, tmp_path):
    """The local engine and an engine error come before any torch or Ray import."""
    import subprocess

    code = ("import sys\nfrom genolang.cli import main\nfrom genolang.runtime.jobs.engines import engine_for\n"
            "engine_for('local', jobs=2)\n"
            f"sys.argv = ['geno', 'repeat', {str(spec)!r}, '--engine', 'rya', '--out', {str(tmp_path / 's')!r}]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print(exc.code, 'ray' in sys.modules, 'torch' in sys.modules)\n")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert ran.stdout.split() == ["2", "False", "False"], ran.stdout + ran.stderr
