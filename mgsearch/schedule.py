"""Multigrid schedules as immutable data, computed once by pure functions (no torch).

    sched = build_schedule(cfg)              # the config's grid set
    base = build_schedule(cfg, baseline=True)  # the fixed-shape baseline, same type

A `Schedule` is a list of `Stage`s. A stage holds one long-cycle base shape `(b_rel, t, s)`, one
constant LR multiplier, and the grids the short-cycle sampler cycles through (in sampler order,
the stage's own shape last). Training reads it; nothing writes to it.

Semantics ("wu2020"): the multigrid method of Wu et al. (CVPR 2020) as its public implementation
computes it, stage ends, shapes, batch sizes and LR table including its rounding (Python's
`round`, ties to even). Departures, each where the public code crashes or has no answer:
long cycle without short cycle works; the fine-tuning phase always runs at the full shape;
zero-length stages are dropped with a warning; explicit `solver.lrs` are honoured under the long
cycle (the public code replaces them by `gamma**step`, as ours does when `lrs` is null).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal, Sequence

from .errors import ConfigError
from .grids import GridSet, resolve_grid_set


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
    lr_step: int  # which LR step of the solver this stage belongs to
    shape: tuple[int, int, int]  # long-cycle base shape (b_rel, t, s)
    start_epoch: int  # first epoch (0-based) of the stage
    end_epoch: int  # one past its last epoch
    lr_scale: float  # LR = base_lr * lr_scale (times the cosine factor under that policy)
    grids: tuple[GridShape, ...]  # short-cycle order; one grid without the short cycle

    @property
    def global_batch(self) -> int:
        return self.grids[-1].global_batch

    @property
    def epochs(self) -> int:
        return self.end_epoch - self.start_epoch


@dataclass(frozen=True)
class Schedule:
    kind: Literal["multigrid", "baseline"]
    grid_set: str
    batch: int  # default shape B x T x S^2 and the frame stride at it
    frames: int
    crop: int
    sampling_rate: int
    workers: int
    max_epoch: int  # epochs this schedule trains for
    policy: Literal["steps", "cosine"]
    base_lr: float
    cosine_end_lr: float
    warmup_epochs: float
    warmup_start_lr: float
    stages: tuple[Stage, ...]
    eval_epochs: tuple[int, ...]  # evaluate after this many completed epochs
    checkpoint_epochs: tuple[int, ...]  # checkpoint after this many completed epochs

    def stage_at(self, epoch: float) -> Stage:
        """The stage that trains (fractional) epoch `epoch`; the last one past the end."""
        if epoch < 0:
            raise ValueError(f"epoch {epoch} < 0")
        for stage in self.stages:
            if epoch < stage.end_epoch:
                return stage
        return self.stages[-1]

    def lr_before_warmup(self, epoch: float) -> float:
        """The policy's LR at `epoch` (step or cosine, times the stage's batch scaling)."""
        scale = self.stage_at(epoch).lr_scale
        if self.policy == "steps":
            return self.base_lr * scale
        cosine = (math.cos(math.pi * epoch / self.max_epoch) + 1.0) * 0.5
        return (self.cosine_end_lr + (self.base_lr - self.cosine_end_lr) * cosine) * scale

    def lr_at(self, epoch: float) -> float:
        """LR at fractional epoch `epoch` (epoch + iteration / iterations in that epoch)."""
        # 1. Linear warm-up from warmup_start_lr to the policy's LR at the warm-up's end.
        if epoch < self.warmup_epochs:
            end = self.lr_before_warmup(self.warmup_epochs)
            return epoch * (end - self.warmup_start_lr) / self.warmup_epochs + self.warmup_start_lr
        # 2. The stage's LR: step or cosine, times its batch scaling.
        return self.lr_before_warmup(epoch)

    def lr_at_iter(self, epoch: int, iteration: int, iters_in_epoch: int) -> float:
        return self.lr_at(epoch + iteration / max(iters_in_epoch, 1))

    @property
    def lr_table(self) -> tuple[tuple[int, float], ...]:
        """Piecewise LR before warm-up: (start_epoch, lr) where it changes.

        Under the cosine policy the LR is the value at each stage's start."""
        table: list[tuple[int, float]] = []
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


def batches_per_epoch(clips_per_worker: int, batch_sizes: Sequence[int]) -> int:
    """Full batches one worker yields from `clips_per_worker` clips, cycling `batch_sizes`.

    The incomplete last batch is dropped. This is the one count the sampler, the cost model and
    the training loop share (every worker must run the same number of steps or DDP hangs)."""
    cycle = sum(batch_sizes)
    full, rest = divmod(clips_per_worker, cycle)
    n = full * len(batch_sizes)
    for b in batch_sizes:
        if rest < b:
            break
        rest -= b
        n += 1
    return n


