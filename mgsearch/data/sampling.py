"""Where a clip comes from on a grid: frame indices in time, a square box in space.

Temporal (README, "Data"), two modes (`dataset.temporal_sampling`):
- `span` (default): every grid's `t` frames are spread evenly over the default span
  `(T-1)*min_stride + 1` source frames, so a 2-frame clip covers the same time as an 8-frame one
  (its first and last frames are those of the full-shape clip at the same start).
- `stride`: `t` frames at a stride in [min_stride, max_stride], drawn per clip in training; a
  coarse clip then covers (t-1)*stride + 1 frames, less than the default span on average.
Training takes a random start, evaluation the centre (or `k` uniformly spaced starts) and the
smallest stride. At the full shape (t = T) both modes give the same frames. A video shorter than
the span is padded by repeating its last frame (`pad`, the default: motion never jumps
backwards, which matters for direction classes) or wrapped around (`loop`).

Spatial: training resizes the short side to a scale drawn from
[round(jitter_min * s / S), jitter_max] and crops `s x s` at a random place, flipped half the
time; evaluation resizes to `test_scale * s / S` and crops the centre. Both are expressed as a box
in source pixels that `transform.py` resamples to `s x s` for a whole batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Box:
    """A square region of a frame in source pixels (float), and whether to mirror it."""

    x0: float
    y0: float
    side: float
    flip: bool = False


def span(t: int, stride: int) -> int:
    """Source frames from the first sampled frame to the last, inclusive."""
    return (t - 1) * stride + 1


def default_span(shape) -> int:
    """Source frames a clip spans at the default shape (a ShapeConfig): `(T-1)*sampling_rate
    + 1`; a video with fewer frames is short (its clips repeat frames, `dataset.short_video`)."""
    return span(shape.frames, shape.sampling_rate)


def draw_stride(min_stride: int, max_stride: int, rng: np.random.Generator | None) -> int:
    """Training: uniform in [min, max]; evaluation (rng None): the smallest stride."""
    if rng is None or max_stride <= min_stride:
        return int(min_stride)
    return int(rng.integers(min_stride, max_stride + 1))


def frame_indices(num_frames: int, t: int, stride: int, start: int,
                  short_video: Literal["pad", "loop"] = "pad") -> np.ndarray:
    """`t` source frame indices from `start`, stride `stride`, kept inside [0, num_frames)."""
    idx = start + stride * np.arange(t, dtype=np.int64)
    if short_video == "loop":
        return idx % num_frames
    return np.minimum(idx, num_frames - 1)


def spread_indices(num_frames: int, t: int, clip_span: int, start: int,
                   short_video: Literal["pad", "loop"] = "pad") -> np.ndarray:
    """`t` source frame indices spread evenly over `clip_span` frames from `start` (first and
    last included; inner ones rounded to the nearest frame), kept inside [0, num_frames)."""
    idx = start + np.rint(np.linspace(0.0, clip_span - 1, t)).astype(np.int64)
    if short_video == "loop":
        return idx % num_frames
    return np.minimum(idx, num_frames - 1)


def clip_indices(num_frames: int, grid, default_frames: int, mode: Literal["span", "stride"],
                 rng: np.random.Generator | None, random_stride: bool = True, k: int = 1,
                 clip: int = 0, short_video: Literal["pad", "loop"] = "pad") -> np.ndarray:
    """Source frames of one clip on `grid` (t, min_stride, max_stride): training when `rng` is
    given (random start, and in `stride` mode a drawn stride), else evaluation clip `clip` of `k`.
    `default_frames` is the default shape's T, which fixes the span in `span` mode."""
    if mode == "span":
        clip_span = span(default_frames, grid.min_stride)  # the full shape's span, source frames
    else:
        stride = (draw_stride(grid.min_stride, grid.max_stride, rng) if random_stride
                  else int(grid.max_stride if rng is not None else grid.min_stride))
        clip_span = span(grid.t, stride)
    start = (train_start(num_frames, clip_span, rng) if rng is not None
             else eval_starts(num_frames, clip_span, k)[clip])
    if mode == "span":
        return spread_indices(num_frames, grid.t, clip_span, start, short_video)
    return frame_indices(num_frames, grid.t, stride, start, short_video)


def train_start(num_frames: int, clip_span: int, rng: np.random.Generator) -> int:
    """A uniformly random first frame such that the span fits (0 when it cannot)."""
    return int(rng.integers(0, max(num_frames - clip_span, 0) + 1))


