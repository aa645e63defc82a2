"""Invariants of every schedule the engine builds, over random shapes, solvers and grid sets."""

from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st

from mgsearch.contract import baseline_of
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
    mg = {"grid_set": grid, "epoch_factor": draw(st.sampled_from([1.0, 1.5, 2.0])),
          "granularity": "epoch"}
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


def iteration_cfg(cfg):
    import dataclasses

    return dataclasses.replace(cfg, multigrid=dataclasses.replace(cfg.multigrid,
                                                                  granularity="iteration"))


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
    from mgsearch.errors import ConfigError

    sched = build(cfg)
    per_worker = clips // cfg.train.workers
    fits = [batches_per_epoch(per_worker, s.batch_sizes) for s in sched.stages]
    if min(fits) == 0 or per_worker == 0:  # refused, as training would be
        try:
            schedule_cost(sched, clips)
        except ConfigError:
            return
        raise AssertionError("a stage without a full batch was not refused")
    cost = schedule_cost(sched, clips)
    for stage, sc, per_epoch in zip(sched.stages, cost.stages, fits):
        assert sc.iterations == sum(sc.grid_iterations) == per_epoch * stage.epochs
        # The short cycle restarts each epoch: grid g runs ceil((n - g) / len) times an epoch.
        k = len(stage.grids)
        assert sc.grid_iterations == tuple(stage.epochs * -(-(per_epoch - g) // k)
                                           for g in range(k))
        assert sc.clips <= stage.epochs * per_worker * cfg.train.workers
    base = schedule_cost(build(baseline_of(cfg)), clips)
    assert base.compute == base.iterations  # a baseline iteration is the unit


@given(st.integers(0, 10_000), st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_batches_per_epoch_matches_a_direct_walk(n, sizes):
    count, used, i = 0, 0, 0
    while used + sizes[i % len(sizes)] <= n:
        used += sizes[i % len(sizes)]
        count += 1
        i += 1
    assert batches_per_epoch(n, sizes) == count


@settings(max_examples=150, deadline=None)
@given(configs(), st.integers(1, 5000))
def test_iteration_granularity_invariants(cfg, clips):
    """Every stage runs, shapes of an LR step get equal iterations, fine-tuning is there, the
    iterations are what the plan's clips predict, and the points are where they should be."""
    import re

    from mgsearch.errors import ConfigError

    cfg = iteration_cfg(cfg)
    try:
        sched = build(cfg, clips=clips)
    except ConfigError as err:
        if "worker(s) needs >= 1 training clip" in str(err):
            assert clips < cfg.train.workers
            return
        found = re.search(r"works is (\d+) training clips|\(at least (\d+)\)", str(err))
        assert found, str(err)
        smallest = int(found[1] or found[2])
        assert smallest > clips
        if found[1]:  # the budget it names works
            build(cfg, clips=smallest)
        return
    W, n_w = cfg.train.workers, clips // cfg.train.workers
    # 1. No stage without iterations; contiguous iterations and epochs.
    assert all(s.iterations >= 1 for s in sched.stages)
    assert sched.stages[0].start_iter == 0 and sched.stages[-1].end_iter == sched.iterations
    for a, b in zip(sched.stages, sched.stages[1:]):
        assert a.end_iter == b.start_iter and a.end_epoch == b.start_epoch
    # 2. Inside each LR step every shape gets the same iterations (+- 1).
    for step in {s.lr_step for s in sched.stages}:
        iters = [s.iterations for s in sched.stages if s.lr_step == step]
        assert max(iters) - min(iters) <= 1
    # 3. The long cycle ends in a fine-tuning phase of two halves at the full shape.
    if sched.grid_set != "short_only":
        ft = [s for s in sched.stages if s.phase == "fine_tune"]
        assert len(ft) == 2 and {s.shape for s in ft} == {(1, cfg.shape.frames, cfg.shape.crop)}
    # 4. Total clips (iterations x mean batch) are max_epoch * epoch_factor passes, within half
    #    an iteration per stage (rounding) of each stage's mean batch.
    means = [sum(s.batch_sizes) / len(s.batch_sizes) for s in sched.stages]
    planned = sum(s.iterations * m for s, m in zip(sched.stages, means))
    target = cfg.solver.max_epoch * cfg.multigrid.epoch_factor * n_w
    assert abs(planned - target) <= 0.5 * sum(means) + 1.0 * max(means) + 1e-6
    # 5. The cost model counts the iterations the schedule holds, clips within the shard's passes.
    cost = schedule_cost(sched)
    assert cost.iterations == sched.iterations
    assert cost.clips == pytest_approx_int(sched.max_epoch * n_w * W)
    # 6. Points: increasing, the last at the end, evaluations a subset with the end among them.
    its = [p.iteration for p in sched.points]
    assert its == sorted(set(its)) and its[-1] == sched.iterations and its[0] >= 1
    assert sched.points[-1].evaluate and sched.points[-1].checkpoint
    # 7. The LR is defined at every iteration and positive.
    for i in (0, sched.iterations // 2, sched.iterations - 1):
        assert sched.lr_at_iter(i) > 0 or sched.cosine_end_lr == 0


def pytest_approx_int(x: float) -> int:
    return int(round(x))
