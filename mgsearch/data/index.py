"""The index pass: probe every listed file once, keep the readable ones, report the rest.

Probing opens each file, checks for a video stream of real frames (not an image, not audio
only) and counts the frames that decode (`decode.probe`; every frame is decoded once before
training, here or by the cache build). Results are remembered in
`<cache_dir>/probe-<key>.json` per split, keyed by each file's path, size and mtime, so an
unchanged dataset is not probed again by the next trial. Skipped files raise one warning that
lists them; so do truncated files (fewer frames decode than the container states), which are
kept with the frames that do decode: a cut download's first seconds are still real footage of
its label, and the clip sampler and the cache both see only those frames. The dataset summary
counts both with reasons, and the videos shorter than a clip's span (`short_videos`).
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


# Bumped when `probe` learns something new: a store of an older probe is not reused (v2: frames
# counted by packets or decoding, images refused).
PROBE_VERSION = 2


def _probe_file(cfg, split: str, decode_every_frame: bool) -> Path:
    root = Path(cfg.root).expanduser().resolve()
    how = "every frame" if decode_every_frame else "packets"  # the two probes count differently
    key = f"v{PROBE_VERSION}|{root}|{cfg.format}|{split}|{cfg.annotations}|{how}"
    return Path(cfg.cache_dir) / f"probe-{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def _load_probes(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def probe_entries(listing: SplitList, known: dict, decode_every_frame: bool = False
                  ) -> tuple[list[Video], list[Skipped], dict]:
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
                result = dataclasses.asdict(probe(e.path, decode_every_frame))
            except DecodeError as err:
                result = str(err)
        fresh[e.path] = [key, result]
        if isinstance(result, str):
            skipped.append(Skipped(e.path, result))
        else:
            videos.append(Video(e.path, e.label, VideoInfo(**result)))
    return videos, skipped, fresh


def build_index(cfg, split: str, remember: bool = True,
                decode_every_frame: Optional[bool] = None) -> SplitIndex:
    """Index `split` of the dataset `cfg` (a DatasetConfig); ConfigError when nothing is usable.

    `decode_every_frame` (default: when `cfg.cache` is off) has the probe decode every frame, so
    a corrupt packet inside a file is found here; with the cache on, its build decodes every
    frame anyway, and reports such a file and stores only the frames that decode."""
    full = (not cfg.cache) if decode_every_frame is None else decode_every_frame
    listing = read_split(cfg, split)
    store = _probe_file(cfg, split, full)
    videos, skipped, fresh = probe_entries(listing, _load_probes(store) if remember else {}, full)
    if remember:
        try:
            write_json_atomic(store, fresh)
        except OSError:
            pass  # a read-only cache_dir only costs a re-probe next time
    if skipped:
        warnings.warn(f"{split}: skipped {len(skipped)} unreadable file(s) under {cfg.root}: "
                      f"{_listed((s.path, s.reason) for s in skipped)}", stacklevel=2)
    cut = [(v.path, v.info.problem()) for v in videos if v.info.truncated]
    if cut:
        warnings.warn(f"{split}: {len(cut)} truncated file(s) under {cfg.root}, used with the "
                      f"frames that decode: {_listed(cut)}", stacklevel=2)
    if not videos:
        why = (f"all {len(skipped)} listed files are unreadable" if skipped
               else "it lists no videos")
        raise ConfigError(f"dataset split {split!r} under {cfg.root!r} is empty: {why}; check "
                          f"dataset.root, dataset.format ({cfg.format}) and the split names")
    return SplitIndex(split, str(cfg.root), listing.classes, tuple(videos), tuple(skipped),
                      listing.flip_map, listing.note)


def _listed(problems, limit: int = 10) -> str:
    """`name: problem; ...` of (path, problem) pairs, the first `limit` of them."""
    problems = list(problems)
    shown = "; ".join(f"{Path(p).name}: {why}" for p, why in problems[:limit])
    return shown + (f" (and {len(problems) - limit} more)" if len(problems) > limit else "")


def short_videos(index: SplitIndex, clip_span: int) -> list[Video]:
    """The videos of `index` with fewer frames than `clip_span` (a clip's source frames at the
    default shape, `(T-1)*sampling_rate + 1`): their clips repeat frames."""
    return [v for v in index.videos if v.info.frames < clip_span]


SHORT_HANDLING = {"pad": "the last frame is repeated to fill the span",
                  "loop": "the video is played again from its first frame to fill the span"}


def short_note(index: SplitIndex, clip_span: int, short_video: str) -> str:
    """One line on the videos of `index` shorter than `clip_span` ("" when there are none)."""
    short = short_videos(index, clip_span)
    if not short:
        return ""
    frames = _range(v.info.frames for v in short)
    listed = _listed([(v.path, f"{v.info.frames} frames") for v in short], limit=5)
    return (f"{index.split}: {len(short)} of {len(index.videos)} videos have fewer frames than "
            f"a clip spans ({clip_span}; they have {frames[0]}-{frames[1]}): "
            f"{SHORT_HANDLING[short_video]} (dataset.short_video: {short_video}); "
            f"{listed}")


def _range(values) -> list:
    values = list(values)
    return [min(values), max(values)] if values else []


def summarize(indexes: list[SplitIndex], clip_span: int = 1,
              short_video: str = "pad") -> dict:
    """Plain data for `mgsearch data info`: classes, clips, skipped and truncated files, videos
    shorter than `clip_span` frames (and what is done with them), value ranges."""
    first = indexes[0]
    out = {"root": first.root, "classes": list(first.classes), "num_classes": len(first.classes),
           "clip_span": clip_span, "short_video": short_video,
           "short_handling": SHORT_HANDLING[short_video], "splits": {},
           "notes": sorted({ix.note for ix in indexes if ix.note})}
    for ix in indexes:
        infos = [v.info for v in ix.videos]
        per_class = [0] * len(ix.classes)
        for v in ix.videos:
            per_class[v.label] += 1
        out["splits"][ix.split] = {
            "clips": len(ix.videos), "skipped": len(ix.skipped),
            "skipped_files": [{"path": s.path, "reason": s.reason} for s in ix.skipped],
            "truncated_files": [{"path": v.path, "frames": v.info.frames,
                                 "declared": v.info.declared, "reason": v.info.problem()}
                                for v in ix.videos if v.info.truncated],
            "short": len(short_videos(ix, clip_span)),
            "clips_per_class": per_class,
            "fps": _range(round(i.fps, 3) for i in infos),
            "duration_s": _range(round(i.duration_s, 3) for i in infos),
            "frames": _range(i.frames for i in infos),
            "width": _range(i.width for i in infos), "height": _range(i.height for i in infos),
            "codecs": sorted({i.codec for i in infos}),
        }
    return out
