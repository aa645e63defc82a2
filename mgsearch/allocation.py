"""Building a Schedule: shapes, batch sizes, stage lengths, LR multipliers (pure, no torch).

Semantics ("wu2020"): the multigrid method of Wu et al. (CVPR 2020). Its real-valued plan is
the public implementation's: inside each LR step every long-cycle shape gets
`L * avg_b_i / sum(avg_b)` epochs, the last LR step becomes a fine-tuning phase at the full shape
shortened by the same iteration saving, and everything is scaled to `max_epoch * epoch_factor`
epochs. How the plan becomes stages is `multigrid.granularity`:

- `epoch`: stage ends are the rounded cumulative epochs (Python's `round`, ties to even) and the
  fine-tuning phase splits at `(start + end) // 2`, exactly as the public code; a stage that
  rounds to zero epochs is dropped with a warning.
- `iteration`: each LR step keeps its plan's clips, shared as the same number of iterations by
  every long-cycle shape of the step (rounded half up), and the fine-tuning phase gets its
  plan's clips at the full shape, in two halves of equal iterations (± one). No stage is
  dropped: a budget that cannot give every stage one batch is refused, naming the smallest
  number of training clips that works.

Departures from the public code, each where it crashes or has no answer: long cycle without
short cycle works; the fine-tuning phase always runs at the full shape; explicit `solver.lrs`
are honoured under the long cycle (the public code replaces them by `gamma**step`, as ours does
when `lrs` is null). The baseline always runs whole epochs (nothing in it rounds).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Optional, Sequence

from .errors import ConfigError
from .grids import GRID_SETS, GridSet, resolve_grid_set
from .points import budget_points, epoch_points, per_stage_epochs, periodic_epochs
from .schedule import GridShape, Schedule, Stage
from .stream import batches_per_epoch, cycle_sum, walk


def _bn_split(per_worker_batch: int, bn_base_size: int) -> int:
    """Largest split count with groups of >= bn_base_size clips that divides the batch evenly."""
    n = max(1, per_worker_batch // bn_base_size)
    while per_worker_batch % n:
        n -= 1
    return n


@dataclass(frozen=True)
class _Raw:
    """A stage before it is sized: what runs, and how long the plan wants it."""

    phase: str
    step: int
    shape: tuple[int, int, int]
    lr_scale: float
    stride_scales: bool
    start: int = 0  # whole epochs (epoch granularity)
    end: int = 0
    iterations: int = 0  # iteration granularity
    wanted: float = 0.0  # the plan's iterations before rounding (for the refusal's message)


class _Builder:
    """Shared arithmetic of every schedule kind; one per build call."""

    def __init__(self, cfg, grid_set: GridSet, clips: Optional[int]):
        self.cfg, self.gs, self.clips = cfg, grid_set, clips
        sh = cfg.shape
        self.B, self.T, self.S, self.rate = sh.batch, sh.frames, sh.crop, sh.sampling_rate
        self.W = cfg.train.world_size
        self.solver = cfg.solver
        self.n_w = clips // self.W if clips is not None else None  # clips per worker shard

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

    def mean_batch(self, raw: _Raw) -> float:
        """Clips one worker reads per iteration of `raw`, averaged over its short cycle."""
        sizes = [g.per_worker_batch for g in self.grids(*raw.shape, raw.stride_scales)]
        return sum(sizes) / len(sizes)


# -- the plan --------------------------------------------------------------------------------------


def _shape_of(b: _Builder, ft: float, fs: float, i: int) -> tuple[int, int]:
    t, s = int(round(b.T * ft)), int(round(b.S * fs))
    if t < 1 or s < 8:
        raise ConfigError(
            f"multigrid.long_cycle_factors[{i}] = [{ft}, {fs}] gives {t} frames x {s} px on the "
            f"default {b.T} x {b.S} px; shapes need >= 1 frame and >= 8 px: raise the factor "
            f"or the default shape")
    return t, s


def _scaling(rule: str):
    return {"linear": float, "sqrt": math.sqrt, "none": lambda b: 1.0}[rule]


def _long_cycle_plan(b: _Builder) -> list[tuple[str, int, tuple[int, int, int], float, float]]:
    """(phase, lr_step, shape, lr_scale, epochs) per stage, epochs real and already scaled to
    max_epoch * epoch_factor; the fine-tuning phase as its two halves."""
    sv, mg = b.solver, b.cfg.multigrid
    steps, n = list(sv.steps), len(sv.steps) - 1

    def relative_lr(cycle: int) -> float:  # the solver's LR step i * n // k (identity: k = n)
        return sv.relative_lr(cycle * n // (len(steps) - 1))

    if mg.long_cycles is not None and steps[-1] > 0:  # k equal long cycles before the last step
        steps = [steps[-1] * i / mg.long_cycles for i in range(mg.long_cycles + 1)]
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
    # 3. Scale everything to max_epoch * epoch_factor (with fine_tune_fraction f: the long
    #    cycles to (1 - f) of it, the fine-tuning phase to f).
    total = sv.max_epoch * mg.epoch_factor
    x = x_ft = total / sum(p[2] for p in plan)
    if mg.fine_tune_fraction is not None:
        x = total * (1 - mg.fine_tune_fraction) / sum(p[2] for p in plan[:-1])
        x_ft = total * mg.fine_tune_fraction / plan[-1][2]
    # 4. LR: the step's relative LR times the stage's long-cycle batch scaling; fine-tuning split
    #    in two halves, the first (step policy) at the previous stage's rate.
    scaling = _scaling(mg.lr_scaling)
    out = []
    for p in plan[:-1]:
        shape = (int(p[1][0]), int(p[1][1]), int(p[1][2]))
        out.append(("train", p[0], shape, relative_lr(p[0]) * scaling(p[1][0]), p[2] * x))
    step, rel, epochs = plan[-1]
    shape = (int(rel[0]), int(rel[1]), int(rel[2]))
    second = relative_lr(step) * scaling(rel[0])
    first = out[-1][3] if sv.policy == "steps" else second
    out.append(("fine_tune", step, shape, first, epochs * x_ft / 2))
    out.append(("fine_tune", step, shape, second, epochs * x_ft / 2))
    return out


def _epoch_stages(plan) -> list[_Raw]:
    """The public implementation's rounding: stage ends are rounded cumulative epochs, the
    fine-tuning phase splits at (start + end) // 2."""
    ends, total = [], 0.0
    for p in plan[:-2]:
        total += p[4]
        ends.append(int(round(total)))
    total += plan[-2][4] + plan[-1][4]  # the whole fine-tuning phase, as one sum
    ends.append(int(round(total)))
    raw, start = [], 0
    for p, end in zip(plan[:-2], ends):
        raw.append(_Raw(p[0], p[1], p[2], p[3], True, start, end))
        start = end
    mid = (start + ends[-1]) // 2
    a, c = plan[-2], plan[-1]
    raw.append(_Raw(a[0], a[1], a[2], a[3], True, start, mid))
    raw.append(_Raw(c[0], c[1], c[2], c[3], True, mid, ends[-1]))
    return raw


