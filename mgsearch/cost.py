"""Cost model: iterations, clips and compute of a schedule for N training clips on W workers.

Compute is counted in voxels per iteration (b*t*s*s summed over the global batch) and reported
in units of one baseline iteration (B*T*S*S), so a multigrid iteration of matched shape costs
about 1.0. The predicted speed-up assumes time is proportional to compute (or to iterations);
bench/step_throughput.py measures how far that holds on a given machine.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schedule import Schedule, Stage, batches_per_epoch


@dataclass(frozen=True)
class StageCost:
    stage: int
    epochs: int
    iters_per_epoch: int  # per worker, the same on every worker
    iterations: int
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


def _grid_counts(stage: Stage, clips_per_worker: int) -> list[int]:
    """Iterations per epoch of each grid of the stage (the sampler cycles them in order)."""
    sizes = [g.per_worker_batch for g in stage.grids]
    n = batches_per_epoch(clips_per_worker, sizes)
    full, extra = divmod(n, len(sizes))
    return [full + (1 if i < extra else 0) for i in range(len(sizes))]


def schedule_cost(schedule: Schedule, clips: int) -> Cost:
    """Cost of `schedule` when one epoch is one pass over `clips` training clips."""
    if clips < 1:
        raise ValueError(f"clips = {clips}: the cost model needs >= 1 training clip")
    unit = schedule.batch * schedule.frames * schedule.crop**2  # one baseline iteration
    per_worker = clips // schedule.workers  # each worker gets a disjoint shard; remainder dropped
    out = []
    for stage in schedule.stages:
        counts = _grid_counts(stage, per_worker)
        per_epoch = sum(counts)
        out.append(StageCost(
            stage=stage.index,
            epochs=stage.epochs,
            iters_per_epoch=per_epoch,
            iterations=per_epoch * stage.epochs,
            clips=stage.epochs * sum(c * g.global_batch for c, g in zip(counts, stage.grids)),
            compute=stage.epochs * sum(c * g.cost for c, g in zip(counts, stage.grids)) / unit,
        ))
    return Cost(clips, schedule.workers, tuple(out))


def check_fits(schedule: Schedule, clips: int) -> Cost:
    """The cost, or a ConfigError if some stage would get no full batch from `clips` clips."""
    from .errors import ConfigError

    cost = schedule_cost(schedule, clips)
    for stage, sc in zip(schedule.stages, cost.stages):
        if sc.iters_per_epoch == 0:
            batches = [g.global_batch for g in stage.grids]
            raise ConfigError(
                f"{schedule.kind} stage {stage.index} needs batches of {batches} clips but the "
                f"training set has {clips} clips ({clips // schedule.workers} per worker): use "
                f"more clips, a smaller shape.batch, or a grid set with a smaller largest batch")
    return cost


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


def compare(schedule: Schedule, baseline: Schedule, clips: int) -> Comparison:
    return Comparison(schedule_cost(schedule, clips), schedule_cost(baseline, clips))
