"""`--engine`: a 3-seed study on Ray finds the local engine's genotypes; bad engine input is a
clean error (exit 2, a hint), before any study directory is made."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
import tiny  # noqa: E402


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "tiny.geno"
    path.write_text(tiny.STUDY_SPEC)
    return path


def _genotypes(study: Path) -> dict[str, str]:
    from genolang.compiler.identity import genotype_hash
    from genolang.compiler.lower import load

    out = {}
    for run in sorted((study / "runs").glob("search_s*")):
        program = load(run / "genotype.geno")
        out[run.name] = genotype_hash(next(iter(program.genotypes.values())))
    return out


def test_a_three_seed_study_on_ray_finds_the_local_genotypes(geno, spec, tmp_path, ray_address):
    ran = geno("repeat", str(spec), "--seeds", "3", "--engine", "ray", "--address", ray_address,
               "--out", str(tmp_path / "ray"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Ray engine" in ran.stdout and "1 CPU(s) / 0 GPU(s) per run" in ran.stdout
    ran = geno("repeat", str(spec), "--seeds", "3", "--out", str(tmp_path / "local"))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    on_ray, local = _genotypes(tmp_path / "ray"), _genotypes(tmp_path / "local")
    assert len(on_ray) == 3 and on_ray == local
    for item in ("search_s2", "retrain_s2"):
        where = json.loads((tmp_path / "ray" / "runs" / item / "item.json").read_text())["placement"]
        assert where["engine"] == "ray" and where["threads"] == 1 and where["gpus"] == []
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
