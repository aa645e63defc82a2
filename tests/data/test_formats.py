"""Each dataset layout, read from tiny real MP4/WebM files, through the index pass."""

from __future__ import annotations

import json

import pytest

from mgsearch.data.config import DatasetConfig
from mgsearch.data.index import build_index
from mgsearch.errors import ConfigError
from tests.data.conftest import index_frames, write_clip

FRAMES = index_frames(12)


def _names(ix):
    return sorted((p.rsplit("/", 1)[-1], ix.classes[lab]) for p, lab in
                  ((v.path, v.label) for v in ix.videos))


def _cfg(tmp_path, fmt, **kw):
    return DatasetConfig(format=fmt, root=str(tmp_path), cache_dir=str(tmp_path / "cache"), **kw)


def test_folder_with_splits(tmp_path):
    for split, cls, name in [("train", "jump", "a"), ("train", "run", "b"), ("val", "run", "c")]:
        write_clip(tmp_path / split / cls / f"{name}.mp4", FRAMES)
    cfg = _cfg(tmp_path, "folder")
    train, val = build_index(cfg, "train"), build_index(cfg, "val")
    assert train.classes == val.classes == ("jump", "run")
    assert _names(train) == [("a.mp4", "jump"), ("b.mp4", "run")]
    assert _names(val) == [("c.mp4", "run")] and train.note == ""


def test_folder_without_splits_serves_both_and_says_so(tmp_path):
    write_clip(tmp_path / "jump" / "a.mp4", FRAMES)
    ix = build_index(_cfg(tmp_path, "folder"), "val")
    assert _names(ix) == [("a.mp4", "jump")] and "same videos" in ix.note


def test_list_file(tmp_path):
    write_clip(tmp_path / "videos" / "x.mp4", FRAMES)
    write_clip(tmp_path / "videos" / "y.mp4", FRAMES)
    (tmp_path / "train.txt").write_text("videos/x.mp4 0\nvideos/y.mp4 2\n")
    (tmp_path / "classes.txt").write_text("a\nb\nc\n")
    ix = build_index(_cfg(tmp_path, "list"), "train")
    assert ix.classes == ("a", "b", "c") and _names(ix) == [("x.mp4", "a"), ("y.mp4", "c")]


def test_list_file_bad_line_names_file_and_line(tmp_path):
    (tmp_path / "train.txt").write_text("videos/x.mp4 zero\n")
    with pytest.raises(ConfigError, match=r"train.txt line 1"):
        build_index(_cfg(tmp_path, "list"), "train")


def test_kinetics_csv(tmp_path):
    header = "label,youtube_id,time_start,time_end,split\n"
    (tmp_path / "train.csv").write_text(header + "abseiling,aaa,10,20,train\n"
                                        "zumba,bbb,0,10,train\n")
    (tmp_path / "validate.csv").write_text(header + "zumba,ccc,5,15,validate\n")
    write_clip(tmp_path / "train" / "abseiling" / "aaa_000010_000020.mp4", FRAMES)
    write_clip(tmp_path / "train" / "bbb_000000_000010.mp4", FRAMES)  # flat layout too
    write_clip(tmp_path / "ccc_000005_000015.mp4", FRAMES)
    cfg = _cfg(tmp_path, "kinetics", val_split="validate")
    train, val = build_index(cfg, "train"), build_index(cfg, "validate")
    assert train.classes == ("abseiling", "zumba")
    assert _names(train) == [("aaa_000010_000020.mp4", "abseiling"),
                             ("bbb_000000_000010.mp4", "zumba")]
    assert _names(val) == [("ccc_000005_000015.mp4", "zumba")]


def test_ssv2_json(tmp_path):
    ann = tmp_path / "labels"
    ann.mkdir()
    (ann / "labels.json").write_text(json.dumps({"Pushing something": "1",
                                                 "Holding something": "0"}))
    (ann / "train.json").write_text(json.dumps([{"id": "11", "template": "Pushing [something]"},
                                                {"id": "12", "template": "Holding [something]"}]))
    (ann / "validation.json").write_text(json.dumps([{"id": "13",
                                                      "template": "Holding [something]"}]))
    for i in (11, 12, 13):
        write_clip(tmp_path / f"{i}.webm", FRAMES, codec="libvpx-vp9")
    cfg = _cfg(tmp_path, "ssv2", annotations=str(ann))
    assert _names(build_index(cfg, "train")) == [("11.webm", "Pushing something"),
                                                 ("12.webm", "Holding something")]
    assert _names(build_index(cfg, "val")) == [("13.webm", "Holding something")]


def test_ucf101_split_files(tmp_path):
    ann = tmp_path / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 ApplyLipstick\n2 Archery\n")
    (ann / "trainlist02.txt").write_text("Archery/v_Archery_g01_c01.mp4 2\n")
    (ann / "testlist02.txt").write_text("ApplyLipstick/v_ApplyLipstick_g02_c01.mp4\n")
    write_clip(tmp_path / "Archery" / "v_Archery_g01_c01.mp4", FRAMES)
    write_clip(tmp_path / "ApplyLipstick" / "v_ApplyLipstick_g02_c01.mp4", FRAMES)
    cfg = _cfg(tmp_path, "ucf101", annotations=str(ann), split_number=2)
    assert _names(build_index(cfg, "train")) == [("v_Archery_g01_c01.mp4", "Archery")]
    assert _names(build_index(cfg, "val")) == [("v_ApplyLipstick_g02_c01.mp4", "ApplyLipstick")]


def test_hmdb51_split_files(tmp_path):
    ann = tmp_path / "splits"
    ann.mkdir()
    (ann / "wave_test_split1.txt").write_text("w1.mp4 1\nw2.mp4 2\nw3.mp4 0\n")
    (ann / "clap_test_split1.txt").write_text("c1.mp4 1\n")
    for cls, name in [("wave", "w1"), ("wave", "w2"), ("wave", "w3"), ("clap", "c1")]:
        write_clip(tmp_path / cls / f"{name}.mp4", FRAMES)
    cfg = _cfg(tmp_path, "hmdb51", annotations=str(ann))
    assert _names(build_index(cfg, "train")) == [("c1.mp4", "clap"), ("w1.mp4", "wave")]
    assert _names(build_index(cfg, "val")) == [("w2.mp4", "wave")]
