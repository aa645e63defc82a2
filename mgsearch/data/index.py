"""The index pass: probe every listed file once, keep the readable ones, report the rest.

Probing opens each file, checks for a video stream, decodes its first frame and reads the frame
count and duration. Results are remembered in `<cache_dir>/probe-<key>.json` per split, keyed by
each file's path, size and mtime, so an unchanged dataset is not probed again by the next trial.
Skipped files raise one warning that lists them; the dataset summary counts them with reasons.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from .decode import DecodeError, VideoInfo, probe
from .formats import SplitList, read_split


@dataclass(frozen=True)
class Video:
    path: str
    label: int
    info: VideoInfo


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class SplitIndex:
    """The usable videos of one split and what was left out."""

    split: str
    root: str
    classes: tuple[str, ...]
    videos: tuple[Video, ...]
    skipped: tuple[Skipped, ...]
    flip_map: Optional[tuple[int, ...]] = None
    note: str = ""


def file_key(path: str) -> Optional[list]:
    """[size bytes, mtime ns] of a file, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def write_json_atomic(path: Path, data) -> None:
    """Write JSON under a temporary name, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _probe_file(cfg, split: str) -> Path:
    key = f"{Path(cfg.root).expanduser().resolve()}|{cfg.format}|{split}|{cfg.annotations}"
    return Path(cfg.cache_dir) / f"probe-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def _load_probes(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def probe_entries(listing: SplitList, known: dict) -> tuple[list[Video], list[Skipped], dict]:
    """Probe each entry (reusing `known` results whose size/mtime match)."""
    videos, skipped, fresh = [], [], {}
    for e in listing.entries:
        key = file_key(e.path)
        if key is None:
            skipped.append(Skipped(e.path, "missing file"))
            continue
        old = known.get(e.path)
        if old is not None and old[0] == key:
            result = old[1]
        else:
            try:
                result = dataclasses.asdict(probe(e.path))
            except DecodeError as err:
                result = str(err)
        fresh[e.path] = [key, result]
        if isinstance(result, str):
            skipped.append(Skipped(e.path, result))
        else:
            videos.append(Video(e.path, e.label, VideoInfo(**result)))
    return videos, skipped, fresh


def build_index(cfg, split: str, remember: bool = True) -> SplitIndex:
    """Index `split` of the dataset `cfg` (a DatasetConfig); ConfigError when nothing is usable."""
    listing = read_split(cfg, split)
    store = _probe_file(cfg, split)
    videos, skipped, fresh = probe_entries(listing, _load_probes(store) if remember else {})
    if remember:
        try:
            write_json_atomic(store, fresh)
        except OSError:
            pass  # a read-only cache_dir only costs a re-probe next time
    if skipped:
        shown = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:10])
        more = f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else ""
        warnings.warn(f"{split}: skipped {len(skipped)} unreadable file(s) under {cfg.root}: "
                      f"{shown}{more}", stacklevel=2)
    if not videos:
        why = (f"all {len(skipped)} listed files are unreadable" if skipped
               else "it lists no videos")
        raise ConfigError(f"dataset split {split!r} under {cfg.root!r} is empty: {why}; check "
                          f"dataset.root, dataset.format ({cfg.format}) and the split names")
    return SplitIndex(split, str(cfg.root), listing.classes, tuple(videos), tuple(skipped),
                      listing.flip_map, listing.note)


def _range(values) -> list:
    values = list(values)
    return [min(values), max(values)] if values else []


def summarize(indexes: list[SplitIndex]) -> dict:
    """Plain data for `mgsearch data info`: classes, clips, skipped files, value ranges."""
    first = indexes[0]
    out = {"root": first.root, "classes": list(first.classes), "num_classes": len(first.classes),
           "splits": {}, "notes": sorted({ix.note for ix in indexes if ix.note})}
    for ix in indexes:
        infos = [v.info for v in ix.videos]
        per_class = [0] * len(ix.classes)
        for v in ix.videos:
            per_class[v.label] += 1
        out["splits"][ix.split] = {
            "clips": len(ix.videos), "skipped": len(ix.skipped),
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in ix.skipped],
            "clips_per_class": per_class,
            "fps": _range(round(i.fps, 3) for i in infos),
            "duration_s": _range(round(i.duration_s, 3) for i in infos),
            "frames": _range(i.frames for i in infos),
            "width": _range(i.width for i in infos), "height": _range(i.height for i in infos),
            "codecs": sorted({i.codec for i in infos}),
        }
    return out
