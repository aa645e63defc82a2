"""Does the config's clip shape fit its videos? Checked after the index pass, before any cache
is built or Ray starts (`prepare_data`, `mgsearch schedule`).

    check_scales(cfg)                  # shape.crop against test_scale and jitter_scales
    check_videos(cfg, [train_index])   # ... against the probed sizes and frame counts

A crop larger than the short side it is cut from is upsampled without a word, and a clip whose
span ((frames-1) * sampling_rate + 1 source frames) is longer than a video is mostly padding:
both would train on data that is not there. Larger than every video is refused; larger than
some videos is one warning with the count.
"""

from __future__ import annotations

import warnings

from ..errors import ConfigError
from .index import short_note


class ClipShapeError(ConfigError):
    """The config's clip shape does not fit its dataset (the data itself was read)."""


def check_scales(cfg) -> None:
    """Refuse a `shape.crop` larger than the short sides it is cut from (`dataset.test_scale`,
    the lower bound of `dataset.jitter_scales`): the crop would silently replace them."""
    s, d = cfg.shape.crop, cfg.dataset
    if d.test_scale < s:
        raise ClipShapeError(
            f"dataset.test_scale = {d.test_scale}: below shape.crop = {s}; the evaluation crop "
            f"is cut from a short side of test_scale pixels, so it would be ignored; set "
            f"dataset.test_scale >= {s} (or a smaller shape.crop)")
    lo = d.jitter_scales[0]
    if lo < s:
        raise ClipShapeError(
            f"dataset.jitter_scales = {list(d.jitter_scales)}: its lower bound {lo} is below "
            f"shape.crop = {s}; training crops are cut from a short side in that range, so the "
            f"bound would be ignored; set dataset.jitter_scales[0] >= {s} (or a smaller crop)")


def _short_side(info, d) -> int:
    side = min(info.width, info.height)
    return min(side, d.cache_short_side) if d.cache else side  # the cache stores at most that


def check_videos(cfg, indexes) -> None:
    """Refuse a crop or a clip span larger than every video of `indexes` (SplitIndex of the
    built-in formats); warn once, with the count, when some videos are smaller or shorter."""
    d, shape = cfg.dataset, cfg.shape
    videos = [v for ix in indexes for v in ix.videos]
    if not videos:
        return
    where = f"{d.root} ({', '.join(ix.split for ix in indexes)})"
    sides = [_short_side(v.info, d) for v in videos]
    stored = (f"; frames are stored at dataset.cache_short_side = {d.cache_short_side} px"
              if d.cache and d.cache_short_side < max(min(v.info.width, v.info.height)
                                                       for v in videos) else "")
    if shape.crop > max(sides):
        raise ClipShapeError(
            f"shape.crop = {shape.crop}: larger than every video of {where} (short side at most "
            f"{max(sides)} px{stored}); the crop would be upsampled; set shape.crop <= "
            f"{max(sides)}" + (" or raise dataset.cache_short_side" if stored else ""))
    small = sum(side < shape.crop for side in sides)
    if small:
        warnings.warn(f"shape.crop = {shape.crop}: {small} of {len(videos)} videos of {where} "
                      f"have a short side below it (smallest {min(sides)} px{stored}); their "
                      f"crops are upsampled", stacklevel=2)
    span = (shape.frames - 1) * shape.sampling_rate + 1
    frames = [v.info.frames for v in videos]
    if span > max(frames):
        fit = (max(frames) - 1) // max(shape.frames - 1, 1)
        fix = (f"shape.sampling_rate <= {fit}" if fit >= 1
               else f"shape.frames <= {max(frames)} with sampling_rate 1")
        raise ClipShapeError(
            f"shape.sampling_rate = {shape.sampling_rate}: a clip spans (frames - 1) * "
            f"sampling_rate + 1 = {span} source frames (shape.frames = {shape.frames}), longer "
            f"than every video of {where} (at most {max(frames)} frames); clips would be mostly "
            f"padding; set {fix}")
    for ix in indexes:  # said once per run, here, not by every trial's workers
        note = short_note(ix, span, d.short_video)
        if note:
            warnings.warn(f"shape.sampling_rate = {shape.sampling_rate}: {note}", stacklevel=2)
