"""The index pass: bad files skipped with one warning and counted; clear errors for no data."""

from __future__ import annotations

import os
import warnings

import pytest

from mgsearch.data.config import DatasetConfig
from mgsearch.data.index import build_index, summarize
from mgsearch.errors import ConfigError
from tests.data.conftest import index_frames, write_audio_only, write_clip


@pytest.fixture()
def messy(tmp_path):
    good = write_clip(tmp_path / "train" / "a" / "good.mp4", index_frames(16))
    write_clip(tmp_path / "train" / "b" / "good2.mp4", index_frames(16))
    (tmp_path / "train" / "a" / "empty.mp4").write_bytes(b"")
    (tmp_path / "train" / "a" / "cut.mp4").write_bytes(good.read_bytes()[:300])
    (tmp_path / "train" / "b" / "notes.bin").write_bytes(b"\x00\x01junk")
    write_audio_only(tmp_path / "train" / "b" / "sound.wav")
    return DatasetConfig(format="folder", root=str(tmp_path), cache_dir=str(tmp_path / "c"))


def test_bad_files_are_skipped_with_one_warning_and_counted(messy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ix = build_index(messy, "train")
    assert [os.path.basename(v.path) for v in ix.videos] == ["good.mp4", "good2.mp4"]
    skipped = {os.path.basename(s.path): s.reason for s in ix.skipped}
    assert set(skipped) == {"empty.mp4", "cut.mp4", "notes.bin", "sound.wav"}
    assert "no video stream" in skipped["sound.wav"]
    assert len(caught) == 1 and "skipped 4" in str(caught[0].message)
    summary = summarize([ix])
    assert summary["splits"]["train"]["skipped"] == 4
    assert summary["splits"]["train"]["frames"] == [16, 16]


def test_probe_results_are_reused_until_a_file_changes(messy, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_index(messy, "train")
        calls = []
        import mgsearch.data.index as index_mod

        real = index_mod.probe
        monkeypatch.setattr(index_mod, "probe", lambda p, *a: calls.append(p) or real(p, *a))
        build_index(messy, "train")
        assert calls == []  # everything came from the probe store
        good = os.path.join(messy.root, "train", "a", "good.mp4")
        os.utime(good, ns=(1, 1))
        build_index(messy, "train")
    assert calls == [good]


def test_missing_root_names_path_and_fix(tmp_path):
    cfg = DatasetConfig(root=str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"nowhere.*mgsearch data synth"):
        build_index(cfg, "train")


def test_all_bad_is_an_error_not_an_empty_epoch(tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "train" / "a" / "x.mp4").write_bytes(b"")
    cfg = DatasetConfig(format="folder", root=str(tmp_path), cache_dir=str(tmp_path / "c"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ConfigError, match=r"'train'.*empty.*unreadable"):
            build_index(cfg, "train")
