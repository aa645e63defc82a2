"""The schedule engine: the wu2020 semantics, exact to the public implementation's rounding
under `granularity: epoch` (the Kinetics tests); iteration granularity is tested in
tests/test_allocation.py."""

from __future__ import annotations

import math
import warnings

import pytest

from mgsearch.contract import baseline_of
from mgsearch.errors import ConfigError
from mgsearch.schedule import batches_per_epoch, build_schedule

from .conftest import KINETICS_R50, make_config


def test_kinetics_slowfast_r50_stage_ends_derived_by_hand(kinetics_cfg):
    """Stage ends of the Kinetics SlowFast R50 8x8 stepwise-multigrid config, derived by hand.

    Default shape B=64 (8 GPUs), T=32, S=224; steps [0, 94, 154, 196], max_epoch 239, factor 1.5.

    1. Long-cycle base shapes (t, s) = (round(32*ft), round(224*fs)): (8, 158), (16, 158),
       (16, 224), (32, 224). With the short cycle each expands to crops 112, 158.39 (=224/sqrt2,
       not rounded in the public code) and its own s; relative batch round(32*224^2/(t*s^2)):
         (8,158):  16, 8, 8   -> mean 32/3      (16,158): 8, 4, 4 -> mean 16/3
         (16,224):  8, 4, 2   -> mean 14/3      (32,224): 4, 2, 1 -> mean  7/3     sum 69/3 = 23
    2. In each LR step of L epochs, shape i gets L*mean_i/23 epochs (= L/23 "iterations" each):
         step 0 (L=94): 43.594, 21.797, 19.072, 9.536
         step 1 (L=60): 27.826, 13.913, 12.174, 6.087
         step 2 (L=42): 19.478,  9.739,  8.522, 4.261
       Iterations saved: 196 / (4*196/23) = 5.75.
    3. Fine-tuning: (239-196) / 5.75 * 7/3 = 17.449 epochs. Raw total 196 + 17.449 = 213.449.
    4. Scale to 239*1.5 = 358.5 epochs: x = 358.5/213.449 = 1.679556. Cumulative raw epochs
       times x: 73.22, 109.83, 141.86, 157.88, 204.61, 227.98, 248.43, 258.65, 291.37, 307.72,
       322.04, 329.19, 358.5 -> rounded (ties to even: 358.5 -> 358):
    """
    ends = [73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 358]
    sched = build_schedule(kinetics_cfg)
    train = [s for s in sched.stages if s.phase == "train"]
    assert [s.end_epoch for s in train] == ends[:-1]
    assert sched.max_epoch == 358
    # The fine-tuning phase is split at (329 + 358) // 2 = 343.
    ft = [s for s in sched.stages if s.phase == "fine_tune"]
    assert [(s.start_epoch, s.end_epoch) for s in ft] == [(329, 343), (343, 358)]
    # Shapes repeat per LR step; fine-tuning at the full shape.
    assert [s.shape for s in train[:4]] == [(8, 8, 158), (4, 16, 158), (2, 16, 224), (1, 32, 224)]
    assert all(s.shape == (1, 32, 224) for s in ft)
    assert [s.lr_step for s in sched.stages] == [0] * 4 + [1] * 4 + [2] * 4 + [3, 3]


def test_kinetics_batches_and_lr_table(kinetics_cfg):
    sched = build_schedule(kinetics_cfg)
    s0 = sched.stages[0]
    # Global batch b_rel * 64; short-cycle batches use the sampler's factors
    # round((158/112)^2) = 2 and round((158/158.39)^2) = 1.
    assert s0.global_batch == 512
    assert [g.global_batch for g in s0.grids] == [1024, 512, 512]
    assert [(g.t, g.s) for g in s0.grids] == [(8, 112), (8, 158), (8, 158)]
    assert [g.per_worker_batch for g in s0.grids] == [128, 64, 64]
    s3 = sched.stages[3]
    assert [g.global_batch for g in s3.grids] == [256, 128, 64]  # factors 4, 2, 1 at full crop
    # Sub-batch BN: groups of bn_base_size=8 clips per worker.
    assert [g.bn_split for g in s0.grids] == [16, 8, 8]
    # Stride range: default rate 2 up to 2 * (32 // t).
    assert (s0.grids[0].min_stride, s0.grids[0].max_stride) == (2, 8)
    # LR = 0.1 * gamma^step * b_rel; fine-tuning: first half keeps the last step's rate.
    expected = [(0, 0.8), (73, 0.4), (110, 0.2), (142, 0.1), (158, 0.08), (205, 0.04),
                (228, 0.02), (248, 0.01), (259, 0.008), (291, 0.004), (308, 0.002),
                (322, 0.001), (343, 0.0001)]
    table = sched.lr_table
    assert [e for e, _ in table] == [e for e, _ in expected]
    assert [lr for _, lr in table] == pytest.approx([lr for _, lr in expected], rel=1e-12)


