"""`geno report` on hand-made NAS-Bench-201 runs: table scores beside retrained accuracy, and
tests whose p-values are known (a table of known accuracies stands in for the real one)."""

import itertools
import json
import re

import pytest

from genolang.grammar import interop
from genolang.runtime.report import bench as report_bench
from genolang.runtime.benchmarks import BenchmarkTable
from genolang.runtime.benchmarks.analognas import SOURCE
from genolang.runtime.benchmarks.nb201 import EDGES, OPS, arch_string
from genolang.runtime.report.page import band, write_report

CELLS = [arch_string(dict(zip(EDGES, ops))) for ops in itertools.product(OPS, repeat=6)]
# cell i scores 50 + 40 i / 15,624: the median cell is number 7,812, at exactly 70.00
ACCURACY = {cell: 50 + 40 * i / 15_624 for i, cell in enumerate(CELLS)}


def _run(root, name, group, seed, cell_index, acc):
    run = root / name
    run.mkdir(parents=True)
    text = interop.standalone_text(interop.parse_nb201(CELLS[cell_index], name=name), ("nb201.geno",), "nb201_net")
    text = text.replace('format = "nb201"', f'format = "nb201"\n    algorithm = "{group}"')
    (run / "genotype.geno").write_text(text, encoding="utf-8")
    (run / "config.json").write_text(json.dumps({"name": "nb201_fmnist", "seed": seed}), encoding="utf-8")
    record = {"phase": "final", "acc_test": acc / 100, "latency_s_per_batch": 0.01}
    (run / "metrics.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")


@pytest.fixture
def runs(tmp_path, monkeypatch):
    table = BenchmarkTable(SOURCE, ACCURACY)
    monkeypatch.setattr(report_bench, "_load_table", lambda: (table, None))
    root = tmp_path / "runs"
    for s in range(8):   # ICDARTS: 8 of 8 above the median cell; CDARTS: 4 above, 4 below
        _run(root, f"icdarts{s}", "icdarts", s, 9000 + 100 * s, 91.0 + s)
        _run(root, f"cdarts{s}", "cdarts", s, 8000 + 100 * s if s < 4 else 7000 + 100 * s, 81.0 + s)
    _run(root, "random0", "random", 0, 100, 75.0)
    return root


def _rows(page, starts):
    return [line for line in page.splitlines() if line.startswith(starts)]


def test_every_run_is_listed_with_its_table_score_and_retrained_accuracy(runs, tmp_path):
    page = write_report([runs], tmp_path / "report").read_text(encoding="utf-8")
    assert "not NAS-Bench-201's published numbers" in page
    rows = _rows(page, "| nb201_fmnist | ")
    listed = [r for r in rows if "`\\|" in r]
    assert len(listed) == 17
    row = next(r for r in listed if r.startswith("| nb201_fmnist | icdarts | 3 |"))
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", row.strip("|"))]
    assert cells[3] == "`" + CELLS[9300].replace("|", "\\|") + "`"
    accuracy = ACCURACY[CELLS[9300]]
    assert cells[4:] == [f"{accuracy:.2f}", f"{15_625 - 9300:,}", f"{100 * 9300 / 15_625:.2f}", "94.00"]


def test_the_sign_test_against_the_exact_median_has_its_known_p(runs, tmp_path):
    page = write_report([runs], tmp_path / "report").read_text(encoding="utf-8")
    baseline = next(r for r in page.splitlines() if "exact random baseline" in r)
    assert "median 70.00" in baseline
    icdarts = next(r for r in page.splitlines() if r.startswith("| icdarts | "))
    assert "| 8 of 8 | 0.0039 (n = 8) |" in icdarts and "n = 8" in icdarts
    cdarts = next(r for r in page.splitlines() if r.startswith("| cdarts | "))
    assert "| 4 of 8 | 0.637 (n = 8) |" in cdarts                # P(X >= 4), X ~ B(8, 1/2) = 163/256


