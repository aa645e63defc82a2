"""Temporal and spatial sampling on a grid (pure functions; no video needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from mgsearch.data.sampling import (centre_box, draw_stride, eval_starts, frame_indices,
                                    scale_range, span, train_box, train_start)


def test_frame_indices_pad_and_loop_for_short_videos():
    assert frame_indices(10, 4, 2, 1).tolist() == [1, 3, 5, 7]
    assert frame_indices(6, 4, 2, 0, "pad").tolist() == [0, 2, 4, 5]
    assert frame_indices(6, 4, 2, 0, "loop").tolist() == [0, 2, 4, 0]


def test_eval_starts_centre_and_uniform():
    assert eval_starts(32, 16, 1) == [8]
    assert eval_starts(32, 16, 3) == [0, 8, 16]
    assert eval_starts(10, 31, 2) == [0, 0]  # too short: every clip starts at 0


def test_stride_drawn_in_range_and_fixed_in_eval():
    rng = np.random.default_rng(0)
    drawn = {draw_stride(2, 8, rng) for _ in range(200)}
    assert drawn == set(range(2, 9))
    assert draw_stride(2, 8, None) == 2


def test_scale_range_lower_bound_follows_crop():
    assert scale_range(64, 64, (64, 80)) == (64, 80)
    assert scale_range(32, 64, (64, 80)) == (32, 80)  # lower bound * s/S (Wu et al.)
    assert scale_range(45, 64, (256, 320)) == (180, 320)


@settings(max_examples=200, deadline=None)
@given(w=st.integers(16, 400), h=st.integers(16, 400), s=st.sampled_from([16, 22, 32, 45, 64]),
       lo=st.integers(8, 100), extra=st.integers(0, 60), seed=st.integers(0, 2**31))
def test_train_box_stays_inside_the_frame(w, h, s, lo, extra, seed):
    rng = np.random.default_rng(seed)
    box = train_box(w, h, s, 64, (lo, lo + extra), rng, hflip=True)
    assert 0 <= box.x0 and box.x0 + box.side <= w + 1e-6
    assert 0 <= box.y0 and box.y0 + box.side <= h + 1e-6
    lo_s, hi_s = scale_range(s, 64, (lo, lo + extra))
    assert min(w, h) * s / hi_s - 1e-6 <= box.side <= min(w, h) * s / lo_s + 1e-6


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 300), t=st.integers(1, 32), stride=st.integers(1, 8),
       seed=st.integers(0, 2**31))
def test_train_start_keeps_indices_valid(n, t, stride, seed):
    start = train_start(n, span(t, stride), np.random.default_rng(seed))
    idx = frame_indices(n, t, stride, start)
    assert len(idx) == t and idx.min() >= 0 and idx.max() < n
    if n >= span(t, stride):  # the whole span fits: no padding
        assert (np.diff(idx) == stride).all()


def test_centre_box_is_centred():
    box = centre_box(80, 64, 64, 64, 64)
    assert (box.x0, box.y0, box.side, box.flip) == (8.0, 0.0, 64.0, False)
