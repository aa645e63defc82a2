"""LR policies as pure functions of the iteration, checked against values derived by hand."""

from __future__ import annotations

import math

import pytest

from mgsearch.config import load_config
from mgsearch.contract import baseline_of
from mgsearch.errors import ConfigError
from mgsearch.lr_policy import lr_summary
from mgsearch.lr_view import lr_rows
from mgsearch.schedule import build_schedule

from .conftest import ENGINE_CONFIG, make_config

# The engine config's shapes with the solver's own policy and gamma**k steps (its multigrid
# policy and relative steps are what the tests below vary).
PLAIN = ["multigrid.lr_policy=null", "solver.lrs=null"]


def quick(*overrides):
    # No warm-up, so every iteration shows the policy itself.
    cfg = load_config(ENGINE_CONFIG, ["solver.warmup_epochs=0", *PLAIN, *overrides])
    return build_schedule(cfg, clips=4000)


def test_steps_restart_with_each_lr_step():
    s = quick("solver.policy=steps", "multigrid.lr_scaling=linear")
    # The engine config's iterations (tests/test_allocation.py): 109 per shape in step 0, 72 in
    # step 1, fine-tuning 72 + 73.
    b = 2e-4
    assert s.lr_at_iter(0) == pytest.approx(b * 8)  # b_rel 8, gamma^0
    assert s.lr_at_iter(3 * 109) == pytest.approx(b * 1)  # full shape, step 0
    assert s.lr_at_iter(4 * 109) == pytest.approx(b * 0.1 * 8)  # the restart: step 1, b_rel 8
    # Fine-tuning: first half keeps the last train stage's rate, then one gamma lower.
    assert s.lr_at_iter(4 * 109 + 4 * 72) == pytest.approx(b * 0.1)
    assert s.lr_at_iter(s.iterations - 1) == pytest.approx(b * 0.01)


def test_relative_steps_and_sqrt_scaling():
    s = quick("solver.policy=steps", "solver.lrs=[1, 0.5, 0.25]", "multigrid.lr_scaling=sqrt")
    assert s.lr_at_iter(4 * 109) == pytest.approx(2e-4 * 0.5 * math.sqrt(8))


def test_cosine_per_cycle_restarts_over_each_cycles_iterations():
    s = quick("solver.policy=cosine_per_cycle", "multigrid.lr_scaling=none")
    b = 2e-4
    # Cycle 0 is iterations [0, 436): at its middle the half cosine is at 1/2.
    assert s.lr_at_iter(0) == pytest.approx(b)
    assert s.lr_at_iter(218) == pytest.approx(b * 0.5)
    assert s.lr_at_iter(436) == pytest.approx(b)  # restart of cycle 1 [436, 724)
    assert s.lr_at_iter(436 + 144) == pytest.approx(b * 0.5)
    assert s.lr_at_iter(724) == pytest.approx(b)  # the fine-tuning phase is a cycle of its own
    c = (math.cos(math.pi * 144 / 145) + 1) / 2
    assert s.lr_at_iter(868) == pytest.approx(b * c)


def test_cosine_per_cycle_needs_iterations_for_epoch_lookups():
    cfg = make_config({"solver": {"policy": "cosine_per_cycle"},
                       "multigrid": {"granularity": "epoch"}})
    with pytest.raises(ValueError, match="cosine_per_cycle' is defined per iteration"):
        build_schedule(baseline_of(cfg)).lr_at(1.0)


def test_bad_policy_is_one_line():
    with pytest.raises(ConfigError, match=r"solver.policy = 'cosine_cycle': expected one of "
                                          r".*'cosine_per_cycle'"):
        make_config({"solver": {"policy": "cosine_cycle"}})


def test_summary_sums_the_lr_of_full_shape_iterations():
    s = quick("solver.policy=steps", "multigrid.lr_scaling=none")
    info = lr_summary(s)
    # Full-shape (8 x 48²) iterations: every third iteration of the full-T stages (the short
    # cycle runs 8x24², 8x34², 8x48²): step 0 (lr 1), step 1 (0.1), fine-tuning (0.1, 0.01).
    def thirds(n, phase=0):
        return len([j for j in range(n) if (phase + j) % 3 == 2])

    st = s.stages
    # The cycle restarts at each segment (pass or stage start): count from the segments.
    per_stage = {i: 0 for i in range(len(st))}
    for seg in s.segments:
        per_stage[seg.stage] += thirds(seg.iterations, seg.phase)
    expected = 2e-4 * (per_stage[3] + 0.1 * per_stage[7] + 0.1 * per_stage[8]
                       + 0.01 * per_stage[9])
    assert info.sum_lr_full_shape == pytest.approx(expected)
    assert info.restart_lr == pytest.approx(2e-4 * 0.1)
    assert info.before_restart_lr == pytest.approx(2e-4)


def test_lr_rows_cover_every_policy_and_scaling():
    rows = lr_rows(load_config(ENGINE_CONFIG, PLAIN), 4000)
    assert {(r["policy"], r["lr_scaling"]) for r in rows} == {
        (p, s) for p in ("steps", "steps lrs=1", "cosine", "cosine_per_cycle")
        for s in ("linear", "sqrt", "none")}
    # The measured failure: cosine x sqrt jumps ~2.8x at the restart (sqrt 8 / sqrt 1 x the
    # cosine's small decay over the restart's one iteration).
    cos_sqrt = next(r for r in rows if r["policy"] == "cosine" and r["lr_scaling"] == "sqrt")
    assert cos_sqrt["restart"] / cos_sqrt["before"] == pytest.approx(math.sqrt(8), rel=0.01)
