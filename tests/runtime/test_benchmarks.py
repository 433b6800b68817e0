"""Benchmark tables: the AnalogNAS-Bench file read safely, its published facts, and genotypes
mapped onto NAS-Bench-201 cells."""

import itertools
import os
import pickle
import sys
import types

import numpy as np
import pytest

from genolang.base.errors import ConfigError, DataError, UserError
from genolang.grammar import interop, parse
from genolang.runtime.benchmarks import BenchmarkTable, load_table, score_genotype
from genolang.runtime.benchmarks.analognas import ANB_OPS, SOURCE, read_anb
from genolang.runtime.benchmarks.nb201 import EDGES, arch_of_genotype, arch_ops, arch_string

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = arch_string({e: "none" for e in EDGES})
ALL_SKIP = arch_string({e: "skip_connect" for e in EDGES})


def test_the_table_has_every_cell_and_its_published_distribution(anb_table):
    s = anb_table.summary()
    assert s.n == len(anb_table) == 15_625
    assert (round(s.mean, 2), round(s.sd, 2), round(s.median, 2), round(s.p90, 2), round(s.max, 2)) == \
        (86.77, 12.87, 90.41, 92.58, 94.07)


def test_known_cells_have_their_published_accuracies(anb_table):
    assert round(anb_table.accuracy(ALL_NONE), 2) == 10.00
    assert round(anb_table.accuracy(ALL_SKIP), 2) == 60.78
    best = anb_table.accuracy(BEST)
    assert round(best, 2) == 93.99 and anb_table.rank(best) == 3
    assert anb_table.rank(anb_table.summary().max) == 1 and anb_table.percentile(anb_table.summary().min) == 0.0


def test_the_best_known_genotype_scores_through_the_language(anb_table):
    score = score_genotype(anb_table, interop.parse_nb201(BEST))
    assert (score.cell, round(score.accuracy, 2), score.rank, score.cells) == (BEST, 93.99, 3, 15_625)
    assert 99.9 < score.percentile < 100


def _fake_anb(tmp_path, monkeypatch, entries):
    """A data.anb written the way the package writes it: classes of `analognasbench.data`."""
    module = types.ModuleType("analognasbench.data")
    for name in ("Architecture", "DriftMeasurement"):
        cls = type(name, (), {"__module__": "analognasbench.data"})
        setattr(module, name, cls)
    monkeypatch.setitem(sys.modules, "analognasbench", types.ModuleType("analognasbench"))
    monkeypatch.setitem(sys.modules, "analognasbench.data", module)
    data = {}
    for key, accuracy in entries:
        arch = module.Architecture()
        drift = module.DriftMeasurement()
        drift.value, drift.uncertainty = 1.0, 0.0
        arch.architecture, arch.baseline_accuracy, arch.baseline_drift_60 = key, accuracy, drift
        data[key] = arch
    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


def test_the_tuple_order_is_naslib_s_edges_and_ops(tmp_path, monkeypatch):
    # accuracy = the key read as a base-5 number, scaled into [0, 100]: each cell says its own key
    keys = list(itertools.product(range(5), repeat=6))
    code = lambda key: sum(i * 5 ** k for k, i in enumerate(key))
    path = _fake_anb(tmp_path, monkeypatch, [(k, 100 * code(k) / 15_624) for k in keys])
    table = read_anb(path)
    # the best cell is, edge by edge 0→1, 0→2, 0→3, 1→2, 1→3, 2→3: conv3, conv3, skip, conv3, conv3, conv3
    expected = (ANB_OPS.index("nor_conv_3x3"),) * 2 + (ANB_OPS.index("skip_connect"),) + \
        (ANB_OPS.index("nor_conv_3x3"),) * 3
    assert expected == (2, 2, 0, 2, 2, 2)
    assert table[BEST] == pytest.approx(100 * code(expected) / 15_624)
    assert table[ALL_NONE] == pytest.approx(100 * code((1,) * 6) / 15_624)
    assert len(table) == 15_625


def test_a_pickle_that_names_any_other_global_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    path = tmp_path / "data.anb"
    path.write_bytes(pickle.dumps({(0,) * 6: Payload()}))
    with pytest.raises(DataError, match="refused global"):
        read_anb(path)
    assert not marker.exists()


