"""Render one clip of the synthetic action task: classes differ only by how a shape moves.

Twelve classes in six time-reversal pairs; the second of each pair is the first played
backwards, so every single frame of the two has the same distribution (a one-frame model cannot
tell them apart, and shapes, sizes, angles and places are drawn the same way for every class):

    move_right/move_left, move_up/move_down, rotate_cw/rotate_ccw, orbit_cw/orbit_ccw,
    grow/shrink, speed_up/slow_down (along a random direction)

Nuisances: a panning two-colour grating background, random target colour and shape, 1-3
distractor discs that jitter in place (they never make a class motion: a prototype whose
distractors made the class motions was unlearnable, measured on this project's 2-core machine) and Gaussian pixel noise.
"""

from __future__ import annotations

import math

import numpy as np

CLASSES = ("move_right", "move_left", "move_up", "move_down", "rotate_cw", "rotate_ccw",
           "orbit_cw", "orbit_ccw", "grow", "shrink", "speed_up", "slow_down")
# The class a horizontally mirrored clip belongs to (training flips remap labels with this).
HFLIP = {"move_right": "move_left", "move_left": "move_right", "rotate_cw": "rotate_ccw",
         "rotate_ccw": "rotate_cw", "orbit_cw": "orbit_ccw", "orbit_ccw": "orbit_cw"}

# Asymmetric outlines (unit size, centred) so rotation and mirroring are visible.
_SHAPES = (
    np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, -0.2], [-0.2, -0.2], [-0.2, 0.5], [-0.5, 0.5]]),  # L
    np.array([[-0.5, -0.4], [0.6, 0.0], [-0.5, 0.4], [-0.2, 0.0]]),  # arrow head
    np.array([[-0.5, -0.5], [0.5, -0.1], [-0.1, 0.5]]),  # scalene triangle
    np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, -0.2], [0.15, -0.2], [0.15, 0.5], [-0.15, 0.5],
              [-0.15, -0.2], [-0.5, -0.2]]),  # T
)
NOISE_SIGMA = 0.05  # pixel noise, fraction of full scale
SUPERSAMPLE = 2  # shapes are drawn at 2x and averaged: soft edges that survive the encoder


