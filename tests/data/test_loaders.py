"""Loaders for the training loop, on the tiny synthetic set with a real multigrid schedule."""

from __future__ import annotations

import pytest

from mgsearch.config import config_from_dict
from mgsearch.data.loaders import Loaders, count_train_clips
from mgsearch.schedule import batches_per_epoch, build_schedule


@pytest.fixture()
def cfg(synth_root, tmp_path):
    return config_from_dict({
        "shape": {"batch": 4, "frames": 8, "crop": 32, "sampling_rate": 2},
        "solver": {"steps": [0, 8], "max_epoch": 12},
        "multigrid": {"granularity": "epoch"},  # built without the (tiny) set's size
        "train": {"workers": 2},
        "dataset": {"root": str(synth_root), "cache_dir": str(tmp_path / "cache"),
                    "jitter_scales": [32, 36], "test_scale": 32}})


@pytest.mark.slow
def test_every_rank_gets_the_promised_batches_of_each_grid(cfg):
    schedule = build_schedule(cfg)
    stage = schedule.stages[0]
    sizes = [g.per_worker_batch for g in stage.grids]
    counts = []
    for rank in (0, 1):
        loaders = Loaders(cfg, schedule, rank, 2)
        loader = loaders.train(stage, epoch=1)
        batches = list(loader)
        assert len(batches) == len(loader) == batches_per_epoch(20 // 2, sizes)
        for i, (clips, labels, g) in enumerate(batches):
            grid = stage.grids[g]
            assert g == i % len(sizes)
            assert clips.shape == (grid.per_worker_batch, 3, grid.t, grid.s, grid.s)
            assert labels.shape == (grid.per_worker_batch,)
        counts.append(len(batches))
    assert counts[0] == counts[1] and loaders.num_classes == 4
    assert count_train_clips(cfg) == 20


def test_val_shards_cover_each_clip_once_at_full_shape(cfg):
    schedule = build_schedule(cfg)
    seen = 0
    for rank in (0, 1):
        for clips, labels, g in Loaders(cfg, schedule, rank, 2).val():
            assert clips.shape[1:] == (3, 8, 32, 32) and g == 0
            seen += labels.shape[0]
    assert seen == 4
