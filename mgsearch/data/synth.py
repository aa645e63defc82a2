"""Write the embedded synthetic action dataset as real video files (folder-of-classes layout).

    write_synth("data/synth", clips=4600, classes=12, frames=32, size=(64, 64), seed=0)

Layout: `OUT/train/<class>/<class>_<id>.mp4`, `OUT/val/<class>/...`, and `OUT/synth.json` (classes,
flip label map, settings). Clip `i`'s pixels depend only on (seed, i), whatever the number of
processes. The files are not always bit-identical between runs: the libx264 in this PyAV build
was measured to encode the same frames differently in different processes (one thread, any
preset; ~5 grey levels mean difference, below the added noise of 12.75), while MPEG-4 part 2
was stable in the runs tried. Everything is written into a temporary folder beside OUT and renamed at
the end: an interrupted run leaves no half dataset, and an existing OUT is never touched.

Defaults follow the prototype that learned on this project's 2-core machine (12 classes, 32
frames at 64², 4,000 train / 600 val; with 1,200 clips it memorized the training set).
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import ConfigError
from . import synth_gist, synth_render

# Per task: clips in all, of which validation, frame size (W, H).
DEFAULTS = {"gist": (6500, 2500, (40, 40)), "motion": (4600, 600, (64, 64))}
# Tasks: class names, the horizontal-flip label map, the clip renderer, what --classes must be.
TASKS = {
    "gist": (synth_gist.CLASSES, synth_gist.HFLIP, synth_gist.render_clip, len(synth_gist.ACTIONS),
             "classes come in groups of 4 actions per scene"),
    "motion": (synth_render.CLASSES, synth_render.HFLIP, synth_render.render_clip, 2,
               "classes come in time-reversal pairs"),
}
DEFAULT_TASK = "gist"

FPS = 25  # frames per second written into the files (strides count frames, so any rate works)


def pick_codec() -> str:
    """H.264 when this PyAV build can encode it, else MPEG-4 part 2."""
    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except (av.FFmpegError, ValueError):
            continue
    raise ConfigError("this PyAV build has neither an H.264 (libx264) nor an MPEG-4 encoder; "
                      "install PyAV wheels from PyPI (`pip install av`), which include both")


def write_video(path: Path, frames: np.ndarray, codec: str, fps: int = FPS) -> None:
    """Encode uint8 T x H x W x 3 RGB frames to `path` (yuv420p; H and W must be even)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps, 1))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.thread_count = 1  # processes already use every core
        # Near-lossless quality and a keyframe every 16 frames, so seeking stays cheap.
        stream.codec_context.gop_size = 16
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.bit_rate = 2_000_000
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)  # explicit: no encoder guesswork
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def _plan(names: tuple[str, ...], clips: int, val: int) -> list[tuple[str, int, str]]:
    """(split, clip id, class) per clip; classes rotate so every class gets its share."""
    n_val = max(len(names), val)
    return [("val" if i < n_val else "train", i, names[i % len(names)]) for i in range(clips)]


def _write_chunk(args) -> int:
    tmp, items, frames, size, seed, codec, task = args
    render = TASKS[task][2]
    for split, i, cls in items:
        rng = np.random.default_rng([seed, i])
        clip = render(cls, frames, size[0], size[1], rng)
        write_video(Path(tmp) / split / cls / f"{cls}_{i:06d}.mp4", clip, codec)
    return len(items)


def check_synth_args(clips: int, classes: int, frames: int, size: tuple[int, int],
                     task: str = DEFAULT_TASK, val: int | None = None) -> None:
    if task not in TASKS:
        raise ConfigError(f"--task {task!r}: pick one of {', '.join(sorted(TASKS))}")
    names, _, _, group, why = TASKS[task]
    if not (group <= classes <= len(names) and classes % group == 0):
        raise ConfigError(f"--classes {classes}: pick a multiple of {group} from {group} to "
                          f"{len(names)} for --task {task} ({why})")
    if clips < 2 * classes:
        raise ConfigError(f"--clips {clips}: need at least 2 per class ({2 * classes}); "
                          f"thousands are needed to learn without memorizing (default "
                          f"{DEFAULTS[task][0]} for --task {task})")
    if val is not None and not (classes <= val <= clips - classes):
        raise ConfigError(f"--val {val}: pick from {classes} (one per class) to {clips - classes} "
                          f"(leave one training clip per class) of the {clips} clips")
    if frames < 4:
        raise ConfigError(f"--frames {frames}: need at least 4 frames to show motion")
    w, h = size
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise ConfigError(f"--size {w}x{h}: width and height must be even and >= 16 (yuv420p)")


def write_synth(out: str | Path, clips: int | None = None, classes: int = 12, frames: int = 32,
                size: tuple[int, int] | None = None, seed: int = 0, workers: int | None = None,
                progress: bool = True, task: str = DEFAULT_TASK, val: int | None = None) -> dict:
    """Generate the dataset into `out` (must not exist or be empty); returns synth.json's data.
    Unset `clips`, `val` (clips held out in val/) and `size` take the task's DEFAULTS; `val`
    with `clips` given keeps the task's validation fraction."""
    if task in DEFAULTS:
        d_clips, d_val, d_size = DEFAULTS[task]
        if val is None:
            val = d_val if clips is None else max(classes, round(clips * d_val / d_clips))
        clips, size = clips or d_clips, size or d_size
    check_synth_args(clips, classes, frames, size, task, val)
    names = TASKS[task][0][:classes]
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not empty; pick a new folder or "
                          f"remove it first (nothing was written)")
    codec = pick_codec()
    plan = _plan(names, clips, val)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    for split in ("train", "val"):
        for cls in names:
            (tmp / split / cls).mkdir(parents=True, exist_ok=True)
    workers = workers or min(os.cpu_count() or 1, 8)
    chunks = [plan[i:i + 50] for i in range(0, len(plan), 50)]
    jobs = [(str(tmp), c, frames, size, seed, codec, task) for c in chunks]
    from tqdm import tqdm

    try:
        with tqdm(total=clips, desc=f"synth -> {out}", unit="clip", disable=not progress) as bar:
            if workers > 1:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    for done in as_completed([pool.submit(_write_chunk, j) for j in jobs]):
                        bar.update(done.result())
            else:
                for j in jobs:
                    bar.update(_write_chunk(j))
        hflip = TASKS[task][1]
        meta = {"version": 1, "task": task, "classes": list(names),
                "hflip": {c: hflip.get(c, c) for c in names}, "seed": seed, "frames": frames,
                "size": list(size), "fps": FPS, "codec": codec,
                "clips": {s: sum(1 for p in plan if p[0] == s) for s in ("train", "val")}}
        (tmp / "synth.json").write_text(json.dumps(meta, indent=1) + "\n")
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta
