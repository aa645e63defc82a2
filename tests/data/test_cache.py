"""The decoded-clip cache: same frames as decoding, rebuilt on change, safe under a race."""

from __future__ import annotations

import multiprocessing as mp
import os
import warnings

import numpy as np

from mgsearch.data.cache import build_cache, store_key
from mgsearch.data.config import DatasetConfig
from mgsearch.data.decode import decode_all
from mgsearch.data.index import build_index
from tests.data.conftest import index_frames, write_clip


def _dataset(tmp_path):
    for i, cls in enumerate(["a", "a", "b"]):
        write_clip(tmp_path / "train" / cls / f"v{i}.mp4", index_frames(10 + 2 * i, size=48))
    cfg = DatasetConfig(format="folder", root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    return cfg, build_index(cfg, "train")


def test_cache_holds_the_decoded_frames_at_the_short_side(tmp_path):
    cfg, ix = _dataset(tmp_path)
    cache = build_cache(ix, cfg.cache_dir, short_side=32, progress=False)
    assert len(cache) == 3
    for i, v in enumerate(ix.videos):
        frames = cache.frames(i)
        assert frames.shape == (10 + 2 * i, 32, 32, 3)
        np.testing.assert_array_equal(frames, decode_all(v.path, short_side=32))


def test_cache_is_reused_then_rebuilt_when_a_file_changes(tmp_path):
    cfg, ix = _dataset(tmp_path)
    first = build_cache(ix, cfg.cache_dir, 32, progress=False)
    again = build_cache(ix, cfg.cache_dir, 32, progress=False)
    assert again.data_path == first.data_path
    changed = ix.videos[1].path
    write_clip(tmp_path / "train" / "a" / "v1.mp4", index_frames(14, size=48))
    os.utime(changed, ns=(10**18, 10**18))  # a new mtime even within the clock's resolution
    ix2 = build_index(cfg, "train")
    rebuilt = build_cache(ix2, cfg.cache_dir, 32, progress=False)
    assert rebuilt.data_path != first.data_path and rebuilt.num_frames(1) == 14


def _build_in_child(args):
    cfg, ix = args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache = build_cache(ix, cfg.cache_dir, 32, progress=False)
    return [cache.frames(i).sum() for i in range(len(cache))]


def test_two_processes_building_at_once_agree(tmp_path):
    cfg, ix = _dataset(tmp_path)
    with mp.get_context("spawn").Pool(2) as pool:
        a, b = pool.map(_build_in_child, [(cfg, ix), (cfg, ix)])
    assert a == b
    key = store_key(ix, 32)
    left = sorted(p.name for p in (tmp_path / "cache").iterdir() if "clips" in p.name)
    assert left == [f"clips-{key}.json", f"clips-{key}.u8"]  # no temporary files remain


def test_squares_gather_what_slicing_the_frames_cuts(tmp_path):
    cfg, ix = _dataset(tmp_path)
    cache = build_cache(ix, cfg.cache_dir, 32, progress=False)
    assert cache.touch() == os.path.getsize(cache.data_path)
    videos, frames = np.array([1, 0, 2]), np.array([[0, 11], [9, 1], [3, 13]])
    x0, y0 = np.array([0, 7, 21]), np.array([4, 0, 21])  # the last ends where the store does
    got = cache.squares(32, 11)[cache.first_pixels(videos, frames, x0, y0)]
    assert got.shape == (3, 2, 11, 11, 3)
    for j, v in enumerate(videos):
        want = cache.frames(v)[frames[j], y0[j]:y0[j] + 11, x0[j]:x0[j] + 11]
        np.testing.assert_array_equal(got[j], want)
