"""Multigrid schedules as immutable data, computed once by pure functions (no torch).

    sched = build_schedule(cfg, clips=4000)                 # the config's grid set
    base = build_schedule(baseline_of(cfg), clips=4000)    # the fixed-shape baseline, same type

A `Schedule` is a list of `Stage`s. A stage holds one long-cycle base shape `(b_rel, t, s)`, one
LR multiplier, the grids the short-cycle sampler cycles through (in sampler order, the stage's
own shape last) and, once the number of training clips is known, its iterations. Training reads
it; nothing writes to it.

`multigrid.granularity` decides how stages are sized (mgsearch.allocation): `epoch` rounds them
to whole epochs exactly as the paper's public implementation does (the only mode that can be
built without `clips`); `iteration` (the default) gives every long-cycle shape of an LR step the
same number of iterations and never loses a stage to rounding. Iterations depend on the dataset
size and the worker count, so `clips` (training clips, the dataset's size) is part of the input.
Evaluation, report and checkpoint points (`points`) sit at fixed fractions of the run's
baseline-equivalent clips (mgsearch.points); the LR is a pure function of the iteration
(mgsearch.lr_policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from .errors import ConfigError
from .stream import Segment, batches_per_epoch, walk  # noqa: F401  (batches_per_epoch: public)


@dataclass(frozen=True)
class GridShape:
    """One sampling grid: what a batch of this grid looks like."""

    t: int  # frames per clip
    s: int  # crop side, pixels
    global_batch: int  # clips per iteration over all workers
    per_worker_batch: int  # clips per iteration on one worker
    bn_split: int  # BatchNorm groups per worker batch (each about bn_base_size clips)
    min_stride: int  # frame stride range, source frames: drawn per clip in [min, max]
    max_stride: int

    @property
    def cost(self) -> int:
        """Voxels per iteration (b*t*s*s); the compute unit of the cost model."""
        return self.global_batch * self.t * self.s * self.s


@dataclass(frozen=True)
class Stage:
    index: int
    phase: Literal["train", "fine_tune"]
    lr_step: int  # which LR step of the solver (= which long cycle) this stage belongs to
    shape: tuple[int, int, int]  # long-cycle base shape (b_rel, t, s)
    start_epoch: float  # epoch-equivalents before it (clips read / shard size); int under `epoch`
    end_epoch: float
    lr_scale: float  # LR = base_lr * lr_scale (times the policy's factor, see lr_policy)
    grids: tuple[GridShape, ...]  # short-cycle order; one grid without the short cycle
    start_iter: Optional[int] = None  # iterations before it; None when built without clips
    end_iter: Optional[int] = None

    @property
    def global_batch(self) -> int:
        return self.grids[-1].global_batch

    @property
    def epochs(self) -> float:
        return self.end_epoch - self.start_epoch

    @property
    def iterations(self) -> int:
        return (self.end_iter or 0) - (self.start_iter or 0)

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """Per-worker batch of each grid, in short-cycle order (what the sampler cycles)."""
        return tuple(g.per_worker_batch for g in self.grids)


@dataclass(frozen=True)
class Point:
    """Where the run reports (and maybe evaluates and checkpoints): after `iteration` steps."""

    index: int  # 1-based report number
    iteration: int  # completed iterations
    budget_fraction: float  # target fraction of the run's baseline-equivalent clips
    evaluate: bool
    checkpoint: bool


@dataclass(frozen=True)
class Schedule:
    kind: Literal["multigrid", "baseline"]
    grid_set: str
    batch: int  # default shape B x T x S^2 and the frame stride at it
    frames: int
    crop: int
    sampling_rate: int
    workers: int
    max_epoch: float  # epoch-equivalents this schedule trains for (an int under `epoch`)
    policy: Literal["steps", "cosine", "cosine_per_cycle"]
    base_lr: float
    cosine_end_lr: float
    warmup_epochs: float
    warmup_start_lr: float
    stages: tuple[Stage, ...]
    eval_epochs: tuple[int, ...]  # epoch granularity's own evaluation epochs (eval_points: 0)
    checkpoint_epochs: tuple[int, ...]
    granularity: Literal["iteration", "epoch"] = "epoch"
    clips: Optional[int] = None  # training clips the iterations were computed for
    points: tuple[Point, ...] = ()  # report points; empty without clips

    # -- positions -------------------------------------------------------------------------------
    @property
    def has_iterations(self) -> bool:
        return self.clips is not None

    @property
    def iterations(self) -> int:
        """Iterations of the whole run (every worker runs them all)."""
        self._need_iterations("iterations")
        return self.stages[-1].end_iter

    @property
    def clips_per_worker(self) -> int:
        self._need_iterations("clips_per_worker")
        return self.clips // self.workers

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The clip stream of the run (mgsearch.stream): stage, pass, offset of every run."""
        self._need_iterations("segments")
        return walk([s.batch_sizes for s in self.stages], [s.iterations for s in self.stages],
                    self.clips_per_worker, self.granularity == "epoch")

    def stage_at(self, epoch: float) -> Stage:
        """The stage that trains (fractional) epoch `epoch`; the last one past the end."""
        if epoch < 0:
            raise ValueError(f"epoch {epoch} < 0")
        for stage in self.stages:
            if epoch < stage.end_epoch:
                return stage
        return self.stages[-1]

    def stage_at_iter(self, iteration: int) -> Stage:
        """The stage that runs iteration `iteration` (0-based); the last one past the end."""
        self._need_iterations("stage_at_iter")
        if iteration < 0:
            raise ValueError(f"iteration {iteration} < 0")
        for stage in self.stages:
            if iteration < stage.end_iter:
                return stage
        return self.stages[-1]

    def epoch_at_iter(self, iteration: float) -> float:
        """Epoch-equivalents at the start of iteration `iteration`, linear inside each stage
        (under `epoch`: epoch + batch index / batches in that epoch)."""
        stage = self.stage_at_iter(int(iteration))
        n = stage.iterations
        if n == 0:
            return float(stage.start_epoch)
        done = min(iteration - stage.start_iter, n)
        if self.granularity == "epoch":
            per_epoch = n // stage.epochs  # whole epochs of equal batch counts
            whole, part = divmod(done, per_epoch)
            return stage.start_epoch + whole + part / per_epoch
        return stage.start_epoch + done / n * stage.epochs

    def iter_at_epoch(self, epoch: float) -> float:
        """Inverse of epoch_at_iter (fractional iterations)."""
        stage = self.stage_at(epoch)
        if stage.epochs <= 0:
            return float(stage.start_iter)
        frac = min(max((epoch - stage.start_epoch) / stage.epochs, 0.0), 1.0)
        return stage.start_iter + frac * stage.iterations

    def _need_iterations(self, what: str) -> None:
        if self.clips is None:
            raise ValueError(f"Schedule.{what} needs iterations: build the schedule with "
                             f"build_schedule(cfg, clips=N)")

    # -- learning rate ---------------------------------------------------------------------------
    def lr_at_iter(self, iteration: float) -> float:
        """LR of iteration `iteration` (0-based), warm-up included (mgsearch.lr_policy)."""
        from .lr_policy import lr_at_iter

        return lr_at_iter(self, iteration)

    def lr_at(self, epoch: float) -> float:
        """LR at fractional epoch `epoch`, warm-up included."""
        from .lr_policy import lr_at_epoch

        return lr_at_epoch(self, epoch)

    def lr_before_warmup(self, epoch: float) -> float:
        """The policy's LR at `epoch` (times the stage's batch scaling), no warm-up."""
        from .lr_policy import lr_at_epoch

        return lr_at_epoch(self, epoch, warmup=False)

    @property
    def lr_table(self) -> tuple[tuple[float, float], ...]:
        """Piecewise LR before warm-up: (start_epoch, lr) where it changes.

        Under the cosine policies the LR is the value at each stage's start."""
        import math

        table: list[tuple[float, float]] = []
        for stage in self.stages:
            lr = self.lr_before_warmup(stage.start_epoch)
            if not table or not math.isclose(table[-1][1], lr, rel_tol=1e-12):
                table.append((stage.start_epoch, lr))
        return tuple(table)

    @property
    def grids(self) -> tuple[GridShape, ...]:
        """Every distinct grid in the order it first runs."""
        seen: dict[GridShape, None] = {}
        for stage in self.stages:
            for g in stage.grids:
                seen.setdefault(g, None)
        return tuple(seen)


def build_schedule(cfg, clips: Optional[int] = None) -> Schedule:
    """The schedule of `cfg` (a mgsearch.config.Config) for `clips` training clips.

    `multigrid.grid_set: baseline` (`mgsearch.contract.baseline_of(cfg)`) gives the fixed-shape
    baseline, which keeps `solver.policy` whatever `multigrid.lr_policy` says. `clips` (the training set's size) is
    required under `multigrid.granularity: iteration`; under `epoch` it only adds iterations
    and report points. Raises ConfigError when the data cannot hold a stage's batch."""
    from .allocation import build
    from .grids import resolve_grid_set

    if cfg.multigrid.lr_policy is not None and not resolve_grid_set(cfg.multigrid).is_baseline:
        cfg = _with_policy(cfg, cfg.multigrid.lr_policy)
    return build(cfg, clips)


def _with_policy(cfg, policy: str):
    import dataclasses

    try:
        solver = dataclasses.replace(cfg.solver, policy=policy)
    except ValueError as err:  # a solver check that the multigrid policy fails
        raise ConfigError(f"multigrid.lr_policy = {policy!r}: solver.{err}") from None
    return dataclasses.replace(cfg, solver=solver)
