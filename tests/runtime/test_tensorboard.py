"""TensorBoard: α per edge as histograms and the genotype text, every search epoch."""

from __future__ import annotations

import os

import pytest

import tiny

from genolang.runtime.search.loop import run_search

if os.environ.get("GENO_CI") == "1":      # CI installs the tensorboard extra: this must run there
    from tensorboard.backend.event_processing import event_accumulator
else:
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_search_logs_alpha_histograms_and_genotype_text(tmp_path):
    s_t, e_t = tiny.templates()
    run_search(tiny.config(), search_template=s_t, eval_template=e_t, cells=tiny.cells(), data=tiny.data(),
               run_dir=tmp_path / "run", progress=False)
    events = event_accumulator.EventAccumulator(str(tmp_path / "run" / "tb"),
                                                size_guidance={"histograms": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    # 2 nodes: n0 reads c0, c1; n1 reads c0, c1, n0 -- in both cells
    expected = {f"alpha/{cell}/{node}/{src}" for cell in ("normal", "reduce")
                for node, sources in (("n0", ("c0", "c1")), ("n1", ("c0", "c1", "n0"))) for src in sources}
    assert expected <= set(tags["histograms"])
    histogram = events.Histograms("alpha/normal/n1/n0")
    assert [h.step for h in histogram] == [0, 1, 2]          # pre-training epoch and both search epochs
    assert histogram[-1].histogram_value.num == len(tiny.cells()["normal"].space_of("n1").labels)
    assert abs(histogram[-1].histogram_value.sum - 1.0) < 1e-5            # a softmax per edge
    texts = events.Tensors("genotype/text_summary")
    assert [t.step for t in texts] == [1, 2]                              # one genotype per search epoch
    assert b"cell normal" in texts[-1].tensor_proto.string_val[0]
