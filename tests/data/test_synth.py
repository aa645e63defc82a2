"""The synthetic action set: layout, determinism, time-reversal pairs, safe output folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgsearch.data.decode import decode_all, probe
from mgsearch.data.synth import write_synth
from mgsearch.data.synth_render import CLASSES, render_clip
from mgsearch.errors import ConfigError


def test_layout_and_metadata(synth_root):
    meta = json.loads((synth_root / "synth.json").read_text())
    assert meta["classes"] == list(CLASSES[:4]) and meta["clips"] == {"train": 20, "val": 4}
    assert meta["hflip"]["move_right"] == "move_left"
    files = sorted(synth_root.glob("*/*/*.mp4"))
    assert len(files) == 24
    info = probe(str(files[0]))
    assert (info.frames, info.width, info.height) == (16, 32, 32)
    assert info.codec in ("h264", "mpeg4")


@pytest.mark.slow
def test_same_seed_same_videos_any_process_count(tmp_path):
    a = write_synth(tmp_path / "a", clips=8, classes=2, frames=8, size=(32, 32), seed=5,
                    workers=1, progress=False)
    b = write_synth(tmp_path / "b", clips=8, classes=2, frames=8, size=(32, 32), seed=5,
                    workers=2, progress=False)
    c = write_synth(tmp_path / "c", clips=8, classes=2, frames=8, size=(32, 32), seed=6,
                    workers=1, progress=False)
    assert a == b and c["seed"] == 6
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").glob("*/*/*.mp4"))
    assert len(files) == 8
    for rel in files:
        fa, fb, fc = (decode_all(str(tmp_path / d / rel)).astype(float) for d in "abc")
        # Same seed: the same rendered pixels, encoded within less than the added noise
        # (sigma 12.75 grey levels; libx264 here is not bit-exact across processes, measured
        # ~5 levels mean difference); another seed: different videos.
        assert np.abs(fa - fb).mean() < 8.0
        assert np.abs(fa - fc).mean() > 20.0


def test_rendering_depends_only_on_the_seed():
    a = render_clip("orbit_cw", 8, 32, 32, np.random.default_rng([4, 17]))
    np.testing.assert_array_equal(a, render_clip("orbit_cw", 8, 32, 32,
                                                 np.random.default_rng([4, 17])))


def test_pair_members_are_time_reversals():
    fwd = render_clip("rotate_cw", 12, 32, 32, np.random.default_rng(9))
    back = render_clip("rotate_ccw", 12, 32, 32, np.random.default_rng(9))
    np.testing.assert_array_equal(fwd[::-1], back)


def test_motion_is_the_only_cue_in_first_frame_statistics():
    # Brightness statistics of single frames must not separate a pair (same draws, reversed).
    means = {c: np.mean([render_clip(c, 8, 32, 32, np.random.default_rng(i)).mean()
                         for i in range(6)]) for c in ("grow", "shrink")}
    assert means["grow"] == pytest.approx(means["shrink"], rel=1e-9)


def test_existing_output_is_never_touched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        write_synth(out, clips=8, classes=2, frames=8, size=(32, 32), progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("kw, match", [({"classes": 3}, "even"), ({"clips": 3}, "at least"),
                                       ({"size": (33, 32)}, "even"), ({"frames": 2}, "4 frames")])
def test_bad_arguments(tmp_path, kw, match):
    args = dict(clips=8, classes=2, frames=8, size=(32, 32), progress=False) | kw
    with pytest.raises(ConfigError, match=match):
        write_synth(tmp_path / "x", **args)
