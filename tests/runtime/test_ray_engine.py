"""The Ray engine: a tournament's games as Ray tasks give the local engine's genotypes. (A
study on Ray, with a worker killed mid-run: tests/cli/test_engine_cli.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import tiny


def _spec(tmp_path: Path, text: str, name: str = "tiny.geno") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_tournament_games_on_ray_give_the_local_genotypes(tmp_path, ray_address):
    from genolang.runtime.jobs.driver import start_search
    from genolang.runtime.jobs.ray_engine import RayEngine

    spec = _spec(tmp_path, tiny.TOURNAMENT)
    local = start_search(spec, out=tmp_path / "local", progress=False)
    on_ray = start_search(spec, out=tmp_path / "ray", progress=False, engine=RayEngine(cpus_per_run=1))
    assert on_ray.genotype == local.genotype
    assert [g.cells for g in on_ray.history] == [g.cells for g in local.history]   # every game's winner
    games = lambda run: json.loads((run / "tournament.json").read_text())  # noqa: E731
    assert games(on_ray.run_dir) == games(local.run_dir) and len(games(local.run_dir)) == 3
    assert (on_ray.run_dir / "genotype.geno").read_text() == (local.run_dir / "genotype.geno").read_text()


def test_each_run_gets_one_gpu_by_default_where_the_cluster_has_gpus(ray_address, monkeypatch):
    import ray
    import pytest

    from genolang.base.errors import ConfigError
    from genolang.runtime.jobs.engine import placement, worker_env
    from genolang.runtime.jobs.ray_engine import RayEngine

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 2.0})
    engine = RayEngine(cpus_per_run=4)
    assert (engine.cpus, engine.gpus, engine.threads) == (4.0, 1.0, 4)
    assert RayEngine(gpus_per_run=0.5).gpus == 0.5                   # two runs share a GPU
    with pytest.raises(ConfigError, match="the Ray cluster has 2 GPU"):
        RayEngine(gpus_per_run=3)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})
    assert RayEngine().gpus == 0.0
    env = worker_env(placement("ray", 4, ["1"]), base={"CUDA_VISIBLE_DEVICES": "0,1", "PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["OMP_NUM_THREADS"] == env["GENOLANG_THREADS"] == "4"
    assert json.loads(env["GENOLANG_PLACEMENT"])["gpus"] == ["1"]
    assert worker_env(placement("ray", 1), base={"CUDA_VISIBLE_DEVICES": "0"})["CUDA_VISIBLE_DEVICES"] == ""
