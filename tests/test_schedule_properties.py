"""Invariants of every schedule the engine builds, over random shapes, solvers and grid sets."""

from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from mgsearch.cost import schedule_cost
from mgsearch.schedule import batches_per_epoch, build_schedule

from .conftest import make_config

factor = st.floats(min_value=0.25, max_value=1.0, allow_nan=False)


@st.composite
def configs(draw):
    workers = draw(st.sampled_from([1, 2, 4]))
    batch = workers * draw(st.integers(1, 8))
    frames = draw(st.sampled_from([8, 16, 32]))
    crop = draw(st.sampled_from([64, 112, 160, 224]))
    gaps = draw(st.lists(st.integers(1, 60), min_size=1, max_size=4))
    steps = [0]
    for g in gaps:
        steps.append(steps[-1] + g)
    max_epoch = steps[-1] + draw(st.integers(1, 60))
    grid = draw(st.sampled_from(["wu2020", "long_only", "short_only", "two_stage", "custom"]))
    mg = {"grid_set": grid, "epoch_factor": draw(st.sampled_from([1.0, 1.5, 2.0]))}
    if grid == "custom":
        longs = draw(st.lists(st.tuples(factor, factor), min_size=1, max_size=4))
        mg["long_cycle_factors"] = [list(f) for f in longs] + [[1.0, 1.0]]
        mg["short_cycle_factors"] = None
    return make_config({
        "shape": {"batch": batch, "frames": frames, "crop": crop},
        "solver": {"steps": steps, "max_epoch": max_epoch,
                   "policy": draw(st.sampled_from(["steps", "cosine"])),
                   "warmup_epochs": float(draw(st.integers(0, 5)))},
        "multigrid": mg,
        "train": {"workers": workers},
    })


def build(cfg, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-length stages are expected for tiny solvers
        return build_schedule(cfg, **kw)


@settings(max_examples=150, deadline=None)
@given(configs())
def test_invariants(cfg):
    sched = build(cfg)
    B, T, S = cfg.shape.batch, cfg.shape.frames, cfg.shape.crop
    # 1. b*t*s^2 stays within rounding of B*T*S^2 for every long-cycle base shape: b is
    #    round(T*S^2 / (t*s^2)), so it is off by at most half a clip's worth.
    for stage in sched.stages:
        b, t, s = stage.shape
        assert abs(b * t * s * s - T * S * S) <= 0.5 * t * s * s + 1e-6
        assert stage.global_batch == b * B
        for g in stage.grids:
            assert g.per_worker_batch * cfg.train.workers == g.global_batch
            assert g.per_worker_batch % g.bn_split == 0
            assert g.t >= 1 and g.s >= 8
    # 2. Stages are non-empty, contiguous, start at 0 and end at max_epoch.
    assert sched.stages[0].start_epoch == 0
    assert sched.stages[-1].end_epoch == sched.max_epoch
    for a, b in zip(sched.stages, sched.stages[1:]):
        assert a.end_epoch == b.start_epoch
    assert all(s.end_epoch > s.start_epoch for s in sched.stages)
    # 3. Total epochs: round(max_epoch * epoch_factor) under the long cycle (rounding of a
    #    float sum: within half an epoch), int() of it with the short cycle only.
    target = cfg.solver.max_epoch * cfg.multigrid.epoch_factor
    if sched.grid_set == "short_only":
        assert sched.max_epoch == int(target)
    else:
        assert abs(sched.max_epoch - target) <= 0.5 + 1e-9
    # 4. The LR table agrees with the stages, and lr_at with both after warm-up.
    table = dict(sched.lr_table)
    for stage in sched.stages:
        lr = sched.lr_before_warmup(stage.start_epoch)
        if stage.start_epoch in table:
            assert abs(table[stage.start_epoch] - lr) <= 1e-12 * max(1, lr)
        mid = (stage.start_epoch + stage.end_epoch) / 2
        if mid >= sched.warmup_epochs:
            assert sched.lr_at(mid) == sched.lr_before_warmup(mid)
            if sched.policy == "steps":
                assert abs(sched.lr_at(mid) - sched.base_lr * stage.lr_scale) < 1e-12
    starts = [e for e, _ in sched.lr_table]
    assert starts == sorted(set(starts))
    # 5. Eval epochs are increasing, inside the run, and include the last epoch.
    assert list(sched.eval_epochs) == sorted(set(sched.eval_epochs))
    assert sched.eval_epochs[-1] == sched.max_epoch and sched.eval_epochs[0] >= 1


@settings(max_examples=60, deadline=None)
@given(configs(), st.integers(1, 5000))
def test_cost_is_consistent(cfg, clips):
    sched = build(cfg)
    cost = schedule_cost(sched, clips)
    per_worker = clips // cfg.train.workers
    for stage, sc in zip(sched.stages, cost.stages):
        assert sc.iters_per_epoch == batches_per_epoch(
            per_worker, [g.per_worker_batch for g in stage.grids])
        assert sc.iterations == sc.iters_per_epoch * stage.epochs
        assert sc.clips <= stage.epochs * per_worker * cfg.train.workers
    base = schedule_cost(build(cfg, baseline=True), clips)
    assert base.compute == base.iterations  # a baseline iteration is the unit


@given(st.integers(0, 10_000), st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_batches_per_epoch_matches_a_direct_walk(n, sizes):
    count, used, i = 0, 0, 0
    while used + sizes[i % len(sizes)] <= n:
        used += sizes[i % len(sizes)]
        count += 1
        i += 1
    assert batches_per_epoch(n, sizes) == count
