"""Your own dataset by import path: `dataset.format: "package.module:callable"`.

The callable is called once per split in every process that trains or evaluates (the driver,
each trial, each DDP rank):

    source = build(dataset_cfg, split)     # dataset_cfg: the DatasetConfig; split: its
                                           # train_split or val_split ("train", "val")

and the source it returns provides

    len(source)                  -> int, the items of the split (videos, clips: your choice)
    source.labels                -> sequence of len(source) ints in [0, len(classes)), per item
    source.classes               -> sequence of class names (the same for both splits)
    source.clip(item, t, s, strides, rng) -> one clip of `item` on a grid:
        float32, 3 x t x s x s (C x T x H x W, RGB), normalized (e.g. (x/255 - mean)/std with
        dataset_cfg.mean/std); a numpy array or a torch tensor.
        t, s     frames and crop side, pixels, of the grid (coarse grids: few frames, small s);
        strides  (lo, hi): the frame stride range of the grid. A coarse grid keeps the default
                 clip's time span by a larger stride: training draws the stride per clip in
                 lo..hi inclusive (`rng.integers(lo, hi + 1)`); evaluation passes lo == hi, the
                 default `shape.sampling_rate`. `frame_indices` below does both as the built-in
                 formats do (`temporal_sampling: stride`).
        rng      training: a numpy.random.Generator seeded by (train.seed, epoch, item): draw
                 every random choice of the clip (start frame, stride, crop, jitter) from it
                 and nothing else, so a run is reproducible and every DDP rank agrees;
                 evaluation and precise BN: None, take the deterministic (centre) clip.
        The label of a clip is `labels[item]`: an augmentation must not change the class.

mgsearch does the rest as for the built-in formats: the short-cycle batch sizes and grids of
each stage (MultigridBatchSampler), sharding across DDP ranks, batching (one `clip` call per
item, stacked), evaluation at the full shape (`shape.frames` x `shape.crop`², stride
`shape.sampling_rate`) on a disjoint shard per rank, the class-balanced `train.eval_subset_clips`
and precise BN. Every returned clip is checked; a wrong shape or dtype stops training with one
line naming the source, the grid and what was expected. PyAV probing, indexes and the decoded-
clip cache do not apply (`dataset.cache` and the decode options are ignored). `eval_clips` must
be 1. The other `dataset:` options (`root`, `annotations`, `mean`, `std`, `jitter_scales`,
`hflip`, ...) reach the source in `dataset_cfg`, to use or not. The source must build the same
items in the same order in every process; with `dataset.loader_workers` > 0 it is pickled into
the loader processes. The module must be importable in the driver and every Ray worker (README
"Your own model"). README "Your own data" has a 30-line example; `tests/userdata/moving_dots.py`
is a tested one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional, Sequence

import numpy as np
import torch

from ..errors import ConfigError
from ..imports import load_object
from .dataset import GridDataset, batch_items
from .sampling import clip_indices

WHAT = "dataset.format"


def resolve_source(dcfg):
    """The callable `build(dataset_cfg, split) -> source` of an import-path `dataset.format`
    (a bad path: one ConfigError line naming the module or attribute)."""
    return load_object(dcfg.format, WHAT)


def open_source(dcfg, split: str):
    """The user's source of one split, its length, labels and classes checked."""
    source = resolve_source(dcfg)(dcfg, split)
    where = f"{WHAT} = {dcfg.format!r}, split {split!r}"
    missing = [a for a in ("__len__", "labels", "classes", "clip") if not hasattr(source, a)]
    if missing:
        raise ConfigError(f"{where}: the source ({type(source).__name__}) has no "
                          f"{', '.join(missing)}; it needs len(), labels, classes and "
                          f"clip(item, t, s, strides, rng) (mgsearch.data.userdata)")
    n, labels, classes = len(source), list(source.labels), list(source.classes)
    if n < 1 or len(labels) != n:
        raise ConfigError(f"{where}: len(source) = {n} but {len(labels)} labels; it needs at "
                          f"least one item and one label per item")
    bad = [x for x in labels if not (isinstance(x, (int, np.integer))
                                     and 0 <= x < len(classes))]
    if bad:
        raise ConfigError(f"{where}: label {bad[0]!r} is not an int in [0, {len(classes)}) "
                          f"(len(classes) = {len(classes)}); labels index classes")
    return source