def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _iteration_stages(b: _Builder, plan) -> list[_Raw]:
    """Equal iterations per shape inside each LR step; the fine-tuning phase in two halves."""
    raws = [_Raw(p[0], p[1], p[2], p[3], True) for p in plan]
    means = [b.mean_batch(r) for r in raws]
    out = []
    train_steps = sorted({r.step for r in raws if r.phase == "train"})
    for step in train_steps:
        idx = [i for i, r in enumerate(raws) if r.phase == "train" and r.step == step]
        # The step's clips (per worker) shared as one iteration count by all its shapes.
        k = sum(plan[i][4] for i in idx) * b.n_w / sum(means[i] for i in idx)
        out += [replace(raws[i], iterations=_half_up(k), wanted=k) for i in idx]
    ft = [i for i, r in enumerate(raws) if r.phase == "fine_tune"]
    k = sum(plan[i][4] for i in ft) * b.n_w / means[ft[0]]
    total = _half_up(k)
    out.append(replace(raws[ft[0]], iterations=total // 2, wanted=k / 2))
    out.append(replace(raws[ft[1]], iterations=total - total // 2, wanted=k / 2))
    return out


# -- fixed shapes ----------------------------------------------------------------------------------


def _fixed_shape_raws(b: _Builder, bounds: Sequence[float], whole: bool) -> list[_Raw]:
    """One stage per LR step at the full shape; `bounds` are its epoch boundaries."""
    out = []
    for i in range(len(bounds) - 1):
        r = _Raw("train", i, (1, b.T, b.S), b.solver.relative_lr(i), False)
        if whole:
            out.append(replace(r, start=int(bounds[i]), end=int(bounds[i + 1])))
        else:
            k = (bounds[i + 1] - bounds[i]) * b.n_w / b.mean_batch(r)
            out.append(replace(r, iterations=_half_up(k), wanted=k))
    return out


# -- sizing ----------------------------------------------------------------------------------------


def _too_small(b: _Builder, raws: list[_Raw]) -> Optional[str]:
    """The refusal when some stage gets no batch, with the smallest budget that works."""
    short = [r for r in raws if r.iterations < 1]
    if not short:
        return None
    need = 1
    for r in raws:
        # wanted grows in proportion to the clips per worker; a stage needs half_up >= 1
        # (fine-tuning: >= 2, one per half), and every batch must fit one pass.
        pw = max(g.per_worker_batch for g in b.grids(*r.shape, r.stride_scales))
        n = max(pw, math.ceil(b.n_w * (0.5 if r.phase == "train" else 0.75) / r.wanted))
        while _half_up(r.wanted * n / b.n_w * (2 if r.phase == "fine_tune" else 1)) < (
                2 if r.phase == "fine_tune" else 1):
            n += 1
        need = max(need, n)
    r = short[0]
    return (f"multigrid.granularity = 'iteration': {b.clips} training clips ({b.n_w} per worker) "
            f"give the {r.phase} stage of LR step {r.step} at shape {list(r.shape)} "
            f"{r.wanted:.2f} iterations, less than one batch; the smallest budget that works is "
            f"{need * b.W} training clips at solver.max_epoch {b.solver.max_epoch} (or raise "
            f"solver.max_epoch, or use a smaller shape.batch)")


def _refuse_batch(kind: str, grids: Sequence[GridShape], index: int, clips: int,
                  workers: int) -> None:
    n_w = clips // workers
    raise ConfigError(
        f"{kind} stage {index} needs batches of {[g.global_batch for g in grids]} clips but the "
        f"training set has {clips} clips ({n_w} per worker): use more clips (at least "
        f"{max(g.per_worker_batch for g in grids) * workers}), a "
        f"smaller shape.batch, or a grid set with a smaller largest batch")


def _whole_epochs(stages: Sequence[Stage], kind: str, clips: int, workers: int) -> list[Stage]:
    """Iterations of whole-epoch stages: every epoch is batches_per_epoch batches."""
    out, it, n_w = [], 0, clips // workers
    for st in stages:
        per_epoch = batches_per_epoch(n_w, st.batch_sizes)
        if per_epoch == 0:
            _refuse_batch(kind, st.grids, st.index, clips, workers)
        out.append(replace(st, start_iter=it, end_iter=it + per_epoch * st.epochs))
        it += per_epoch * st.epochs
    return out


def sized_for(schedule: Schedule, clips: int) -> Schedule:
    """An epoch-granularity schedule built without clips, with its iterations for `clips`
    (no report points: those need the config's train section)."""
    if schedule.granularity != "epoch":
        raise ValueError("only epoch-granularity schedules can be sized after building")
    stages = _whole_epochs(schedule.stages, schedule.kind, clips, schedule.workers)
    return replace(schedule, stages=tuple(stages), clips=clips)


def _finish(b: _Builder, kind: str, raws: list[_Raw], granularity: str) -> Schedule:
    stages: list[Stage] = []
    if granularity == "epoch":
        for r in raws:
            if r.end <= r.start:
                warnings.warn(f"schedule: dropped a zero-length {r.phase} stage (LR step "
                              f"{r.step}, shape {list(r.shape)}, epoch {r.start}); rounding left "
                              f"it no epochs", stacklevel=4)
                continue
            grids = b.grids(*r.shape, stride_scales=r.stride_scales)
            stages.append(Stage(len(stages), r.phase, r.step, r.shape, r.start, r.end,
                                r.lr_scale, grids))
        if b.clips is not None:
            stages = _whole_epochs(stages, kind, b.clips, b.W)
        max_epoch = stages[-1].end_epoch
    else:
        message = _too_small(b, raws)
        if message:
            raise ConfigError(message)
        for r in raws:
            grids = b.grids(*r.shape, stride_scales=r.stride_scales)
            if max(g.per_worker_batch for g in grids) > b.n_w:
                _refuse_batch(kind, grids, len(stages), b.clips, b.W)
            stages.append(Stage(len(stages), r.phase, r.step, r.shape, 0, 0, r.lr_scale, grids,
                                0, r.iterations))
        # Epoch-equivalents: clips each worker reads, over its shard.
        segs = walk([s.batch_sizes for s in stages], [s.iterations for s in stages], b.n_w, False)
        clips = [0.0] * len(stages)
        for seg in segs:
            clips[seg.stage] += cycle_sum(seg.iterations, stages[seg.stage].batch_sizes, seg.phase)
        it, read = 0, 0.0
        for i, st in enumerate(stages):
            stages[i] = replace(st, start_epoch=read / b.n_w, end_epoch=(read + clips[i]) / b.n_w,
                                start_iter=it, end_iter=it + st.iterations)
            it, read = it + st.iterations, read + clips[i]
        max_epoch = read / b.n_w
    sv, tc, mg = b.solver, b.cfg.train, b.cfg.multigrid
    # The public implementation's eval/checkpoint epochs (whole epochs only; eval_points: 0).
    evals, ckpts = [], []
    if granularity == "epoch" and b.gs.long_cycle is None:  # baseline, short cycle only
        evals = periodic_epochs(int(max_epoch), tc.eval_period)
        ckpts = periodic_epochs(int(max_epoch), tc.checkpoint_period)
    elif granularity == "epoch":  # about eval_freq per long-cycle stage
        ends = [s.end_epoch for s in stages if s.phase == "train"] + [stages[-1].end_epoch]
        evals = ckpts = per_stage_epochs(int(max_epoch), ends, mg.eval_freq)
    sched = Schedule(kind, b.gs.name, b.B, b.T, b.S, b.rate, b.W, max_epoch, sv.policy,
                     sv.base_lr, sv.cosine_end_lr, sv.warmup_epochs, sv.warmup_start_lr,
                     tuple(stages), tuple(evals), tuple(ckpts), granularity, b.clips)
    if b.clips is None:
        return sched
    points = (epoch_points(sched) if tc.eval_points == 0 else
              budget_points(sched, tc.report_points, tc.eval_points, tc.checkpoint_points))
    return replace(sched, points=points)


def schedule_grids(cfg) -> tuple[GridShape, ...]:
    """Every distinct grid the config's schedule runs, in order, without sizing any stage
    (grids do not depend on the training set; previews and benchmarks need only them)."""
    grid_set = resolve_grid_set(cfg.multigrid)
    b = _Builder(cfg, grid_set, None)
    if grid_set.long_cycle is None:
        shapes = [((1, b.T, b.S), False)]
    else:
        shapes = [(p[2], True) for p in _long_cycle_plan(b)]
    seen: dict[GridShape, None] = {}
    for shape, scales in shapes:
        for g in b.grids(*shape, stride_scales=scales):
            seen.setdefault(g, None)
    return tuple(seen)


def build(cfg, clips: Optional[int]) -> Schedule:
    """See mgsearch.schedule.build_schedule."""
    if clips is not None and clips < cfg.train.world_size:
        raise ConfigError(f"clips = {clips}: every one of the {cfg.train.world_size} worker(s) "
                          f"needs >= 1 training clip; use a larger training set")
    granularity = cfg.multigrid.granularity
    grid_set = resolve_grid_set(cfg.multigrid)
    if grid_set.is_baseline:
        b = _Builder(cfg, GRID_SETS["baseline"], clips)
        bounds = list(cfg.solver.steps) + [cfg.solver.max_epoch]
        return _finish(b, "baseline", _fixed_shape_raws(b, bounds, True), "epoch")
    if granularity == "iteration" and clips is None:
        raise ConfigError("multigrid.granularity = 'iteration' sizes stages in iterations, which "
                          "depend on the training set: pass its size (build_schedule(cfg, "
                          "clips=N), mgsearch schedule --clips N) or use granularity: epoch")
    b = _Builder(cfg, grid_set, clips)
    f = cfg.multigrid.epoch_factor
    if grid_set.long_cycle is None:  # short cycle only: the solver's steps, stretched
        if granularity == "epoch":  # the public code truncates: int(step * factor)
            bounds = [int(s * f) for s in cfg.solver.steps] + [int(cfg.solver.max_epoch * f)]
            return _finish(b, "multigrid", _fixed_shape_raws(b, bounds, True), "epoch")
        bounds = [s * f for s in cfg.solver.steps] + [cfg.solver.max_epoch * f]
        return _finish(b, "multigrid", _fixed_shape_raws(b, bounds, False), "iteration")
    plan = _long_cycle_plan(b)
    if granularity == "epoch":
        return _finish(b, "multigrid", _epoch_stages(plan), "epoch")
    return _finish(b, "multigrid", _iteration_stages(b, plan), "iteration")
