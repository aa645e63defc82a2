"""Temporal and spatial sampling on a grid (pure functions; no video needed)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

import pytest

from mgsearch.data.sampling import (centre_box, clip_indices, draw_stride, eval_starts,
                                    frame_indices, scale_range, span, spread_indices, train_box,
                                    train_start)
from mgsearch.config import load_config
from mgsearch.allocation import schedule_grids

from ..conftest import ENGINE_CONFIG


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


def test_spread_indices_keep_first_and_last_frame():
    assert spread_indices(32, 8, 29, 1).tolist() == [1, 5, 9, 13, 17, 21, 25, 29]  # = stride 4
    assert spread_indices(32, 2, 29, 0).tolist() == [0, 28]
    assert spread_indices(32, 4, 29, 0).tolist() == [0, 9, 19, 28]  # 28/3 rounded
    assert spread_indices(20, 4, 29, 0, "pad").tolist() == [0, 9, 19, 19]
    assert spread_indices(20, 4, 29, 0, "loop").tolist() == [0, 9, 19, 8]


def _mean_spans(mode: str, clips: int = 4000) -> dict[int, float]:
    """Mean first-to-last span (source frames, inclusive) of training clips per grid t of the
    engine config (8 frames every 4th, wu2020), on 32-frame videos (the synthetic set's length)."""
    cfg = load_config(ENGINE_CONFIG)
    assert (cfg.shape.frames, cfg.shape.sampling_rate) == (8, 4)
    rng = np.random.default_rng(0)
    out = {}
    for grid in schedule_grids(cfg):
        if grid.t in out:
            continue
        spans = [np.ptp(clip_indices(32, grid, 8, mode, rng)) + 1 for _ in range(clips)]
        out[grid.t] = float(np.mean(spans))
        # Evaluation draws nothing: the centred clip over the same span.
        centre = clip_indices(32, grid, 8, mode, None)
        assert np.ptp(centre) + 1 == (29 if mode == "span" else span(grid.t, grid.min_stride))
    return out


def test_span_mode_keeps_the_default_span_on_coarse_grids():
    # Tolerance 0: the first and last positions are integers by construction and a 32-frame
    # video holds the 29-frame span, so nothing is rounded or padded at the ends.
    assert _mean_spans("span") == {2: 29.0, 4: 29.0, 8: 29.0}


def test_stride_mode_reproduces_the_shorter_coarse_spans():
    # Stride uniform in [4, 4*8/t]: mean span (t-1)*mean_stride + 1 = 11 (t=2), 19 (t=4), 29.
    # 4,000 clips: standard error of the mean 0.06 (t=2: stride sd 3.7) and 0.07 frames (t=4:
    # 3 x sd 1.4), so 0.6 frames is ~9 standard errors yet well under one stride (4 frames).
    got = _mean_spans("stride")
    assert got == {2: pytest.approx(11.0, abs=0.6), 4: pytest.approx(19.0, abs=0.6), 8: 29.0}
