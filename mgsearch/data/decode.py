"""PyAV decoding: probe a file once, then decode only the frames a clip needs.

Frame indices count decoded frames from the start of the video stream; a frame's index comes from
its timestamp and the stream's own frame rate. Conversion to RGB (and any downscale) is done by
PyAV's `reformat` (FFmpeg swscale): measured here, converting a 32-frame 128² H.264 clip to RGB24
and 64² in swscale costs the same as converting at full size, while full-size RGB plus a torch
resize costs ~13 ms more per clip (bench/data_throughput.py).
"""

from __future__ import annotations

import dataclasses
import math
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

import av
import numpy as np


class DecodeError(RuntimeError):
    """A video that cannot be read (missing stream, truncated, unsupported codec)."""


@dataclass(frozen=True)
class VideoInfo:
    """What the index pass learns about one file: its frames are counted by decoding them."""

    frames: int  # frames that decode, from the first until the end or the first error, >= 1
    fps: float  # the stream's average frame rate, frames per second
    width: int
    height: int
    duration_s: float
    codec: str
    # What the container states: its frame count (exact, MP4 `stts`), else duration x fps (an
    # estimate, WebM/MKV); 0: it states nothing.
    declared: int = 0
    declared_exactly: bool = True
    stopped_by: str = ""  # the decoder error that ended the frames early ("" at a clean end)

    @property
    def truncated(self) -> bool:
        """Fewer frames decode than the container states: a cut download, a corrupt packet."""
        if self.declared <= 0:
            return False
        # an estimate from the duration can be off by a frame or a few percent (rounding, VFR)
        slack = 0 if self.declared_exactly else max(1, self.declared // 20)
        return self.frames < self.declared - slack

    def problem(self) -> str:
        """One phrase for a report ("" when the file is whole)."""
        if not self.truncated:
            return ""
        how = f" (decoding stops: {self.stopped_by})" if self.stopped_by else ""
        return f"decodes {self.frames} of the {self.declared} frames its container states{how}"


def _image_demuxer(name: str) -> bool:
    """A demuxer of still images: a PNG or JPEG renamed .mp4 opens as `png_pipe`/`jpeg_pipe`
    (a numbered image sequence as `image2`)."""
    return name == "image2" or name.endswith("_pipe")


# Codecs of still images: one frame of one of these is a picture, not a video (an MJPEG or PNG
# stream of many frames inside AVI/MOV is a video and stays).
_IMAGE_CODECS = {"png", "mjpeg", "jpeg2000", "bmp", "tiff", "webp", "gif", "apng", "jpegls"}


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 25.0  # 25 fps: FFmpeg's own fallback when nothing is stored


def _count_frames(container, stream) -> tuple[int, object, Optional[str]]:
    """(frames that decode, the first one, the error that stopped decoding or None). Decodes
    every packet but converts nothing: the cache (`decode_all`) stops at the same frame."""
    count, first = 0, None
    try:
        for frame in container.decode(stream):
            if first is None:
                first = frame
            count += 1
    except (av.FFmpegError, OSError, ValueError) as err:
        return count, first, _why(err)
    return count, first, None


def _count_packets(container, stream) -> tuple[int, object, Optional[str]]:
    """(packets of the stream, its first decoded frame, the error that stopped reading, or
    where the demuxer flagged a packet corrupt (a cut file's last one), or None): every packet
    is read, only those before the first frame are decoded."""
    count, first, codec, corrupt = 0, None, stream.codec_context, None
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            count += 1
            if packet.is_corrupt and corrupt is None:
                corrupt = f"packet {count} is corrupt"
            if first is None:
                first = next(iter(codec.decode(packet)), None)
        if first is None and count:  # a decoder with a delay holds its first frame until flushed
            first = next(iter(codec.decode(None)), None)
    except (av.FFmpegError, OSError, ValueError) as err:
        return count, first, _why(err)
    return count, first, corrupt


def _why(err: Exception) -> str:
    """`InvalidDataError: Invalid data found when processing input`: the error without FFmpeg's
    errno and call name, short enough for a one-line report."""
    return f"{type(err).__name__}: {getattr(err, 'strerror', None) or err}"


def probe(path: str, decode_every_frame: bool = False) -> VideoInfo:
    """Open `path`, check it holds a video stream of real frames, and count its frames.

    The count is the frames that decode. Cheaply: every packet is read and only the first frame
    decoded; when the packets fall short of what the container states (a cut file), it states
    nothing, or the demuxer flags a packet corrupt, every frame is decoded, none converted, to
    find where decoding really stops. A packet that is there but corrupt (a hole of zeros) is
    only found by decoding it: with `decode_every_frame` every file is decoded (a 32-frame
    40x40 H.264 file here: ~2 ms CPU cheaply, as one frame cost before, ~4.5 ms decoding
    every frame); otherwise the cache build, which decodes every frame anyway, reports it and
    stores the frames that decode.

    Raises DecodeError with the reason (not a video, audio only, an image, no frame decodes,
    unreadable). A file that decodes fewer frames than its container states is returned with
    its real count and `truncated` set: the caller reports it."""
    try:
        with _video(path, 1) as (container, stream):
            demuxer = container.format.name
            if _image_demuxer(demuxer):
                raise DecodeError(f"an image ({demuxer}, {stream.codec_context.name}), not a "
                                  f"video")
            fps = _fps(stream)
            stated = int(stream.frames or 0)
            duration = (float(stream.duration * stream.time_base) if stream.duration
                        else (container.duration or 0) / av.time_base)
            declared = stated or int(math.floor(duration * fps + 0.5))
            codec = stream.codec_context.name
            count = _count_frames if decode_every_frame else _count_packets
            frames, first, error = count(container, stream)
        cheap = VideoInfo(frames, fps, 0, 0, duration, codec, declared, stated > 0)
        # fewer packets than stated (no slack here), nothing stated, a read error or a corrupt
        # packet: decode every frame to find how many really decode
        if not decode_every_frame and (declared <= 0 or frames < declared or error):
            with _video(path, 1) as (container, stream):
                frames, first, error = _count_frames(container, stream)
        if first is None:
            why = f" ({error})" if error else ""
            raise DecodeError(f"no frame decodes{why}: a video stream without frames "
                              f"(empty, zeroed or cut before its first frame)")
        if frames == 1 and codec in _IMAGE_CODECS:
            raise DecodeError(f"one {codec} frame: a still image, not a video")
        info = dataclasses.replace(cheap, frames=frames, width=first.width, height=first.height,
                                   stopped_by=error or "")
        if duration <= 0 or info.truncated:  # the time the real frames cover
            info = dataclasses.replace(info, duration_s=frames / fps)
        return info
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, StopIteration, ValueError) as err:
        raise DecodeError(f"unreadable: {_why(err)}") from None


