"""A run's first lines say where it computes (device, threads), where it writes and how to resume
it; its last what to run next."""

from __future__ import annotations

import tiny

QUICK = ["--limit", "32", "--set", "data.test_limit=16", "--device", "cpu", "--steps-per-epoch", "1"]


def test_search_and_train_say_where_and_what_next(tmp_path, monkeypatch, geno):
    monkeypatch.setenv("GENO_PROGRESS", "plain")
    monkeypatch.delenv("GENOLANG_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    spec = tmp_path / "tiny.geno"          # what these lines say does not depend on the network's size
    spec.write_text(tiny.STUDY_SPEC)
    ran = geno("search", str(spec), "-o", str(tmp_path), "--epochs", "1", "--pretrain-epochs", "0", *QUICK)
    assert ran.returncode == 0, ran.stderr
    run = tmp_path / "tiny"
    assert ran.stderr.splitlines()[:3] == ["device cpu, 1 thread (OMP_NUM_THREADS)", f"run directory: {run}",
                                           f"interrupt with Ctrl-C; resume with: geno search --resume {run}"]
    assert "[search   1/1] " in ran.stderr
    assert ran.stdout.splitlines()[-2:] == [f"genotype: {run / 'genotype.geno'}",
                                            f"next: geno train {run}"]
    ran = geno("train", str(run / "genotype.geno"), "-o", str(tmp_path), "--epochs", "1", *QUICK)
    assert ran.returncode == 0, ran.stderr
    retrain = next(p for p in tmp_path.iterdir() if p.name.endswith("-retrain"))
    assert ran.stderr.splitlines()[:2] == ["device cpu, 1 thread (OMP_NUM_THREADS)", f"run directory: {retrain}"]
    assert ran.stdout.splitlines()[-1] == f"next: geno eval {retrain}"