def eval_starts(num_frames: int, clip_span: int, k: int = 1) -> list[int]:
    """`k` first frames spread evenly; k=1 is the centred clip."""
    room = max(num_frames - clip_span, 0)
    if k == 1:
        return [room // 2]
    return [int(round(room * i / (k - 1))) for i in range(k)]


def scale_range(s: int, default_crop: int, jitter: tuple[int, int]) -> tuple[int, int]:
    """Short-side resize range at crop `s`: the lower bound scales by s/S, never below s."""
    lo = max(s, int(round(jitter[0] * s / default_crop)))
    return lo, max(lo, int(jitter[1]))


def train_box(width: int, height: int, s: int, default_crop: int, jitter: tuple[int, int],
              rng: np.random.Generator, hflip: bool) -> Box:
    """Random-scale, random-place square of a `width x height` frame that becomes `s x s`."""
    lo, hi = scale_range(s, default_crop, jitter)
    scale = int(rng.integers(lo, hi + 1))  # short side after the (virtual) resize, pixels
    side = s * min(width, height) / scale  # the crop's side in source pixels
    x0 = float(rng.uniform(0.0, width - side))
    y0 = float(rng.uniform(0.0, height - side))
    flip = bool(hflip and rng.random() < 0.5)
    return Box(x0, y0, side, flip)


def centre_box(width: int, height: int, s: int, default_crop: int, test_scale: int) -> Box:
    """The centre square that becomes `s x s` after resizing the short side to test_scale*s/S."""
    scale = max(s, test_scale * s / default_crop)
    side = s * min(width, height) / scale
    return Box((width - side) / 2.0, (height - side) / 2.0, side, False)


# -- a whole batch at once (VideoClipDataset.batch) ------------------------------------------------
# The same arithmetic as the functions above, on arrays of the batch's clips, with the draws taken
# from `streams.Streams` in the order the per-clip functions take them from a clip's generator.

@dataclass(frozen=True)
class Boxes:
    """`Box` fields of a batch's clips, as arrays (float64, float64, float64, bool)."""

    x0: np.ndarray
    y0: np.ndarray
    side: np.ndarray
    flip: np.ndarray


def batch_clip_indices(num_frames: np.ndarray, grid, default_frames: int,
                       mode: Literal["span", "stride"], streams=None, random_stride: bool = True,
                       k: int = 1, clips: np.ndarray | None = None,
                       short_video: Literal["pad", "loop"] = "pad") -> np.ndarray:
    """`clip_indices` of every clip (videos of `num_frames` frames), N x t: training when
    `streams` (one per clip) is given, else evaluation clips `clips` of `k` per video."""
    n = np.asarray(num_frames, dtype=np.int64)
    if mode == "span":
        clip_span = np.full_like(n, span(default_frames, grid.min_stride))
    else:
        if random_stride and streams is not None and grid.max_stride > grid.min_stride:
            stride = streams.integers(grid.min_stride, grid.max_stride + 1)
        else:
            fixed = (grid.max_stride if (streams is not None and not random_stride)
                     else grid.min_stride)
            stride = np.full_like(n, int(fixed))
        clip_span = (grid.t - 1) * stride + 1
    room = np.maximum(n - clip_span, 0)
    if streams is not None:
        start = streams.integers(0, room + 1)
    elif k == 1:
        start = room // 2
    else:
        start = np.rint(room * np.asarray(clips, dtype=np.int64) / (k - 1)).astype(np.int64)
    if mode == "span":
        steps = np.rint(np.linspace(0.0, clip_span[0] - 1, grid.t)).astype(np.int64)[None, :]
    else:
        steps = stride[:, None] * np.arange(grid.t, dtype=np.int64)[None, :]
    idx = start[:, None] + steps
    if short_video == "loop":
        return idx % n[:, None]
    return np.minimum(idx, (n - 1)[:, None])


def batch_train_boxes(widths: np.ndarray, heights: np.ndarray, s: int, default_crop: int,
                      jitter: tuple[int, int], streams, hflip: bool) -> Boxes:
    """`train_box` of every clip, drawn from `streams` (one per clip)."""
    lo, hi = scale_range(s, default_crop, jitter)
    scale = streams.integers(lo, hi + 1)
    side = s * np.minimum(widths, heights) / scale
    x0 = streams.uniform(0.0, widths - side)
    y0 = streams.uniform(0.0, heights - side)
    flip = (streams.random() < 0.5) if hflip else np.zeros(len(streams), dtype=bool)
    return Boxes(x0, y0, side, flip)


def batch_centre_boxes(widths: np.ndarray, heights: np.ndarray, s: int, default_crop: int,
                       test_scale: int) -> Boxes:
    """`centre_box` of every clip."""
    scale = max(s, test_scale * s / default_crop)
    side = s * np.minimum(widths, heights) / scale
    return Boxes((widths - side) / 2.0, (heights - side) / 2.0, side,
                 np.zeros(side.shape, dtype=bool))