def test_methods_are_compared_with_welch_and_an_exact_mann_whitney(runs, tmp_path):
    page = write_report([runs], tmp_path / "report").read_text(encoding="utf-8")
    row = next(r for r in page.splitlines() if r.startswith("| retrained acc | icdarts | cdarts |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # 91..98 against 81..88: every pair favours ICDARTS, p = 2 / C(16, 8); t = 10 / sqrt(6/8 + 6/8)
    assert cells[3:] == ["8, 8", "+10.00", "8.16 (df 14.0)", "< 0.0001", "64", "0.0002 (exact)"]
    row = next(r for r in page.splitlines() if r.startswith("| table acc | icdarts | cdarts |"))
    assert "| 8, 8 |" in row and "(exact)" in row


def test_one_run_shows_no_std_and_no_interval(runs, tmp_path):
    page = write_report([runs], tmp_path / "report").read_text(encoding="utf-8")
    random = next(r for r in page.splitlines() if r.startswith("| random | "))
    cells = [c.strip() for c in random.strip("|").split("|")]
    assert cells[1] == f"{ACCURACY[CELLS[100]]:.2f} (n = 1)" and cells[2] == "–" and cells[7] == "–"
    row = next(r for r in page.splitlines() if r.startswith("| retrained acc | icdarts | random |"))
    assert "| 8, 1 |" in row and "n < 2" in row
    main = _rows(page, "| nb201_fmnist | ")[0]        # the first table: mean (std) per method
    assert main.split(" | ")[1:3] == ["75.00 (n = 1)", "10.00 (n = 1)"]     # Random: accuracy, latency


def test_without_a_table_the_retrained_accuracies_are_still_compared(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(report_bench, "_load_table", lambda: (None, "benchmark table `analognas` is not installed"))
    page = write_report([runs], tmp_path / "report").read_text(encoding="utf-8")
    assert "No benchmark table: benchmark table `analognas` is not installed" in page
    assert _rows(page, "| retrained acc | icdarts | cdarts |") and not _rows(page, "| table acc |")


def test_confidence_bands_stay_within_the_metric_s_range():
    mean, low, high = band([[99.0, 10.0], [100.0, 0.0], [100.0, 2.0]])
    assert max(high) <= 100.0 and min(low) >= 0.0 and mean[0] == pytest.approx(99.6667, abs=1e-4)


def test_the_real_table_is_used_by_default(anb_table):
    table, missing = report_bench._load_table()
    assert missing is None and table is anb_table


def _entries(label, group, retrained, table, cpu=None):
    return [report_bench.Entry(label, group, s, CELLS[0], None, table=t, retrained=r, search_cpu_s=cpu)
            for s, (r, t) in enumerate(zip(retrained, table))]


def test_the_method_table_tests_every_arm_against_random_and_the_reference():
    ref = list(range(91, 99))                       # 91..98
    low = list(range(81, 89))                       # 81..88: every pair favours the reference
    by_label = {"ICDARTS": {"icdarts": _entries("ICDARTS", "icdarts", ref, ref, cpu=120.0),
                            "random": _entries("ICDARTS", "random", low[:4], low[:4])},
                "DARTS": {"darts": _entries("DARTS", "darts", low, low, cpu=90.0),
                          "random": _entries("DARTS", "random", low[4:], low[4:])}}
    lines = report_bench.method_table(by_label)
    rows = {line.split("|")[2].strip(): [c.strip() for c in line.strip("|").split("|")]
            for line in lines if line.startswith("| ") and not line.startswith("| method")}
    assert rows["icdarts"][0:6] == ["ICDARTS", "icdarts", "8", "94.50 ± 2.45", "94.50 ± 2.45", "2.0"]
    assert rows["icdarts"][8:] == ["(reference)", "(reference)"]
    # the reference against the 8 pooled random cells (81..88): p = 2 / C(16, 8) exactly
    assert rows["icdarts"][6] == "< 0.0001 / 0.0002"
    assert rows["darts"][5] == "1.5" and rows["darts"][8] == "< 0.0001 / 0.0002"
    assert rows["darts"][6] == "1.000 / 1.000"      # the same sample as the pooled random cells
    assert rows["random cells"][0:3] == ["(pooled)", "random cells", "8"] and rows["random cells"][8] == "< 0.0001 / 0.0002"


def test_one_arm_alone_gets_no_method_table():
    assert report_bench.method_table({"A": {"icdarts": _entries("A", "icdarts", [90.0], [90.0])}}) == []
