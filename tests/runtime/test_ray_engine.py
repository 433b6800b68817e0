"""The Ray engine: a tournament's games as Ray tasks give the local engine's genotypes, and a
study whose Ray worker is killed mid-run completes with every run present once."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import tiny  # noqa: E402


def _spec(tmp_path: Path, text: str, name: str = "tiny.geno") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tournament_games_on_ray_give_the_local_genotypes(tmp_path, ray_address):
    from genolang.runtime.driver import start_search
    from genolang.runtime.ray_engine import RayEngine

    spec = _spec(tmp_path, tiny.TOURNAMENT)
    local = start_search(spec, out=tmp_path / "local", progress=False)
    on_ray = start_search(spec, out=tmp_path / "ray", progress=False, engine=RayEngine(cpus_per_run=1))
    assert on_ray.genotype == local.genotype
    assert [g.cells for g in on_ray.history] == [g.cells for g in local.history]   # every game's winner
    games = lambda run: json.loads((run / "tournament.json").read_text())  # noqa: E731
    assert games(on_ray.run_dir) == games(local.run_dir) and len(games(local.run_dir)) == 3
    assert (on_ray.run_dir / "genotype.geno").read_text() == (local.run_dir / "genotype.geno").read_text()


def test_a_killed_ray_worker_is_retried_and_its_run_resumed_not_duplicated(tmp_path, ray_address):
    """SIGKILL the Ray worker of search_s0 once its run has a checkpoint: the item's
    subprocess dies with it, the retry resumes the run, and the study completes."""
    from genolang.runtime.ray_engine import MARKER_SUFFIX, RayEngine
    from genolang.runtime.study import create_study, item_done, run_study

    study = create_study(tmp_path / "study", _spec(tmp_path, tiny.STUDY_SPEC), seeds=1,
                         overrides={"search.epochs": 4})
    marker = study.path / "logs" / f"search_s0.log{MARKER_SUFFIX}"
    run = study.path / "runs" / "search_s0"
    killed: dict = {}

    def kill_once_checkpointed() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            if marker.exists() and (run / "checkpoint.pt").exists() and not item_done(run):
                where = json.loads(marker.read_text())
                killed.update(where, time=time.time())
                os.kill(where["worker_pid"], signal.SIGKILL)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_once_checkpointed, daemon=True)
    killer.start()
    lines: list[str] = []
    failed = run_study(study, engine=RayEngine(cpus_per_run=1), echo=lines.append)
    killer.join()
    assert killed, "search_s0 finished before it could be killed"
    assert failed == [], lines
    assert any(line.startswith("search_s0: attempt 1 failed") for line in lines), lines
    with_pid = lambda pid: Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()  # noqa: E501,E731
    assert not with_pid(killed["pid"])                     # the item's subprocess died with its worker
    assert {p.name for p in (study.path / "runs").iterdir()} == {"search_s0", "retrain_s0"}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r["epoch"] for r in records if r["phase"] != "final"]
    assert len(epochs) == len(set(epochs)) and [r["phase"] for r in records].count("final") == 1
    assert records[0]["time"] < killed["time"]             # resumed from the checkpoint, not started afresh
    manifest = json.loads((study.path / "manifest.json").read_text())
    items = {i["id"]: i for i in manifest["items"]}
    assert {i: v["state"] for i, v in items.items()} == dict.fromkeys(items, "done")
    assert items["search_s0"]["attempts"] == 2 and items["retrain_s0"]["attempts"] == 1
    assert manifest["engine"] == {"name": "ray", "threads_per_run": 1, "cpus_per_run": 1.0, "gpus_per_run": 0.0}
    recorded = json.loads((run / "item.json").read_text())["placement"]
    assert recorded["engine"] == "ray" and recorded["threads"] == 1 and recorded["gpus"] == []
    assert recorded["worker_pid"] != killed["worker_pid"]      # the retry's worker wrote it