def test_warmup_is_linear_in_multigrid_epochs(kinetics_cfg):
    sched = build_schedule(kinetics_cfg)
    assert sched.lr_at(0) == pytest.approx(0.01)
    # Warm-up ends at the policy LR at epoch 34 (stage 0: 0.8).
    assert sched.lr_at(17) == pytest.approx(0.01 + 17 * (0.8 - 0.01) / 34)
    assert sched.lr_at(34) == pytest.approx(0.8)
    assert sched.lr_at(100) == pytest.approx(0.4)
    # Per iteration: iteration j of epoch e runs at lr_at(e + j / batches in that epoch).
    sized = build_schedule(kinetics_cfg, clips=240_000)
    per_epoch = sized.stages[0].iterations // sized.stages[0].epochs
    assert per_epoch == 3 * (30_000 // 256)  # 30,000 clips per worker, cycle 128+64+64 = 256
    assert sized.lr_at_iter(10 * per_epoch + 50) == sized.lr_at(10 + 50 / per_epoch)
    assert sched.lr_at(1000) == pytest.approx(0.0001)  # past the end: the last stage's rate


def test_eval_epochs_follow_eval_freq_per_stage(kinetics_cfg):
    sched = build_schedule(kinetics_cfg)
    # Stage 0 (0-73): period 73 // 3 + 1 = 25 -> after epochs 23, 48, 73.
    assert sched.eval_epochs[:3] == (23, 48, 73)
    assert sched.eval_epochs[-1] == 358
    assert sched.checkpoint_epochs == sched.eval_epochs


def test_long_cycle_only_works_and_fine_tunes_at_full_shape():
    cfg = make_config({**KINETICS_R50, "multigrid": {"grid_set": "long_only",
                                                     "granularity": "epoch"}})
    sched = build_schedule(cfg)
    first = sched.stages[0]
    assert len(first.grids) == 1 and first.shape == (8, 8, 158)  # 32*224^2/(8*158^2) = 8.04
    assert sched.stages[-1].shape == (1, 32, 224)
    assert sched.stages[-1].phase == "fine_tune"
    assert abs(sched.max_epoch - 358.5) <= 0.5


def test_short_cycle_only_scales_steps_with_truncation():
    cfg = make_config({**KINETICS_R50, "multigrid": {"grid_set": "short_only",
                                                     "granularity": "epoch"}})
    sched = build_schedule(cfg)
    # Public behaviour: steps int(s * 1.5), max_epoch int(239 * 1.5) = 358.
    assert [s.start_epoch for s in sched.stages] == [0, 141, 231, 294]
    assert sched.max_epoch == 358
    assert all(s.shape == (1, 32, 224) for s in sched.stages)
    assert [g.global_batch for g in sched.stages[0].grids] == [256, 128, 64]
    assert [lr for _, lr in sched.lr_table] == pytest.approx([0.1, 0.01, 0.001, 0.0001])
    assert sched.stages[0].grids[0].max_stride == 2  # no long cycle: fixed stride


def test_baseline_is_the_same_type_with_one_shape():
    cfg = make_config(KINETICS_R50)
    base = build_schedule(baseline_of(cfg))
    assert base.kind == "baseline" and base.max_epoch == 239
    assert {s.shape for s in base.stages} == {(1, 32, 224)}
    assert [len(s.grids) for s in base.stages] == [1, 1, 1, 1]
    assert [s.start_epoch for s in base.stages] == [0, 94, 154, 196]
    assert base.stages[0].global_batch == 64 and base.stages[0].grids[0].per_worker_batch == 8
    assert base.eval_epochs == tuple(range(1, 240))  # eval_period 1: after every epoch


def test_baseline_eval_period():
    cfg = make_config({**KINETICS_R50, "train": {"workers": 8, "eval_period": 10}})
    base = build_schedule(baseline_of(cfg))
    assert base.eval_epochs[:2] == (10, 20) and base.eval_epochs[-1] == 239


def test_zero_length_stage_is_dropped_with_a_warning():
    # Quickstart-sized: the fine-tuning phase of a 2-epoch last step rounds to nothing.
    cfg = make_config({"solver": {"steps": [0, 8, 12], "max_epoch": 13},
                       "multigrid": {"granularity": "epoch"}})
    with pytest.warns(UserWarning, match="zero-length"):
        sched = build_schedule(cfg)
    assert all(s.end_epoch > s.start_epoch for s in sched.stages)
    assert [s.index for s in sched.stages] == list(range(len(sched.stages)))
    for a, b in zip(sched.stages, sched.stages[1:]):
        assert b.start_epoch == a.end_epoch


def test_cosine_policy_scales_with_stage_batch():
    cfg = make_config({"solver": {"policy": "cosine", "steps": [0, 8, 12], "max_epoch": 16,
                                  "base_lr": 0.1}, "multigrid": {"granularity": "epoch"}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = build_schedule(cfg)
    s0 = sched.stages[0]
    assert s0.lr_scale == s0.shape[0]  # no gamma under cosine, only the batch scaling
    e = 1.5
    cos = (math.cos(math.pi * e / sched.max_epoch) + 1) / 2
    assert sched.lr_at(e) == pytest.approx(0.1 * cos * s0.shape[0])


def test_workers_split_the_global_batch():
    cfg = make_config({"shape": {"batch": 8}, "train": {"workers": 2}})
    sched = build_schedule(cfg, clips=4000)
    for st in sched.stages:
        for g in st.grids:
            assert g.per_worker_batch * 2 == g.global_batch


@pytest.mark.parametrize("n, sizes, expected", [
    (100, [8], 12),
    (7, [4, 2, 1], 3),
    (10, [4, 2, 1], 3),  # 4+2+1 then 4 needs more than the 3 left
    (11, [4, 2, 1], 4),
    (3, [4, 2, 1], 0),
])
def test_batches_per_epoch(n, sizes, expected):
    assert batches_per_epoch(n, sizes) == expected


def test_lr_scaling_rules():
    base = {"solver": {"steps": [0, 8, 12], "max_epoch": 16}}
    import math as _m
    for rule, f in (("linear", float), ("sqrt", _m.sqrt), ("none", lambda b: 1.0)):
        cfg = make_config({**base, "multigrid": {"lr_scaling": rule, "granularity": "epoch"}})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = build_schedule(cfg)
        s0 = sched.stages[0]
        assert s0.lr_scale == pytest.approx(f(s0.shape[0]))


def test_multigrid_lr_policy_leaves_the_baseline_on_the_solver_policy():
    cfg = make_config({"solver": {"policy": "cosine", "steps": [0, 3, 5], "max_epoch": 6,
                                  "lrs": [1.0, 1.0, 0.1], "base_lr": 0.1},
                       "multigrid": {"lr_policy": "steps", "lr_scaling": "none"}})
    mg = build_schedule(cfg, clips=4000)
    base = build_schedule(baseline_of(cfg), clips=4000)
    assert (mg.policy, base.policy) == ("steps", "cosine")
    # Relative steps [1, 1, 0.1]: constant through both long cycles, the fine-tuning phase's
    # first half at the previous rate and its second at 0.1 (the paper's split).
    assert [s.lr_scale for s in mg.stages] == [1.0] * (len(mg.stages) - 1) + [0.1]
    assert base.lr_at_iter(0) == pytest.approx(0.1) and base.lr_at_iter(2999) < 1e-3
    with pytest.raises(ConfigError, match="multigrid.lr_policy"):
        make_config({"multigrid": {"lr_policy": "cosine_restarts"}})
