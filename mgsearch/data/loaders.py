"""Loaders for the training loop: one object per worker that hands out each stage's batches.

    loaders = Loaders(cfg, schedule, rank, world)   # schedule may be None: its size is len(train_set)
    for clips, labels, grid_index in loaders.segment(stage, seg): ...  # one stream segment
    for clips, labels, grid_index in loaders.train(stage, epoch): ...   # one whole pass
    for clips, labels, _ in loaders.val(): ...                           # this worker's shard
    for clips, labels, _ in loaders.val(subset=True): ...                # of the fixed subset

Training batches come from MultigridBatchSampler (the stage's per-worker batch sizes, the same
count on every rank); evaluation runs the full shape (T frames, S crop, the default stride) on a
disjoint shard of the validation clips per rank, so summed counts cover each clip once; with
`train.eval_subset_clips` > 0 intermediate evaluations shard a fixed class-balanced subset the
same way (`balanced_subset`: chosen from the validation index alone, never the trial seed).

The DataLoader fetches each sampler batch whole (BatchView.__getitems__ -> VideoClipDataset.batch:
from the cache, drawn, gathered and resized a batch at a time, in the loader workers or, with
`loader_workers: 0`, in the training process between steps); `Loaders(per_clip=True)` builds the
same batches clip by clip (PatchView items, GridCollate), the reference the batched path is
tested against.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from types import SimpleNamespace

import numpy as np
import torch

from ..errors import ConfigError
from ..imports import is_import_path
from .cache import build_cache
from .dataset import BatchView, GridCollate, PatchView, VideoClipDataset
from .index import build_index, short_note
from .sampler import MultigridBatchSampler
from .sampling import default_span
from .userdata import UserClipDataset, check_same_classes, open_source


def open_split(dcfg, split: str, progress: bool = False, workers: int = 1):
    """What one split of a DatasetConfig reads: (SplitIndex, ClipCache or None) for a built-in
    format, (the user's source, None) for an import path (mgsearch.data.userdata)."""
    if is_import_path(dcfg.format):
        return open_source(dcfg, split), None
    index = build_index(dcfg, split)
    cache = (build_cache(index, dcfg.cache_dir, dcfg.cache_short_side, workers=workers,
                         progress=progress) if dcfg.cache else None)
    return index, cache


def clip_dataset(cfg, opened, grids, train: bool, seed: int = 0, dcfg=None):
    """The map-style dataset of an `open_split` result on `grids`: VideoClipDataset over an
    index and its cache, or UserClipDataset over a user's source; `dcfg`: cfg.dataset."""
    dcfg, (data, cache) = dcfg or cfg.dataset, opened
    if is_import_path(dcfg.format):
        return UserClipDataset(data, dcfg, grids, train=train, seed=seed)
    return VideoClipDataset(data, dcfg, grids, cfg.shape.crop, train=train, seed=seed,
                            cache=cache, default_frames=cfg.shape.frames)


def prepare_data(cfg, workers: int | None = None) -> int:
    """Index both splits and build their caches once, in the calling process and on all its
    cores, before any trial or worker starts (they then only open the finished stores instead
    of each decoding everything); a user's source is built and one clip of it checked at the
    full shape. Returns the number of training clips."""

    d = cfg.dataset
    n = workers or os.cpu_count() or 1
    train = open_split(d, d.train_split, progress=True, workers=n)
    val = open_split(d, d.val_split, progress=True, workers=n)
    val_set = clip_dataset(cfg, val, [full_grid(cfg)], train=False)
    check_eval_subset(cfg, len(val_set))
    if not is_import_path(d.format):  # said once per run, here, not by every trial's workers
        for index in (train[0], val[0]):
            note = short_note(index, default_span(cfg.shape), d.short_video)
            if note:
                warnings.warn(note, stacklevel=2)
    else:
        check_same_classes(d, train[0], val[0])
        val_set.batch([0])  # a wrong clip shape or dtype: one line here, before Ray
    return len(clip_dataset(cfg, train, [full_grid(cfg)], train=True))


def check_eval_subset(cfg, val_clips: int) -> None:
    """Refuse a `train.eval_subset_clips` larger than the validation set (`val_clips` items)."""
    n = cfg.train.eval_subset_clips
    if n > val_clips:
        d = cfg.dataset
        raise ConfigError(f"train.eval_subset_clips = {n}: the validation split {d.val_split!r} "
                          f"of {d.root} holds {val_clips} clips; set it to at most {val_clips}, "
                          f"or 0 to evaluate on the full set every time")


def balanced_subset(labels: list[int], n: int) -> list[int]:
    """`n` item indices, as equal a number per class as the classes hold (the remainder to the
    lowest class ids), each class's picks evenly spaced over its items in index order: a fixed
    rule of the labels alone, so every trial of an experiment evaluates the same clips."""
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    classes = sorted(by_class)
    quota = dict.fromkeys(classes, 0)
    left = min(n, len(labels))
    while left > 0:  # fill classes evenly; a small class that runs out leaves its share to others
        open_ = [c for c in classes if quota[c] < len(by_class[c])]
        share, extra = divmod(left, len(open_))
        for k, c in enumerate(open_):
            add = min(share + (k < extra), len(by_class[c]) - quota[c])
            quota[c] += add
            left -= add
    picks = [items[int((j + 0.5) * len(items) / quota[c])]
             for c, items in by_class.items() for j in range(quota[c])]
    return sorted(picks)


def full_grid(cfg) -> SimpleNamespace:
    """The default shape as a grid (what evaluation samples)."""
    sr = cfg.shape.sampling_rate
    return SimpleNamespace(t=cfg.shape.frames, s=cfg.shape.crop, min_stride=sr, max_stride=sr)


class Loaders:
    def __init__(self, cfg, schedule=None, rank: int = 0, world: int = 1,
                 val_batch: int | None = None, per_clip: bool = False):
        d = cfg.dataset
        self.cfg, self.rank, self.world = cfg, rank, world
        self.per_clip = per_clip  # the clip-by-clip path batches reproduce (tests, benches)
        self._train_split = open_split(d, d.train_split, progress=rank == 0)
        val_split = open_split(d, d.val_split, progress=rank == 0)
        seed = cfg.train.seed
        first = schedule.stages[0].grids if schedule is not None else [full_grid(cfg)]
        self.train_set = clip_dataset(cfg, self._train_split, first, train=True, seed=seed)
        self.val_set = clip_dataset(cfg, val_split, [full_grid(cfg)], train=False, seed=seed)
        self.num_classes = len(self.train_set.classes)
        self.train_batch = max(1, cfg.shape.batch // max(world, 1))  # at the full shape
        # Evaluation batches: train.eval_batch, or 4x the per-worker training batch.
        self.val_batch = val_batch or cfg.train.eval_batch or 4 * self.train_batch
        subset = cfg.train.eval_subset_clips
        check_eval_subset(cfg, len(self.val_set))
        k = self.val_set.k  # items per video: clip j of video i is item i*k + j
        self.subset_items = (balanced_subset([label for label in self.val_set.labels
                                              for _ in range(k)], subset) if subset else None)
        self.collate = GridCollate(d.mean, d.std)
        self._bn_set = None  # training videos at the full shape, built on first precise BN

    def _loader(self, dataset, batch_sampler) -> torch.utils.data.DataLoader:
        per_clip = self.per_clip and isinstance(dataset, VideoClipDataset)  # a user's: by clip
        view, collate = ((PatchView(dataset), self.collate) if per_clip
                         else (BatchView(dataset), _as_is))
        return torch.utils.data.DataLoader(view, batch_sampler=batch_sampler, collate_fn=collate,
                                           num_workers=self.cfg.dataset.loader_workers,
                                           persistent_workers=False)

    def train(self, stage, epoch: int) -> torch.utils.data.DataLoader:
        """This worker's batches for `epoch` of `stage`; len() is what it yields."""
        self.train_set.set_grids(stage.grids)
        self.train_set.set_epoch(epoch)
        sampler = MultigridBatchSampler(len(self.train_set),
                                        [g.per_worker_batch for g in stage.grids],
                                        rank=self.rank, world_size=self.world,
                                        seed=self.cfg.train.seed, epoch=epoch)
        return self._loader(self.train_set, sampler)

    def precise_bn(self, clips: int) -> torch.utils.data.DataLoader:
        """This worker's share of `clips` training videos at the full shape for precise BN.
        Centre clips (what evaluation sees, and no random draw at all, so nothing of the training
        stream is touched); the same fixed random subset every time, so it spans the classes."""
        if self._bn_set is None:
            one = dataclasses.replace(self.cfg.dataset, eval_clips=1)
            self._bn_set = clip_dataset(self.cfg, self._train_split, [full_grid(self.cfg)],
                                        train=False, dcfg=one)
        order = np.random.default_rng([self.cfg.train.seed, 1]).permutation(len(self._bn_set))
        mine = order[:clips].tolist()[self.rank::self.world]
        # At the training batch: deeper layers' inputs depend on the batch statistics of the
        # layers before them, and the weights were trained on batches of this size.
        return self._loader(self._bn_set, _batches(mine, self.train_batch))

    def segment(self, stage, seg) -> torch.utils.data.DataLoader:
        """This worker's batches of one clip-stream segment (mgsearch.stream.Segment) of
        `stage`: pass `seg.data_pass` from clip `seg.offset`, short cycle from `seg.phase`."""
        self.train_set.set_grids(stage.grids)
        self.train_set.set_epoch(seg.data_pass)  # augmentation is seeded by (seed, pass, clip)
        sampler = MultigridBatchSampler(len(self.train_set),
                                        [g.per_worker_batch for g in stage.grids],
                                        rank=self.rank, world_size=self.world,
                                        seed=self.cfg.train.seed, epoch=seg.data_pass,
                                        offset=seg.offset, batches=seg.iterations,
                                        phase=seg.phase)
        return self._loader(self.train_set, sampler)

    def val(self, subset: bool = False) -> torch.utils.data.DataLoader:
        """This worker's shard of the validation clips: all of them, or with `subset` the fixed
        subset of `train.eval_subset_clips` (the full set when that is 0)."""
        items = (self.subset_items if subset and self.subset_items is not None
                 else range(len(self.val_set)))
        return self._loader(self.val_set, _batches(list(items[self.rank::self.world]),
                                                   self.val_batch))


def _batches(items: list[int], size: int) -> list[list[tuple[int, int]]]:
    """`items` in batches of `size` (the last one shorter), as (item, grid 0) pairs."""
    return [[(i, 0) for i in items[k:k + size]] for k in range(0, len(items), size)]


def _as_is(batch):
    """`collate_fn` for BatchView: its batches are whole already."""
    return batch


def count_train_clips(cfg) -> int:
    """Usable training clips (after skipping unreadable files), for the cost model."""
    d = cfg.dataset
    if is_import_path(d.format):
        return len(open_source(d, d.train_split))
    return len(build_index(d, d.train_split).videos)
