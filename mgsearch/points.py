"""Report, evaluation and checkpoint points of a schedule, comparable across schedules.

Progress is measured in *baseline-equivalent clips*: an iteration on grids of `b` clips of
`t x s^2` counts `b*t*s^2 / (T*S^2)` clips of the default shape, so equal progress costs equal
compute whatever the grid (the cost model's compute times B). With `train.report_points: R` the
run reports after the first iteration at which it has seen `k/R` of its total, k = 1..R (the
last point is the run's end); it evaluates at `train.eval_points` of them and checkpoints at
`train.checkpoint_points` of those (R a multiple of the first, the first of the second). The
baseline and every multigrid schedule share these fractions, so accuracy-against-time curves of
different schedules have points at the same fractions of their compute.

`train.eval_points: 0` keeps the epoch-based points of `granularity: epoch` instead: a report
after every epoch, evaluation and checkpoints at the schedule's `eval_epochs` and
`checkpoint_epochs` (train.eval_period / multigrid.eval_freq, as the public implementation).
"""

from __future__ import annotations

from typing import Sequence

from .schedule import Point, Schedule
from .stream import cycle_sum, iteration_reaching


def grid_costs(schedule: Schedule) -> list[list[float]]:
    """Baseline-equivalent clips of one iteration on each grid of each stage."""
    clip = schedule.frames * schedule.crop**2  # voxels of one default-shape clip
    return [[g.cost / clip for g in st.grids] for st in schedule.stages]


def equivalent_clips(schedule: Schedule) -> float:
    """Baseline-equivalent clips of the whole run."""
    costs = grid_costs(schedule)
    return sum(cycle_sum(seg.iterations, costs[seg.stage], seg.phase) for seg in schedule.segments)


def budget_points(schedule: Schedule, reports: int, evals: int, checkpoints: int
                  ) -> tuple[Point, ...]:
    """Points at k/reports of the run's baseline-equivalent clips (see the module doc)."""
    total = equivalent_clips(schedule)
    # A tolerance of a millionth of a clip so that float sums land on the exact iteration.
    targets = [total * k / reports - 1e-6 for k in range(1, reports + 1)]
    iters = iteration_reaching(schedule.segments, grid_costs(schedule), targets)
    iters[-1] = schedule.iterations
    per_eval, per_ckpt = reports // evals, reports // checkpoints
    out: dict[int, Point] = {}  # by iteration: a tiny run can reach two fractions at once
    for k, it in enumerate(iters, start=1):
        it = max(it, 1)
        prev = out.get(it)
        ev, ck = k % per_eval == 0 or k == reports, k % per_ckpt == 0 or k == reports
        if prev is not None:
            ev, ck = ev or prev.evaluate, ck or prev.checkpoint
        out[it] = Point(0, it, k / reports, ev, ck)
    return tuple(Point(i, p.iteration, p.budget_fraction, p.evaluate, p.checkpoint)
                 for i, p in enumerate(sorted(out.values(), key=lambda p: p.iteration), start=1))


def epoch_points(schedule: Schedule) -> tuple[Point, ...]:
    """A point after every epoch (granularity: epoch, train.eval_points: 0)."""
    out = []
    for st in schedule.stages:
        per_epoch = st.iterations // st.epochs
        for e in range(st.start_epoch + 1, st.end_epoch + 1):
            out.append(Point(len(out) + 1, st.start_iter + (e - st.start_epoch) * per_epoch,
                             e / schedule.max_epoch, e in schedule.eval_epochs,
                             e in schedule.checkpoint_epochs))
    return tuple(out)


def periodic_epochs(max_epoch: int, period: int) -> list[int]:
    """Every `period`-th epoch and the last (baseline, short cycle only; eval_points: 0)."""
    return [e + 1 for e in range(max_epoch) if (e + 1) % period == 0 or e + 1 == max_epoch]


def per_stage_epochs(max_epoch: int, ends: Sequence[int], freq: int) -> list[int]:
    """About `freq` evaluations per long-cycle stage, the last at the stage's end (the public
    implementation's eval epochs; eval_points: 0)."""
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
