"""The gist task's designed properties, measured on rendered frames and on the actor's path
(numpy only, no training): what one frame, two frames and the fine grid can each see."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import av
import numpy as np
import pytest

from mgsearch.data import synth_gist as gist
from mgsearch.data.cli import register
from mgsearch.data.sampling import spread_indices
from mgsearch.data.synth import write_synth

W = H = 40  # the task's default frame size
T, SPAN = 32, 29  # frames per clip, and the span every grid spreads over (the default shape's)
SCALE = min(W, H) / 40  # pixels at this size per pixel of the default 40-px frame
MARGIN = 0.28 * 0.8 * min(W, H)  # render_clip's margin for the mean actor size


def _paths(action: str, n: int, seed: int = 0) -> np.ndarray:
    """n x T x 2 actor centres (pixels) of n clips."""
    return np.stack([np.stack(gist._path(action, T, W, H, MARGIN, np.random.default_rng([seed, i])),
                              axis=1) for i in range(n)])


def test_same_seed_and_clip_same_pixels():
    for cls in ("meadow_rest", "desert_zigzag"):
        a = gist.render_clip(cls, 8, W, H, np.random.default_rng([3, 11]))
        np.testing.assert_array_equal(a, gist.render_clip(cls, 8, W, H,
                                                          np.random.default_rng([3, 11])))
        other = gist.render_clip(cls, 8, W, H, np.random.default_rng([3, 12]))
        assert np.abs(a.astype(float) - other).mean() > 5  # grey levels: another clip


def _frame0_colour(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip mean RGB of frame 0 and the scene index, n clips cycling through all 12 classes."""
    scenes = list(gist.SCENES)
    cols, labels = [], []
    for i in range(n):
        cls = gist.CLASSES[i % len(gist.CLASSES)]
        frame = gist.render_clip(cls, 4, W, H, np.random.default_rng([seed, i]))[0]
        cols.append(frame.reshape(-1, 3).mean(0) / 255)
        labels.append(scenes.index(cls.split("_")[0]))
    return np.array(cols), np.array(labels)


def test_one_frame_shows_the_scene():
    # Nearest scene centre (centres from 60 other clips) of a clip's mean frame-0 colour.
    fit_x, fit_y = _frame0_colour(seed=1, n=60)
    centres = np.stack([fit_x[fit_y == k].mean(0) for k in range(3)])
    x, y = _frame0_colour(seed=2, n=60)
    pred = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (pred == y).mean() >= 0.95


@pytest.mark.parametrize("scene", list(gist.SCENES))
def test_one_frame_says_nothing_about_the_action(scene):
    # One seed, four actions: the same draws used alike up to frame 0, so the same first frame
    # (background, distractors, noise, actor colour, shape and place); later frames differ.
    for i in range(8):
        clips = [gist.render_clip(f"{scene}_{a}", T, W, H, np.random.default_rng([5, i]))
                 for a in gist.ACTIONS]
        for c in clips[1:]:
            np.testing.assert_array_equal(c[0], clips[0][0])
        assert all(np.abs(c.astype(float) - clips[0]).max() > 50 for c in clips[1:])


def test_first_frame_place_has_one_distribution_for_every_action():
    # Independent draws per action (the law, not the shared stream): mean and spread of the
    # actor's frame-0 centre. n = 4000 clips, sd ~6.2 px: a difference of two means has standard
    # error sd*sqrt(2/n) ~ 0.14 px, of two sds ~ sd/sqrt(n) ~ 0.10 px; tolerances are 4 of those.
    n = 4000
    first = {a: _paths(a, n, seed=10 + k)[:, 0] for k, a in enumerate(gist.ACTIONS)}
    ref = first["rest"]
    for a in gist.ACTIONS[1:]:
        sd = ref.std(0)
        assert np.all(np.abs(first[a].mean(0) - ref.mean(0)) < 4 * sd * math.sqrt(2 / n))
        assert np.all(np.abs(first[a].std(0) - sd) < 4 * sd / math.sqrt(n))