def _inside(poly: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test for arrays of points (works for concave outlines)."""
    inside = np.zeros(xs.shape, dtype=bool)
    x0, y0 = poly[-1]
    for x1, y1 in poly:
        crosses = (y1 > ys) != (y0 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = (x0 - x1) * (ys - y1) / (y0 - y1) + x1
        inside ^= crosses & (xs < xcross)
        x0, y0 = x1, y1
    return inside


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform in [lo, hi]; lo when the range is empty (a path that only just fits)."""
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def _trajectory(kind: str, frames: int, w: int, h: int, size: float, rng: np.random.Generator):
    """Per frame (cx, cy, angle rad, scale) of the forward member of a class pair."""
    f = np.arange(frames, dtype=np.float64)
    angle0 = rng.uniform(0, 2 * math.pi)
    margin = size * 0.75
    ones = np.ones(frames)
    if kind in ("move_right", "move_up"):
        speed = rng.uniform(0.3, 0.6) * min(w, h) / frames  # pixels per frame
        travel = speed * (frames - 1)
        along = (w if kind == "move_right" else h) - 2 * margin
        travel = min(travel, along)
        start = _u(rng, margin, margin + along - travel)
        other = rng.uniform(margin, (h if kind == "move_right" else w) - margin)
        pos = start + travel * f / max(frames - 1, 1)
        cx, cy = (pos, other * ones) if kind == "move_right" else (other * ones, h - pos)
        return cx, cy, angle0 * ones, ones
    if kind == "rotate_cw":
        rate = rng.uniform(0.12, 0.22)  # radians per frame
        cx, cy = rng.uniform(margin, w - margin), rng.uniform(margin, h - margin)
        return cx * ones, cy * ones, angle0 + rate * f, ones
    if kind == "orbit_cw":
        radius = rng.uniform(0.15, 0.25) * min(w, h)
        rate = rng.uniform(0.12, 0.2)
        cx = _u(rng, margin + radius, w - margin - radius)
        cy = _u(rng, margin + radius, h - margin - radius)
        phase = rng.uniform(0, 2 * math.pi) + rate * f  # image y points down: this is clockwise
        return cx + radius * np.cos(phase), cy + radius * np.sin(phase), angle0 * ones, ones
    if kind == "grow":
        ratio = rng.uniform(2.0, 2.6)  # end size / start size
        scale = ratio ** (f / max(frames - 1, 1)) / math.sqrt(ratio)  # geometric mean 1
        margin *= scale[-1]
        cx, cy = _u(rng, margin, w - margin), _u(rng, margin, h - margin)
        return cx * ones, cy * ones, angle0 * ones, scale
    if kind == "speed_up":
        theta = rng.uniform(0, 2 * math.pi)
        peak = rng.uniform(0.6, 1.0) * min(w, h) / frames  # end speed, pixels per frame
        dist = peak * f**2 / (2 * max(frames - 1, 1))  # constant acceleration from rest
        reach_x, reach_y = dist[-1] * math.cos(theta), dist[-1] * math.sin(theta)
        x0 = _u(rng, margin - min(reach_x, 0), w - margin - max(reach_x, 0))
        y0 = _u(rng, margin - min(reach_y, 0), h - margin - max(reach_y, 0))
        return x0 + dist * math.cos(theta), y0 + dist * math.sin(theta), angle0 * ones, ones
    raise ValueError(f"unknown motion {kind!r}")


def _paint(img: np.ndarray, poly: np.ndarray, colour: np.ndarray) -> None:
    """Blend a filled polygon into `img` (H x W x 3), supersampled only inside its bounding box."""
    h, w = img.shape[:2]
    x0, y0 = max(int(poly[:, 0].min()), 0), max(int(poly[:, 1].min()), 0)
    x1, y1 = min(int(poly[:, 0].max()) + 1, w), min(int(poly[:, 1].max()) + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    ss = SUPERSAMPLE
    ys, xs = np.mgrid[y0 * ss:y1 * ss, x0 * ss:x1 * ss].astype(np.float64)
    hit = _inside(poly, (xs + 0.5) / ss, (ys + 0.5) / ss)
    cover = hit.reshape(y1 - y0, ss, x1 - x0, ss).mean(axis=(1, 3))[..., None]
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - cover) + colour * cover


_FORWARD = {"move_left": "move_right", "move_down": "move_up", "rotate_ccw": "rotate_cw",
            "orbit_ccw": "orbit_cw", "shrink": "grow", "slow_down": "speed_up"}


def render_clip(cls: str, frames: int, width: int, height: int,
                rng: np.random.Generator) -> np.ndarray:
    """One clip of class `cls` as uint8 `frames x height x width x 3` RGB."""
    forward = _FORWARD.get(cls, cls)
    size = rng.uniform(0.22, 0.32) * min(width, height)  # target side, pixels
    cx, cy, ang, scl = _trajectory(forward, frames, width, height, size, rng)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5  # pixel centres
    # Background: a grating of two random colours, random orientation and period, panning.
    c1, c2 = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
    g_theta, g_period = rng.uniform(0, math.pi), rng.uniform(8, 24)  # period in pixels
    g_speed = rng.uniform(-0.8, 0.8)  # pixels per frame along the grating normal
    along = xs * math.cos(g_theta) + ys * math.sin(g_theta)
    # Target colour: far enough from both background colours to stay visible.
    colour = rng.uniform(0, 1, 3)
    while min(np.abs(colour - c1).sum(), np.abs(colour - c2).sum()) < 0.6:
        colour = rng.uniform(0, 1, 3)
    shape = _SHAPES[rng.integers(len(_SHAPES))]
    n_dis = int(rng.integers(1, 4))
    dis_xy = rng.uniform(0.1, 0.9, (n_dis, 2)) * (width, height)
    dis_r = rng.uniform(0.05, 0.09, n_dis) * min(width, height)
    dis_col = rng.uniform(0, 1, (n_dis, 3))
    jitter = rng.uniform(-1, 1, (frames, n_dis, 2))  # discs wander up to 1 px per frame
    noise = rng.normal(0, NOISE_SIGMA, (frames, height, width, 3))
    out = np.empty((frames, height, width, 3), dtype=np.uint8)
    for i in range(frames):
        mix = (0.5 + 0.5 * np.sin((along + g_speed * i) * (2 * math.pi / g_period)))[..., None]
        img = c1 * mix + c2 * (1 - mix)
        for j in range(n_dis):  # analytic anti-aliasing: coverage ~ distance to the rim
            dx, dy = dis_xy[j] + jitter[i, j]
            cover = np.clip(dis_r[j] - np.hypot(xs - dx, ys - dy) + 0.5, 0, 1)[..., None]
            img = img * (1 - cover) + dis_col[j] * cover
        ca, sa = math.cos(ang[i]), math.sin(ang[i])
        pts = shape * size * scl[i]
        poly = np.stack([pts[:, 0] * ca - pts[:, 1] * sa + cx[i],
                         pts[:, 0] * sa + pts[:, 1] * ca + cy[i]], axis=1)
        _paint(img, poly, colour)
        out[i] = np.clip((img + noise[i]) * 255 + 0.5, 0, 255).astype(np.uint8)
    return out[::-1].copy() if forward != cls else out
