"""Experiment configs: one YAML file per experiment, loaded into typed, frozen dataclasses.

    cfg = load_config("experiments/quickstart.yaml", overrides=["solver.base_lr=0.05"])

Unknown keys, wrong types and impossible values raise `ConfigError` at load time with one line
naming the key, the value, the file (or the `--set` that gave it) and the fix. Nothing reads a
config it could change: sections are frozen; derive new ones with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from .configtypes import NAME_RULE, build, check, coerce, field_types, is_name, _Mismatch
from .errors import ConfigError
from .yamlload import NotYAML, load as load_yaml_text
from .data.config import DatasetConfig
from .space import SpaceConfig


@dataclass(frozen=True)
class ShapeConfig:
    """The default (fine) mini-batch shape: B clips x T frames x S x S pixels."""

    batch: int = 8  # B: clips per iteration summed over all workers (the global batch)
    frames: int = 16  # T: frames per clip at the full shape
    crop: int = 64  # S: side of the square crop, pixels
    sampling_rate: int = 2  # source frames between sampled frames at the full shape

    def __post_init__(self) -> None:
        check(self.batch >= 1, "batch", self.batch, "must be >= 1 clip")
        check(self.frames >= 1, "frames", self.frames, "must be >= 1 frame")
        check(self.crop >= 8, "crop", self.crop, "must be >= 8 pixels")
        check(self.sampling_rate >= 1, "sampling_rate", self.sampling_rate, "must be >= 1")


@dataclass(frozen=True)
class SolverConfig:
    """The fixed-shape solver that multigrid rescales (epochs are baseline epochs)."""

    base_lr: float = 0.1  # LR at the default batch; multigrid scales it by each stage's batch
    # steps: the paper's (restarts with each LR step); cosine: over the whole run's epochs;
    # cosine_per_cycle: restarted at each long cycle, over its iterations (mgsearch.lr_policy)
    policy: Literal["steps", "cosine", "cosine_per_cycle"] = "steps"
    steps: tuple[int, ...] = (0, 20, 30)  # epochs at which each LR step starts; first must be 0
    # relative LR per step (relative steps; cosine_per_cycle: each cycle's peak); null means
    # gamma**i under steps, 1 under cosine_per_cycle
    lrs: Optional[tuple[float, ...]] = None
    gamma: float = 0.1  # LR factor between steps
    max_epoch: int = 40  # baseline epochs; the last step runs from steps[-1] to here
    warmup_epochs: float = 0.0  # linear warm-up length, in (multigrid) epochs
    warmup_start_lr: float = 0.01  # LR at epoch 0 when warming up
    cosine_end_lr: float = 0.0  # final LR of the cosine policy
    optimizer: Literal["sgd", "adamw"] = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = True

    def __post_init__(self) -> None:
        check(self.base_lr > 0, "base_lr", self.base_lr, "must be > 0")
        check(len(self.steps) >= 1 and self.steps[0] == 0, "steps", list(self.steps),
              "must start with 0, e.g. [0, 20, 30]")
        check(all(b > a for a, b in zip(self.steps, self.steps[1:])), "steps", list(self.steps),
              "must increase strictly")
        check(self.max_epoch > self.steps[-1], "max_epoch", self.max_epoch,
              f"must be > the last step ({self.steps[-1]}); the last LR step runs up to max_epoch")
        if self.lrs is not None:
            check(len(self.lrs) >= len(self.steps), "lrs", list(self.lrs),
                  f"needs one relative LR per step ({len(self.steps)})")
            check(all(v > 0 for v in self.lrs), "lrs", list(self.lrs), "values must be > 0")
        check(0 < self.gamma <= 1, "gamma", self.gamma, "must be in (0, 1]")
        check(self.warmup_epochs >= 0, "warmup_epochs", self.warmup_epochs, "must be >= 0")
        check(self.warmup_start_lr >= 0, "warmup_start_lr", self.warmup_start_lr, "must be >= 0")
        check(0 <= self.cosine_end_lr < self.base_lr, "cosine_end_lr", self.cosine_end_lr,
              f"must be in [0, base_lr={self.base_lr})")
        check(self.momentum >= 0, "momentum", self.momentum, "must be >= 0")
        check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "must be >= 0")

    def relative_lr(self, step: int) -> float:
        """The LR multiplier of LR step `step` (before multigrid's batch scaling).

        Under the cosine policy steps only lay out the long cycle; they do not decay the LR.
        Under cosine_per_cycle they give each cycle's peak: `lrs[step]`, or 1 without lrs."""
        if self.policy == "cosine":
            return 1.0
        if self.policy == "cosine_per_cycle":
            return self.lrs[step] if self.lrs is not None else 1.0
        return self.lrs[step] if self.lrs is not None else self.gamma**step


@dataclass(frozen=True)
class MultigridConfig:
    """Which grids run when; see mgsearch.grids for the named sets."""

    grid_set: str = "wu2020"  # wu2020 | long_only | short_only | two_stage | baseline | custom
    # Only with grid_set: custom. Each (t_factor, s_factor) gives a long-cycle base shape.
    long_cycle_factors: Optional[tuple[tuple[float, float], ...]] = None
    short_cycle_factors: Optional[tuple[float, float]] = None  # spatial factors of S, custom only
    epoch_factor: float = 1.5  # total multigrid epochs = max_epoch * epoch_factor
    bn_base_size: int = 8  # clips per BatchNorm statistics group (sub-batch BN)
    # How a stage's LR follows its long-cycle batch b_rel: linear (the paper's, for SGD),
    # sqrt (the usual rule for Adam-type optimizers), or none.
    lr_scaling: Literal["linear", "sqrt", "none"] = "linear"
    # The LR policy of multigrid runs; null: solver.policy. The baseline always keeps
    # solver.policy (the user's fixed-shape recipe), so a multigrid policy can be tried against
    # an unchanged baseline.
    lr_policy: Optional[Literal["steps", "cosine", "cosine_per_cycle"]] = None
    eval_freq: int = 3  # evaluations per long-cycle stage (eval/checkpoint epochs)
    # How stages are sized: iteration (equal iterations per shape in each LR step, no stage
    # lost to rounding; needs the training set's size) or epoch (the public implementation's
    # whole-epoch rounding, bit for bit).
    granularity: Literal["iteration", "epoch"] = "iteration"
    # Long cycles over the run (schedules with a long cycle only); null: one per LR step before
    # the last (the paper's). k splits the epochs before solver.steps[-1] into k equal cycles
    # (as if steps were [0, E/k, ..., E], E = steps[-1]); with n = len(steps) - 1, cycle i runs
    # at the solver's relative LR of step i * n // k and the fine-tuning phase at step n's, so
    # k keeps the solver's LR recipe (k = n: its LRs) and changes only how often shapes repeat.
    long_cycles: Optional[int] = None
    # Share of the run's multigrid epochs (epoch-equivalents) that the fine-tuning phase at the
    # full shape takes, in (0, 1); null: the paper's (the last LR step, shortened by the long
    # cycle's iteration saving).
    fine_tune_fraction: Optional[float] = None

    def __post_init__(self) -> None:
        check(self.epoch_factor > 0, "epoch_factor", self.epoch_factor, "must be > 0")
        check(self.long_cycles is None or self.long_cycles >= 1, "long_cycles", self.long_cycles,
              "must be >= 1 long cycle (or null: one per LR step of solver.steps)")
        check(self.fine_tune_fraction is None or 0 < self.fine_tune_fraction < 1,
              "fine_tune_fraction", self.fine_tune_fraction,
              "must lie in (0, 1): the fine-tuning phase's share of the run (null: the paper's)")
        check(self.bn_base_size >= 1, "bn_base_size", self.bn_base_size, "must be >= 1")
        check(self.eval_freq >= 1, "eval_freq", self.eval_freq, "must be >= 1")
        from .grids import resolve_grid_set  # validates names and factors

        resolve_grid_set(self)


@dataclass(frozen=True)
class ModelConfig:
    """Which network trains; see mgsearch.models for the names."""

    name: str = "resnet3d_small"  # registry name: resnet3d_small, x3d_xs, r3d_18, mc3_18, ...
    weights_path: Optional[str] = None  # local file of initial weights; nothing is downloaded


@dataclass(frozen=True)
class TrainConfig:
    """How one training run is laid out and where it writes."""

    workers: int = 1  # data-parallel workers; 0 runs Ray Train's in-process mode (one process)
    use_gpu: bool = False  # one GPU per worker, NCCL; CPU workers use gloo
    cpus_per_worker: float = 1.0  # Ray CPUs each worker reserves (and torch threads it uses)
    # autocast. auto: bf16 on a GPU and on CPUs with bf16 units (AMX/AVX-512-BF16: 2.6x faster
    # there), fp32 elsewhere (an AVX2 CPU runs bf16 convolutions 6x slower; README "Benchmarks")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = True  # channels_last_3d memory format (faster with bf16 on CPU)
    seed: int = 0  # model init, sampling order and augmentation
    # Points at fixed fractions of the run's baseline-equivalent clips (mgsearch.points), the
    # same fractions for every schedule: report at report_points, evaluate at eval_points of
    # them, checkpoint at checkpoint_points of those. eval_points 0: the epoch-based points of
    # granularity: epoch (eval_period, multigrid.eval_freq).
    eval_points: int = 12
    report_points: int = 24
    checkpoint_points: int = 12
    eval_period: int = 1  # eval_points 0: baseline / short-only runs evaluate every n epochs
    checkpoint_period: int = 1  # ... and checkpoint every this many epochs
    # Training clips whose BatchNorm statistics at the full shape replace the last grid's before
    # each evaluation and checkpoint (precise BN); 0: the merged sub-batch statistics. 200 costs
    # 1.2 s per evaluation at 8x48² on one thread (~6 ms a clip; bench/precise_bn.py).
    precise_bn_clips: int = 200
    # Validation clips of every evaluation but the last (a fixed class-balanced subset, the same
    # in every trial: mgsearch.data.loaders.balanced_subset); the last evaluation uses the full
    # set. 0: every evaluation uses the full set. More than the validation set holds is refused
    # (before Ray starts) rather than silently read as the full set.
    eval_subset_clips: int = 0
    # Clips per evaluation and precise-BN batch on each worker; 0: 4x the per-worker training
    # batch (a forward without gradients keeps no activations, so it fits where training does,
    # and larger batches use the cores better: README "Benchmarks").
    eval_batch: int = 0
    # Time a fixed reference training step (a private copy of the model at the full shape) before
    # training and after it, off the clock (mgsearch.train.refstep): equal-conditions check.
    ref_step: bool = True
    loss: Optional[str] = None  # "package.module:callable", loss(logits, labels) -> scalar; null: CE
    max_failures: int = 0  # worker-group restarts Ray Train may do, resuming from a checkpoint
    # Checkpoints a run keeps: the newest keep_checkpoints, plus the one of the best val_top1
    # (each holds model + optimizer state: ~11 MB for resnet3d_small with AdamW)
    keep_checkpoints: int = 2
    storage_path: str = "results"  # run folders go here (a local path or a URI Ray accepts)

    def __post_init__(self) -> None:
        check(self.workers >= 0, "workers", self.workers, "must be >= 0 (0: in-process)")
        check(self.seed >= 0, "seed", self.seed, "must be >= 0 (the first of the seeds a search "
              "uses: seed, seed+1, ...)")
        check(self.storage_path.strip() != "", "storage_path", self.storage_path,
              "must name the results folder (e.g. results) or a URI; '' would write into the "
              "working directory")
        check(self.cpus_per_worker > 0, "cpus_per_worker", self.cpus_per_worker, "must be > 0")
        check(self.eval_period >= 1, "eval_period", self.eval_period, "must be >= 1")
        check(self.checkpoint_period >= 1, "checkpoint_period", self.checkpoint_period,
              "must be >= 1")
        check(self.precise_bn_clips >= 0, "precise_bn_clips", self.precise_bn_clips,
              "must be >= 0 training clips (0: off)")
        check(self.eval_subset_clips >= 0, "eval_subset_clips", self.eval_subset_clips,
              "must be >= 0 validation clips (0: every evaluation uses the full set)")
        check(self.eval_batch >= 0, "eval_batch", self.eval_batch,
              "must be >= 1 clips (or 0: 4x the per-worker training batch)")
        check(self.eval_points >= 0, "eval_points", self.eval_points,
              "must be >= 1 (or 0: the epoch-based points of granularity: epoch)")
        if self.eval_points:
            check(self.report_points >= 1 and self.report_points % self.eval_points == 0,
                  "report_points", self.report_points,
                  f"must be a multiple of eval_points ({self.eval_points}): evaluations are reports")
            check(self.checkpoint_points >= 1 and self.eval_points % self.checkpoint_points == 0,
                  "checkpoint_points", self.checkpoint_points,
                  f"must divide eval_points ({self.eval_points}): checkpoints sit at evaluations")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", self.keep_checkpoints,
              "must be >= 1 (the newest is what a restart resumes from)")
        check(self.max_failures >= -1, "max_failures", self.max_failures,
              "must be >= 0 (or -1: retry forever)")
        check(not (self.precision == "fp16" and not self.use_gpu), "precision", self.precision,
              "fp16 autocast needs use_gpu: true; use bf16 on CPU")

    @property
    def world_size(self) -> int:
        """Processes that split the global batch (in-process mode is one)."""
        return max(self.workers, 1)


