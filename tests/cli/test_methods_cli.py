"""Every method preset runs end to end through the CLI (`geno search SPEC --algorithm P`) on
digits at a tiny size, prints its resolved parts on the run's first settings line and
records them in config.json; a combination that cannot work is a located error at `geno check`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_macro import MACRO_PROGRAM  # noqa: E402

EXPERIMENT = """experiment tiny {
  data {
    kind = digits
    size = 16
    limit = 16
    test_limit = 4
  }
  templates {
    search = tiny
    eval = tiny
    cells = [normal, reduce]
    space = darts
  }
  search {
    epochs = 2
    pretrain_epochs = 0
    batch = 8
    steps_per_epoch = 1
  }%s
  device = "cpu"
}
"""


@pytest.mark.parametrize("preset", ["darts", "pcdarts", "gdas", "drnas", "beta_darts", "icdarts", "cdarts"])
def test_each_preset_searches_end_to_end(geno, tmp_path, preset):
    spec = tmp_path / "tiny.geno"
    spec.write_text(MACRO_PROGRAM + EXPERIMENT % "")
    ran = geno("search", str(spec), "--algorithm", preset, "--out", str(tmp_path / "runs"), "--threads", "1")
    assert ran.returncode == 0, (ran.stdout, ran.stderr)
    shown = ran.stdout + ran.stderr
    line = next(l for l in shown.splitlines() if l.startswith("algorithm "))
    assert line.startswith(f"algorithm {preset} ") and "parts: update=" in line
    run = next((tmp_path / "runs").iterdir())
    assert (run / "genotype.geno").read_text().strip()
    algorithm = json.loads((run / "config.json").read_text())["algorithm"]
    assert algorithm["name"] == preset
    expected = {"darts": ("darts", "softmax", 1), "pcdarts": ("darts", "softmax", 4), "gdas": ("darts", "gumbel", 1),
                "drnas": ("darts", "dirichlet", 1), "beta_darts": ("darts", "softmax", 1),
                "icdarts": ("icdarts", "softmax", 1), "cdarts": ("cdarts", "softmax", 1)}[preset]
    assert (algorithm["update"], algorithm["relax"], algorithm["partial_channels"]) == expected
    metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["phase"] for m in metrics] == ["search", "search", "final"]


def test_a_refused_combination_is_located_at_check(geno, tmp_path):
    spec = tmp_path / "bad.geno"
    spec.write_text(MACRO_PROGRAM + EXPERIMENT % "\n  algorithm {\n    name = drnas\n    order = 2\n  }")
    ran = geno("check", str(spec))
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    line = MACRO_PROGRAM.count("\n") + EXPERIMENT.split("%s")[0].count("\n") + 2
    assert f":{line}:" in ran.stderr and "order = 2" in ran.stderr
