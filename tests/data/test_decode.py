"""PyAV probing and decoding on real H.264 / VP9 files, and the bad files the index skips."""

from __future__ import annotations

import numpy as np
import pytest

from mgsearch.data.decode import DecodeError, decode_all, decode_frames, probe, scaled_size
from tests.data.conftest import (decoded_index, index_frames, write_audio_only, write_clip)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("dec") / "a.mp4", index_frames(24))


def test_probe_reads_count_rate_size(mp4):
    info = probe(str(mp4))
    assert (info.frames, info.fps, info.width, info.height, info.codec) == (24, 25.0, 32, 32,
                                                                             "h264")
    assert info.duration_s == pytest.approx(24 / 25, abs=0.05)


def test_decode_frames_returns_the_asked_frames_in_order(mp4):
    want = [17, 0, 5, 9, 9, 23]  # any order, repeats, across keyframes (gop 8)
    frames = decode_frames(str(mp4), want)
    assert frames.shape == (6, 32, 32, 3) and frames.dtype == np.uint8
    assert [decoded_index(f) for f in frames] == want


def test_decode_past_the_end_repeats_the_last_frame(mp4):
    frames = decode_frames(str(mp4), [22, 30, 40])
    assert [decoded_index(f) for f in frames] == [22, 23, 23]


def test_decode_downscales_in_conversion(mp4):
    assert decode_frames(str(mp4), [3], short_side=16).shape == (1, 16, 16, 3)
    assert scaled_size(64, 48, 24) == (32, 24)
    assert scaled_size(20, 30, 64) == (20, 30)  # never upscales


def test_decode_all_matches_decode_frames(mp4):
    every = decode_all(str(mp4))
    assert every.shape[0] == 24
    np.testing.assert_array_equal(every[[4, 11]], decode_frames(str(mp4), [4, 11]))


def test_webm_without_frame_count_is_estimated_from_duration(tmp_path):
    path = write_clip(tmp_path / "v.webm", index_frames(20), codec="libvpx-vp9")
    info = probe(str(path))
    assert info.frames == 20 and info.codec == "vp9"
    assert [decoded_index(f) for f in decode_frames(str(path), [2, 11, 19])] == [2, 11, 19]


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "audio"])
def test_bad_files_raise_decode_error(tmp_path, mp4, kind):
    path = tmp_path / f"bad_{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a video\n")
    elif kind == "truncated":  # MP4 keeps its index at the end: half a file has none
        path.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    else:
        path = write_audio_only(tmp_path / "a.wav")
    with pytest.raises(DecodeError):
        probe(str(path))
    with pytest.raises(DecodeError):
        decode_frames(str(path), [0])
