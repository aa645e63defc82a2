"""Learning-rate policies for multigrid: pure functions of (iteration, schedule).

    lr = lr_at_iter(schedule, i)          # iteration i (0-based), warm-up included
    info = lr_summary(schedule, baseline)  # what a run at this policy trains its shapes with

`solver.policy` (times each stage's `lr_scale` = relative LR of its LR step x the batch scaling
`multigrid.lr_scaling` of its long-cycle batch: linear, sqrt or none):

1. `steps` (the paper's): constant inside each LR step, which is one long cycle, so the step and
   the restart of the long cycle coincide. `solver.lrs` gives relative steps (PySlowFast's
   `steps_with_relative_lrs`); without it step k runs at `gamma**k`.
2. `cosine`: one half cosine from `base_lr` to `cosine_end_lr` over the whole run's epochs.
3. `cosine_per_cycle`: a half cosine restarted at each long cycle (each LR step; the
   fine-tuning phase is the last one), over the cycle's *iterations*: every shape of a cycle
   gets the same number of iterations, so it gets the same share of the decay (over epochs
   the coarse shapes, which read most clips, would take most of it). Peaks are `lrs[k]` when
   given, else 1.

Warm-up (`solver.warmup_epochs`) is linear in epoch-equivalents from `warmup_start_lr` to the
policy's LR at the warm-up's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _half_cosine(progress: float) -> float:
    return (math.cos(math.pi * min(max(progress, 0.0), 1.0)) + 1.0) * 0.5


def _cycle_bounds(schedule, lr_step: int) -> tuple[int, int]:
    stages = [s for s in schedule.stages if s.lr_step == lr_step]
    return stages[0].start_iter, stages[-1].end_iter


def policy_lr(schedule, stage, epoch: float, iteration: float | None) -> float:
    """The policy's LR (no warm-up) in `stage` at `epoch` / `iteration`."""
    sc, base, end = stage.lr_scale, schedule.base_lr, schedule.cosine_end_lr
    if schedule.policy == "steps":
        return base * sc
    if schedule.policy == "cosine":
        return (end + (base - end) * _half_cosine(epoch / schedule.max_epoch)) * sc
    if iteration is None:
        raise ValueError("solver.policy = 'cosine_per_cycle' is defined per iteration: build the "
                         "schedule with build_schedule(cfg, clips=N)")
    a, b = _cycle_bounds(schedule, stage.lr_step)
    return (end + (base - end) * _half_cosine((iteration - a) / max(b - a, 1))) * sc


def _warmup_end(schedule) -> float:
    w = schedule.warmup_epochs
    stage = schedule.stage_at(w)
    it = schedule.iter_at_epoch(w) if schedule.has_iterations else None
    return policy_lr(schedule, stage, w, it)


def lr_at_iter(schedule, iteration: float) -> float:
    """LR of iteration `iteration` (0-based; fractional values interpolate the position)."""
    epoch = schedule.epoch_at_iter(iteration)
    # 1. Linear warm-up from warmup_start_lr to the policy's LR at the warm-up's end.
    if epoch < schedule.warmup_epochs:
        return (epoch * (_warmup_end(schedule) - schedule.warmup_start_lr)
                / schedule.warmup_epochs + schedule.warmup_start_lr)
    # 2. The policy's LR times the stage's batch scaling.
    return policy_lr(schedule, schedule.stage_at_iter(int(iteration)), epoch, iteration)


def lr_at_epoch(schedule, epoch: float, warmup: bool = True) -> float:
    """LR at fractional epoch `epoch` (what an epoch-axis plot or the LR table reads)."""
    if warmup and epoch < schedule.warmup_epochs:
        return (epoch * (_warmup_end(schedule) - schedule.warmup_start_lr)
                / schedule.warmup_epochs + schedule.warmup_start_lr)
    it = schedule.iter_at_epoch(epoch) if schedule.has_iterations else None
    return policy_lr(schedule, schedule.stage_at(epoch), epoch, it)


# -- what a policy gives each shape ---------------------------------------------------------------


def iteration_grids(schedule) -> list:
    """The grid of every iteration, in order (the short cycle as the sampler runs it)."""
    out = []
    for seg in schedule.segments:
        grids = schedule.stages[seg.stage].grids
        out += [grids[(seg.phase + j) % len(grids)] for j in range(seg.iterations)]
    return out


@dataclass(frozen=True)
class LRSummary:
    iterations: int
    sum_lr: float  # summed LR over all iterations
    sum_lr_full_t: float  # ... over iterations at the full T frames (any crop)
    sum_lr_full_shape: float  # ... over iterations at the full T x S^2
    restart_lr: float  # LR of the first iteration of LR step 1 (the first long-cycle restart)
    before_restart_lr: float  # LR of the iteration before it
    max_lr_after_restart: float  # highest LR from the restart on

    @property
    def restart_jump(self) -> float:
        return self.restart_lr / self.before_restart_lr if self.before_restart_lr else math.inf


def lr_summary(schedule) -> LRSummary:
    """Summed per-iteration LR by shape, and the LR around the first long-cycle restart."""
    grids = iteration_grids(schedule)
    lrs = [lr_at_iter(schedule, i) for i in range(len(grids))]
    T, S = schedule.frames, schedule.crop
    second = next((s for s in schedule.stages if s.lr_step == 1), None)
    r = second.start_iter if second is not None else 0
    return LRSummary(
        iterations=len(lrs), sum_lr=sum(lrs),
        sum_lr_full_t=sum(lr for lr, g in zip(lrs, grids) if g.t == T),
        sum_lr_full_shape=sum(lr for lr, g in zip(lrs, grids) if g.t == T and g.s == S),
        restart_lr=lrs[r], before_restart_lr=lrs[r - 1] if r > 0 else math.nan,
        max_lr_after_restart=max(lrs[r:]))
