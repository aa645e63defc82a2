"""Can a point's schedule run on the config's model? Checked before any trial, and repaired
where `search.repair: true` asks.

    shapes = ModelShapes(cfg)                  # the model, built once, probed per grid
    point = settle(point, cfg, shapes)         # the point, or its repair; else ConfigError

A grid is probed with a 1-clip forward (`mgsearch.models.check_input_shape`'s test, exact for
any architecture). Probes are cached and read as monotone: a grid at least as large as one that
works works, one at most as large as one that fails fails. A repair raises the point's coarsest
factors (`long_t`, `long_s`, `short_s1`, `short_s2`) to the model's smallest input (its fewest
frames at the full crop, its smallest crop at the full frames) and says so in `point.repair`.
"""

from __future__ import annotations

import dataclasses

from .errors import ConfigError


class ModelShapes:
    """Which t x s^2 clips `cfg.model` takes (torch; the model is built on first use)."""

    def __init__(self, cfg):
        self.cfg, self._net = cfg, None
        self._ok: list[tuple[int, int]] = []
        self._bad: dict[tuple[int, int], str] = {}

    def error(self, t: int, s: int) -> str | None:
        """None if the model takes 1 x 3 x t x s x s, else the first line of its error."""
        if any(t >= a and s >= b for a, b in self._ok):
            return None
        for (a, b), err in self._bad.items():
            if t <= a and s <= b:
                return err
        from .models.shapes import input_error

        err = input_error(self._model(), t, s)
        if err is None:
            self._ok.append((t, s))
        else:
            self._bad[(t, s)] = err
        return err

    def minimum(self) -> tuple[int, int]:
        """(fewest frames at the full crop, smallest crop at the full frames) the model takes."""
        T, S = self.cfg.shape.frames, self.cfg.shape.crop
        return (_lowest(lambda t: self.error(t, S) is None, 1, T),
                _lowest(lambda s: self.error(T, s) is None, 8, S))

    def _model(self):
        if self._net is None:
            from .models import build_model

            self._net = build_model(self.cfg.model.name, num_classes=2)
        return self._net


def _lowest(works, lo: int, hi: int) -> int:
    """The smallest value in [lo, hi] that works (hi when none below it does)."""
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid + 1, hi)
    return hi


def check_grids(point, base, shapes: ModelShapes) -> None:
    """Refuse `point` when its schedule's shapes cannot be built or the model cannot take one
    of its grids (one line: the grid, the model's error, the fix)."""
    from .allocation import schedule_grids

    cfg = point.apply(base)
    for g in schedule_grids(cfg):
        err = shapes.error(g.t, g.s)
        if err is not None:
            raise ConfigError(
                f"model {cfg.model.name!r} cannot take {g.t} frames x {g.s}x{g.s} px (a grid of "
                f"this schedule): {err}; raise the coarsest factors, or set search.repair: true "
                f"to clamp them to the model's smallest input")


def repaired(point, base, shapes: ModelShapes):
    """`point` with its coarsest factors raised to the model's smallest input and the change in
    `repair`; None when nothing the repair may change is below it."""
    from .grids import SQRT_HALF

    t_min, s_min = shapes.minimum()
    T, S = base.shape.frames, base.shape.crop
    _, short, _ = point.grid_factors(base)
    changes: dict[str, tuple[float, float]] = {}
    if point.long_shapes is not None:
        for key, default, n, least in (("long_t", 0.25, T, t_min), ("long_s", SQRT_HALF, S, s_min)):
            f = getattr(point, key) if getattr(point, key) is not None else default
            if round(n * f) < least:
                changes[key] = (f, least / n)
    for i, f in enumerate(short or ()):
        if round(S * f) < s_min:
            changes[f"short_s{i + 1}"] = (f, s_min / S)
    if not changes:
        return None
    note = ", ".join(f"{k} {a:.4g} -> {b:.4g}" for k, (a, b) in changes.items())
    note += f" ({base.model.name} takes >= {t_min} frames, >= {s_min} px)"
    return dataclasses.replace(point, **{k: b for k, (a, b) in changes.items()}, repair=note)


def settle(point, base, shapes: ModelShapes):
    """`point` if its grids are fine; its repair when `search.repair` is on and that fixes it;
    otherwise the ConfigError that names what fails."""
    try:
        check_grids(point, base, shapes)
        return point
    except ConfigError as err:
        fixed = repaired(point, base, shapes) if base.search.repair else None
        if fixed is None:
            raise
        try:
            check_grids(fixed, base, shapes)
        except ConfigError as again:
            raise ConfigError(f"{err}; the repair ({fixed.repair}) was not enough: {again}") from None
        return fixed