def _set_threads(stream, threads: int) -> None:
    if threads != 1:  # one thread is FFmpeg's default; 0 lets it pick per core
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads


@contextmanager
def _video(path: str, threads: int):
    """(container, first video stream) of `path`; DecodeError when it has no video stream."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise DecodeError("audio only: no video stream" if container.streams.audio
                              else "no video stream (not a video)")
        stream = container.streams.video[0]
        _set_threads(stream, threads)
        yield container, stream


def scaled_size(width: int, height: int, short_side: Optional[int]) -> tuple[int, int]:
    """(w, h) with the short side at most `short_side` (never upscaled), aspect ratio kept."""
    if short_side is None or min(width, height) <= short_side:
        return width, height
    k = short_side / min(width, height)
    return max(2, int(round(width * k))), max(2, int(round(height * k)))


def _rgb(frame, short_side: Optional[int]) -> np.ndarray:
    w, h = scaled_size(frame.width, frame.height, short_side)
    return frame.to_ndarray(format="rgb24", width=w, height=h)


def decode_frames(path: str, indices: Sequence[int], short_side: Optional[int] = None,
                  threads: int = 1) -> np.ndarray:
    """Frames `indices` (any order, repeats allowed) as uint8 `len(indices) x H x W x 3` RGB.

    Seeks to the keyframe before the first wanted frame and stops after the last. Indices past
    the frames the file really holds get its last frame (frame counts in headers can overstate).
    `short_side` downscales in swscale during conversion. Raises DecodeError."""
    want = sorted(set(int(i) for i in indices))
    if not want:
        raise ValueError("decode_frames needs at least one frame index")
    got: dict[int, np.ndarray] = {}
    try:
        with _video(path, threads) as (container, stream):
            fps, tb = _fps(stream), stream.time_base or Fraction(1, 1000)
            start_pts = stream.start_time or 0
            if want[0] > 0:  # seek lands on the keyframe at or before this timestamp
                container.seek(start_pts + int(want[0] / fps / tb), stream=stream, backward=True)
            needed, hi = set(want), want[-1]
            counter, tail = None, None  # tail: the latest frame, for indices past the real end
            for frame in container.decode(stream):
                if frame.pts is None:
                    idx = 0 if counter is None else counter + 1
                else:
                    idx = int(round(float((frame.pts - start_pts) * tb) * fps))
                counter, tail = idx, frame
                if idx > hi:
                    tail = None
                    break
                if idx in needed:  # only wanted frames pay for the RGB conversion
                    got[idx] = _rgb(frame, short_side)
            if tail is not None and counter not in got:  # the file ended before `hi`
                got[counter] = _rgb(tail, short_side)
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:
        raise DecodeError(f"{type(err).__name__}: {err}") from None
    if not got:
        raise DecodeError(f"no frame decoded at or after index {want[0]} (truncated?)")
    # A frame that did not decode (past the real end when a header overstates the count, or a
    # gap in the timestamps) is replaced by the nearest earlier decoded one.
    keys = sorted(got)
    pos = np.searchsorted(keys, np.asarray(indices), side="right") - 1
    return np.stack([got[keys[max(p, 0)]] for p in pos])


def decode_all(path: str, short_side: Optional[int] = None, threads: int = 1) -> np.ndarray:
    """Every frame of `path` as uint8 `T x H x W x 3` (for the cache). Raises DecodeError."""
    frames = []
    try:
        with _video(path, threads) as (container, stream):
            for frame in container.decode(stream):
                frames.append(_rgb(frame, short_side))
    except (av.FFmpegError, OSError, ValueError) as err:
        if not frames:
            raise DecodeError(f"{type(err).__name__}: {err}") from None
        # A truncated tail: keep what decoded (the index records the real frame count).
    if not frames:
        raise DecodeError("no decodable frame (empty or truncated)")
    return np.stack(frames)
