"""Cost model: iterations, clips and compute of a schedule for N training clips on W workers.

Compute is counted in voxels per iteration (b*t*s*s summed over the global batch) and reported
in units of one baseline iteration (B*T*S*S), so a multigrid iteration of matched shape costs
about 1.0. The predicted speed-up assumes time is proportional to compute (or to iterations);
bench/step_throughput.py measures how far that holds on a given machine. Iterations and clips
come from the schedule's clip stream (mgsearch.stream), the same walk the training follows.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schedule import Schedule


@dataclass(frozen=True)
class StageCost:
    stage: int
    epochs: float  # epoch-equivalents (clips read per worker / shard size; whole under `epoch`)
    iterations: int  # the same on every worker
    grid_iterations: tuple[int, ...]  # of those, on each grid in short-cycle order
    clips: int  # clips seen over all workers
    compute: float  # in baseline iterations


@dataclass(frozen=True)
class Cost:
    clips_per_epoch: int  # training clips in the dataset (N)
    workers: int
    stages: tuple[StageCost, ...]

    @property
    def iterations(self) -> int:
        return sum(s.iterations for s in self.stages)

    @property
    def clips(self) -> int:
        return sum(s.clips for s in self.stages)

    @property
    def compute(self) -> float:
        return sum(s.compute for s in self.stages)


def attach_clips(schedule: Schedule, clips: int) -> Schedule:
    """`schedule` sized for `clips` training clips (an epoch-granularity schedule built without
    them gets its iterations, not report points); one built for other clips is refused."""
    if schedule.clips == clips:
        return schedule
    if schedule.clips is not None:
        raise ValueError(f"clips = {clips}: this schedule was built for {schedule.clips} training "
                         f"clips; build it again with build_schedule(cfg, clips={clips})")
    from .allocation import sized_for

    return sized_for(schedule, clips)


def schedule_cost(schedule: Schedule, clips: int | None = None) -> Cost:
    """Cost of `schedule` (its own `clips`, or `clips` for an epoch schedule built without)."""
    if clips is not None and clips < 1:
        raise ValueError(f"clips = {clips}: the cost model needs >= 1 training clip")
    if clips is not None:
        schedule = attach_clips(schedule, clips)
    elif schedule.clips is None:
        raise ValueError("schedule_cost needs the training clips: pass clips=N")
    unit = schedule.batch * schedule.frames * schedule.crop**2  # one baseline iteration
    counts = [[0] * len(st.grids) for st in schedule.stages]
    for seg in schedule.segments:
        row, n = counts[seg.stage], len(counts[seg.stage])
        full, rest = divmod(seg.iterations, n)
        for g in range(n):
            row[g] += full + (1 if (g - seg.phase) % n < rest else 0)
    out = []
    for st, row in zip(schedule.stages, counts):
        out.append(StageCost(
            stage=st.index, epochs=st.epochs, iterations=sum(row), grid_iterations=tuple(row),
            clips=sum(c * g.global_batch for c, g in zip(row, st.grids)),
            compute=sum(c * g.cost for c, g in zip(row, st.grids)) / unit))
    return Cost(schedule.clips, schedule.workers, tuple(out))


def check_fits(schedule: Schedule, clips: int) -> Cost:
    """The cost, or a ConfigError if some stage would get no full batch from `clips` clips."""
    return schedule_cost(schedule, clips)


@dataclass(frozen=True)
class Comparison:
    """A schedule's cost against the fixed-shape baseline's on the same data and workers."""

    cost: Cost
    baseline: Cost

    @property
    def speedup_iterations(self) -> float:
        return self.baseline.iterations / max(self.cost.iterations, 1)

    @property
    def speedup_compute(self) -> float:
        return self.baseline.compute / self.cost.compute if self.cost.compute else float("inf")


def compare(schedule: Schedule, baseline: Schedule, clips: int | None = None) -> Comparison:
    return Comparison(schedule_cost(schedule, clips), schedule_cost(baseline, clips))

