"""The schedule search space: `search.space`, one distribution per search point key.

    search:
      algorithm: optuna
      space:
        long_shapes: {randint: [2, 4]}             # integers 2..4, both ends included
        long_t: {loguniform: [0.125, 0.5]}         # the coarsest shape's frames, factor of T
        long_spacing: {choice: [geometric, linear]}
        short_cycle: true                          # a plain value: every point has it

A key's value is a plain value or one distribution: `{choice: [a, b, ...]}`, `{uniform: [lo,
hi]}`, `{loguniform: [lo, hi]}` (0 < lo) or `{randint: [lo, hi]}` (both ends included: Tune's
`randint(lo, hi + 1)`). Keys are `mgsearch.contract.SearchPoint`'s (README "The schedule
space" says what each sets); a key left out keeps the point's default, except `grid_set`,
`epoch_factor`, `lr_multiplier` and `bn_base_size`, which default to a choice of
`search.grid_sets`, `epoch_factors`, `lr_multipliers` and `bn_base_sizes`. Seeds are
`search.repeats`, as in every search.

Grid search enumerates the space (choices and integer ranges); random search and Optuna sample
it, and before any trial the space's corners (every combination of each key's extremes) are
built and checked (`corner_points`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional, Union

from .configtypes import check
from .errors import ConfigError

KINDS = ("choice", "uniform", "loguniform", "randint")


@dataclass(frozen=True)
class Dist:
    """One distribution; exactly one field is set (SpaceConfig checks)."""

    choice: Optional[tuple[Any, ...]] = None  # one of these plain values
    uniform: Optional[tuple[float, float]] = None  # [lo, hi], lo < hi
    loguniform: Optional[tuple[float, float]] = None  # [lo, hi], 0 < lo < hi, uniform in log
    randint: Optional[tuple[int, int]] = None  # the integers lo..hi, both included

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def args(self) -> tuple:
        return getattr(self, self.kind)


Value = Optional[Union[Dist, bool, int, float, str]]


@dataclass(frozen=True)
class SpaceConfig:
    """What a schedule search varies; null keys are not varied (see the module doc)."""

    grid_set: Value = None  # named or search.custom set; null: a choice of search.grid_sets
    epoch_factor: Value = None  # null: a choice of search.epoch_factors
    lr_multiplier: Value = None  # null: a choice of search.lr_multipliers
    bn_base_size: Value = None  # null: a choice of search.bn_base_sizes
    long_shapes: Value = None  # long-cycle shapes, >= 2 (the last is the full shape)
    long_t: Value = None  # the coarsest shape's frames, a factor of T in (0, 1]
    long_s: Value = None  # the coarsest shape's side, a factor of S in (0, 1]
    long_spacing: Value = None  # geometric | linear
    short_cycle: Value = None  # true | false
    short_s1: Value = None  # the short cycle's first spatial factor of S, in (0, 1]
    short_s2: Value = None  # its second
    long_cycles: Value = None  # long cycles over the run, >= 1 (multigrid.long_cycles)
    fine_tune_fraction: Value = None  # the fine-tuning phase's share of the run, in (0, 1)
    lr_policy: Value = None  # steps | cosine | cosine_per_cycle
    lr_scaling: Value = None  # linear | sqrt | none

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                _check_value(f.name, value)

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def _factor(v) -> bool:
    return 0 < v <= 1


_FACTOR = "a factor of the default shape must lie in (0, 1]"
# key: (type of its values, test, what the test needs)
_RULES: dict[str, tuple[type, Any, str]] = {
    "grid_set": (str, lambda v: True, ""),  # the names are checked by SearchConfig
    "epoch_factor": (float, lambda v: v > 0, "must be > 0"),
    "lr_multiplier": (float, lambda v: v > 0, "must be > 0"),
    "bn_base_size": (int, lambda v: v >= 1, "must be >= 1 clip"),
    "long_shapes": (int, lambda v: v >= 2, "must be >= 2 shapes (the coarsest and the full)"),
    "long_t": (float, _factor, _FACTOR),
    "long_s": (float, _factor, _FACTOR),
    "long_spacing": (str, lambda v: v in ("geometric", "linear"), "must be geometric or linear"),
    "short_cycle": (bool, lambda v: True, ""),
    "short_s1": (float, _factor, _FACTOR),
    "short_s2": (float, _factor, _FACTOR),
    "long_cycles": (int, lambda v: v >= 1, "must be >= 1 long cycle"),
    "fine_tune_fraction": (float, lambda v: 0 < v < 1, "must lie in (0, 1)"),
    "lr_policy": (str, lambda v: v in ("steps", "cosine", "cosine_per_cycle"),
                  "must be steps, cosine or cosine_per_cycle"),
    "lr_scaling": (str, lambda v: v in ("linear", "sqrt", "none"),
                   "must be linear, sqrt or none"),
}


class _Shown(str):
    """A space value as the YAML that gives it; its repr is unquoted (for `check`'s message)."""

    def __repr__(self) -> str:
        return str(self)


def show(value) -> str:
    """A space value as the YAML that gives it (`{uniform: [0.1, 0.5]}`)."""
    if isinstance(value, Dist):
        parts = [f"{k}: [{', '.join(str(a) for a in getattr(value, k))}]"
                 for k in KINDS if getattr(value, k) is not None]
        return _Shown("{" + ", ".join(parts) + "}")
    return _Shown(repr(value))


def _is_type(v, tp: type) -> bool:
    if tp is bool or isinstance(v, bool):
        return tp is bool and isinstance(v, bool)
    if tp is float:
        return isinstance(v, (int, float)) and math.isfinite(v)
    return isinstance(v, tp)


def _check_value(key: str, value) -> None:
    """Raise the section's ValueError (`key = value: need`) for a bad spec."""
    tp, ok, need = _RULES[key]
    shown = show(value)
    if not isinstance(value, Dist):
        check(_is_type(value, tp), key, value, f"expected {tp.__name__}")
        check(ok(value), key, value, need)
        return
    given = [k for k in KINDS if getattr(value, k) is not None]
    if len(given) != 1:
        raise ValueError(f"{key} = {shown}: give exactly one distribution of "
                         f"{', '.join(KINDS)}, e.g. {{uniform: [0.25, 0.5]}}")
    kind, args = value.kind, value.args
    if kind == "choice":
        check(len(args) >= 1, key, shown, "a choice needs >= 1 value")
        for v in args:
            if isinstance(v, (list, tuple, dict)):
                raise ValueError(f"{key} = {shown}: choices are plain values; give an explicit "
                                 f"factor list as a search.custom grid set and choose its name "
                                 f"in grid_set")
            check(_is_type(v, tp), key, shown, f"every choice must be a {tp.__name__} ({v!r} is not)")
            check(ok(v), key, shown, f"{need} ({v!r} does not)")
        return
    lo, hi = args
    want = int if kind == "randint" else float
    if tp is not want:
        use = {int: "randint", float: "uniform or loguniform"}.get(tp, "a choice")
        raise ValueError(f"{key} = {shown}: {kind} draws {want.__name__}s but {key} takes "
                         f"{tp.__name__} values; use {use}")
    if kind == "randint":
        check(lo <= hi, key, shown, f"lo > hi ({lo} > {hi}); write [lo, hi], both included")
    else:
        check(lo < hi, key, shown, f"needs lo < hi ({lo} >= {hi}); for one value write it plainly")
    if kind == "loguniform":
        check(lo > 0, key, shown, "loguniform needs lo > 0")
    check(ok(lo) and ok(hi), key, shown, f"{need} (both ends)")


# -- the space of a config -------------------------------------------------------------------------


def space_of(cfg) -> dict[str, Any]:
    """The keys `cfg`'s search varies and their values (plain or Dist), seeds excluded: the
    space's own keys, and for the four list keys the lists when the space leaves them out."""
    sc = cfg.search
    lists = {"grid_set": sc.grid_sets, "epoch_factor": sc.epoch_factors,
             "lr_multiplier": sc.lr_multipliers, "bn_base_size": cfg.bn_base_sizes()}
    out = {k: (v[0] if len(v) == 1 else Dist(choice=tuple(v))) for k, v in lists.items()}
    return {**out, **(sc.space.given() if sc.space is not None else {})}


def grid_values(key: str, value) -> list:
    """Every value of `key` a grid search runs."""
    if not isinstance(value, Dist):
        return [value]
    if value.kind == "choice":
        return list(value.args)
    if value.kind == "randint":
        return list(range(value.args[0], value.args[1] + 1))
    raise ValueError(f"space.{key} = {show(value)}: algorithm: grid runs every value, so it "
                     f"takes choices, integer ranges and plain values; sample {value.kind} "
                     f"with algorithm: random or optuna")


def extremes(value) -> list:
    """The values a corner of the space takes for one key: every choice, or both ends."""
    if not isinstance(value, Dist):
        return [value]
    return list(value.args) if value.kind == "choice" else list(dict.fromkeys(value.args))


# keys that change neither a schedule's shapes nor its stage sizes: corners take one value
_LR_ONLY = ("lr_multiplier", "lr_policy", "lr_scaling")
MAX_CORNERS = 4096  # corners checked before a search; more is refused (each builds a schedule)


def grid_points(cfg, seeds: list[int]) -> list:
    """Every point of a grid search over the space (without the baseline)."""
    from .contract import SearchPoint

    space = space_of(cfg)
    keys = list(space)
    values = [grid_values(k, space[k]) for k in keys]
    return [SearchPoint(**dict(zip(keys, combo)), seed=s)
            for combo in itertools.product(*values) for s in seeds]


def corner_points(cfg) -> list:
    """The space's corners: every combination of each key's extremes (keys that only set the
    LR at their first value), seed train.seed. Refused beyond MAX_CORNERS."""
    from .contract import SearchPoint

    space = space_of(cfg)
    keys = list(space)
    values = [extremes(space[k])[:1] if k in _LR_ONLY else extremes(space[k]) for k in keys]
    n = math.prod(len(v) for v in values)
    if n > MAX_CORNERS:
        raise ConfigError(f"search.space has {n} corners (every combination of each key's "
                          f"extremes) to check before trials, more than {MAX_CORNERS}; vary "
                          f"fewer keys or give fewer choices")
    seen = dict.fromkeys(SearchPoint(**dict(zip(keys, c)), seed=cfg.train.seed)
                         for c in itertools.product(*values))
    return list(seen)


def tune_domain(value, flat: bool):
    """A space value as Tune's: a distribution as its domain; a plain value as itself, or as a
    one-value choice in a flat (Optuna) space, which drops plain values."""
    from ray import tune

    if not isinstance(value, Dist):
        return tune.choice([value]) if flat else value
    lo, *rest = value.args
    if value.kind == "choice":
        return tune.choice(list(value.args))
    if value.kind == "randint":
        return tune.randint(lo, rest[0] + 1)  # Tune's upper end is excluded
    return getattr(tune, value.kind)(lo, rest[0])


def start_values(cfg) -> dict[str, Any]:
    """A value inside the space for every key (the first choice, the lower end): what a pre-set
    point (the baseline's, which ignores the schedule keys) gives Optuna for a key it lacks."""
    return {k: extremes(v)[0] for k, v in space_of(cfg).items()}


def tune_space(cfg, seeds: list[int], flat: bool) -> dict:
    """The Tune param space of `cfg.search.space` over point keys: flat for Optuna."""
    from ray import tune

    space = {k: tune_domain(v, flat) for k, v in space_of(cfg).items()}
    space["seed"] = tune.choice(seeds)
    return space
