"""streams: numpy's per-clip generators (seed, epoch, idx), many at once, checked against numpy."""

from __future__ import annotations

import numpy as np

from mgsearch.data.streams import Streams, first_outputs, matches_numpy


def test_streams_draw_what_numpy_draws():
    assert matches_numpy()
    seed, epoch, n = 5, 2, 3000
    idx = np.arange(0, n, 7)
    streams = Streams(first_outputs(seed, epoch, n)[idx])
    tops = 1 + idx % 6  # high 1: a range of one value, which draws nothing
    got = [streams.integers(0, tops), streams.integers(10, 12), streams.uniform(1.5, 9.0),
           streams.integers(3, 3 + 2 ** 31 + 1), streams.random(), streams.random()]
    rejected = 0
    for j, i in enumerate(idx.tolist()):
        rng = np.random.default_rng([seed, epoch, i])
        want = [rng.integers(0, tops[j]), rng.integers(10, 12), rng.uniform(1.5, 9.0),
                rng.integers(3, 3 + 2 ** 31 + 1), rng.random(), rng.random()]
        if streams.unfollowed[j]:  # Lemire redraws on about half of a 2**31 + 1 range
            rejected += 1
            continue
        assert [g[j] for g in got] == want
    assert 0 < rejected < len(idx)
    assert first_outputs(2 ** 32, 0, 4) is None  # a seed SeedSequence hashes as two words


def test_streams_mark_streams_that_run_past_their_table():
    streams = Streams(first_outputs(0, 0, 4, k=2))
    streams.random(), streams.random()
    assert not streams.unfollowed.any()
    streams.random()
    assert streams.unfollowed.all()
