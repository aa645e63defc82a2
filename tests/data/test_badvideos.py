"""Bad videos are caught, not used silently (issue 14): truncated files keep only the frames
that decode, images and audio-only or frameless files are skipped with their reason, videos
shorter than a clip's span are counted and reported once. Every file is a real encode."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings

import numpy as np
import pytest

from mgsearch.data.cache import build_cache
from mgsearch.data.config import DatasetConfig
from mgsearch.data.decode import DecodeError, decode_all, decode_frames, probe
from mgsearch.data.index import build_index, short_note, summarize
from tests.conftest import make_config
from tests.data.conftest import (decoded_index, index_frames, write_audio_only_mp4, write_clip,
                                 write_cut_download, write_cut_webm, write_image_as_video,
                                 write_zeroed)
from tests.data.test_cli import _run


def test_a_cut_download_is_counted_by_the_frames_that_decode(tmp_path):
    path = write_cut_download(tmp_path / "cut.mp4", frames=32, keep=13)
    info = probe(str(path))
    assert (info.frames, info.declared, info.truncated) == (13, 32, True)
    assert info.problem() == "decodes 13 of the 32 frames its container states"
    assert info.duration_s == pytest.approx(13 / 25)
    assert decode_all(str(path)).shape[0] == 13  # what the cache stores
    assert [decoded_index(f) for f in decode_frames(str(path), [0, 12])] == [0, 12]


def test_a_cut_webm_is_truncated_and_whole_files_are_not(tmp_path):
    cut = probe(str(write_cut_webm(tmp_path / "cut.webm")))
    assert cut.truncated and cut.declared == 32 and cut.frames < 32
    whole = [write_clip(tmp_path / "w.webm", index_frames(20), codec="libvpx-vp9"),
             write_clip(tmp_path / "w.mp4", index_frames(20))]
    assert [(probe(str(p)).frames, probe(str(p)).truncated) for p in whole] == [(20, False)] * 2


@pytest.mark.parametrize("make, reason", [
    (lambda d: write_image_as_video(d / "thumb.mp4", "PNG"),
     "an image (png_pipe, png), not a video"),
    (lambda d: write_image_as_video(d / "poster.mp4", "JPEG"),
     "an image (jpeg_pipe, mjpeg), not a video"),
    (lambda d: write_audio_only_mp4(d / "sound.mp4"), "audio only: no video stream"),
    (lambda d: write_zeroed(d / "zeros.mp4"), "no frame decodes"),
])
def test_files_without_real_frames_are_refused_with_the_reason(tmp_path, make, reason):
    with pytest.raises(DecodeError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        probe(str(make(tmp_path)))


@pytest.fixture()
def broken(tmp_path):
    """A folder set of 3 good videos per class beside every kind of bad file; val is whole."""
    train = tmp_path / "train"
    for cls in ("a", "b"):
        for i in range(3):
            write_clip(train / cls / f"good{i}.mp4", index_frames(32))
        write_clip(tmp_path / "val" / cls / "v.mp4", index_frames(32))
    write_cut_download(train / "a" / "cut.mp4", keep=13)
    write_image_as_video(train / "a" / "thumb.mp4")
    write_audio_only_mp4(train / "b" / "sound.mp4")
    write_zeroed(train / "b" / "zeros.mp4")
    write_clip(train / "a" / "one.mp4", index_frames(1))
    write_clip(train / "b" / "three.mp4", index_frames(3))
    return DatasetConfig(format="folder", root=str(tmp_path), cache_dir=str(tmp_path / "c"))


def _name(path: str) -> str:
    return os.path.basename(path)


def test_index_skips_the_frameless_and_reports_the_truncated_before_caching(broken):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ix = build_index(broken, "train")
    assert {_name(s.path) for s in ix.skipped} == {"thumb.mp4", "sound.mp4", "zeros.mp4"}
    lines = [str(w.message) for w in caught]
    assert len(lines) == 2 and all("\n" not in m for m in lines)
    assert lines[1] == (f"train: 1 truncated file(s) under {broken.root}, used with the frames "
                        f"that decode: cut.mp4: decodes 13 of the 32 frames its container states")
    frames = {_name(v.path): v.info.frames for v in ix.videos}
    assert (frames["cut.mp4"], frames["one.mp4"], frames["three.mp4"]) == (13, 1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the probe's count is what decodes: nothing to warn
        cache = build_cache(ix, broken.cache_dir, 32, progress=False)
    for i, v in enumerate(ix.videos):  # every stored frame is a decoded one, no more
        assert cache.num_frames(i) == v.info.frames
        np.testing.assert_array_equal(cache.frames(i), decode_all(v.path, 32))


def test_the_cache_warns_when_a_file_decodes_other_frames_than_probed(broken):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ix = build_index(broken, "train")
    i = next(k for k, v in enumerate(ix.videos) if _name(v.path) == "good0.mp4")
    stale = dataclasses.replace(ix.videos[i], info=dataclasses.replace(ix.videos[i].info,
                                                                       frames=40))
    ix = dataclasses.replace(ix, videos=ix.videos[:i] + (stale,) + ix.videos[i + 1:])
    with pytest.warns(UserWarning, match=r"good0.mp4: 32 frames decode, the probe counted 40; "
                                         r"stored 32$"):
        cache = build_cache(ix, broken.cache_dir, 32, progress=False)
    assert cache.num_frames(i) == 32


def test_short_videos_are_counted_with_what_is_done(broken):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ix = build_index(broken, "train")
    note = short_note(ix, 31, "pad")
    assert note.startswith("train: 3 of 9 videos have fewer frames than a clip spans (31; they "
                           "have 1-13): the last frame is repeated to fill the span "
                           "(dataset.short_video: pad); ")
    assert "one.mp4: 1 frames" in note and "\n" not in note
    assert short_note(ix, 1, "pad") == ""
    summary = summarize([ix], 31, "loop")
    assert summary["splits"]["train"]["short"] == 3
    assert "played again" in summary["short_handling"]


def test_data_info_shows_truncated_and_short_per_split(broken, capsys):
    assert _run("data", "info", broken.root) == 0
    text = capsys.readouterr().out
    assert "train: 9 clips, 3 skipped, 1 truncated, 3 short;" in text
    assert "val: 2 clips, 0 skipped, 0 truncated, 0 short;" in text
    assert "skipped " + os.path.join(broken.root, "train", "a", "thumb.mp4") in text
    assert "cut.mp4: decodes 13 of the 32 frames its container states; used with its 13" in text
    assert ("short: videos of fewer than 31 frames (a clip's span): the last frame is repeated"
            in text)
    assert _run("data", "info", broken.root, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    train = data["splits"]["train"]
    assert (train["short"], data["splits"]["val"]["short"], data["clip_span"]) == (3, 0, 31)
    assert [(_name(f["path"]), f["frames"], f["declared"]) for f in train["truncated_files"]] \
        == [("cut.mp4", 13, 32)]


def test_prepare_data_reports_short_videos_once_per_split(broken):
    from mgsearch.data.loaders import prepare_data

    cfg = make_config({"dataset": {"format": "folder", "root": broken.root,
                                   "cache_dir": broken.cache_dir, "jitter_scales": [32, 32],
                                   "test_scale": 32, "cache_short_side": 32},
                       "shape": {"batch": 2, "frames": 8, "crop": 32, "sampling_rate": 2}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert prepare_data(cfg, workers=1) == 9
    short = [str(w.message) for w in caught if "fewer frames than a clip spans" in str(w.message)]
    assert len(short) == 1 and short[0].startswith("shape.sampling_rate = 2: train: 3 of 9 videos") and "(15;" in short[0]


def test_a_hole_inside_a_file_is_found_by_decoding_once_before_training(tmp_path):
    """Every packet is there, so counting packets cannot see the hole: the cache build (which
    decodes every frame anyway) reports it and stores only the frames before it; with the cache
    off the probe decodes every frame itself."""
    write_clip(tmp_path / "train" / "a" / "good.mp4", index_frames(32))
    hole = write_zeroed(tmp_path / "train" / "a" / "hole.mp4", first=12, last=20)
    assert probe(str(hole)).frames == 32  # packets only
    whole = probe(str(hole), decode_every_frame=True)
    assert whole.truncated and 0 < whole.frames < 32 and "decoding stops" in whole.problem()
    cfg = DatasetConfig(format="folder", root=str(tmp_path), cache_dir=str(tmp_path / "c"))
    ix = build_index(cfg, "train")
    with pytest.warns(UserWarning, match=rf"caching .*hole.mp4: {whole.frames} frames decode, "
                                         rf"the probe counted 32; stored {whole.frames}$"):
        cache = build_cache(ix, cfg.cache_dir, 32, progress=False)
    assert cache.num_frames(1) == whole.frames == decode_all(str(hole)).shape[0]
    off = dataclasses.replace(cfg, cache=False)
    with pytest.warns(UserWarning, match=r"1 truncated file.*hole.mp4: decodes"):
        assert build_index(off, "train").videos[1].info.frames == whole.frames


def test_data_info_decode_all_finds_the_hole(tmp_path, capsys):
    write_clip(tmp_path / "train" / "a" / "good.mp4", index_frames(32))
    write_zeroed(tmp_path / "train" / "a" / "hole.mp4", first=12, last=20)
    write_clip(tmp_path / "val" / "a" / "v.mp4", index_frames(32))
    assert _run("data", "info", str(tmp_path), "--json") == 0
    assert json.loads(capsys.readouterr().out)["splits"]["train"]["truncated_files"] == []
    assert _run("data", "info", str(tmp_path), "--json", "--decode-all") == 0
    cut = json.loads(capsys.readouterr().out)["splits"]["train"]["truncated_files"]
    assert [(_name(f["path"]), f["declared"]) for f in cut] == [("hole.mp4", 32)]
