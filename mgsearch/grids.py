"""Grid sets: which coarse sampling grids a multigrid schedule may use.

A grid set is a long cycle (a list of `(t_factor, s_factor)`, each giving a base shape
`t = round(T * t_factor)`, `s = round(S * s_factor)`) and a short cycle (two spatial factors of the
default crop S that each long-cycle shape cycles through before its own). Either may be off.
Factors are fractions of the default shape, so they must lie in (0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .errors import ConfigError

SQRT_HALF = math.sqrt(0.5)

# The paper's defaults (Wu et al., CVPR 2020, Sec. 3 and its public implementation).
WU2020_LONG = ((0.25, SQRT_HALF), (0.5, SQRT_HALF), (0.5, 1.0), (1.0, 1.0))
WU2020_SHORT = (0.5, SQRT_HALF)


@dataclass(frozen=True)
class GridSet:
    name: str
    long_cycle: Optional[tuple[tuple[float, float], ...]]  # None: long cycle off
    short_cycle: Optional[tuple[float, float]]  # None: short cycle off

    @property
    def is_baseline(self) -> bool:
        return self.long_cycle is None and self.short_cycle is None


GRID_SETS: dict[str, GridSet] = {
    g.name: g
    for g in (
        GridSet("wu2020", WU2020_LONG, WU2020_SHORT),
        GridSet("long_only", WU2020_LONG, None),
        GridSet("short_only", None, WU2020_SHORT),
        # One coarse long-cycle shape (half the frames, 1/sqrt(2) the side: 4x the clips), then full.
        GridSet("two_stage", ((0.5, SQRT_HALF), (1.0, 1.0)), None),
        GridSet("baseline", None, None),
    )
}


def _check_factor(value: float, what: str) -> None:
    if not (0 < value <= 1):
        raise ConfigError(f"{what} = {value}: factors are fractions of the default "
                          f"shape and must lie in (0, 1]")


def resolve_grid_set(mg) -> GridSet:
    """The GridSet a MultigridConfig names; raises ConfigError for unknown names or bad factors."""
    if mg.grid_set != "custom":
        if mg.grid_set not in GRID_SETS:
            import difflib

            close = difflib.get_close_matches(mg.grid_set, [*GRID_SETS, "custom"], 1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"multigrid.grid_set = {mg.grid_set!r} is unknown; {hint}"
                              f"known: {', '.join([*GRID_SETS, 'custom'])}")
        if mg.long_cycle_factors is not None or mg.short_cycle_factors is not None:
            raise ConfigError(f"multigrid.grid_set = {mg.grid_set!r} fixes its own factors; "
                              f"set grid_set: custom to give long_cycle_factors/short_cycle_factors")
        return GRID_SETS[mg.grid_set]
    long_cycle = tuple(mg.long_cycle_factors) if mg.long_cycle_factors else None
    short_cycle = tuple(mg.short_cycle_factors) if mg.short_cycle_factors else None
    if long_cycle is None and short_cycle is None:
        raise ConfigError("multigrid.grid_set = 'custom' needs long_cycle_factors and/or "
                          "short_cycle_factors; use grid_set: baseline for a fixed shape")
    for i, (ft, fs) in enumerate(long_cycle or ()):
        _check_factor(ft, f"multigrid.long_cycle_factors[{i}][0]")
        _check_factor(fs, f"multigrid.long_cycle_factors[{i}][1]")
    for i, f in enumerate(short_cycle or ()):
        _check_factor(f, f"multigrid.short_cycle_factors[{i}]")
    return GridSet("custom", long_cycle, short_cycle)


SPACINGS = ("geometric", "linear")


def spaced_long_cycle(shapes: int, t_factor: float, s_factor: float,
                      spacing: str = "geometric") -> tuple[tuple[float, float], ...]:
    """A long cycle of `shapes` shapes from the coarsest `(t_factor, s_factor)` up to the full
    shape `(1, 1)`, which ends every cycle. Between them both factors are spaced `geometric`
    (equal ratios: 3 shapes from 1/4 frames give 1/4, 1/2, 1) or `linear` (equal steps)."""
    if shapes < 2:
        raise ConfigError(f"long_shapes = {shapes}: a long cycle needs >= 2 shapes (the coarsest "
                          f"and the full one); use a fixed shape or the short cycle alone")
    if spacing not in SPACINGS:
        raise ConfigError(f"long_spacing = {spacing!r}: expected one of {', '.join(SPACINGS)}")
    _check_factor(t_factor, "long_t")
    _check_factor(s_factor, "long_s")
    out = []
    for i in range(shapes):
        u = i / (shapes - 1)  # 0 at the coarsest shape, 1 at the full one
        if spacing == "geometric":
            out.append((t_factor ** (1 - u), s_factor ** (1 - u)))
        else:
            out.append((t_factor + (1 - t_factor) * u, s_factor + (1 - s_factor) * u))
    return tuple(out)
