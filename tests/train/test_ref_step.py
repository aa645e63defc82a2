"""The reference step: a fixed step on a private model copy, timed before and after training,
off the clock, leaving the trial's weights, statistics and random streams untouched."""

from __future__ import annotations

import pytest
import torch

from mgsearch.contract import baseline_of
from mgsearch.train.launch import run_training
from mgsearch.train.refstep import reference_step_s

from .configs import tiny_baseline
from .test_train_ray import rows

RESULTS = ("train_loss", "lr", "val_top1", "val_top5", "val_loss", "clips_seen", "iterations")


def tiny_cfg(tiny_dataset, tmp_path, **train):
    return tiny_baseline(tiny_dataset, tmp_path, "ref", report_points=4, eval_points=2,
                         checkpoint_points=1, precise_bn_clips=8, **train)


def test_reference_step_leaves_the_global_random_streams_alone(tiny_dataset, tmp_path):
    cfg = tiny_cfg(tiny_dataset, tmp_path)
    torch.manual_seed(3)
    before = torch.get_rng_state()
    seconds = reference_step_s(cfg, 4, torch.device("cpu"), warmup=1, repeats=2)
    assert seconds > 0
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.ray
@pytest.mark.slow
def test_runs_with_and_without_it_are_bit_identical_and_report_it(ray_local, tiny_dataset,
                                                                   tmp_path):
    on = rows(run_training(baseline_of(tiny_cfg(tiny_dataset, tmp_path / "on")),
                           name="on").run_dir)
    off = rows(run_training(baseline_of(tiny_cfg(tiny_dataset, tmp_path / "off",
                                                 ref_step=False)), name="off").run_dir)
    assert len(on) == len(off) == 4
    for a, b in zip(on, off):
        assert {k: a.get(k) for k in RESULTS} == {k: b.get(k) for k in RESULTS}  # exact
    assert all(r["ref_step_start_s"] > 0 for r in on)
    assert "ref_step_end_s" not in on[0] and on[-1]["ref_step_end_s"] > 0
    assert not any(k.startswith("ref_step") for r in off for k in r)
    # Off the clock: the clock's parts still sum to time_total_s, and start-up is recorded
    # beside it, the reference step excluded from the time to the first step.
    last = on[-1]
    assert last["time_total_s"] == pytest.approx(
        sum(last[k] for k in ("time_train_s", "time_eval_s", "time_data_wait_s", "time_other_s")))
    assert 0 < last["worker_start_s"] <= last["first_step_s"]
