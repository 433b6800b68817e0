"""Help pages keep what they say and a run numbers its search epochs one way (issue 22, item 10)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_set_and_options import SPEC  # noqa: E402


def test_help_keeps_brackets_and_shows_flags_as_flags(geno):
    ran = geno("report", "--help")
    assert ran.returncode == 0 and "pip install 'genolang[report]'" in " ".join(ran.stdout.split())
    ran = geno("search", "--help")
    assert "--quiet" in ran.stdout and "<bool>" not in ran.stdout


def test_files_provenance_and_report_count_search_epochs_from_one(geno, tmp_path):
    spec = tmp_path / "tiny.geno"
    spec.write_text(SPEC)
    ran = geno("search", str(spec), "-o", str(tmp_path / "runs"), "-q", "--pretrain-epochs", "2", "--epochs", "2",
               "--set", "search.test_every=0")
    assert ran.returncode == 0, ran.stderr
    run = tmp_path / "runs" / "tiny"
    assert sorted(p.name for p in (run / "genotypes").glob("*.geno")) == ["epoch_001.geno", "epoch_002.geno"]
    assert 'epoch = "1"' in (run / "genotypes" / "epoch_001.geno").read_text()
    assert 'epoch = "2"' in (run / "genotype.geno").read_text()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r.get("search_epoch")) for r in records if r["phase"] != "final"] == \
        [(0, None), (1, None), (2, 0), (3, 1)]