def check_same_classes(dcfg, train_source, val_source) -> None:
    a, b = list(train_source.classes), list(val_source.classes)
    if a != b:
        raise ConfigError(f"{WHAT} = {dcfg.format!r}: splits {dcfg.train_split!r} and "
                          f"{dcfg.val_split!r} have different classes ({len(a)}: {a[:4]}... "
                          f"and {len(b)}: {b[:4]}...); give both the same class list")


def frame_indices(num_frames: int, t: int, strides: tuple[int, int],
                  rng: Optional[np.random.Generator]) -> np.ndarray:
    """`t` frame indices of a `num_frames`-frame video as the built-in formats take them in
    `temporal_sampling: stride` mode: training (rng) a stride drawn in strides and a random
    start; evaluation (None) stride lo and the centre; a short video repeats its last frame."""
    grid = SimpleNamespace(t=t, min_stride=strides[0], max_stride=strides[1])
    return clip_indices(num_frames, grid, t, "stride", rng)


class UserClipDataset(GridDataset):
    """A user's source as `Loaders` samples it: what VideoClipDataset offers (`set_grids`,
    `set_epoch`, `k`, `labels`, `classes`, `batch`, items `idx` or `(idx, grid_index)`), each clip
    made by `source.clip` with the (seed, epoch, idx) generator in training, None otherwise."""

    k = 1  # items per source item (eval_clips must be 1)

    def __init__(self, source, cfg, grids: Sequence, train: bool, seed: int = 0):
        self.source, self.cfg, self.train, self.seed = source, cfg, train, int(seed)
        self.failures = 0  # nothing is decoded, so nothing fails
        self._labels = np.asarray(list(source.labels), dtype=np.int64)
        self.set_grids(grids)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.source.classes)

    @property
    def labels(self) -> list[int]:
        return self._labels.tolist()

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, item) -> tuple[torch.Tensor, int]:
        idx, g = item if isinstance(item, tuple) else (item, 0)
        return self._clip(int(idx), self.grids[int(g)]), int(self._labels[int(idx)])

    def batch(self, items: Sequence) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(clips, labels, grid_index) of `items` (idx or (idx, grid_index), all of one grid)."""
        idx, g = batch_items(items)
        clips = torch.stack([self._clip(int(i), self.grids[g]) for i in idx])
        return clips, torch.from_numpy(self._labels[idx]), g

    def _clip(self, idx: int, grid) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, self.epoch, idx]) if self.train else None
        out = self.source.clip(idx, grid.t, grid.s, (grid.min_stride, grid.max_stride), rng)
        clip = torch.as_tensor(out) if isinstance(out, (np.ndarray, torch.Tensor)) else None
        want = (3, grid.t, grid.s, grid.s)
        if clip is None or tuple(clip.shape) != want or clip.dtype != torch.float32:
            got = (type(out).__name__ if clip is None
                   else f"{str(clip.dtype).replace('torch.', '')} {tuple(clip.shape)}")
            raise ConfigError(f"{WHAT} = {self.cfg.format!r}: clip(item {idx}, t={grid.t}, "
                              f"s={grid.s}, strides=({grid.min_stride}, {grid.max_stride})) "
                              f"returned {got}; expected float32 {want} (C x t x s x s, "
                              f"normalized)")
        return clip


def source_summary(dcfg) -> dict:
    """`mgsearch data info` of an import-path format: items and classes per split."""
    sources = {s: open_source(dcfg, s) for s in (dcfg.train_split, dcfg.val_split)}
    first = sources[dcfg.train_split]
    splits = {}
    for name, src in sources.items():
        per_class = np.bincount(np.asarray(list(src.labels), dtype=np.int64),
                                minlength=len(first.classes)).tolist()
        splits[name] = {"clips": len(src), "clips_per_class": per_class}
    return {"root": dcfg.root, "format": dcfg.format, "classes": [str(c) for c in first.classes],
            "num_classes": len(first.classes), "splits": splits,
            "notes": ["your own source (README 'Your own data'): no files are probed, so "
                      "there are no skipped files, fps, durations, frame sizes or codecs"]}