@dataclass(frozen=True)
class CustomGridSet:
    """A grid set of the user's, named so a search can list it beside the named ones."""

    name: str
    long_cycle_factors: Optional[tuple[tuple[float, float], ...]] = None
    short_cycle_factors: Optional[tuple[float, float]] = None

    def multigrid(self, base: MultigridConfig) -> MultigridConfig:
        return dataclasses.replace(base, grid_set="custom",
                                   long_cycle_factors=self.long_cycle_factors,
                                   short_cycle_factors=self.short_cycle_factors)


@dataclass(frozen=True)
class SearchConfig:
    """What `mgsearch search` tries: every listed value crossed, each with `repeats` seeds."""

    name: Optional[str] = None  # experiment folder under train.storage_path; null: config name
    grid_sets: tuple[str, ...] = ("wu2020", "long_only", "short_only")  # named or from `custom`
    custom: tuple[CustomGridSet, ...] = ()
    epoch_factors: tuple[float, ...] = (1.5,)
    lr_multipliers: tuple[float, ...] = (1.0,)  # times solver.base_lr
    # multigrid trials' BatchNorm group sizes; null: multigrid.bn_base_size alone (one authority:
    # set either key, not both). The baseline takes the first (Config.bn_base_sizes).
    bn_base_sizes: Optional[tuple[int, ...]] = None
    repeats: int = 2  # seeds train.seed, train.seed+1, ... for every point
    baseline: bool = True  # the fixed-shape baseline runs with the same seeds
    # the baseline's seeds (train.seed ...); null: `repeats`. A search of one seed per schedule
    # still wants a reference of several seeds (its target is their mean)
    baseline_repeats: Optional[int] = None
    algorithm: Literal["grid", "random", "optuna"] = "grid"
    num_samples: int = 1  # random/optuna: trials to sample (grid: every point once)
    multi_objective: bool = False  # optuna only: maximize val_top1 and minimize time_total_s
    scheduler: Literal["fifo", "asha"] = "fifo"
    grace_period_s: float = 60.0  # ASHA: training-clock seconds before a trial can be stopped
    reduction_factor: float = 3.0  # ASHA
    time_budget_s: Optional[float] = None  # stop the whole search after this wall-clock
    max_concurrent_trials: int = 0  # 0: as many as the cluster's CPUs/GPUs hold
    # Non-inferiority margin, top-1 accuracy points: a configuration matches the baseline when
    # the lower 95% bound of (its mean final top-1 - the baseline's) is >= -delta; the
    # time-to-target target is the baseline's mean final top-1 - delta (mgsearch.analysis).
    delta: float = 1.0
    # The schedule space (mgsearch.space, README "The schedule space"): a distribution per
    # search point key; null: the lists above, crossed.
    space: Optional[SpaceConfig] = None
    # Listed points (a search's finalists, a found schedule): one plain value per SearchPoint
    # key; a key left out keeps the config's own (multigrid.epoch_factor, LR x 1, the first BN
    # group size). Grid search runs each listed point with `repeats` seeds; empty: the lists.
    points: tuple[SpaceConfig, ...] = ()
    # A point whose shapes the model cannot take: false refuses it before any trial; true
    # clamps its coarsest factors to the model's smallest input and records the repair.
    repair: bool = False

    def __post_init__(self) -> None:
        check(self.delta >= 0, "delta", self.delta,
              "must be >= 0 accuracy points below the baseline, e.g. 1.0")
        check(len(self.grid_sets) >= 1 or self.baseline, "grid_sets", list(self.grid_sets),
              "list at least one grid set (or keep baseline: true)")
        check(self.repeats >= 1, "repeats", self.repeats, "must be >= 1 seed per point")
        check(self.baseline_repeats is None or self.baseline_repeats >= 1, "baseline_repeats",
              self.baseline_repeats, "must be >= 1 seed (or null: repeats)")
        check(self.num_samples >= 1, "num_samples", self.num_samples, "must be >= 1")
        check(self.grace_period_s > 0, "grace_period_s", self.grace_period_s, "must be > 0")
        check(self.reduction_factor > 1, "reduction_factor", self.reduction_factor, "must be > 1")
        check(self.max_concurrent_trials >= 0, "max_concurrent_trials",
              self.max_concurrent_trials, "must be >= 0 (0: derived from the cluster)")
        check(all(f > 0 for f in self.epoch_factors) and self.epoch_factors, "epoch_factors",
              list(self.epoch_factors), "need values > 0")
        check(all(m > 0 for m in self.lr_multipliers) and self.lr_multipliers, "lr_multipliers",
              list(self.lr_multipliers), "need values > 0")
        if self.bn_base_sizes is not None:
            check(all(b >= 1 for b in self.bn_base_sizes) and self.bn_base_sizes,
                  "bn_base_sizes", list(self.bn_base_sizes),
                  "need values >= 1 (or null: multigrid.bn_base_size)")
        check(self.time_budget_s is None or self.time_budget_s > 0, "time_budget_s",
              self.time_budget_s, "must be > 0 seconds (or null: no budget)")
        check(self.name is None or is_name(self.name), "name", self.name, NAME_RULE)
        names = [c.name for c in self.custom]
        from .grids import GRID_SETS

        for g in self.grid_sets:
            check(g in GRID_SETS or g in names, "grid_sets", g,
                  f"is neither a named set ({', '.join(GRID_SETS)}) nor in search.custom "
                  f"({', '.join(names) or 'empty'})")
        check(not (self.multi_objective and self.algorithm != "optuna"), "multi_objective",
              self.multi_objective, "needs algorithm: optuna (Tune's other searchers take one metric)")
        check(not (self.multi_objective and self.scheduler == "asha"), "scheduler", self.scheduler,
              "ASHA ranks trials by one metric and cannot serve a multi-objective search; "
              "use scheduler: fifo")

        for c in self.custom:  # a bad custom set fails at load time, before any trial
            c.multigrid(MultigridConfig())
        if self.space is not None:
            from .space import grid_values

            if self.algorithm == "grid":  # every value must be enumerable
                for key, value in self.space.given().items():
                    grid_values(key, value)
            sets = self.space.grid_set
            for g in (grid_values("grid_set", sets) if sets is not None else ()):
                check(g in GRID_SETS and g != "baseline" or g in names, "space.grid_set", g,
                      f"is neither a named set ({', '.join(k for k in GRID_SETS if k != 'baseline')}) "
                      f"nor in search.custom ({', '.join(names) or 'empty'}); the baseline "
                      f"joins by itself (search.baseline)")

        if self.points:
            from .space import Dist, show

            check(self.algorithm == "grid", "algorithm", self.algorithm,
                  "search.points lists the points to run: use algorithm: grid (or sample a "
                  "search.space with random/optuna)")
            check(self.space is None, "points", "[...]",
                  "give search.points or search.space, not both")
            for i, pt in enumerate(self.points):
                given = pt.given()
                for key, value in given.items():
                    check(not isinstance(value, Dist), f"points[{i}].{key}", show(value),
                          "a listed point takes plain values; distributions go in search.space")
                g = given.get("grid_set")
                check(g is not None, f"points[{i}]", given,
                      "needs a grid_set (a named set or a search.custom name)")
                check(g in GRID_SETS and g != "baseline" or g in names, f"points[{i}].grid_set",
                      g, f"is neither a named set ({', '.join(k for k in GRID_SETS if k != 'baseline')}) "
                         f"nor in search.custom ({', '.join(names) or 'empty'}); the baseline "
                         f"joins by itself (search.baseline)")

    def grid_set(self, name: str) -> Optional[CustomGridSet]:
        return next((c for c in self.custom if c.name == name), None)


