"""`geno report` on search run directories finds the retrainings beside them, and E's 95 %
band stays inside 0-100 % (issue 22, item 5). The runs are written by hand: the report reads
files only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genolang.runtime.report.page import band, collect_runs, write_report

GENOTYPE = """genotype {name} {{
  space darts
  provenance {{
    seed = "{seed}"
    hash = "{hash}"
  }}
  cell normal {{
    n0 = sep_conv_3(c0) + skip(c1)
    n1 = max_pool_3(n0) + skip(c0)
  }}
}}
"""


def run(path: Path, kind: str, *, seed: int, hash: str, acc: float, name: str = "mine") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"name": name, "seed": seed, "algorithm": {"name": "icdarts"}}))
    (path / "genotype.geno").write_text(GENOTYPE.format(name=name, seed=seed, hash=hash))
    if kind == "search":
        rows = [{"phase": "search", "epoch": e, "acc_E_test": acc + e / 100} for e in range(3)]
    else:
        rows = [{"phase": "retrain", "epoch": 0}]
    rows.append({"phase": "final", "acc_test": acc})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_search_runs_bring_their_retrainings(tmp_path):
    runs = tmp_path / "runs"
    first = run(runs / "mine", "search", seed=0, hash="h0", acc=0.5)
    second = run(runs / "mine-2", "search", seed=1, hash="h1", acc=0.6)
    run(runs / "mine-2-retrain", "retrain", seed=1, hash="h1", acc=0.9)           # `geno train runs/mine-2`
    run(runs / "mine-mine-retrain", "retrain", seed=0, hash="h0", acc=0.8)        # older naming: by hash and seed
    run(runs / "other-retrain", "retrain", seed=0, hash="h9", acc=0.1)            # someone else's
    found = collect_runs([first, second])
    assert sorted(r.path.name for r in found) == ["mine", "mine-2", "mine-2-retrain", "mine-mine-retrain"]
    assert sorted(r.path.name for r in collect_runs([first, second, runs])) == sorted(p.name for p in runs.iterdir())
    page = write_report([first, second], tmp_path / "report").read_text()
    assert "| mine | 85.00 (7.07) |" in page
    assert "| mine | 2 | 1 |" in page              # retrained 2, one distinct architecture


def test_the_band_of_two_runs_stays_within_0_and_100_percent():
    mean, low, high = band([[10.0, 99.0], [30.0, 97.0]])
    assert mean == [20.0, 98.0]
    assert low[0] == 0.0 and high[1] == 100.0
    assert 0.0 <= low[1] < 98.0 < high[0] <= 100.0


def test_op_frequency_panels_share_one_axis_zero_counts_included(monkeypatch):
    from collections import Counter

    import genolang.runtime.report.figures as figs

    pytest.importorskip("matplotlib")
    shown = {}
    monkeypatch.setattr(figs, "_save", lambda fig, path: shown.update(
        ticks=[[t.get_text() for t in ax.get_xticklabels()] for ax in fig.axes]))
    groups = {"ICDARTS": {"normal": Counter(sep_conv_3=4), "reduction": Counter(max_pool_3=2)}}
    figs.op_frequencies(Path("unused.png"), "x", groups)
    assert shown["ticks"] == [["max_pool_3", "sep_conv_3"]] * 2
