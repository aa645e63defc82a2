"""A map-style dataset of clips on multigrid grids, read from video files or the clip cache.

    ds = VideoClipDataset(index, cfg.dataset, grids=stage.grids, default_crop=cfg.shape.crop,
                          train=True, seed=cfg.train.seed, cache=cache)
    clip, label = ds[(17, 2)]        # video 17 on grid 2: float 3 x t x s x s, normalized

    clips, labels, g = ds.batch([(17, 2), (4, 2)])   # one sampler batch, made whole at once

An item is `idx` or `(idx, grid_index)` (what MultigridBatchSampler yields). Randomness comes
from (seed, epoch, idx), so a clip does not depend on which loader worker reads it, nor on
whether it is made alone (`patch`) or in a batch (`batch`: the same clips, drawn, gathered and
resized a batch at a time). A video that fails to decode is counted (`ds.failures`) and replaced
by another video of the same class. Evaluation datasets hold `eval_clips` items per video (clip
j of video i is item i*k + j).
"""

from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import torch

from .cache import ClipCache
from .decode import DecodeError, decode_frames
from .index import SplitIndex
from .sampling import (batch_centre_boxes, batch_clip_indices, batch_train_boxes, centre_box,
                       clip_indices, train_box)
from .streams import Streams, first_outputs, matches_numpy
from .transform import (Patch, collate_patches, cut_patch, mirror_rows, normalize_batch,
                        patch_crop, pixel_boxes, resize_crops)


class GridDataset(torch.utils.data.Dataset):
    """What Loaders sets on a dataset between passes: the stage's grids (an item's grid index
    points into them) and the epoch, which seeds each training clip with (seed, epoch, idx)."""

    epoch = 0

    def set_grids(self, grids: Sequence) -> None:
        """The current stage's grids (objects with t, s, min_stride, max_stride)."""
        if not grids:
            raise ValueError("a dataset needs at least one grid")
        self.grids = tuple(grids)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)


def batch_items(items: Sequence) -> tuple[np.ndarray, int]:
    """(item indices, grid index) of one sampler batch of `idx` or `(idx, grid_index)` items."""
    pairs = np.asarray(items, dtype=np.int64)  # N x 2 of (idx, grid_index), or N of idx
    if pairs.ndim == 1:
        pairs = np.stack([pairs, np.zeros_like(pairs)], axis=1)
    if pairs.shape[0] == 0:
        raise ValueError("a batch needs at least one item")
    g = int(pairs[0, 1])
    if (pairs[:, 1] != g).any():
        raise ValueError("a batch must hold items of one grid")
    return pairs[:, 0], g


