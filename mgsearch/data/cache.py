"""Decoded-clip cache: every frame of every video of a split, decoded once, as one uint8 memmap.

Why: on this machine on-the-fly PyAV decoding (~50-70 clips/s) starves the coarse multigrid
stages (the model eats up to ~1,700 clips/s there; bench/data_throughput.py). Reading a clip from the store
is a memmap slice.

Layout in `cache_dir`: `clips-<key>.u8` (all frames, T x H x W x 3 per video, back to back) and
`clips-<key>.json` (per video: offset, frames, height, width; written last, so its presence means
the store is complete). `<key>` hashes the short-side limit and every file's path, size and mtime:
when any video changes, the key changes and a new store is built. Two processes that build the
same store at once each write temporary files and rename them into place; both results are
identical, so whichever rename lands last is as good as the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .decode import DecodeError, decode_all, scaled_size
from .index import SplitIndex, file_key, write_json_atomic


class ClipCache:
    """Read side of a built store: `cache.frames(i)` is video i as a T x H x W x 3 uint8 view."""

    def __init__(self, data_path: Path, meta: dict):
        self.data_path = Path(data_path)
        self.meta = meta
        self.videos = meta["videos"]  # [offset, frames, height, width] per video; frames 0: failed
        self._data: Optional[np.ndarray] = None  # opened lazily: a loader worker maps its own
        self._table: Optional[np.ndarray] = None  # `videos` as int64 V x 4, for batch lookups

    def __len__(self) -> int:
        return len(self.videos)

    def __getstate__(self):  # pickled into loader workers without the open map
        return {"data_path": self.data_path, "meta": self.meta, "videos": self.videos,
                "_data": None, "_table": None}

    def num_frames(self, i: int) -> int:
        return int(self.videos[i][1])

    @property
    def table(self) -> np.ndarray:
        """[offset, frames, height, width] per video as an int64 V x 4 array."""
        if self._table is None:
            self._table = np.asarray(self.videos, dtype=np.int64).reshape(-1, 4)
        return self._table

    def _bytes(self) -> np.ndarray:
        if self._data is None:
            # A plain ndarray over the mapping: np.memmap's own __getitem__ costs ~35 us a call.
            self._data = np.asarray(np.memmap(self.data_path, dtype=np.uint8, mode="r"))
        return self._data

    def touch(self) -> int:
        """Map every page of the store into this process now (reading one byte a page), as a
        first pass over the data does; returns the bytes mapped. A page's first read in a
        process costs a fault (~2-10 us here, up to ~2 per cached clip), once per process and
        store: a training run pays it in its first epoch, a short benchmark on every batch."""
        data = self._bytes()
        int(data[::4096].sum(dtype=np.uint64))
        return int(data.shape[0])

    def frames(self, i: int) -> np.ndarray:
        off, n, h, w = self.videos[i]
        if n == 0:
            raise DecodeError(f"video {i} failed to decode when the cache was built")
        return self._bytes()[off:off + n * h * w * 3].reshape(n, h, w, 3)

    def first_pixels(self, videos: np.ndarray, frames: np.ndarray, x0: np.ndarray,
                     y0: np.ndarray) -> np.ndarray:
        """Pixel (x0, y0) of frames `frames` (N x t indices) of `videos` (N, none failed), as
        pixel offsets into the store (N x t): where `squares` items start."""
        off, _, h, w = self.table[videos].T
        return (off // 3)[:, None] + frames * (h * w)[:, None] + (y0 * w + x0)[:, None]

    def squares(self, width: int, side: int) -> np.ndarray:
        """A read-only view of the store whose item p is the side x side x 3 square with its
        top-left corner at pixel p, rows `width` pixels apart: `squares(w, k)[first_pixels(...)]`
        gathers k x k crops of frames w pixels wide in one call (items whose square would leave
        the frame are never asked for)."""
        data, row = self._bytes(), 3 * width
        n = max((data.shape[0] - (side - 1) * row - 3 * side) // 3 + 1, 0)
        return np.ndarray((n, side, side, 3), dtype=np.uint8, buffer=data,
                          strides=(3, row, 3, 1))


def store_key(index: SplitIndex, short_side: int) -> str:
    h = hashlib.sha1(f"v1|{short_side}".encode())
    for v in index.videos:
        h.update(f"|{v.path}|{file_key(v.path)}".encode())
    return h.hexdigest()[:20]


def _layout(index: SplitIndex, short_side: int) -> tuple[list[list[int]], int]:
    """Per video [offset, frames, h, w] from the probe (the frames that decoded), total bytes."""
    rows, off = [], 0
    for v in index.videos:
        w, h = scaled_size(v.info.width, v.info.height, short_side)
        rows.append([off, v.info.frames, h, w])
        off += v.info.frames * h * w * 3
    return rows, off


def _fill(args) -> list[tuple[int, int, str]]:
    """Decode videos `todo` into the shared temporary store; return (video, frames written,
    problem or ""). A video is stored with the frames that decode, never more: `frames` in the
    meta says where its real frames end, whatever space the probe reserved."""
    tmp, total, rows, paths, short_side, todo = args
    data = np.memmap(tmp, dtype=np.uint8, mode="r+", shape=(total,))
    done = []
    for i in todo:
        off, n, h, w = rows[i]
        try:
            arr = decode_all(paths[i], short_side)
        except DecodeError as err:
            done.append((i, 0, f"failed to decode: {err}"))
            continue
        if arr.shape[1:3] != (h, w):  # a frame size other than the probe's: treat as failed
            done.append((i, 0, f"frames of {arr.shape[2]}x{arr.shape[1]} px, the probe saw "
                               f"{w}x{h}; not stored"))
            continue
        k = min(n, arr.shape[0])  # the space reserved is the probe's count
        data[off:off + k * h * w * 3] = arr[:k].reshape(-1)
        done.append((i, k, "" if arr.shape[0] == n else
                     f"{arr.shape[0]} frames decode, the probe counted {n}; stored {k}"))
    data.flush()
    return done


def build_cache(index: SplitIndex, cache_dir: str | Path, short_side: int, workers: int = 1,
                progress: bool = True) -> ClipCache:
    """Open the store for `index` at `short_side`, building it first when missing or stale."""
    cache_dir = Path(cache_dir)
    key = store_key(index, short_side)
    data_path, meta_path = cache_dir / f"clips-{key}.u8", cache_dir / f"clips-{key}.json"
    if meta_path.is_file() and data_path.is_file():
        return ClipCache(data_path, json.loads(meta_path.read_text()))
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows, total = _layout(index, short_side)
    tmp = data_path.with_name(f".{data_path.name}.{os.getpid()}.tmp")
    np.memmap(tmp, dtype=np.uint8, mode="w+", shape=(max(total, 1),)).flush()
    paths = [v.path for v in index.videos]
    chunks = [list(range(i, min(i + 16, len(paths)))) for i in range(0, len(paths), 16)]
    jobs = [(tmp, max(total, 1), rows, paths, short_side, c) for c in chunks]
    bar = _bar(len(paths), f"caching {index.split} ({len(paths)} videos)", progress)
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_fill, jobs)
            for res in results:
                _record(rows, res, bar, paths)
    else:
        for job in jobs:
            _record(rows, _fill(job), bar, paths)
    bar.close()
    os.replace(tmp, data_path)
    meta = {"short_side": short_side, "split": index.split, "videos": rows,
            "paths": paths}
    write_json_atomic(meta_path, meta)
    return ClipCache(data_path, meta)


def _record(rows: list[list[int]], res: Sequence[tuple[int, int, str]], bar,
            paths: Sequence[str]) -> None:
    for i, k, problem in res:
        if problem:  # the file changed or decodes differently since it was probed
            warnings.warn(f"caching {paths[i]}: {problem}", stacklevel=3)
        rows[i][1] = k
    bar.update(len(res))


def _bar(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="video", disable=not enabled, leave=False)