def test_two_frames_show_travel_only():
    # Frames 0 and 28 (the 2-frame grid at start 0): glide and zigzag moved TRAVEL x short side
    # x 28/31 (frame 28 of 32) x U(0.8, 1.2); rest and shake are back where they were (28
    # frames = 3 vibration periods).
    i0, i1 = spread_indices(T, 2, SPAN, 0)
    unit = gist.TRAVEL * min(W, H) * i1 / (T - 1)
    for action in gist.ACTIONS:
        p = _paths(action, 200)
        moved = np.linalg.norm(p[:, i1] - p[:, i0], axis=1)
        if action in ("glide", "zigzag"):
            assert np.all((moved > 0.8 * unit - 1e-9) & (moved < 1.2 * unit + 1e-9))
            assert moved.mean() == pytest.approx(unit, rel=0.03)
        else:
            assert moved.max() < 1e-9


def _grid_steps(p: np.ndarray, t: int) -> np.ndarray:
    """Per clip, the largest centre displacement between successive frames of the t-frame grid,
    over every training start (0-3) the 32-frame clips allow: clips x starts."""
    starts = range(T - SPAN + 1)
    idx = [spread_indices(T, t, SPAN, s) for s in starts]
    return np.stack([np.linalg.norm(np.diff(p[:, i], axis=1), axis=2).max(1) for i in idx], 1)


def test_vibration_is_invisible_to_the_2_frame_grid_and_seen_by_4_and_8():
    # Shake, period 14 frames: the 2-frame grid's frames are 28 apart (2 periods), so the
    # vibration falls in phase and vanishes; the 4-frame grid's frames (0, 9, 19, 28 after
    # rounding 28/3) sample three phases ~120 degrees apart and always see a swing; the 8-frame
    # grid (frames 4 apart, 103 degrees) sees it in every clip. Indices come from the real
    # spread_indices, so a change of the sampling breaks this test.
    p = _paths("shake", 200)
    # Per clip, pixels: half the widest swing (the path is a line segment across the axis).
    amp = np.linalg.norm(p[:, :, None] - p[:, None], axis=-1).max((1, 2)) / 2
    assert np.all(amp > 0.8 * gist.VIBRATION * min(W, H))
    assert gist.vibration_period(T) == pytest.approx(14.0)
    assert np.all(_grid_steps(p, 2) < 0.3 * SCALE)
    assert np.all(_grid_steps(p, 4) >= 0.5 * amp[:, None])
    assert np.all(_grid_steps(p, 8) >= 0.8 * amp[:, None])


def test_write_synth_gist_writes_decodable_mp4s(tmp_path):
    meta = write_synth(tmp_path / "g", task="gist", clips=48, val=12, size=(32, 32), frames=8,
                       workers=1, progress=False)
    assert meta == json.loads((tmp_path / "g" / "synth.json").read_text())
    assert meta["task"] == "gist" and meta["classes"] == list(gist.CLASSES)
    assert len(gist.CLASSES) == 12 and meta["hflip"] == {c: c for c in gist.CLASSES}
    assert meta["clips"] == {"train": 36, "val": 12}
    files = sorted((tmp_path / "g").glob("*/*/*.mp4"))
    assert len(files) == 48 and len(list((tmp_path / "g" / "val").glob("*/*.mp4"))) == 12
    for f in files[::12]:
        with av.open(str(f)) as container:
            frames = [fr.to_ndarray(format="rgb24") for fr in container.decode(video=0)]
        assert len(frames) == 8 and frames[0].shape == (32, 32, 3)


def _synth_cli(*argv) -> dict:
    parser = argparse.ArgumentParser(prog="mgsearch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", "synth", *argv, "--frames", "4", "--size", "16x16",
                              "--workers", "1"])
    assert args.func(args) == 0
    return json.loads((Path(argv[0]) / "synth.json").read_text())


def test_cli_default_task_is_gist_and_motion_keeps_its_classes(tmp_path, capsys):
    from mgsearch.data.synth_render import CLASSES as MOTION

    gist_meta = _synth_cli(str(tmp_path / "g"), "--clips", "8", "--classes", "4")
    assert gist_meta["task"] == "gist" and gist_meta["classes"] == list(gist.CLASSES[:4])
    motion = _synth_cli(str(tmp_path / "m"), "--task", "motion", "--clips", "8", "--classes", "2")
    assert motion["task"] == "motion" and motion["classes"] == list(MOTION[:2])
    assert motion["hflip"] == {"move_right": "move_left", "move_left": "move_right"}
    assert "(gist task, 4 classes" in capsys.readouterr().out
