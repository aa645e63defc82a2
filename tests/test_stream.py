"""The clip stream: segments the sampler reads, resumed at any iteration without a difference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mgsearch.data.sampler import MultigridBatchSampler
from mgsearch.stream import Segment, batches_per_epoch, resume_segments, walk


def batches(segments, sizes, n, seed=0):
    """Every batch (clip ids, grid index) one worker reads, in order."""
    out = []
    for seg in segments:
        s = MultigridBatchSampler(n, sizes[seg.stage], seed=seed, epoch=seg.data_pass,
                                  offset=seg.offset, batches=seg.iterations, phase=seg.phase)
        out += [(seg.data_pass, tuple(i for i, _ in b), b[0][1]) for b in s]
    return out


def test_walk_by_hand():
    # A 100-clip shard; stage 0 cycles 32/16/8 for 6 iterations, stage 1 takes 8s for 5.
    segs = walk([[32, 16, 8], [8]], [6, 5], 100, new_pass_per_stage=False)
    # Pass 0: 32+16+8+32 = 88 (16 would not fit), pass 1: 32+16 = 48 clips, then stage 1
    # continues that pass at clip 48 with 5 batches of 8 (88 <= 100).
    assert segs == (Segment(0, 0, 4, 0, 0), Segment(0, 4, 2, 1, 0), Segment(1, 6, 5, 1, 48))
    # Under epoch granularity stage 1 starts a new pass.
    segs = walk([[32, 16, 8], [8]], [8, 12], 100, new_pass_per_stage=True)
    assert [(s.stage, s.data_pass, s.offset, s.iterations) for s in segs] == [
        (0, 0, 0, 4), (0, 1, 0, 4), (1, 2, 0, 12)]


@settings(max_examples=120, deadline=None)
@given(st.integers(20, 300),
       st.lists(st.tuples(st.lists(st.integers(1, 20), min_size=1, max_size=3),
                          st.integers(1, 40)), min_size=1, max_size=4),
       st.booleans(), st.data())
def test_resumed_stream_reads_the_same_batches(n, stages, new_pass, data):
    sizes = [s for s, _ in stages]
    iters = [k for _, k in stages]
    segs = walk(sizes, iters, n, new_pass)
    full = batches(segs, sizes, n)
    assert len(full) == sum(iters)
    # Within a pass no clip is read twice; every batch has its grid's size.
    per_pass: dict[int, list[int]] = {}
    for p, ids, _ in full:
        per_pass.setdefault(p, []).extend(ids)
    assert all(len(v) == len(set(v)) for v in per_pass.values())
    stage_of = [j for j, k in enumerate(iters) for _ in range(k)]
    for (p, ids, g), j in zip(full, stage_of):
        assert len(ids) == sizes[j][g]
    # A run that stops after any iteration and resumes reads exactly the rest.
    at = data.draw(st.integers(0, sum(iters)))
    assert batches(resume_segments(segs, sizes, at), sizes, n) == full[at:]


def test_sampler_inside_a_pass():
    whole = list(MultigridBatchSampler(100, [32, 16, 8], seed=2, epoch=1))
    part = list(MultigridBatchSampler(100, [32, 16, 8], seed=2, epoch=1, offset=48,
                                      batches=2, phase=2))
    assert part == whole[2:4]
    assert batches_per_epoch(100 - 48, [8, 32, 16]) == 2  # 8 + 32 = 40 of 52; 16 > 12
