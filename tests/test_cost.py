"""Cost model: iterations, clips and compute against the baseline."""

from __future__ import annotations

import pytest

from mgsearch.contract import baseline_of
from mgsearch.cost import compare, schedule_cost
from mgsearch.schedule import build_schedule

from .conftest import make_config


def test_baseline_iterations_and_compute_unit():
    cfg = make_config({"shape": {"batch": 8}, "solver": {"steps": [0, 8, 12], "max_epoch": 16},
                       "train": {"workers": 2}})
    base = schedule_cost(build_schedule(baseline_of(cfg)), clips=1001)
    # 1001 clips -> 500 per worker -> 125 batches of 4 per epoch, 16 epochs.
    assert base.iterations == 125 * 16
    assert base.compute == pytest.approx(base.iterations)
    assert base.clips == 125 * 8 * 16


def test_short_cycle_iterations_cycle_the_grids():
    cfg = make_config({"multigrid": {"grid_set": "short_only", "granularity": "epoch"},
                       "solver": {"steps": [0], "max_epoch": 2}})
    sched = build_schedule(cfg)  # 3 epochs, grids 32/16/8 clips
    cost = schedule_cost(sched, clips=100)
    # 100 clips: 32+16+8 = 56, then 32 (88), 16 would need 104 -> 4 batches per epoch, the
    # cycle restarting each epoch: grids 0, 1, 2, 0.
    assert cost.stages[0].iterations == 3 * 4
    assert cost.stages[0].grid_iterations == (6, 3, 3)
    assert cost.stages[0].clips == 3 * (32 + 16 + 8 + 32)
    # Compute: each grid costs b*t*s^2 / (8*16*64^2): 32*16*32^2 -> 1.0, 16*16*45^2 -> 0.99, 8*..=1.
    per_epoch = (32 * 32**2 * 2 + 16 * 45**2 + 8 * 64**2) * 16 / (8 * 16 * 64**2)
    assert cost.stages[0].compute == pytest.approx(3 * per_epoch)


def test_short_cycle_iterations_under_iteration_granularity():
    cfg = make_config({"multigrid": {"grid_set": "short_only"},
                       "solver": {"steps": [0], "max_epoch": 2}})
    # 3 epochs of 100 clips at a mean (32+16+8)/3 = 18.67 clips per iteration: 16.07 -> 16
    # iterations. A pass holds 4 (32+16+8+32 = 88 clips, the 12 left cannot hold 16), so 4
    # passes of grids 0, 1, 2, 0.
    cost = schedule_cost(build_schedule(cfg, clips=100))
    assert cost.stages[0].iterations == 16
    assert cost.stages[0].grid_iterations == (8, 4, 4)
    assert cost.clips == 4 * 88


def test_wu2020_predicts_a_speedup_on_quickstart_shape():
    cfg = make_config({"solver": {"steps": [0, 8, 12], "max_epoch": 16}})
    cmp = compare(build_schedule(cfg, clips=1000), build_schedule(baseline_of(cfg), clips=1000))
    # Multigrid trains 1.5x the epochs on far fewer iterations; every iteration costs about
    # one baseline iteration, so both speed-ups are close and well above 2.
    assert cmp.speedup_iterations > 2.5
    assert cmp.speedup_compute == pytest.approx(cmp.speedup_iterations, rel=0.05)


def test_zero_clips_refused():
    cfg = make_config()
    with pytest.raises(ValueError, match="clips = 0"):
        schedule_cost(build_schedule(baseline_of(cfg)), 0)


def test_a_stage_whose_batch_exceeds_the_data_is_refused_before_training():
    from mgsearch.cost import check_fits
    from mgsearch.errors import ConfigError

    cfg = make_config({"shape": {"batch": 4, "frames": 4, "crop": 32},
                       "solver": {"steps": [0, 2], "max_epoch": 3},
                       "multigrid": {"granularity": "epoch"}})
    with pytest.raises(ConfigError, match=r"needs batches of \[64, 32, 32\] clips but the training set has 52"):
        check_fits(build_schedule(cfg), 52)
    check_fits(build_schedule(baseline_of(cfg)), 52)  # the baseline's 4 clips fit