@dataclass(frozen=True)
class Config:
    """One experiment. Every section has defaults; a YAML file sets what differs."""

    name: str = "experiment"
    shape: ShapeConfig = field(default_factory=ShapeConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    multigrid: MultigridConfig = field(default_factory=MultigridConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)

    def __post_init__(self) -> None:
        check(is_name(self.name), "name", self.name, NAME_RULE)
        check(self.train.eval_points > 0 or self.multigrid.granularity == "epoch",
              "train.eval_points", self.train.eval_points,
              "0 (points per epoch) needs multigrid.granularity: epoch; set eval_points >= 1")
        check(self.shape.batch % self.train.world_size == 0, "shape.batch", self.shape.batch,
              f"must be divisible by train.workers={self.train.workers}; "
              f"pick a batch that is a multiple of the worker count")

    def bn_base_sizes(self) -> tuple[int, ...]:
        """The BatchNorm group sizes a search's multigrid points take: search.bn_base_sizes, or
        multigrid.bn_base_size when that is null. Its first is the baseline points'."""
        return self.search.bn_base_sizes or (self.multigrid.bn_base_size,)


# The config's file paths (section, key): made absolute for trials, relative again in files written
# for the user (mgsearch.analysis.answer).
PATH_FIELDS = (("dataset", "root"), ("dataset", "cache_dir"), ("dataset", "annotations"),
               ("model", "weights_path"), ("train", "storage_path"))


def with_absolute_paths(cfg: Config, base: str | Path | None = None) -> Config:
    """`cfg` with relative file paths made absolute against `base` (default: the cwd).

    The driver calls this before starting trials or workers: Tune runs each trial in its own
    folder, so a path relative to where the user typed the command would point elsewhere."""
    import os

    base = Path(base or os.getcwd())

    def fix(p: Optional[str]) -> Optional[str]:
        if p is None or "://" in p or os.path.isabs(p):
            return p
        return str((base / os.path.expanduser(p)).resolve())

    sections = {}
    for section, key in PATH_FIELDS:
        part = sections.get(section, getattr(cfg, section))
        sections[section] = dataclasses.replace(part, **{key: fix(getattr(part, key))})
    return dataclasses.replace(cfg, **sections)


def _split_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. --set solver.base_lr=0.05")
    key, raw = text.split("=", 1)
    try:
        value = load_yaml_text(raw, f"--set {text}") if raw.strip() else ""
    except NotYAML:
        value = raw  # e.g. `--set name=a: b`: not YAML, so the plain string
    return key.strip().split("."), value


def apply_overrides(data: dict, overrides: list[str] | tuple[str, ...], cls: type = Config) -> dict:
    """Return a copy of raw config `data` with `key.path=value` overrides applied and type-checked."""
    data = _deepcopy(data)
    for text in overrides:
        path, value = _split_override(text)
        node, tp = data, cls
        for depth, part in enumerate(path):
            hints = field_types(tp) if dataclasses.is_dataclass(tp) else {}
            if part not in hints:
                known = ", ".join(hints) or "(none: this key holds a value)"
                raise ConfigError(f"--set {text}: unknown key '{'.'.join(path[:depth + 1])}'; "
                                  f"known keys here: {known}")
            tp = hints[part]
            if depth < len(path) - 1:
                tp = _dataclass_in(tp) or tp
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"--set {text}: '{part}' is not a section")
        try:
            coerce(value, tp, ".".join(path))
        except _Mismatch as err:
            raise ConfigError(f"--set {text}: {'.'.join(path)} = {value!r}: {err}") from None
        except ConfigError as err:
            raise ConfigError(f"--set {text}: {err}") from None
        node[path[-1]] = value
    return data