# --- building -----------------------------------------------------------------------------------


def _bn_split(per_worker_batch: int, bn_base_size: int) -> int:
    """Largest split count with groups of >= bn_base_size clips that divides the batch evenly."""
    n = max(1, per_worker_batch // bn_base_size)
    while per_worker_batch % n:
        n -= 1
    return n


class _Builder:
    """Shared arithmetic of every schedule kind; one per build call."""

    def __init__(self, cfg, grid_set: GridSet):
        self.cfg, self.gs = cfg, grid_set
        sh = cfg.shape
        self.B, self.T, self.S, self.rate = sh.batch, sh.frames, sh.crop, sh.sampling_rate
        self.W = cfg.train.world_size
        self.solver = cfg.solver

    def grids(self, b_rel: int, t: int, s: int, stride_scales: bool) -> tuple[GridShape, ...]:
        """Sampler grids of a stage: short-cycle grids first (if on), then the base shape."""
        pw = b_rel * self.B // self.W  # per-worker batch of the base shape
        sizes = [(t, s, pw)]
        if self.gs.short_cycle is not None:
            short = []
            for i, f in enumerate(self.gs.short_cycle):
                # The sampler's batch factor: (base crop / short-cycle crop)^2, rounded.
                factor = int(round((float(s) / (f * self.S)) ** 2))
                crop = int(round(f * self.S))
                if factor < 1:
                    raise ConfigError(
                        f"multigrid.short_cycle_factors[{i}] = {f}: its {crop}-px crop is larger "
                        f"than the long-cycle crop {s} px; short-cycle factors must not exceed "
                        f"any long-cycle spatial factor")
                short.append((t, crop, pw * factor))
            sizes = short + sizes
        max_stride = self.rate * (self.T // t) if stride_scales else self.rate
        return tuple(
            GridShape(t=gt, s=gs, global_batch=b * self.W, per_worker_batch=b,
                      bn_split=_bn_split(b, self.cfg.multigrid.bn_base_size),
                      min_stride=self.rate, max_stride=max_stride)
            for gt, gs, b in sizes)

    def finish(self, kind, max_epoch, raw_stages, eval_epochs, ckpt_epochs) -> Schedule:
        """raw_stages: (phase, lr_step, shape, start, end, lr_scale, stride_scales)."""
        stages = []
        for phase, step, shape, start, end, scale, stride_scales in raw_stages:
            if end <= start:
                warnings.warn(f"schedule: dropped a zero-length {phase} stage (LR step {step}, "
                              f"shape {list(shape)}, epoch {start}); rounding left it no epochs",
                              stacklevel=3)
                continue
            stages.append(Stage(len(stages), phase, step, shape, start, end, scale,
                                self.grids(*shape, stride_scales=stride_scales)))
        sv = self.solver
        return Schedule(kind, self.gs.name, self.B, self.T, self.S, self.rate, self.W, max_epoch,
                        sv.policy, sv.base_lr, sv.cosine_end_lr, sv.warmup_epochs,
                        sv.warmup_start_lr, tuple(stages), tuple(eval_epochs), tuple(ckpt_epochs))


def _periodic(max_epoch: int, period: int) -> list[int]:
    return [e + 1 for e in range(max_epoch) if (e + 1) % period == 0 or e + 1 == max_epoch]


def _per_stage(max_epoch: int, ends: Sequence[int], freq: int) -> list[int]:
    """About `freq` evaluations per long-cycle stage, the last at the stage's end."""
    out = []
    for e in range(max_epoch):
        if e + 1 == max_epoch:
            out.append(e + 1)
            continue
        prev = 0
        for end in ends:
            if e < end:
                period = max((end - prev) // freq + 1, 1)
                if (end - 1 - e) % period == 0:
                    out.append(e + 1)
                break
            prev = end
    return out


def _fixed_shape(b: _Builder, max_epoch: int, steps: Sequence[int], kind: str) -> Schedule:
    """Baseline and short-cycle-only: one stage per LR step at the full shape."""
    bounds = list(steps) + [max_epoch]
    raw = [("train", i, (1, b.T, b.S), bounds[i], bounds[i + 1], b.solver.relative_lr(i), False)
           for i in range(len(steps))]
    tc = b.cfg.train
    return b.finish(kind, max_epoch, raw, _periodic(max_epoch, tc.eval_period),
                    _periodic(max_epoch, tc.checkpoint_period))


def _shape_of(b: _Builder, ft: float, fs: float, i: int) -> tuple[int, int]:
    t, s = int(round(b.T * ft)), int(round(b.S * fs))
    if t < 1 or s < 8:
        raise ConfigError(
            f"multigrid.long_cycle_factors[{i}] = [{ft}, {fs}] gives {t} frames x {s} px on the "
            f"default {b.T} x {b.S} px; shapes need >= 1 frame and >= 8 px: raise the factor "
            f"or the default shape")
    return t, s


def _long_cycle(b: _Builder) -> Schedule:
    sv, mg = b.solver, b.cfg.multigrid
    steps = list(sv.steps)
    if len(steps) < 2:
        raise ConfigError(f"solver.steps = {steps}: the long cycle repeats once per LR step "
                          f"before the fine-tuning phase, so it needs >= 2 steps, e.g. [0, 20, 30]")
    default_size = float(b.T * b.S**2)

    def relative_shapes(t: int, s: int) -> list[list]:
        pairs = [[t, b.S * f] for f in b.gs.short_cycle] if b.gs.short_cycle else []
        pairs.append([t, s])
        return [[int(round(default_size / (pt * ps * ps))), pt, ps] for pt, ps in pairs]

    all_shapes, avg_bs = [], []
    for i, (ft, fs) in enumerate(b.gs.long_cycle):
        shapes = relative_shapes(*_shape_of(b, ft, fs, i))
        all_shapes.append(shapes)
        avg_bs.append(sum(s[0] for s in shapes) / len(shapes))
    ft_shapes = relative_shapes(b.T, b.S)  # fine-tuning always at the full shape
    avg_ft = sum(s[0] for s in ft_shapes) / len(ft_shapes)

    # 1. Inside each LR step every long-cycle shape gets the same number of iterations.
    plan, total_iters = [], 0.0
    for step in range(len(steps) - 1):
        step_epochs = steps[step + 1] - steps[step]
        for i, shapes in enumerate(all_shapes):
            epochs = step_epochs * avg_bs[i] / sum(avg_bs)
            total_iters += epochs / avg_bs[i]
            plan.append((step, shapes[-1], epochs))
    # 2. Fine-tuning: the last LR step, shortened by the same iteration saving.
    iter_saving = steps[-1] / total_iters
    plan.append((len(steps) - 1, ft_shapes[-1], (sv.max_epoch - steps[-1]) / iter_saving * avg_ft))
    # 3. Scale everything to max_epoch * epoch_factor; stage ends are rounded cumulative epochs.
    x = sv.max_epoch * mg.epoch_factor / sum(p[2] for p in plan)
    ends, total = [], 0.0
    for p in plan:
        total += p[2] * x
        ends.append(int(round(total)))

    # 4. LR: step LR times the stage's long-cycle batch; fine-tuning split in two halves, the
    #    first at the previous stage's rate.
    scaling = {"linear": lambda b: float(b), "sqrt": math.sqrt, "none": lambda b: 1.0}[
        mg.lr_scaling]

    def shape3(p) -> tuple[int, int, int]:
        return (int(p[1][0]), int(p[1][1]), int(p[1][2]))

    raw, start = [], 0
    for i, p in enumerate(plan[:-1]):
        raw.append(("train", p[0], shape3(p), start, ends[i],
                    sv.relative_lr(p[0]) * scaling(p[1][0]), True))
        start = ends[i]
    ft = plan[-1]
    mid = (start + ends[-1]) // 2
    first_half = raw[-1][5] if sv.policy == "steps" else sv.relative_lr(ft[0]) * scaling(ft[1][0])
    raw.append(("fine_tune", ft[0], shape3(ft), start, mid, first_half, True))
    raw.append(("fine_tune", ft[0], shape3(ft), mid, ends[-1],
                sv.relative_lr(ft[0]) * scaling(ft[1][0]), True))
    max_epoch = ends[-1]
    evals = _per_stage(max_epoch, ends, mg.eval_freq)
    return b.finish("multigrid", max_epoch, raw, evals, evals)


def _short_only(b: _Builder) -> Schedule:
    f = b.cfg.multigrid.epoch_factor
    steps = [int(s * f) for s in b.solver.steps]
    return _fixed_shape(b, int(b.solver.max_epoch * f), steps, "multigrid")


def build_schedule(cfg, baseline: bool = False) -> Schedule:
    """The schedule of `cfg` (a mgsearch.config.Config); `baseline=True` gives the fixed shape."""
    grid_set = resolve_grid_set(cfg.multigrid)
    if baseline or grid_set.is_baseline:
        from .grids import GRID_SETS

        b = _Builder(cfg, GRID_SETS["baseline"])
        return _fixed_shape(b, cfg.solver.max_epoch, cfg.solver.steps, "baseline")
    b = _Builder(cfg, grid_set)
    if grid_set.long_cycle is None:
        return _short_only(b)
    return _long_cycle(b)
