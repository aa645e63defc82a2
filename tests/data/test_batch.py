"""VideoClipDataset.batch and the batched loaders against the clip-by-clip path they replace:
the same clips, labels and grid index, on the tiny synthetic set (motion classes: flips remap
labels), with scale jitter (crop sides above and below the output side) and flips on."""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mgsearch.config import config_from_dict
from mgsearch.data import dataset as dataset_module
from mgsearch.data.cache import build_cache
from mgsearch.data.config import DatasetConfig
from mgsearch.data.dataset import VideoClipDataset
from mgsearch.data.index import build_index
from mgsearch.data.loaders import Loaders
from mgsearch.data.streams import first_outputs
from mgsearch.data.transform import collate_patches
from mgsearch.schedule import build_schedule

GRIDS = [SimpleNamespace(t=4, s=16, min_stride=2, max_stride=4),
         SimpleNamespace(t=8, s=32, min_stride=2, max_stride=2),
         SimpleNamespace(t=2, s=11, min_stride=2, max_stride=8)]


@pytest.fixture()
def cfg(synth_root, tmp_path):
    return DatasetConfig(root=str(synth_root), cache_dir=str(tmp_path / "cache"),
                         jitter_scales=(32, 40), test_scale=32, mean=(0.5, 0.4, 0.3),
                         std=(0.25, 0.2, 0.3))


def per_clip(ds: VideoClipDataset, items) -> tuple[torch.Tensor, torch.Tensor]:
    return collate_patches([ds.patch(it) for it in items], ds.cfg.mean, ds.cfg.std)


def assert_same_batch(ds: VideoClipDataset, items, ref: VideoClipDataset | None = None):
    """ds.batch(items) equals the clip-by-clip result (of `ref`, a twin, when given)."""
    clips, labels, g = ds.batch(items)
    want_clips, want_labels = per_clip(ref or ds, items)
    assert g == (items[0][1] if isinstance(items[0], tuple) else 0)
    assert torch.equal(labels, want_labels)
    assert torch.equal(clips, want_clips)
    assert clips.stride() == want_clips.stride()
    assert clips.is_contiguous(memory_format=torch.channels_last_3d)
    return clips, labels


@pytest.mark.parametrize("mode", ["span", "stride"])
def test_train_batch_equals_clip_by_clip_path(cfg, mode):
    local = dataclasses.replace(cfg, temporal_sampling=mode,
                                short_video="loop" if mode == "stride" else "pad")
    ix = build_index(local, "train")
    cache = build_cache(ix, local.cache_dir, 32, progress=False)
    ds = VideoClipDataset(ix, local, GRIDS, 32, train=True, seed=3, cache=cache,
                          default_frames=8)
    assert ix.flip_map is not None
    flips = 0
    for epoch in (0, 1, 5):
        ds.set_epoch(epoch)
        for g in range(len(GRIDS)):
            items = [(int(i), g) for i in np.random.default_rng(epoch).permutation(len(ds))]
            assert_same_batch(ds, items)
            flips += sum(ds.patch(it).box.flip for it in items)
    assert flips > 0 and ds.failures == 0


def test_eval_batch_equals_clip_by_clip_path(cfg):
    three = dataclasses.replace(cfg, eval_clips=3)
    ix = build_index(three, "val")
    cache = build_cache(ix, three.cache_dir, 32, progress=False)
    ds = VideoClipDataset(ix, three, [SimpleNamespace(t=8, s=32, min_stride=2, max_stride=2)],
                          32, train=False, cache=cache)
    items = list(range(len(ds)))[::-1]  # plain indices, clips of every video and position
    assert_same_batch(ds, items)
    small = VideoClipDataset(ix, dataclasses.replace(three, test_scale=40),
                             [SimpleNamespace(t=4, s=16, min_stride=2, max_stride=2)], 32,
                             train=False, cache=cache)
    assert_same_batch(small, [(i, 0) for i in range(len(small))])


def test_batch_without_cache_is_the_clip_by_clip_path(cfg):
    ix = build_index(cfg, "train")
    ds = VideoClipDataset(ix, cfg, GRIDS, 32, train=True, seed=1)
    assert_same_batch(ds, [(i, 0) for i in (3, 1, 4, 1, 5)])


