"""Loaders for the training loop: one object per worker that hands out each stage's batches.

    loaders = Loaders(cfg, schedule, rank, world)   # schedule may be None: its size is len(train_set)
    for clips, labels, grid_index in loaders.segment(stage, seg): ...  # one stream segment
    for clips, labels, grid_index in loaders.train(stage, epoch): ...   # one whole pass
    for clips, labels, _ in loaders.val(): ...                           # this worker's shard

Training batches come from MultigridBatchSampler (the stage's per-worker batch sizes, the same
count on every rank); evaluation runs the full shape (T frames, S crop, the default stride) on a
disjoint shard of the validation clips per rank, so summed counts cover each clip once.
"""

from __future__ import annotations

import dataclasses
import os
from types import SimpleNamespace

import numpy as np
import torch

from .cache import build_cache
from .dataset import GridCollate, PatchView, VideoClipDataset
from .index import build_index
from .sampler import MultigridBatchSampler


def open_split(dcfg, split: str, progress: bool = False, workers: int = 1):
    """(SplitIndex, ClipCache or None) for one split of a DatasetConfig."""
    index = build_index(dcfg, split)
    cache = (build_cache(index, dcfg.cache_dir, dcfg.cache_short_side, workers=workers,
                         progress=progress) if dcfg.cache else None)
    return index, cache


def prepare_data(cfg, workers: int | None = None) -> int:
    """Index both splits and build their caches once, in the calling process and on all its
    cores, before any trial or worker starts (they then only open the finished stores instead
    of each decoding everything). Returns the number of training clips."""

    d = cfg.dataset
    n = workers or os.cpu_count() or 1
    train_index, _ = open_split(d, d.train_split, progress=True, workers=n)
    open_split(d, d.val_split, progress=True, workers=n)
    return len(train_index.videos)


def full_grid(cfg) -> SimpleNamespace:
    """The default shape as a grid (what evaluation samples)."""
    sr = cfg.shape.sampling_rate
    return SimpleNamespace(t=cfg.shape.frames, s=cfg.shape.crop, min_stride=sr, max_stride=sr)


class Loaders:
    def __init__(self, cfg, schedule=None, rank: int = 0, world: int = 1,
                 val_batch: int | None = None):
        d = cfg.dataset
        self.cfg, self.rank, self.world = cfg, rank, world
        train_index, train_cache = open_split(d, d.train_split, progress=rank == 0)
        val_index, val_cache = open_split(d, d.val_split, progress=rank == 0)
        self.num_classes = len(train_index.classes)
        seed = cfg.train.seed
        first = schedule.stages[0].grids if schedule is not None else [full_grid(cfg)]
        self.train_set = VideoClipDataset(train_index, d, first,
                                          cfg.shape.crop, train=True, seed=seed,
                                          cache=train_cache, default_frames=cfg.shape.frames)
        self.val_set = VideoClipDataset(val_index, d, [full_grid(cfg)], cfg.shape.crop,
                                        train=False, seed=seed, cache=val_cache,
                                        default_frames=cfg.shape.frames)
        self.val_batch = val_batch or max(1, cfg.shape.batch // max(world, 1))
        self.collate = GridCollate(d.mean, d.std)
        self._bn_set = None  # training videos at the full shape, built on first precise BN

    def _loader(self, dataset, batch_sampler) -> torch.utils.data.DataLoader:
        workers = self.cfg.dataset.loader_workers
        return torch.utils.data.DataLoader(PatchView(dataset), batch_sampler=batch_sampler,
                                           collate_fn=self.collate, num_workers=workers,
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
            self._bn_set = VideoClipDataset(self.train_set.index, one, [full_grid(self.cfg)],
                                            self.cfg.shape.crop, train=False,
                                            cache=self.train_set.cache,
                                            default_frames=self.cfg.shape.frames)
        order = np.random.default_rng([self.cfg.train.seed, 1]).permutation(len(self._bn_set))
        mine = order[:clips].tolist()[self.rank::self.world]
        batches = [[(i, 0) for i in mine[k:k + self.val_batch]]
                   for k in range(0, len(mine), self.val_batch)]
        return self._loader(self._bn_set, batches)

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

    def val(self) -> torch.utils.data.DataLoader:
        mine = list(range(self.rank, len(self.val_set), self.world))
        batches = [[(i, 0) for i in mine[k:k + self.val_batch]]
                   for k in range(0, len(mine), self.val_batch)]
        return self._loader(self.val_set, batches)


def count_train_clips(cfg) -> int:
    """Usable training clips (after skipping unreadable files), for the cost model."""
    return len(build_index(cfg.dataset, cfg.dataset.train_split).videos)
