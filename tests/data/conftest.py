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
               container_fmt: str | None = None, movflags: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": movflags} if movflags else {}  # e.g. faststart: the index first
    with av.open(str(path), "w", format=container_fmt, options=options) as out:
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


# -- broken files as they come from the wild (issue 14): each writer names the failure it mirrors


def _packet_ends(path: Path) -> list[int]:
    """Byte offset where each video packet ends, in file order."""
    with av.open(str(path)) as c:
        return sorted(p.pos + p.size for p in c.demux(video=0) if p.size)


def write_cut_download(path: Path, frames: int = 32, keep: int = 13) -> Path:
    """An interrupted download of a web-optimized ("fast start") MP4: the index (moov) comes
    first, so the file opens and states all `frames`, but its bytes end after `keep` frames."""
    write_clip(path, index_frames(frames), movflags="faststart")
    path.write_bytes(path.read_bytes()[:_packet_ends(path)[keep - 1]])
    return path


def write_cut_webm(path: Path, frames: int = 32, fraction: float = 0.4) -> Path:
    """An interrupted VP9 WebM download (YouTube's format): the header still states the full
    duration, the clusters stop at `fraction` of the bytes."""
    write_clip(path, index_frames(frames), codec="libvpx-vp9")
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])
    return path


def write_zeroed(path: Path, frames: int = 32, first: int = 0, last: int | None = None) -> Path:
    """A download preallocated with zeros and never filled in (aria2, torrent clients): the
    fast-start header is intact, the bytes of frames `first`..`last` (all by default) are zeros.
    With only middle frames zeroed it is a piece that never arrived: every packet is there,
    and the frames decode up to the hole."""
    write_clip(path, index_frames(frames), movflags="faststart")
    data = bytearray(path.read_bytes())
    with av.open(str(path)) as c:
        packets = sorted((p.pos, p.size) for p in c.demux(video=0) if p.size)
    for pos, size in packets[first:last]:
        data[pos:pos + size] = bytes(size)
    path.write_bytes(bytes(data))
    return path


def write_image_as_video(path: Path, fmt: str = "PNG") -> Path:
    """A thumbnail (PNG) or poster frame (JPEG) a scraper saved under the video's name."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        Image.fromarray(index_frames(1)[0]).save(f, format=fmt)
    return path


def write_audio_only_mp4(path: Path) -> Path:
    """The audio-only track of a DASH download (an AAC .m4a) saved as the video."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path