def test_clips_the_streams_cannot_follow_take_the_clip_path(cfg, monkeypatch):
    ix = build_index(cfg, "train")
    cache = build_cache(ix, cfg.cache_dir, 32, progress=False)
    real = first_outputs
    # two outputs per clip: every clip that draws more is redone by its numpy generator
    monkeypatch.setattr(dataset_module, "first_outputs", lambda s, e, n: real(s, e, n, k=2))
    ds = VideoClipDataset(ix, cfg, GRIDS, 32, train=True, seed=0, cache=cache)
    assert_same_batch(ds, [(i, 1) for i in range(len(ds))])
    monkeypatch.setattr(dataset_module, "matches_numpy", lambda: False)
    ds = VideoClipDataset(ix, cfg, GRIDS, 32, train=True, seed=0, cache=cache)
    assert_same_batch(ds, [(i, 0) for i in range(len(ds))])


@pytest.mark.parametrize("cached", [True, False])
def test_decode_failure_inside_a_batch_is_substituted(cfg, tmp_path, cached):
    root = tmp_path / "copy"
    shutil.copytree(cfg.root, root)
    local = dataclasses.replace(cfg, root=str(root), cache_dir=str(tmp_path / "c2"))
    ix = build_index(local, "train")
    victim = 2
    with open(ix.videos[victim].path, "wb") as f:
        f.write(b"broken after indexing")
    cache = build_cache(ix, local.cache_dir, 32, progress=False) if cached else None
    if cached:
        assert cache.num_frames(victim) == 0
    twins = [VideoClipDataset(ix, local, GRIDS, 32, train=True, seed=4, cache=cache)
             for _ in range(2)]
    items = [(i, 1) for i in (0, victim, 5, victim, 9)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_same_batch(twins[0], items, ref=twins[1])
    assert twins[0].failures == twins[1].failures == 1
    assert sum("decode failed" in str(w.message) for w in caught) == 2  # once per twin
    # the known-bad video is substituted again in the next batch, without a new failure
    assert_same_batch(twins[0], [(victim, 0), (1, 0)], ref=twins[1])
    assert twins[0].failures == 1


@pytest.fixture()
def run_cfg(synth_root, tmp_path):
    return config_from_dict({
        "shape": {"batch": 4, "frames": 8, "crop": 32, "sampling_rate": 2},
        "solver": {"steps": [0, 8], "max_epoch": 12},
        "multigrid": {"granularity": "epoch"},
        "train": {"workers": 1},
        "dataset": {"root": str(synth_root), "cache_dir": str(tmp_path / "cache"),
                    "jitter_scales": [32, 40], "test_scale": 32}})


def small_stage(schedule):
    """A stage of three grids (4x16², 4x23², 4x32²) with batches the 20-clip set holds."""
    stage = schedule.stages[2]
    return dataclasses.replace(stage, grids=tuple(
        dataclasses.replace(g, per_worker_batch=b) for g, b in zip(stage.grids, (5, 3, 2))))


def _same_batches(a, b) -> int:
    n = 0
    for (xa, ya, ga), (xb, yb, gb) in zip(a, b, strict=True):
        assert ga == gb and torch.equal(ya, yb) and torch.equal(xa, xb)
        assert xa.is_contiguous(memory_format=torch.channels_last_3d)
        n += 1
    return n


def test_loaders_batch_what_the_clip_by_clip_loaders_do(run_cfg):
    schedule = build_schedule(run_cfg)
    batched, clipwise = Loaders(run_cfg, schedule), Loaders(run_cfg, schedule, per_clip=True)
    stage = small_stage(schedule)
    assert _same_batches(batched.train(stage, epoch=2), clipwise.train(stage, epoch=2)) == 6
    assert _same_batches(batched.val(), clipwise.val()) >= 1
    assert _same_batches(batched.precise_bn(8), clipwise.precise_bn(8)) >= 1


@pytest.mark.slow
def test_loader_workers_give_the_same_batches(run_cfg):
    schedule = build_schedule(run_cfg)
    stage = small_stage(schedule)
    one = dataclasses.replace(run_cfg, dataset=dataclasses.replace(run_cfg.dataset,
                                                                   loader_workers=1))
    in_process = Loaders(run_cfg, schedule).train(stage, epoch=1)
    assert _same_batches(Loaders(one, schedule).train(stage, epoch=1), in_process) == 6
