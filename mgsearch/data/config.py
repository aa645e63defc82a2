"""The `dataset:` config section: which videos, which split, and how clips are cut from them.

A config without a `dataset:` section reads the embedded synthetic set where
`mgsearch data synth data/gist` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from ..configtypes import check
from ..imports import is_import_path
from .formats import READERS

# The built-in layouts, one reader each; any other `dataset.format` is an import path.
FORMATS = tuple(READERS)


def format_problem(fmt: str) -> Optional[str]:
    """Why `fmt` is not a `dataset.format` (None when it is one): a built-in name or an import
    path "package.module:callable" (mgsearch.data.userdata)."""
    if fmt in FORMATS or is_import_path(fmt):
        return None
    import difflib

    close = difflib.get_close_matches(fmt, FORMATS, 1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"is unknown; {hint}known: {', '.join(FORMATS)}, or your own dataset as "
            f"'package.module:callable' (README 'Your own data')")


@dataclass(frozen=True)
class DatasetConfig:
    """Where the videos are, which split trains and evaluates, and the clip sampling options."""

    # folder: root/<class>/<video> (train/ and val/ subfolders when present); list: "path label"
    # files; kinetics: CSV + <id>_<start>_<end> files; ssv2, ucf101, hmdb51: their split files;
    # synthetic: the folder layout `mgsearch data synth` writes (plus its flip label map);
    # "package.module:callable": your own clips (mgsearch.data.userdata, README "Your own data").
    format: str = "synthetic"
    root: str = "data/gist"  # dataset folder; relative paths are from the working directory
    train_split: str = "train"  # split (subfolder, list/CSV/JSON name part) used for training
    val_split: str = "val"  # split used for evaluation
    split_number: int = 1  # UCF101 / HMDB51 official split 1, 2 or 3
    annotations: Optional[str] = None  # where the list/CSV/JSON/split files are; null: root
    mean: tuple[float, float, float] = (0.45, 0.45, 0.45)  # per-channel RGB mean, 0..1 scale
    std: tuple[float, float, float] = (0.225, 0.225, 0.225)  # per-channel RGB std, 0..1 scale
    # Short-side resize range for training at the default crop S, pixels; at a grid of crop s the
    # lower bound becomes min*s/S (Wu et al. 2020), so a coarse crop sees about the same view.
    jitter_scales: tuple[int, int] = (64, 72)
    test_scale: int = 64  # short side before the evaluation centre crop, pixels
    hflip: bool = True  # random horizontal flip in training (label-remapped where a map exists)
    # span: a grid's t frames spread over the default span ((T-1)*sampling_rate + 1 frames), as
    # the paper keeps the span on coarse grids; stride: t frames at a stride drawn per clip in
    # [sampling_rate, sampling_rate*T/t] (at t=2 of T=8, stride 4: 5-17 frames, mean 11 of 29).
    temporal_sampling: Literal["span", "stride"] = "span"
    random_stride: bool = True  # stride mode: draw the stride per clip in [min, max] (False: max)
    short_video: Literal["pad", "loop"] = "pad"  # too few frames: repeat the last one, or wrap
    eval_clips: int = 1  # uniformly spaced temporal clips per video in evaluation
    cache: bool = True  # decode each video once into a uint8 memmap store (see mgsearch.data.cache)
    cache_dir: str = "data/cache"  # where cache stores and probe indexes are written
    cache_short_side: int = 80  # frames are stored with at most this short side, pixels
    decode_threads: int = 1  # PyAV decoder threads per process (loader workers run in parallel)
    loader_workers: int = 0  # DataLoader processes; 0 is fastest with the cache on 2 cores
    max_decode_retries: int = 4  # other clips of the same class tried when a video fails to decode

    def __post_init__(self) -> None:
        problem = format_problem(self.format)
        check(problem is None, "format", self.format, problem)
        check(self.eval_clips == 1 or not is_import_path(self.format), "eval_clips",
              self.eval_clips, "an import-path format evaluates one clip per item of its "
              "source; set 1 (give the source more items to evaluate more clips)")
        check(self.root != "", "root", self.root, "must name the dataset folder, e.g. data/gist")
        check(self.train_split != self.val_split, "val_split", self.val_split,
              f"must differ from train_split ({self.train_split!r})")
        check(self.split_number in (1, 2, 3), "split_number", self.split_number,
              "UCF101/HMDB51 have splits 1, 2 and 3")
        check(all(s > 0 for s in self.std), "std", list(self.std), "values must be > 0")
        lo, hi = self.jitter_scales
        check(8 <= lo <= hi, "jitter_scales", list(self.jitter_scales),
              "needs 8 <= min <= max pixels, e.g. [64, 72]")
        check(self.test_scale >= 8, "test_scale", self.test_scale, "must be >= 8 pixels")
        check(self.eval_clips >= 1, "eval_clips", self.eval_clips, "must be >= 1")
        check(self.cache_short_side >= 8, "cache_short_side", self.cache_short_side,
              "must be >= 8 pixels (use the largest short side training resizes to)")
        check(self.decode_threads >= 0, "decode_threads", self.decode_threads,
              "must be >= 0 (0: let FFmpeg choose)")
        check(self.loader_workers >= 0, "loader_workers", self.loader_workers, "must be >= 0")
        check(self.max_decode_retries >= 0, "max_decode_retries", self.max_decode_retries,
              "must be >= 0")
