"""Iteration granularity: equal iterations per shape, a fine-tuning phase, no stage lost."""

from __future__ import annotations

import re
import warnings

import pytest

from mgsearch.config import load_config
from mgsearch.contract import baseline_of
from mgsearch.cost import schedule_cost
from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule

from .conftest import ENGINE_CONFIG, make_config


def engine(grid_set: str, *overrides: str):
    return load_config(ENGINE_CONFIG, [f"multigrid.grid_set={grid_set}", *overrides])


def test_wu2020_iterations_derived_by_hand():
    """B=8, T=8, S=48, steps [0, 3, 5], max_epoch 6, factor 1.5, one worker, 4,000 clips.

    1. The plan (as the public code): relative batches per long-cycle shape (with the short
       cycle) average 32/3, 16/3, 14/3, 7/3 (sum 23); iteration saving 5 / (4*5/23) = 5.75;
       fine-tuning (6-5) / 5.75 * 7/3 = 0.40580 epochs; x = 9 / 5.40580 = 1.664879.
    2. Clips of each LR step: step 0 3*x*4000 = 19978.5, step 1 2*x*4000 = 13319.0. The
       sampler's batches per iteration, cycling, are 128/64/64, 64/32/32, 64/32/16, 32/16/8
       (means 85.33, 42.67, 37.33, 18.67: sum 184), so each shape gets 19978.5/184 = 108.6 ->
       109 iterations in step 0 and 13319.0/184 = 72.4 -> 72 in step 1.
    3. Fine-tuning: 0.40580*x*4000 = 2702.4 clips at 18.67 per iteration = 144.8 -> 145,
       halves 72 + 73.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stage may be dropped
        sched = build_schedule(engine("wu2020"), clips=4000)
    assert [s.iterations for s in sched.stages] == [109] * 4 + [72] * 4 + [72, 73]
    assert [s.phase for s in sched.stages] == ["train"] * 8 + ["fine_tune"] * 2
    assert [s.lr_step for s in sched.stages] == [0] * 4 + [1] * 4 + [2, 2]
    assert sched.iterations == 869 and sched.granularity == "iteration"
    # Epoch-equivalents: clips read over the 4000-clip shard. A pass holds 15 cycles of
    # 128/64/64 and one more 128 (3968 clips; 64 more would not fit), 46 batches; stage 0's 109
    # batches are 46 + 46 + 17 (5 cycles + 128 + 64 = 1472 clips): 9408 clips, 2.352 epochs.
    assert sched.stages[0].end_epoch == pytest.approx(9408 / 4000)
    cost = schedule_cost(sched)
    assert sched.stages[0].end_epoch == pytest.approx(cost.stages[0].clips / 4000)
    assert sched.max_epoch == pytest.approx(cost.clips / 4000)


@pytest.mark.parametrize("grid_set", ["wu2020", "long_only", "two_stage"])
def test_every_stage_runs_with_equal_iterations(grid_set):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched = build_schedule(engine(grid_set), clips=4000)
    assert all(s.iterations > 0 for s in sched.stages)
    n_shapes = len({s.shape for s in sched.stages if s.phase == "train"})
    for step in (0, 1):
        iters = [s.iterations for s in sched.stages if s.lr_step == step]
        assert len(iters) == n_shapes and max(iters) - min(iters) <= 1
    ft = [s for s in sched.stages if s.phase == "fine_tune"]
    assert len(ft) == 2 and all(s.shape == (1, 8, 48) for s in ft)
    assert abs(ft[0].iterations - ft[1].iterations) <= 1


def test_epoch_granularity_keeps_the_public_rounding():
    with pytest.warns(UserWarning, match="zero-length"):
        sched = build_schedule(engine("wu2020", "multigrid.granularity=epoch"), clips=4000)
    assert [s.end_epoch for s in sched.stages] == [2, 3, 4, 5, 7, 8, 9]


def test_a_budget_too_small_is_refused_with_the_smallest_that_works():
    cfg = make_config({"shape": {"batch": 4, "frames": 4, "crop": 32},
                       "solver": {"steps": [0, 2], "max_epoch": 3}})
    with pytest.raises(ConfigError) as err:
        build_schedule(cfg, clips=10)
    msg = str(err.value)
    assert "\n" not in msg and "granularity = 'iteration'" in msg
    smallest = int(re.search(r"smallest budget that works is (\d+) training clips", msg)[1])
    assert all(s.iterations >= 1 for s in build_schedule(cfg, clips=smallest).stages)
    assert smallest == 64  # here the coarsest batch (64 clips) binds
    with pytest.raises(ConfigError, match=r"needs batches of \[64, 32, 32\] clips .* \(at least 64\)"):
        build_schedule(cfg, clips=smallest - 1)
    # A long step before a 1-epoch fine-tuning phase: the fine-tuning phase is what fails.
    longer = make_config({"shape": {"batch": 1, "frames": 4, "crop": 32},
                          "solver": {"steps": [0, 60], "max_epoch": 61},
                          "multigrid": {"grid_set": "two_stage"}})
    with pytest.raises(ConfigError, match=r"fine_tune stage of LR step 1 .* 0\.61 iterations.* "
                                          r"works is 4 training clips"):
        build_schedule(longer, clips=2)
    assert [s.iterations for s in build_schedule(longer, clips=4).stages][-2:] == [1, 1]


def test_iteration_granularity_needs_the_clips():
    with pytest.raises(ConfigError, match=r"pass its size .*--clips N"):
        build_schedule(make_config())


def test_points_are_the_same_fractions_for_every_schedule():
    cfg = engine("wu2020")
    for sched in (build_schedule(cfg, clips=4000), build_schedule(baseline_of(cfg), clips=4000)):
        pts = sched.points
        assert len(pts) == 24 and pts[-1].iteration == sched.iterations
        assert [p.budget_fraction for p in pts] == [k / 24 for k in range(1, 25)]
        assert [p.index for p in pts if p.evaluate] == list(range(2, 25, 2))
        assert [p.index for p in pts if p.checkpoint] == list(range(2, 25, 2))
    base = build_schedule(baseline_of(cfg), clips=4000)
    # The baseline's iterations all cost one baseline iteration: point k at ceil(k*3000/24).
    assert [p.iteration for p in base.points] == [125 * k for k in range(1, 25)]


def test_epoch_points_with_eval_points_0():
    cfg = make_config({"solver": {"steps": [0, 8, 12], "max_epoch": 16},
                       "multigrid": {"granularity": "epoch"}, "train": {"eval_points": 0}})
    base = build_schedule(baseline_of(cfg), clips=1000)
    assert [p.iteration for p in base.points] == [125 * e for e in range(1, 17)]
    assert all(p.evaluate for p in base.points)  # eval_period 1
    with pytest.raises(ConfigError, match="needs multigrid.granularity: epoch"):
        make_config({"train": {"eval_points": 0}})


def test_short_only_iteration_granularity_keeps_fractional_steps():
    cfg = engine("short_only")
    sched = build_schedule(cfg, clips=4000)
    # Steps [0, 3, 5] x 1.5 = [0, 4.5, 7.5], 9 epochs; 4000 clips at (32+16+8)/3 = 18.67 a batch.
    assert [s.iterations for s in sched.stages] == [round(4.5 * 4000 / (56 / 3)),
                                                    round(3 * 4000 / (56 / 3)),
                                                    round(1.5 * 4000 / (56 / 3))]
