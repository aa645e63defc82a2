"""A map-style dataset of clips on multigrid grids, read from video files or the clip cache.

    ds = VideoClipDataset(index, cfg.dataset, grids=stage.grids, default_crop=cfg.shape.crop,
                          train=True, seed=cfg.train.seed, cache=cache)
    clip, label = ds[(17, 2)]        # video 17 on grid 2: float 3 x t x s x s, normalized

An item is `idx` or `(idx, grid_index)` (what MultigridBatchSampler yields). Randomness comes
from (seed, epoch, idx), so a clip does not depend on which loader worker reads it. A video that
fails to decode is counted (`ds.failures`) and replaced by another video of the same class.
Evaluation datasets hold `eval_clips` items per video (clip j of video i is item i*k + j).
"""

from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import torch

from .cache import ClipCache
from .decode import DecodeError, decode_frames
from .index import SplitIndex
from .sampling import centre_box, clip_indices, train_box
from .transform import Patch, collate_patches, cut_patch


class VideoClipDataset(torch.utils.data.Dataset):
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

    @property
    def classes(self) -> tuple[str, ...]:
        return self.index.classes

    @property
    def labels(self) -> list[int]:
        return [v.label for v in self.videos]

    def set_grids(self, grids: Sequence) -> None:
        """The current stage's grids (objects with t, s, min_stride, max_stride)."""
        if not grids:
            raise ValueError("a dataset needs at least one grid")
        self.grids = tuple(grids)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

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


class GridCollate:
    """`collate_fn` for `PatchView` items: one batch of one grid -> (clips, labels, grid_index)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, items: Sequence[tuple[Patch, int]]):
        clips, labels = collate_patches([p for p, _ in items], self.mean, self.std)
        return clips, labels, items[0][1]


class PatchView(torch.utils.data.Dataset):
    """The items of `dataset` as (uint8 patch, grid index), so a batch is resized in one call."""

    def __init__(self, dataset: VideoClipDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item) -> tuple[Patch, int]:
        g = int(item[1]) if isinstance(item, tuple) else 0
        return self.dataset.patch(item), g
