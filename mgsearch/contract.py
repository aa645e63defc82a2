"""The trial contract: what a trial *is*, agreed by search, training and analysis.

    point = SearchPoint("wu2020", seed=3)              # one point of a search
    cfg = point.apply(base)                            # the Config that trial trains
    schedule, prediction = predict(cfg, clips=4000)    # what it will cost, computed once
    run_name(cfg), trial_run_name(trial_id)            # where its Train run writes

Everything a trial writes and everything analysis reads is named here once: the search point's
keys (`POINT_KEYS`), what a trial predicts (`PREDICTED_KEYS`), every key of a training report
(`REPORT_KEYS`, with units), the files of a run folder (`METRICS_FILE`, `TRIAL_FILE`) and the
rules that name runs. This module imports only the config and the pure schedule code, so search
(`mgsearch.search`), training (`mgsearch.train`) and analysis (`mgsearch.analysis`) can all
import it and none of them imports another for a key or a file name.

The baseline is not a flag: it is the point (or config) whose grid set is `baseline`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .configtypes import NAME_RULE, is_name, to_dict
from .errors import ConfigError

# -- what Tune optimizes ----------------------------------------------------------------------

METRIC, MODE = "val_top1", "max"  # the search's objective (top-1 %, higher is better)
TIME_ATTR = "time_total_s"  # the training clock: ASHA's time, the plots' x-axis

# -- files and names --------------------------------------------------------------------------

METRICS_FILE = "metrics.jsonl"  # a run folder's reports, one JSON object per point (rank 0)
TRIAL_FILE = "trial.json"  # a run folder's record: its point, its Config and its prediction
SEARCH_CONFIG = "search_config.json"  # the Config an experiment started with (resume checks it)
TRIAL_RUNS = "train_runs"  # the experiment subfolder that holds its trials' Train runs
_TRIAL_RUN_PREFIX = "train-"
BASELINE = "baseline"  # the grid set of the fixed-shape baseline


def trial_run_name(trial_id: str) -> str:
    """The Train run of Tune trial `trial_id` (under `<experiment>/train_runs/`): a restored
    trial finds its checkpoints by this name."""
    return f"{_TRIAL_RUN_PREFIX}{trial_id}"


def trial_id_of_run(run: str) -> str | None:
    """The Tune trial id a run folder name belongs to (`trial_run_name`'s inverse), or None."""
    return run[len(_TRIAL_RUN_PREFIX):] if run.startswith(_TRIAL_RUN_PREFIX) else None


def run_name(cfg) -> str:
    """The run name of `mgsearch train`: `<config name>-<grid set>-s<seed>-<config hash>`. The
    same config gets the same name, so a rerun resumes that run's checkpoints; a config that
    would train differently gets another run."""
    return (f"{cfg.name}-{cfg.multigrid.grid_set}-s{cfg.train.seed}-"
            f"{config_hash(cfg)[:8]}")


def check_name(name: str, what: str) -> str:
    """A run or experiment name is a folder name under train.storage_path, never a path."""
    if not is_name(name):
        raise ConfigError(f"{what} = {name!r} {NAME_RULE}")
    return name


def config_hash(cfg) -> str:
    """Hash of what decides a training trajectory (the config's name and where results go
    excluded): checkpoints of another hash are refused, and `run_name` carries it."""
    data = to_dict(cfg)
    data.pop("name", None)
    for key in ("storage_path", "keep_checkpoints"):  # where and how much, not what, is trained
        data.get("train", {}).pop(key, None)
    if data.get("train", {}).get("loss", 0) is None:  # the default: hashes as before it existed
        data["train"].pop("loss")
    if data.get("search", {}).get("bn_base_sizes", 0) is None:  # null: hashes as the old default
        data["search"]["bn_base_sizes"] = [8]
    # Keys added later hash as before they existed while they hold their defaults.
    for section, key, default in _LATER_DEFAULTS:
        if key in data.get(section, {}) and data[section][key] == default:
            data[section].pop(key)
    # "baseline": the flag runs once carried beside the config; kept so their hashes still hold
    blob = json.dumps({"config": data, "baseline": is_baseline(cfg)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


_LATER_DEFAULTS = (("multigrid", "long_cycles", None), ("multigrid", "fine_tune_fraction", None),
                   ("search", "space", None), ("search", "repair", False), ("search", "points", []),
                   ("search", "baseline_repeats", None))


# -- the search point -------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPoint:
    """One point of a search: a grid set (named, custom or `baseline`) and the settings a search
    varies around it. `apply` turns it into the Config its trial trains.

    The schedule parameters (`long_shapes` ... `lr_scaling`) are None where the point keeps what
    its grid set and the base config say, so a point without them trains as points always did;
    see README "The schedule space" for what each one sets."""

    grid_set: str
    epoch_factor: float = 1.0  # multigrid.epoch_factor (the baseline ignores it)
    lr_multiplier: float = 1.0  # times solver.base_lr
    bn_base_size: int = 8  # multigrid.bn_base_size: clips per BatchNorm statistics group
    seed: int = 0  # train.seed
    # The long cycle as parameters (all or none; long_shapes turns them on): long_shapes shapes
    # from the coarsest (long_t, long_s) factors up to (1, 1), spaced geometric or linear.
    long_shapes: Optional[int] = None
    long_t: Optional[float] = None  # null with long_shapes: 1/4 (the paper's coarsest frames)
    long_s: Optional[float] = None  # null with long_shapes: 1/sqrt(2)
    long_spacing: Optional[str] = None  # geometric | linear; null with long_shapes: geometric
    short_cycle: Optional[bool] = None  # on/off; null: the grid set's
    short_s1: Optional[float] = None  # the short cycle's first spatial factor of S; null: grid set's
    short_s2: Optional[float] = None  # ... its second
    long_cycles: Optional[int] = None  # multigrid.long_cycles
    fine_tune_fraction: Optional[float] = None  # multigrid.fine_tune_fraction
    lr_policy: Optional[str] = None  # multigrid.lr_policy
    lr_scaling: Optional[str] = None  # multigrid.lr_scaling
    # What search.repair changed to make the point trainable ("long_t 0.1 -> 0.25; ..."), or
    # None; the fields above hold the repaired values. Not a configuration key.
    repair: Optional[str] = None

    def __post_init__(self) -> None:
        if self.is_baseline:  # a fixed shape has no schedule: a pre-set baseline's are cleared
            for k in _SCHEDULE_KEYS:
                object.__setattr__(self, k, None)

    @property
    def is_baseline(self) -> bool:
        return self.grid_set == BASELINE

    def grid_factors(self, base) -> tuple:
        """(long-cycle factors, short-cycle factors, whether they differ from the grid set's):
        the grid set's factors with this point's schedule parameters applied."""
        from .grids import GRID_SETS, SQRT_HALF, WU2020_SHORT, spaced_long_cycle

        custom = base.search.grid_set(self.grid_set)
        if custom is not None:
            long, short = custom.long_cycle_factors, custom.short_cycle_factors
        elif self.grid_set in GRID_SETS:
            long, short = GRID_SETS[self.grid_set].long_cycle, GRID_SETS[self.grid_set].short_cycle
        else:  # an unknown name: the multigrid section's own check names it
            return None, None, False
        new_long, new_short = long, short
        if self.long_shapes is not None:
            new_long = spaced_long_cycle(
                self.long_shapes, _or(self.long_t, 0.25), _or(self.long_s, SQRT_HALF),
                _or(self.long_spacing, "geometric"))
        elif (self.long_t, self.long_s, self.long_spacing) != (None, None, None):
            raise ConfigError("long_t, long_s and long_spacing need long_shapes (the number of "
                              "long-cycle shapes); set it, or leave all four null")
        on = self.short_cycle if self.short_cycle is not None else (
            short is not None or (self.short_s1, self.short_s2) != (None, None))
        if not on:
            new_short = None
        elif (self.short_cycle, self.short_s1, self.short_s2) != (None, None, None):
            first, second = short or WU2020_SHORT
            new_short = (_or(self.short_s1, first), _or(self.short_s2, second))
        changed = (new_long, new_short) != (long, short)
        return new_long, new_short, changed

    def apply(self, base) -> Any:
        """The Config this point trains: `base` with its multigrid section, LR and seed set. A
        point whose schedule parameters change its grid set's factors trains a `custom` grid
        set of the derived factors; otherwise the grid set itself, as named."""
        try:
            mg = self._multigrid(base)
        except ValueError as err:  # the section's own check: name the section
            raise (err if isinstance(err, ConfigError) else ConfigError(f"multigrid.{err}")) from None
        try:
            return dataclasses.replace(
                base, multigrid=mg,
                solver=dataclasses.replace(base.solver,
                                           base_lr=base.solver.base_lr * self.lr_multiplier),
                train=dataclasses.replace(base.train, seed=self.seed))
        except ValueError as err:  # a check across sections (Config's own)
            raise ConfigError(str(err)) from None

    def _multigrid(self, base):
        mg = dataclasses.replace(base.multigrid, epoch_factor=self.epoch_factor,
                                 bn_base_size=self.bn_base_size)
        if self.is_baseline:
            return dataclasses.replace(mg, grid_set=BASELINE, long_cycle_factors=None,
                                       short_cycle_factors=None)
        long, short, changed = self.grid_factors(base)
        if changed or base.search.grid_set(self.grid_set) is not None:
            mg = dataclasses.replace(mg, grid_set="custom", long_cycle_factors=long,
                                     short_cycle_factors=short)
        else:
            mg = dataclasses.replace(mg, grid_set=self.grid_set, long_cycle_factors=None,
                                     short_cycle_factors=None)
        return dataclasses.replace(mg, **{k: getattr(self, k) for k in _MULTIGRID_KEYS
                                          if getattr(self, k) is not None})

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping, default: "SearchPoint | None" = None) -> "SearchPoint":
        """From a Tune trial config (grid and random searches nest it under "point", Optuna's
        is flat), a report or a table row (numbers may come back as floats or numpy scalars).
        Keys it lacks come from `default` (an error without one, except the schedule parameters,
        which records older than them lack: those are None); a key that is neither a point key
        nor a prediction is refused (a misspelt key of a hand-written param space)."""
        data = data.get("point", data) if isinstance(data.get("point"), Mapping) else data
        given = {k: data[k] for k in POINT_KEYS if not _absent(data.get(k))}
        if default is not None:
            unknown = sorted(set(data) - set(POINT_KEYS) - set(PREDICTED_KEYS))
            if unknown:
                raise ConfigError(f"trial config keys {unknown} are not search point keys "
                                  f"({', '.join(POINT_KEYS)})")
            given = {**default.as_dict(), **given}
        missing = [k for k in _REQUIRED_KEYS if k not in given]
        if missing:
            raise ConfigError(f"a search point needs {', '.join(_REQUIRED_KEYS)}; "
                              f"{', '.join(missing)} missing in {dict(data)}")
        values = {k: _POINT_TYPES[k](given[k]) for k in POINT_KEYS if given.get(k) is not None}
        return cls(**values)

    @classmethod
    def of(cls, cfg) -> "SearchPoint":
        """The point a plain config trains (`mgsearch train`: multipliers of 1)."""
        mg = cfg.multigrid
        return cls(mg.grid_set, mg.epoch_factor, 1.0, mg.bn_base_size, cfg.train.seed)


def listed_points(cfg, seeds: "list[int] | None" = None) -> list[SearchPoint]:
    """`search.points` as SearchPoints, each with every seed of `seeds` (default train.seed): a
    key a listed point leaves out keeps the config's own (multigrid.epoch_factor, LR x 1, the
    first BatchNorm group size of the search)."""
    own = {"epoch_factor": cfg.multigrid.epoch_factor, "bn_base_size": cfg.bn_base_sizes()[0]}
    return [SearchPoint(**{**own, **p.given()}, seed=s) for p in cfg.search.points
            for s in (seeds if seeds is not None else [cfg.train.seed])]


def _or(value, default):
    return default if value is None else value


POINT_KEYS = tuple(f.name for f in dataclasses.fields(SearchPoint))
# what seeds of one config share (a repair note says how a config was reached, not what it is)
CONFIG_KEYS = tuple(k for k in POINT_KEYS if k not in ("seed", "repair"))
_REQUIRED_KEYS = POINT_KEYS[:5]  # a record older than the schedule parameters has these
_SCHEDULE_KEYS = POINT_KEYS[5:-1]  # long_shapes .. lr_scaling
# the point's keys that set the multigrid section's field of the same name
_MULTIGRID_KEYS = ("long_cycles", "fine_tune_fraction", "lr_policy", "lr_scaling")
# each key's scalar type (Optional[int] -> int): what a table's floats are read back as
_POINT_TYPES = {k: next(a for a in typing.get_args(tp) or (tp,) if a is not type(None))
                for k, tp in typing.get_type_hints(SearchPoint).items()}


def baseline_of(cfg) -> Any:
    """`cfg`'s fixed-shape baseline: the same config with `multigrid.grid_set: baseline`."""
    mg = dataclasses.replace(cfg.multigrid, grid_set=BASELINE, long_cycle_factors=None,
                             short_cycle_factors=None)
    return dataclasses.replace(cfg, multigrid=mg)


def is_baseline(cfg) -> bool:
    return cfg.multigrid.grid_set == BASELINE


# -- what a trial predicts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """What a config's schedule predicts against its baseline on the same data and workers."""

    epochs: float  # epoch-equivalents the schedule trains
    iterations: int  # the same on every worker
    compute: float  # in baseline iterations (B*T*S^2 voxels each)
    speedup: float  # the baseline's compute / this schedule's
    train_clips: int  # the training set's size the schedule was built for
    baseline_compute: float  # the baseline's compute, in baseline iterations

    def as_dict(self) -> dict:
        """The report keys (PREDICTED_KEYS)."""
        return {f"predicted_{k}" if k != "train_clips" else k: v
                for k, v in dataclasses.asdict(self).items()}


PREDICTED_KEYS = tuple(Prediction(0, 0, 0, 0, 0, 0).as_dict())


def predict(cfg, clips: int):
    """(`cfg`'s Schedule, its Prediction) for a training set of `clips` clips; raises
    ConfigError for a schedule that cannot be built (a point that cannot fit the data)."""
    from .cost import compare
    from .schedule import build_schedule

    schedule = build_schedule(cfg, clips=clips)
    cmp = compare(schedule, build_schedule(baseline_of(cfg), clips=clips))
    return schedule, Prediction(schedule.max_epoch, cmp.cost.iterations, cmp.cost.compute,
                                cmp.speedup_compute, int(clips), cmp.baseline.compute)


# -- what a trial reports -----------------------------------------------------------------------

# Every key of a training report (mgsearch.train.loop) besides POINT_KEYS and PREDICTED_KEYS,
# in the order analysis shows them. Units: clips are clips of the run's own shape unless said;
# seconds are the run's clock (mgsearch.clock) unless said.
REPORT_KEYS: dict[str, str] = {
    "point": "report point 1..points (fixed fractions of the run's baseline-equivalent clips)",
    "points": "report points of the run",
    "epoch": "epoch-equivalents trained at this point",
    "max_epoch": "epoch-equivalents of the whole run",
    "stage": "schedule stage of the last iteration",
    "phase": "that stage's phase (long cycle, fine-tuning, ...)",
    "shape_t": "frames of that stage's full-batch grid",
    "shape_s": "crop side of that grid, pixels",
    "global_batch": "clips per iteration over all workers at that stage",
    "kind": "multigrid or baseline",
    "lr": "learning rate of the last iteration",
    "train_loss": "mean training loss since the last report",
    "clips_per_s": "training clips per second since the last report, all workers",
    "iterations_chunk": "iterations since the last report",
    "val_top1": "validation top-1 %, at evaluating points",
    "val_top5": "validation top-5 %",
    "val_loss": "validation loss",
    "val_clips": "validation clips evaluated",
    "val_subset": "true: that evaluation ran on the fixed validation subset",
    TIME_ATTR: "the training clock: train + eval + data wait + other, s",
    "time_train_s": "forward/backward/optimizer, s",
    "time_eval_s": "evaluation and BN refresh, s",
    "time_data_wait_s": "waiting for batches, s",
    "time_other_s": "set-up and checkpoints, s",
    "time_this_iter_s": "clock seconds since the last report (Tune sums it into time_total_s)",
    "clips_seen": "training clips so far, all workers",
    "iterations": "training iterations so far",
    "equivalent_clips": "baseline-equivalent clips so far (b*t*s^2 / (T*S^2) each)",
    "budget_fraction": "equivalent_clips / the run's total",
    "baseline_budget_fraction": "equivalent_clips / the baseline's total",
    "train_gflops": "training GFLOPs so far, all workers",
    "ref_step_start_s": "wall seconds of one fixed reference step before training, off-clock",
    "ref_step_end_s": "the same after training, off-clock",
    "worker_start_s": "wall seconds from the driver's start to this worker's entry, off-clock",
    "first_step_s": "wall seconds from the driver's start to the first step, off-clock",
    "precision": "the precision that ran (fp32 or bf16)",
    "node_id": "the Ray node that trained rank 0",
    "num_classes": "classes of the dataset (chance level)",
    "delta": "search.delta: the non-inferiority margin, top-1 points",
}


def check_report(metrics: Mapping) -> dict:
    """`metrics` as a report, refused when it holds a key the schema does not define (a key
    added in training but not here would be invisible to analysis)."""
    unknown = sorted(set(metrics) - set(REPORT_KEYS) - set(POINT_KEYS) - set(PREDICTED_KEYS))
    if unknown:
        raise KeyError(f"report keys {unknown} are not in mgsearch.contract.REPORT_KEYS")
    return dict(metrics)


def trial_record(point: SearchPoint, cfg, prediction: Prediction) -> dict:
    """What a run writes to TRIAL_FILE at its start: enough to rebuild its schedule."""
    return {"point": point.as_dict(), "config": to_dict(cfg), "prediction": prediction.as_dict()}


def started_config(experiment: str):
    """The Config the search at `experiment` (a folder or URI) started with (SEARCH_CONFIG), or
    None when it has none (started before configs were stored) or this version cannot read it."""
    from . import storage
    from .config import config_from_dict

    text = storage.read_text(storage.join(experiment, SEARCH_CONFIG))
    if text is None:
        return None
    try:
        return config_from_dict(json.loads(text), source=SEARCH_CONFIG)
    except (ConfigError, ValueError):
        return None


def schedule_from_record(record: Mapping):
    """The Schedule a run recorded in TRIAL_FILE, rebuilt (None when the record cannot be read
    by this version: results of another engine are drawn from their reports instead)."""
    import warnings

    from .config import config_from_dict
    from .schedule import build_schedule

    try:
        cfg = config_from_dict(dict(record["config"]), source=TRIAL_FILE)
        clips = int(record["prediction"]["train_clips"])
        with warnings.catch_warnings():  # dropped zero-length stages were reported in training
            warnings.simplefilter("ignore")
            return build_schedule(cfg, clips=clips)
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


def _absent(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