def _dataclass_in(tp: Any) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp
    for arg in getattr(tp, "__args__", ()):
        if dataclasses.is_dataclass(arg):
            return arg
    return None


def _deepcopy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deepcopy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deepcopy(v) for v in data]
    return data


def read_yaml(path: str | Path, unique_keys: bool = True) -> dict:
    """Raw mapping from a YAML file, with errors that name the file (see mgsearch.yamlload)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found; pass an existing YAML file, "
                          f"e.g. experiments/quickstart.yaml")
    data = load_yaml_text(path.read_text(), str(path), unique_keys)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, "
                          f"not {type(data).__name__}")
    return data


def _one_bn_authority(data: dict) -> None:
    """Refuse raw data that sets multigrid.bn_base_size and search.bn_base_sizes apart."""
    mg, sc = data.get("multigrid"), data.get("search")
    if not (isinstance(mg, dict) and isinstance(sc, dict)):
        return
    one, many = mg.get("bn_base_size"), sc.get("bn_base_sizes")
    if one is None or many is None or many == [one]:
        return
    raise ConfigError(f"multigrid.bn_base_size = {one!r} and search.bn_base_sizes = {many!r} "
                      f"disagree; set one of them: multigrid.bn_base_size for every run, or "
                      f"search.bn_base_sizes for the values a search tries")


def source_label(source: str, overrides=()) -> str:
    """Where a config came from, as its errors name it: the file and any --set overrides."""
    return f"{source} (with --set {' '.join(overrides)})" if overrides else str(source)


def config_from_dict(data: dict, source: str = "<dict>", overrides=()) -> Config:
    """Build a Config from raw data plus overrides; ConfigError names `source`."""
    return _build(apply_overrides(data, overrides), source_label(source, overrides))


def _build(data: dict, label: str, written: bool = False) -> Config:
    """`written`: data a user wrote (a file and its --set), whose keys tell what was set;
    a Config's own record (to_dict: every key) is not checked for that."""
    try:
        if written:
            _one_bn_authority(data)
        return build(Config, data)
    except ConfigError as err:
        raise ConfigError(f"{label}: {err}") from None


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load `path` (YAML) with `key=value` overrides into a validated, frozen Config."""
    data = apply_overrides(read_yaml(path), tuple(overrides))
    return _build(data, source_label(str(path), tuple(overrides)), written=True)
