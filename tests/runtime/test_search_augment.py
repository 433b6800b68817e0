"""Search-phase augmentation (crop with 4-pixel zero padding, horizontal flip; Cream, DARTS)."""

from __future__ import annotations


import torch

import tiny

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.runtime.search.loop import CyclicSearch, SearchData


def _searcher(augment: bool, fill=None) -> CyclicSearch:
    s_t, e_t = tiny.templates()
    data = tiny.data()
    if fill is not None:
        data = SearchData(data.train_x, data.train_y, data.val_x, data.val_y, data.test_x, data.test_y, fill=fill)
    return CyclicSearch(tiny.config(search={"augment": augment}), search_template=s_t, eval_template=e_t,
                        cells=tiny.cells(), data=data)


def test_default_follows_the_data_kind():
    on = lambda kind: ExperimentConfig.model_validate({"data": {"kind": kind}}).search.augment
    assert on("cifar10") and on("cifar100") and on("image_folder")
    assert not on("digits") and not on("em") and not on("lens")
    cfg = ExperimentConfig.model_validate({"data": {"kind": "cifar10"}, "search": {"augment": False}})
    assert cfg.search.augment is False
    assert cfg.with_overrides(**{"data.kind": "digits"}).search.augment is False


def test_batches_are_a_function_of_seed_epoch_step():
    s = _searcher(True)
    idx = torch.arange(8)
    a, _ = s._get("train", idx, epoch=3, stream=1, step=2)
    b, _ = s._get("train", idx, epoch=3, stream=1, step=2)
    c, _ = s._get("train", idx, epoch=3, stream=1, step=3)
    plain, _ = _searcher(False)._get("train", idx, epoch=3, stream=1, step=2)
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, plain)
    assert a.shape == plain.shape


def test_crop_pads_with_black_pixels_in_pixel_space():
    fill = (-2.0, -1.0, 0.5)                  # what normalise() makes of a black pixel, per channel
    s = _searcher(True, fill=fill)
    x, _ = s._get("val", torch.arange(16), epoch=0, stream=2, step=0)
    # every value is an original value or the channel's fill (a crop moves pixels, never mixes them)
    for ch, f in enumerate(fill):
        original = torch.cat([s.data.val_x[:, ch].flatten(), torch.tensor([f])])
        distance = (x[:, ch].flatten()[:, None] - original[None, :]).abs().min(1).values
        assert distance.max() < 1e-5
    assert any((x[:, ch] == f).any() for ch, f in enumerate(fill))   # some padding was cut in
