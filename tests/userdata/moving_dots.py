"""A dataset as a user writes it for `dataset.format` (numpy only, no files): procedurally
generated clips of a square that moves right, left, down or up, the class being the direction,
so two frames already tell it and coarse multigrid grids carry the signal.

    dataset: {format: "tests.userdata.moving_dots:build"}

Drawn in frame-relative coordinates, so any crop side `s` renders the same motion.
"""

from __future__ import annotations

import numpy as np

from mgsearch.data.userdata import frame_indices

CLASSES = ("right", "left", "down", "up")
ITEMS = {"train": 48, "val": 16}  # clips per split, the classes in turn
SEEDS = {"train": 0, "val": 1}  # each split's items look different
FRAMES = 32  # frames of each generated video
NOT_CALLABLE = 3


class MovingDots:
    def __init__(self, dataset_cfg, split: str):
        self.mean = np.asarray(dataset_cfg.mean, dtype=np.float32).reshape(3, 1, 1, 1)
        self.std = np.asarray(dataset_cfg.std, dtype=np.float32).reshape(3, 1, 1, 1)
        self.split = split
        self.classes = CLASSES
        self.labels = [i % len(CLASSES) for i in range(ITEMS[split])]

    def __len__(self) -> int:
        return len(self.labels)

    def clip(self, item, t, s, strides, rng):
        video = np.random.default_rng([SEEDS[self.split], item])  # the item's own fixed look
        colour = video.uniform(0.5, 1.0, 3).astype(np.float32)
        speed = video.uniform(0.015, 0.025)  # frame widths per source frame
        frames = frame_indices(FRAMES, t, strides, rng)  # random start and stride in training
        direction = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)][self.labels[item]])
        jitter = rng.uniform(-0.1, 0.1, 2) if rng is not None else np.zeros(2)
        centre = 0.5 + jitter + np.outer(frames - FRAMES / 2, direction * speed)  # t x (x, y)
        grid = (np.arange(s) + 0.5) / s
        inside = ((np.abs(grid[None, None, :] - centre[:, 0, None, None]) < 0.12)
                  & (np.abs(grid[None, :, None] - centre[:, 1, None, None]) < 0.12))
        x = np.where(inside[None], colour[:, None, None, None], np.float32(0.1))
        return ((x - self.mean) / self.std).astype(np.float32)  # 3 x t x s x s


def build(dataset_cfg, split):
    return MovingDots(dataset_cfg, split)


class WrongShape(MovingDots):
    def clip(self, item, t, s, strides, rng):
        return super().clip(item, t, s, strides, rng)[:, :, :-1]  # one row short


def build_wrong_shape(dataset_cfg, split):
    return WrongShape(dataset_cfg, split)
