"""VideoClipDataset on the tiny synthetic set: shapes, grids, flips, eval clips, bad files."""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mgsearch.data.cache import build_cache
from mgsearch.data.config import DatasetConfig
from mgsearch.data.dataset import VideoClipDataset
from mgsearch.data.index import build_index

GRIDS = [SimpleNamespace(t=4, s=16, min_stride=2, max_stride=4),
         SimpleNamespace(t=8, s=32, min_stride=2, max_stride=2)]


@pytest.fixture()
def cfg(synth_root, tmp_path):
    return DatasetConfig(root=str(synth_root), cache_dir=str(tmp_path / "cache"),
                         jitter_scales=(32, 40), test_scale=32, mean=(0.5,) * 3, std=(0.25,) * 3)


@pytest.mark.parametrize("cached", [False, True])
def test_items_have_the_grid_shape_and_are_normalized(cfg, cached):
    ix = build_index(cfg, "train")
    cache = build_cache(ix, cfg.cache_dir, 32, progress=False) if cached else None
    ds = VideoClipDataset(ix, cfg, GRIDS, default_crop=32, train=True, seed=1, cache=cache)
    assert len(ds) == 20 and len(ds.classes) == 4
    for g, (t, s) in enumerate([(4, 16), (8, 32)]):
        clip, label = ds[(3, g)]
        assert clip.shape == (3, t, s, s) and clip.dtype == torch.float32
        assert 0 <= label < 4
        assert -2.1 <= float(clip.min()) and float(clip.max()) <= 2.1  # (x - 0.5) / 0.25
    a, _ = ds[(5, 0)]
    b, _ = ds[(5, 0)]
    torch.testing.assert_close(a, b)  # the same (seed, epoch, idx) gives the same clip
    ds.set_epoch(1)
    assert not torch.equal(a, ds[(5, 0)][0])


def test_cache_and_files_give_the_same_eval_clip(cfg):
    ix = build_index(cfg, "val")
    full = [SimpleNamespace(t=8, s=32, min_stride=2, max_stride=2)]
    from_files = VideoClipDataset(ix, cfg, full, 32, train=False)
    cached = VideoClipDataset(ix, cfg, full, 32, train=False,
                              cache=build_cache(ix, cfg.cache_dir, 32, progress=False))
    torch.testing.assert_close(from_files[0][0], cached[0][0])


def test_flip_remaps_motion_labels(cfg):
    ix = build_index(cfg, "train")
    flip_map = ix.flip_map
    names = ix.classes
    assert names[flip_map[names.index("move_right")]] == "move_left"
    assert names[flip_map[names.index("move_up")]] == "move_up"
    ds = VideoClipDataset(ix, cfg, GRIDS, 32, train=True, seed=0)
    flipped = kept = 0
    for i in range(len(ds)):
        patch = ds.patch((i, 0))
        truth = ds.videos[i].label
        if patch.box.flip:
            flipped += 1
            assert patch.label == flip_map[truth]
        else:
            kept += 1
            assert patch.label == truth
    assert flipped and kept


def test_eval_clips_are_uniform_and_centre_cropped(cfg):
    ix = build_index(cfg, "val")
    three = dataclasses.replace(cfg, eval_clips=3)
    ds = VideoClipDataset(ix, three, [SimpleNamespace(t=4, s=32, min_stride=2, max_stride=2)],
                          32, train=False)
    assert len(ds) == 3 * len(ix.videos)
    patches = [ds.patch(i) for i in range(3)]
    assert all(not p.box.flip for p in patches)
    assert not np.array_equal(patches[0].frames, patches[2].frames)  # different times


def test_decode_failure_is_counted_and_replaced_by_same_class(cfg, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(cfg.root, root)
    local = dataclasses.replace(cfg, root=str(root))
    ix = build_index(local, "train")
    victim = 0
    with open(ix.videos[victim].path, "wb") as f:
        f.write(b"broken after indexing")
    ds = VideoClipDataset(ix, local, GRIDS, 32, train=True, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip, _ = ds[(victim, 1)]
    assert clip.shape == (3, 8, 32, 32)
    assert ds.failures == 1 and "decode failed" in str(caught[0].message)
    assert ds._substitute(victim, np.random.default_rng(0)) != victim
    same_class = {i for i, v in enumerate(ds.videos) if v.label == ds.videos[victim].label}
    assert ds._substitute(victim, np.random.default_rng(1)) in same_class
