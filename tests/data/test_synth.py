"""The synthetic action sets (both tasks): layout, determinism, safe output folder, refusals;
the motion task's time-reversal pairs. The gist task's designed properties: test_synth_gist.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mgsearch.data.decode import decode_all, probe
from mgsearch.data.synth import TASKS, write_synth
from mgsearch.data.synth_render import render_clip as motion_clip
from mgsearch.errors import ConfigError

TASK_NAMES = sorted(TASKS)
SMALL = {"gist": 4, "motion": 2}  # the fewest classes each task accepts


@pytest.fixture(scope="module", params=TASK_NAMES)
def task_set(request, tmp_path_factory):
    """(task, root) of a 4-class set per task: 24 clips (20 train, 4 val), 16 frames at 32x32."""
    root = tmp_path_factory.mktemp(request.param) / "synth"
    write_synth(root, clips=24, classes=4, frames=16, size=(32, 32), seed=3, workers=1,
                progress=False, task=request.param, val=4)
    return request.param, root


def test_layout_and_metadata(task_set):
    task, root = task_set
    meta = json.loads((root / "synth.json").read_text())
    names, hflip = TASKS[task][0][:4], TASKS[task][1]
    assert meta["task"] == task and meta["classes"] == list(names)
    assert meta["clips"] == {"train": 20, "val": 4}
    assert meta["hflip"] == {c: hflip.get(c, c) for c in names}
    files = sorted(root.glob("*/*/*.mp4"))
    assert len(files) == 24 and {f.parent.name for f in files} == set(names)
    info = probe(str(files[0]))
    assert (info.frames, info.width, info.height) == (16, 32, 32)
    assert info.codec in ("h264", "mpeg4")


@pytest.mark.slow
@pytest.mark.parametrize("task", TASK_NAMES)
def test_same_seed_same_videos_any_process_count(tmp_path, task):
    kw = dict(clips=2 * SMALL[task], classes=SMALL[task], frames=8, size=(32, 32),
              progress=False, task=task)
    a = write_synth(tmp_path / "a", seed=5, workers=1, **kw)
    b = write_synth(tmp_path / "b", seed=5, workers=2, **kw)
    c = write_synth(tmp_path / "c", seed=6, workers=1, **kw)
    assert a == b and c["seed"] == 6
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").glob("*/*/*.mp4"))
    assert len(files) == 2 * SMALL[task]
    for rel in files:
        fa, fb, fc = (decode_all(str(tmp_path / d / rel)).astype(float) for d in "abc")
        # Same seed: the same rendered pixels, encoded within less than the added noise
        # (sigma 12.75 grey levels; libx264 here is not bit-exact across processes, measured
        # ~5 levels mean difference); another seed: different videos.
        assert np.abs(fa - fb).mean() < 8.0
        assert np.abs(fa - fc).mean() > 20.0


@pytest.mark.parametrize("task, cls", [("gist", "sea_zigzag"), ("motion", "orbit_cw")])
def test_rendering_depends_only_on_the_seed(task, cls):
    render = TASKS[task][2]
    a = render(cls, 8, 32, 32, np.random.default_rng([4, 17]))
    np.testing.assert_array_equal(a, render(cls, 8, 32, 32, np.random.default_rng([4, 17])))
    other = render(cls, 8, 32, 32, np.random.default_rng([4, 18]))
    assert np.abs(a.astype(float) - other).mean() > 5  # grey levels: another clip


def test_motion_pair_members_are_time_reversals():
    fwd = motion_clip("rotate_cw", 12, 32, 32, np.random.default_rng(9))
    back = motion_clip("rotate_ccw", 12, 32, 32, np.random.default_rng(9))
    np.testing.assert_array_equal(fwd[::-1], back)


def test_motion_is_the_only_cue_in_first_frame_statistics():
    # Brightness statistics of single frames must not separate a pair (same draws, reversed).
    means = {c: np.mean([motion_clip(c, 8, 32, 32, np.random.default_rng(i)).mean()
                         for i in range(6)]) for c in ("grow", "shrink")}
    assert means["grow"] == pytest.approx(means["shrink"], rel=1e-9)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_existing_output_is_never_touched(tmp_path, task):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        write_synth(out, clips=8, classes=SMALL[task], frames=8, size=(32, 32), progress=False,
                    task=task)
    assert (out / "keep.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("task, kw, match", [
    ("nope", {}, r"^--task 'nope': pick one of gist, motion$"),
    ("gist", {"classes": 6}, r"^--classes 6: pick a multiple of 4 from 4 to 12 for --task gist"),
    ("motion", {"classes": 3}, r"^--classes 3: pick a multiple of 2 from 2 to 12 for --task mot"),
    ("gist", {"val": 3}, r"^--val 3: pick from 4 \(one per class\) to 4 "),
    ("gist", {"val": 5}, r"^--val 5: pick from 4 "),
    ("motion", {"val": 7}, r"^--val 7: pick from 2 \(one per class\) to 6 "),
    ("gist", {"clips": 7}, r"^--clips 7: need at least 2 per class \(8\).*default 6500 for --ta"),
    ("motion", {"clips": 3}, r"^--clips 3: need at least 2 per class \(4\).*default 4600 for --"),
    ("gist", {"frames": 3}, r"^--frames 3: need at least 4 frames"),
    ("motion", {"frames": 2}, r"^--frames 2: need at least 4 frames"),
    ("gist", {"size": (33, 32)}, r"^--size 33x32: width and height must be even"),
    ("motion", {"size": (32, 14)}, r"^--size 32x14: .* >= 16"),
])
def test_bad_arguments_are_one_line_refusals_that_write_nothing(tmp_path, task, kw, match):
    args = dict(clips=8, classes=SMALL.get(task, 4), frames=8, size=(32, 32), progress=False,
                task=task) | kw
    with pytest.raises(ConfigError, match=match) as err:
        write_synth(tmp_path / "x", **args)
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no OUT, no temporary folder beside it
