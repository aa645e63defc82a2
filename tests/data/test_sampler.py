"""MultigridBatchSampler: shards, cycling batch sizes, exact length, reproducibility."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from mgsearch.data.sampler import MultigridBatchSampler
from mgsearch.schedule import batches_per_epoch


def test_sizes_cycle_and_grid_index_rides_along():
    batches = list(MultigridBatchSampler(100, [32, 16, 8], seed=1))
    assert [len(b) for b in batches] == [32, 16, 8, 32]  # 88 clips used; next 16 would not fit
    assert [{g for _, g in b} for b in batches] == [{0}, {1}, {2}, {0}]


@settings(max_examples=150, deadline=None)
@given(n=st.integers(0, 400), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       world=st.integers(1, 4), seed=st.integers(0, 1000), epoch=st.integers(0, 50))
def test_ranks_get_disjoint_shards_and_equal_batch_counts(n, sizes, world, seed, epoch):
    samplers = [MultigridBatchSampler(n, sizes, r, world, seed, epoch) for r in range(world)]
    runs = [list(s) for s in samplers]
    expected = batches_per_epoch(n // world, sizes)
    assert all(len(s) == expected == len(r) for s, r in zip(samplers, runs))
    seen = [idx for r in runs for b in r for idx, _ in b]
    assert len(seen) == len(set(seen)) and all(0 <= i < n for i in seen)
    for r in runs:
        assert all(len(b) == sizes[i % len(sizes)] for i, b in enumerate(r))


def test_reproducible_from_seed_and_epoch_and_reshuffled_per_epoch():
    a = list(MultigridBatchSampler(50, [8], seed=3, epoch=2))
    b = MultigridBatchSampler(50, [8], seed=3, epoch=0)
    b.set_epoch(2)
    assert a == list(b)
    assert a != list(MultigridBatchSampler(50, [8], seed=3, epoch=3))


def test_remainder_dropped_and_shard_size():
    s = MultigridBatchSampler(103, 4, rank=1, world_size=4, epoch=5)
    assert len(s.shard()) == 25
    union = set()
    for r in range(4):
        union |= set(MultigridBatchSampler(103, 4, rank=r, world_size=4, epoch=5).shard())
    assert len(union) == 100
