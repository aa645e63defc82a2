"""Tiny real videos written with PyAV for the data tests (seconds, not minutes)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from mgsearch.data.synth import write_synth


def index_frames(n: int, size: int = 32) -> np.ndarray:
    """Frames whose brightness encodes their index (value 8*i + 8), so decodes can be checked."""
    frames = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        frames[i] = min(8 * i + 8, 255)
    frames[:, : size // 4, : size // 4, 0] = 255  # a red corner: shows flips and crops
    return frames


def write_clip(path: Path, frames: np.ndarray, codec: str = "libx264", fps: int = 25,
               container_fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=Fraction(fps, 1))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 8  # keyframes every 8 frames: seeks are exercised
        if codec == "libx264":
            stream.options = {"crf": "10"}
        for img in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    return path


def decoded_index(frame: np.ndarray) -> int:
    """Recover the frame index written by index_frames (from the unmarked area)."""
    h = frame.shape[0]
    return int(round((float(frame[h // 2:, h // 2:].mean()) - 8) / 8))


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """A 4-class synthetic set: 24 clips (20 train, 4 val) of 16 frames at 32x32."""
    root = tmp_path_factory.mktemp("synth") / "synth"
    write_synth(root, clips=24, classes=4, frames=16, size=(32, 32), seed=3, workers=1,
                progress=False, task="motion", val=4)
    return root
