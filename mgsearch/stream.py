"""Where each iteration of a schedule reads its clips: the clip stream, as pure arithmetic.

Each worker reads passes over its shard (`N // workers` clips; pass `p` is the sampler's epoch
`p`, one permutation of the data). Batches take clips in order from the current pass; a batch
never straddles two passes (the tail that does not fit is dropped, as a DataLoader with
`drop_last` does), and the short cycle restarts at the first batch of each pass and of each
stage. Under `granularity: epoch` every stage also starts a new pass, so a stage of E epochs is
exactly E passes of `batches_per_epoch` batches each (the public implementation's sampler).
Under `granularity: iteration` a stage may start or end inside a pass; the next stage continues
that pass.

A `Segment` is a run of iterations of one stage inside one pass. The sampler, the cost model and
the training loop (resuming mid-segment included) all read these; every worker walks the same
segments, so all ranks run the same number of steps, which DDP needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Segment:
    stage: int  # index into schedule.stages
    start_iter: int  # iterations run before its first batch
    iterations: int  # batches it yields, on every worker
    data_pass: int  # the pass over the shard (the sampler's epoch; seeds shuffle and augmentation)
    offset: int  # clips of that pass (per worker) read before it
    phase: int = 0  # short-cycle position of its first batch (0 except when resuming inside it)

    @property
    def end_iter(self) -> int:
        return self.start_iter + self.iterations


def batches_per_epoch(clips_per_worker: int, batch_sizes: Sequence[int]) -> int:
    """Full batches one worker yields from `clips_per_worker` clips, cycling `batch_sizes`.

    The incomplete last batch is dropped. This is the one count the sampler, the cost model and
    the training loop share (every worker must run the same number of steps or DDP hangs)."""
    cycle = sum(batch_sizes)
    if cycle <= 0:
        return 0
    full, rest = divmod(max(clips_per_worker, 0), cycle)
    n = full * len(batch_sizes)
    for b in batch_sizes:
        if rest < b:
            break
        rest -= b
        n += 1
    return n


def cycle_sum(k: int, values: Sequence[float], phase: int = 0) -> float:
    """Sum of `values[(phase + j) % len]` for j < k: clips (or compute) of k cycling batches."""
    n = len(values)
    full, rest = divmod(k, n)
    return full * sum(values) + sum(values[(phase + j) % n] for j in range(rest))


def walk(sizes: Sequence[Sequence[int]], iterations: Sequence[int], clips_per_worker: int,
         new_pass_per_stage: bool) -> tuple[Segment, ...]:
    """The segments of stages with per-worker batch `sizes[j]` and `iterations[j]` batches.

    Requires `sizes[j][0] <= clips_per_worker` for every stage with iterations (a pass must
    hold the first batch of the cycle), which the schedule builder checks."""
    out: list[Segment] = []
    p, offset, it = 0, 0, 0
    for j, (sz, left) in enumerate(zip(sizes, iterations)):
        if left > 0 and sz[0] > clips_per_worker:
            raise ValueError(f"stage {j}: a batch of {sz[0]} clips does not fit a pass of "
                             f"{clips_per_worker} clips")
        if new_pass_per_stage and offset > 0:
            p, offset = p + 1, 0
        while left > 0:
            avail = batches_per_epoch(clips_per_worker - offset, sz)
            if avail == 0:
                p, offset = p + 1, 0
                continue
            k = min(left, avail)
            out.append(Segment(j, it, k, p, offset))
            offset += int(cycle_sum(k, sz))
            it, left = it + k, left - k
    return tuple(out)


def resume_segments(segments: Sequence[Segment], sizes: Sequence[Sequence[int]],
                    start_iter: int) -> list[Segment]:
    """The segments still to run after `start_iter` iterations, the first one cut to start
    exactly there (its offset moved past the clips already read, its short cycle shifted)."""
    out = []
    for seg in segments:
        if seg.end_iter <= start_iter:
            continue
        done = max(0, start_iter - seg.start_iter)
        if done:
            sz = sizes[seg.stage]
            seg = Segment(seg.stage, seg.start_iter + done, seg.iterations - done, seg.data_pass,
                          seg.offset + int(cycle_sum(done, sz, seg.phase)),
                          (seg.phase + done) % len(sz))
        out.append(seg)
    return out


def iteration_reaching(segments: Sequence[Segment], costs: Sequence[Sequence[float]],
                       targets: Sequence[float]) -> list[int]:
    """For each target (ascending) the fewest iterations whose summed cost reaches it.

    `costs[j]`: cost of each grid of stage j, in short-cycle order. A target above the total
    gives the total number of iterations."""
    out, done, ti = [], 0.0, 0
    total_iters = segments[-1].end_iter if segments else 0
    for seg in segments:
        c = costs[seg.stage]
        seg_total = cycle_sum(seg.iterations, c, seg.phase)
        while ti < len(targets) and done + seg_total >= targets[ti]:
            need = targets[ti] - done
            lo, hi = 0, seg.iterations  # smallest k with cycle_sum(k) >= need
            while lo < hi:
                mid = (lo + hi) // 2
                if cycle_sum(mid, c, seg.phase) >= need:
                    hi = mid
                else:
                    lo = mid + 1
            out.append(seg.start_iter + lo)
            ti += 1
        done += seg_total
    out += [total_iters] * (len(targets) - len(out))
    return out
