"""Render one clip of the `gist` synthetic task: a scene you can see at a glance, an action you
can only see frame by frame.

Twelve classes = 3 scenes x 4 actions, named `<scene>_<action>`:

    scenes   meadow, sea, desert   (the background's colour family: one frame at any size shows it)
    actions  rest     the actor stays where it is
             glide    the actor travels a straight line (any direction)
             shake    the actor stays, vibrating along an axis
             zigzag   the actor travels and vibrates across its path

What each sampling grid of the embedded default can see (8 frames spread over 29 of the 32
frames, `dataset.temporal_sampling: span`):
- one frame: the scene only (at most 1/4 of the classes' information: <= 25% top-1);
- two frames (28 frames apart): the scene and whether the actor travelled (<= 50%). The
  vibration's period is 14 frames, so frames 28 apart catch it at the same phase, where it
  looks like no vibration at all;
- four frames (0, 9, 19, 28 after rounding): three phases of the vibration, about a third of a
  period apart, so its swing shows, on a coarse 4-sample path;
- all 8 frames (4 frames apart, ~0.29 of a period): the vibration sampled finely, everything.
So the coarsest grids learn something real (the scene, the coarse motion), the 4-frame grids the
vibration coarsely, and the fine grid all of it, as in natural video, where a coarse grid still
shows the scene and gist.

Every action makes the same draws (position, travel, vibration, orientation, colour, shape) and
uses them alike up to the first frame, so one seed gives the four actions the same first frame
and a single frame carries nothing about the action (a resting actor starts where a gliding one
would: its place leaves room for the travel); a horizontal flip or time reversal keeps every
class.
Nuisances: a panning two-colour grating background, a random actor shape and colour, 1-2
distractor discs that drift slowly, Gaussian pixel noise.
"""

from __future__ import annotations

import math

import numpy as np

from .synth_render import _SHAPES, NOISE_SIGMA, _paint, _u

SCENES = {  # background colour families (RGB centres), far apart in hue
    "meadow": (0.25, 0.60, 0.20),
    "sea": (0.15, 0.30, 0.70),
    "desert": (0.80, 0.60, 0.25),
}
ACTIONS = ("rest", "glide", "shake", "zigzag")
CLASSES = tuple(f"{s}_{a}" for s in SCENES for a in ACTIONS)
HFLIP: dict[str, str] = {}  # every class is its own mirror image

TRAVEL = 0.35  # straight-line travel over the clip, fraction of the frame's short side
VIBRATION = 0.10  # vibration amplitude, fraction of the short side
PERIOD_SPAN_FRACTION = 1 / 2  # the vibration's period as a fraction of (frames - 4)


def vibration_period(frames: int) -> float:
    """14 frames for 32-frame clips: the 2-frame grid's samples, 28 frames apart, fall in phase."""
    return max(frames - 4, 3) * PERIOD_SPAN_FRACTION


def _path(action: str, frames: int, w: int, h: int, margin: float, rng: np.random.Generator):
    """Per frame (cx, cy) of the actor's centre. Every action makes the same draws and uses them
    alike up to frame 0 (a start that leaves room for the travel, an offset across the path at
    the vibration's starting phase): one seed gives the four actions the same first frame."""
    f = np.arange(frames, dtype=np.float64)
    theta = rng.uniform(0, 2 * math.pi)  # travel direction; the vibration is across it
    dist = TRAVEL * min(w, h) * rng.uniform(0.8, 1.2)  # pixels; resting actors start as if
    reach_x, reach_y = dist * math.cos(theta), dist * math.sin(theta)  # they would travel
    x0 = _u(rng, margin - min(reach_x, 0), w - margin - max(reach_x, 0))
    y0 = _u(rng, margin - min(reach_y, 0), h - margin - max(reach_y, 0))
    amp = VIBRATION * min(w, h) * rng.uniform(0.85, 1.15)  # pixels
    phase = np.full(frames, rng.uniform(0, 2 * math.pi))
    along = f / max(frames - 1, 1) if action in ("glide", "zigzag") else np.zeros(frames)
    if action in ("shake", "zigzag"):
        phase += 2 * math.pi * f / vibration_period(frames)
    off = amp * np.sin(phase)  # constant for rest and glide: the same place at frame 0
    axis = theta + math.pi / 2
    return (x0 + reach_x * along + off * math.cos(axis),
            y0 + reach_y * along + off * math.sin(axis))


def render_clip(cls: str, frames: int, width: int, height: int,
                rng: np.random.Generator) -> np.ndarray:
    """One clip of class `cls` as uint8 `frames x height x width x 3` RGB."""
    scene, action = cls.split("_", 1)
    if scene not in SCENES or action not in ACTIONS:
        raise ValueError(f"unknown gist class {cls!r}")
    short = min(width, height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres
    base = np.array(SCENES[scene])
    c1 = np.clip(base + rng.uniform(-0.12, 0.12, 3), 0, 1)
    c2 = np.clip(base * rng.uniform(0.45, 0.75) + rng.uniform(-0.05, 0.05, 3), 0, 1)
    g_theta, g_period = rng.uniform(0, math.pi), rng.uniform(0.15, 0.4) * short
    g_speed = rng.uniform(-0.003, 0.003) * short  # pixels per frame along the grating normal: slow
    along = xs * math.cos(g_theta) + ys * math.sin(g_theta)
    colour = rng.uniform(0, 1, 3)  # the actor: far from the scene's colours
    while min(np.abs(colour - c1).sum(), np.abs(colour - c2).sum()) < 0.8:
        colour = rng.uniform(0, 1, 3)
    shape = _SHAPES[rng.integers(len(_SHAPES))]
    size = rng.uniform(0.24, 0.32) * short
    angle = rng.uniform(0, 2 * math.pi)
    cx, cy = _path(action, frames, width, height, size * 0.8, rng)
    n_dis = int(rng.integers(1, 3))
    dis_xy = rng.uniform(0.1, 0.9, (n_dis, 2)) * (width, height)
    dis_v = rng.uniform(-0.004, 0.004, (n_dis, 2)) * short  # slow drift, pixels per frame
    dis_r = rng.uniform(0.05, 0.08, n_dis) * short
    dis_col = rng.uniform(0, 1, (n_dis, 3))
    noise = rng.normal(0, NOISE_SIGMA, (frames, height, width, 3))
    ca, sa = math.cos(angle), math.sin(angle)
    pts = shape * size
    rot = np.stack([pts[:, 0] * ca - pts[:, 1] * sa, pts[:, 0] * sa + pts[:, 1] * ca], axis=1)
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for i in range(frames):
        mix = (0.5 + 0.5 * np.sin((along + g_speed * i) * (2 * math.pi / g_period)))[..., None]
        img = c1 * mix + c2 * (1 - mix)
        for j in range(n_dis):
            dx, dy = dis_xy[j] + dis_v[j] * i
            cover = np.clip(dis_r[j] - np.hypot(xs - dx, ys - dy) + 0.5, 0, 1)[..., None]
            img = img * (1 - cover) + dis_col[j] * cover
        _paint(img, rot + (cx[i], cy[i]), colour)
        out[i] = np.clip((img + noise[i]) * 255 + 0.5, 0, 255).astype(np.uint8)
    return out