def test_an_incomplete_or_damaged_table_is_refused(tmp_path, monkeypatch):
    path = _fake_anb(tmp_path, monkeypatch, [((0,) * 6, 60.0)])
    with pytest.raises(DataError, match="holds 1 entries; expected a dict of all 15,625"):
        read_anb(path)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DataError, match="not a readable AnalogNAS-Bench file"):
        read_anb(path)


def test_a_bad_accuracy_is_refused(tmp_path, monkeypatch):
    keys = list(itertools.product(range(5), repeat=6))
    path = _fake_anb(tmp_path, monkeypatch, [(k, 101.0 if k == (4,) * 6 else 50.0) for k in keys])
    with pytest.raises(DataError, match=r"\(4, 4, 4, 4, 4, 4\) has no baseline_accuracy in \[0, 100\]"):
        read_anb(path)


def test_rank_and_percentile_count_ties_in_the_cell_s_favour():
    table = BenchmarkTable(SOURCE, {"a": 90.0, "b": 92.0, "c": 92.0, "d": 80.0})
    assert [table.rank(v) for v in (92.0, 90.0, 80.0, 95.0)] == [1, 3, 4, 1]
    assert [table.percentile(v) for v in (92.0, 90.0, 80.0)] == [50.0, 25.0, 0.0]
    with pytest.raises(DataError, match="no cell"):
        table.accuracy("x")


def test_unknown_and_missing_tables_say_what_to_do(monkeypatch):
    with pytest.raises(ConfigError, match="unknown benchmark table") as err:
        load_table("analognass")
    assert "analognas" in err.value.hint
    from genolang.runtime.benchmarks import table as table_module

    missing = SOURCE.__class__(**{**SOURCE.__dict__, "name": "missing", "locate": lambda: None})
    monkeypatch.setitem(table_module._SOURCES, "missing", missing)
    with pytest.raises(DataError, match="not installed") as err:
        load_table("missing")
    assert "genolang[bench]" in err.value.hint


def _genotype(body: str, space: str = "nb201"):
    return parse(f"genotype g {{ space {space} cell normal {{ {body} }} }}").items[0]


def test_edges_a_genotype_leaves_out_are_none():
    g = _genotype("inputs c0 n0 = nor_conv_1(c0) n1 = skip(c0) n2 = avg_pool_3(n1) + zero(c0) output concat(n2)")
    ops = arch_ops(arch_of_genotype(g))
    assert ops == {(0, 1): "nor_conv_1x1", (0, 2): "skip_connect", (1, 2): "none", (0, 3): "none",
                   (1, 3): "none", (2, 3): "avg_pool_3x3"}
    assert arch_string(ops) == arch_of_genotype(g)


@pytest.mark.parametrize("body, space, words", [
    ("inputs c0 n0 = skip(c0) n1 = skip(n0) n2 = skip(n1) output concat(n2)", "darts", "space `darts`"),
    ("inputs c0 n0 = skip(c0) n1 = skip(n0) output concat(n1)", "nb201", "2 nodes"),
    ("inputs c0 n0 = skip(c0) n1 = skip(n0) n2 = skip(n1) n3 = skip(n2) output concat(n3)", "nb201", "4 nodes"),
    ("inputs c0, c1 n0 = skip(c0) n1 = skip(n0) n2 = skip(c1) output concat(n2)", "nb201", "2 inputs"),
    ("inputs c0 n0 = sep_conv_3(c0) n1 = skip(n0) n2 = skip(n1) output concat(n2)", "nb201", "sep_conv_3"),
    ("inputs c0 n0 = skip(c0) n1 = skip(n0) n2 = skip(n1) output concat(n1, n2)", "nb201", "last node"),
])
def test_a_genotype_outside_the_space_is_a_located_error(body, space, words):
    with pytest.raises(UserError, match=words) as err:
        arch_of_genotype(_genotype(body, space))
    assert err.value.span is not None and err.value.hint


def test_the_table_values_are_sorted_for_rank_lookups():
    table = BenchmarkTable(SOURCE, {str(i): float(v) for i, v in enumerate(np.random.default_rng(0).random(50))})
    assert np.all(np.diff(table.values) >= 0) and table.rank(table.values[0]) == 50