class VideoClipDataset(GridDataset):
    def __init__(self, index: SplitIndex, cfg, grids: Sequence, default_crop: int,
                 train: bool, seed: int = 0, cache: Optional[ClipCache] = None,
                 default_frames: Optional[int] = None):
        self.index, self.cfg, self.train = index, cfg, train
        # T of the default shape: `span` temporal sampling spreads every grid over its span.
        # None: each grid's own t (then `span` mode covers (t-1)*min_stride + 1 frames).
        self.default_frames = default_frames
        self.default_crop, self.seed, self.cache = int(default_crop), int(seed), cache
        self.videos = index.videos
        self.k = 1 if train else int(cfg.eval_clips)
        self.epoch = 0
        self.failures = 0  # decode failures in this process (loader workers count their own)
        self._bad: set[int] = set()
        self.set_grids(grids)
        by_class: dict[int, list[int]] = {}
        for i, v in enumerate(self.videos):
            by_class.setdefault(v.label, []).append(i)
        self._by_class = by_class
        self._labels = np.array([v.label for v in self.videos], dtype=np.int64)
        self._flip_map = (None if index.flip_map is None
                          else np.asarray(index.flip_map, dtype=np.int64))
        self._outputs_at, self._outputs = None, None  # (seed, epoch) -> every clip's stream start

    def __getstate__(self):  # loader workers recompute the streams table rather than receive it
        return {**self.__dict__, "_outputs_at": None, "_outputs": None}

    @property
    def classes(self) -> tuple[str, ...]:
        return self.index.classes

    @property
    def labels(self) -> list[int]:
        return [v.label for v in self.videos]

    def __len__(self) -> int:
        return len(self.videos) * self.k

    def __getitem__(self, item) -> tuple[torch.Tensor, int]:
        patch = self.patch(item)
        clips, labels = collate_patches([patch], self.cfg.mean, self.cfg.std)
        return clips[0], int(labels[0])

    # -- the part loaders call ------------------------------------------------------------------
    def patch(self, item) -> Patch:
        """The uint8 patch of `item` (idx or (idx, grid_index)); collate_patches finishes it."""
        idx, g = item if isinstance(item, tuple) else (item, 0)
        idx, g = int(idx), int(g)
        video, clip = divmod(idx, self.k)
        rng = np.random.default_rng([self.seed, self.epoch, idx]) if self.train else None
        tried = []
        for _ in range(self.cfg.max_decode_retries + 1):
            if video not in self._bad:
                try:
                    return self._patch(video, clip, self.grids[g], rng)
                except DecodeError as err:
                    self._bad.add(video)
                    self.failures += 1
                    warnings.warn(f"decode failed, using another clip of its class: "
                                  f"{self.videos[video].path}: {err}", stacklevel=2)
            tried.append(self.videos[video].path)
            video = self._substitute(video, rng or np.random.default_rng([self.seed, idx]))
        raise RuntimeError(f"{len(tried)} videos of class {self.videos[video].label} failed to "
                           f"decode ({', '.join(tried)}); remove or re-encode them")

    def batch(self, items: Sequence) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(clips, labels, grid_index) of `items` (idx or (idx, grid_index), all of one grid:
        one MultigridBatchSampler batch), equal to `collate_patches` of each item's `patch`.

        From the cache the whole batch is drawn at once (`streams.Streams`: each clip's
        (seed, epoch, idx) generator, bit for bit), then gathered with one numpy call and
        resized with one `F.interpolate` call per crop side. Clips the batch cannot do exactly as `patch`
        does take `patch` itself, in item order: every clip without the cache, a video that
        failed to decode (it is substituted as there), a stream `Streams` cannot follow."""
        idx, g = batch_items(items)
        grid = self.grids[g]
        out = np.empty((len(idx), grid.t, grid.s, grid.s, 3), dtype=np.uint8)
        labels = np.empty(len(idx), dtype=np.int64)
        slow = self._slow(idx)
        if not slow.all():
            slow |= self._batch_into(out, labels, idx, ~slow, grid)
        for j in np.flatnonzero(slow).tolist():
            p = self.patch((int(idx[j]), g))
            out[j], labels[j] = patch_crop(p), p.label
        return normalize_batch(out, self.cfg.mean, self.cfg.std), torch.from_numpy(labels), g

    def _stream_table(self) -> Optional[np.ndarray]:
        """Every item's first generator outputs for the current (seed, epoch), made once per
        epoch (`streams.first_outputs`); None where `Streams` cannot follow them exactly."""
        if self._outputs_at != (self.seed, self.epoch):
            self._outputs_at = (self.seed, self.epoch)
            self._outputs = (first_outputs(self.seed, self.epoch, len(self))
                             if matches_numpy() else None)
        return self._outputs

    def _slow(self, idx: np.ndarray) -> np.ndarray:
        """Items `batch` leaves to `patch`: all without the cache (or when training streams
        cannot be followed exactly), else those of videos that failed or are known bad."""
        if self.cache is None or (self.train and self._stream_table() is None):
            return np.ones(len(idx), dtype=bool)
        video = idx // self.k
        slow = self.cache.table[video, 1] == 0
        if self._bad:
            slow |= np.isin(video, np.fromiter(self._bad, dtype=np.int64))
        return slow

    def _batch_into(self, out: np.ndarray, labels: np.ndarray, idx: np.ndarray,
                    mine: np.ndarray, grid) -> np.ndarray:
        """Write the `mine` items of `idx` into `out`/`labels` from the cache, as `patch` +
        `patch_crop` would; return the items this could not follow (to redo by `patch`)."""
        cfg, pos = self.cfg, np.flatnonzero(mine)
        video, clip = np.divmod(idx[pos], self.k)
        _, n, h, w = self.cache.table[video].T
        streams = Streams(self._stream_table()[idx[pos]]) if self.train else None
        frames = batch_clip_indices(n, grid, self.default_frames or grid.t,
                                    cfg.temporal_sampling, streams, cfg.random_stride, self.k,
                                    clip, cfg.short_video)
        if streams is not None:
            boxes = batch_train_boxes(w, h, grid.s, self.default_crop, cfg.jitter_scales,
                                      streams, cfg.hflip)
        else:
            boxes = batch_centre_boxes(w, h, grid.s, self.default_crop, cfg.test_scale)
        x0, y0, side = pixel_boxes(boxes, w, h)
        first = self.cache.first_pixels(video, frames, x0, y0)
        # one gather and one resize per crop side (and frame width, where widths differ)
        order = np.lexsort((w, side))
        cuts = np.flatnonzero((np.diff(side[order]) != 0) | (np.diff(w[order]) != 0)) + 1
        for at in np.split(order, cuts):
            size, width = int(side[at[0]]), int(w[at[0]])
            crops = self.cache.squares(width, size)[first[at]]
            out[pos[at]] = crops if size == grid.s else resize_crops(crops, grid.s)
        if boxes.flip.any():
            flipped = pos[boxes.flip]
            out[flipped] = mirror_rows(out[flipped])
        label = self._labels[video]
        if self._flip_map is not None:
            label = np.where(boxes.flip, self._flip_map[label], label)
        labels[pos] = label
        redo = np.zeros(len(idx), dtype=bool)
        if streams is not None:
            redo[pos] = streams.unfollowed
        return redo

    def _substitute(self, video: int, rng: np.random.Generator) -> int:
        same = [i for i in self._by_class[self.videos[video].label] if i not in self._bad]
        return int(rng.choice(same)) if same else video

    def _patch(self, video: int, clip: int, grid, rng: Optional[np.random.Generator]) -> Patch:
        cfg, v = self.cfg, self.videos[video]
        n = self.cache.num_frames(video) if self.cache is not None else v.info.frames
        idx = clip_indices(n, grid, self.default_frames or grid.t, cfg.temporal_sampling, rng,
                           cfg.random_stride, self.k, clip, cfg.short_video)
        if self.cache is not None:
            frames = self.cache.frames(video)[idx]
        else:
            frames = decode_frames(v.path, idx, cfg.cache_short_side, cfg.decode_threads)
        h, w = frames.shape[1:3]
        label = v.label
        if rng is not None:
            box = train_box(w, h, grid.s, self.default_crop, cfg.jitter_scales, rng, cfg.hflip)
            if box.flip and self.index.flip_map is not None:
                label = self.index.flip_map[label]  # e.g. "moves right" mirrored is "moves left"
        else:
            box = centre_box(w, h, grid.s, self.default_crop, cfg.test_scale)
        return cut_patch(frames, box, grid.s, label)


class BatchView(torch.utils.data.Dataset):
    """`dataset` for a DataLoader over a batch sampler, one call per batch: the loader hands
    `__getitems__` each sampler batch and `dataset.batch` makes it (clips, labels, grid_index),
    which a pass-through `collate_fn` returns as it is."""

    def __init__(self, dataset: VideoClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.dataset.batch([item])

    def __getitems__(self, items: list) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.dataset.batch(items)


class GridCollate:
    """`collate_fn` for `PatchView` items: one batch of one grid -> (clips, labels, grid_index)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, items: Sequence[tuple[Patch, int]]):
        clips, labels = collate_patches([p for p, _ in items], self.mean, self.std)
        return clips, labels, items[0][1]


class PatchView(torch.utils.data.Dataset):
    """The items of `dataset` as (uint8 patch, grid index), for `GridCollate`: the clip-by-clip
    path (`Loaders(per_clip=True)`), which `BatchView` reproduces a batch at a time."""

    def __init__(self, dataset: VideoClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item) -> tuple[Patch, int]:
        g = int(item[1]) if isinstance(item, tuple) else 0
        return self.dataset.patch(item), g
