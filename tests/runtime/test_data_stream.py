"""Device-side batch streams: reproducible shuffles, resumption, sharding, paired search batches."""

import pytest
import torch

from genolang.base.errors import ConfigError
from genolang.runtime.data import BatchStream, Part, search_stream


def _stream(n=10, batch_size=3, **options):
    return BatchStream(torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1), torch.arange(n), batch_size, **options)


def _epoch(stream):
    return [y.tolist() for _, y in stream]


def test_one_epoch_covers_every_sample_once():
    stream = _stream()
    batches = _epoch(stream)
    assert len(stream) == 4 and [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(sum(batches, [])) == list(range(10))
    assert stream.epoch == 1 and stream.position == 0


def test_epochs_differ_and_seeds_reproduce():
    a, b = _stream(seed=1), _stream(seed=1)
    first, second = _epoch(a), _epoch(a)
    assert first != second and _epoch(b) == first and _epoch(b) == second
    assert _epoch(_stream(seed=2)) != first


def test_drop_last_and_no_shuffle():
    stream = _stream(shuffle=False, drop_last=True)
    assert _epoch(stream) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_resuming_mid_epoch_continues_with_the_next_batch():
    reference = _stream(seed=4)
    expected = _epoch(reference) + _epoch(reference)
    stream = _stream(seed=4)
    seen = []
    for _, y in stream:
        seen.append(y.tolist())
        if len(seen) == 2:
            state = stream.state_dict()  # checkpoint taken while batch 2 is in use
            break
    resumed = _stream(seed=4)
    resumed.load_state_dict(state)
    seen += _epoch(resumed) + _epoch(resumed)
    assert seen == expected


def test_resuming_with_another_batch_size_is_refused():
    state = _stream(batch_size=3).state_dict()
    with pytest.raises(ConfigError, match="batch"):
        _stream(batch_size=4).load_state_dict(state)


def test_ranks_get_disjoint_equal_shards():
    shards = [sum(_epoch(_stream(n=11, seed=0, rank=r, world_size=3)), []) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    union = set().union(*map(set, shards))
    assert len(union) == 9 and all(set(a).isdisjoint(b) for i, a in enumerate(shards) for b in shards[i + 1:])


def test_transform_gets_a_reproducible_generator():
    def jitter(x, generator):
        return x + torch.rand(x.shape, generator=generator)

    a = _stream(seed=3, transform=jitter)
    b = _stream(seed=3, transform=jitter)
    assert torch.equal(a.batch(2, 1)[0], b.batch(2, 1)[0])
    assert not torch.equal(a.batch(2, 1)[0], a.batch(2, 2)[0][: len(a.batch(2, 1)[0])])


def test_search_stream_pairs_min_length_epochs():
    train = Part(torch.zeros(20, 1, 1, 1), torch.arange(20))
    val = Part(torch.ones(12, 1, 1, 1), torch.arange(100, 112))
    stream = search_stream(train, val, batch_size=4, seed=0)
    pairs = list(stream)
    assert len(stream) == 3 and len(pairs) == 3
    for (tx, ty), (vx, vy) in pairs:
        assert float(tx.sum()) == 0 and bool((vy >= 100).all()) and len(ty) == len(vy) == 4
    state = stream.state_dict()
    assert state["epoch"] == 1 and state["position"] == 0


def test_too_few_samples_is_a_config_error():
    with pytest.raises(ConfigError, match="too few"):
        _stream(n=2, batch_size=4, drop_last=True)
