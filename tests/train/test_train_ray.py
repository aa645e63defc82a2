"""Multigrid training on a real local Ray: DDP workers, shapes as scheduled, a killed worker
resumed at the same schedule position, the baseline through the same loop. Real MP4 files."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from mgsearch.contract import baseline_of
from mgsearch.schedule import build_schedule
from mgsearch.train.launch import run_training

from ..conftest import make_config
from .configs import tiny_baseline

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def rows(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def expected_position(sched, iteration: int):
    """Stage, shape and batch of the iteration that ends at report point `iteration`."""
    stage = sched.stage_at_iter(iteration - 1)
    return stage.index, stage.grids[-1].t, stage.grids[-1].s, stage.global_batch


def _raw(cfg) -> dict:
    from mgsearch.configtypes import to_dict

    return to_dict(cfg)


def two_stage_cfg(tiny_dataset, tmp_path, **train):
    """Long cycle [(1/2, 1/2)] + short cycle on 4 frames x 32 px: one coarse stage, then the
    full shape (fine-tuning); B=4 over 2 workers; 12 report points, 6 evaluations, 3 checkpoints."""
    return make_config({
        "name": "raytest",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.05, "steps": [0, 2], "max_epoch": 4, "policy": "steps"},
        "multigrid": {"grid_set": "custom", "long_cycle_factors": [[0.5, 0.5], [1, 1]],
                      "short_cycle_factors": [0.5, 0.7071], "bn_base_size": 2, "epoch_factor": 1.0},
        "dataset": tiny_dataset,
        "train": {"workers": 2, "storage_path": str(tmp_path), "precision": "fp32",
                  "report_points": 12, "eval_points": 6, "checkpoint_points": 3, **train},
    })


def test_two_workers_follow_the_schedule(ray_local, tiny_dataset, tmp_path):
    cfg = two_stage_cfg(tiny_dataset, tmp_path)
    sched = build_schedule(cfg, clips=52)  # the tiny set's training clips
    assert len({s.shape for s in sched.stages}) >= 2  # the shapes really change
    result = run_training(cfg, name="follow")
    got = rows(result.run_dir)
    assert [r["point"] for r in got] == [p.index for p in sched.points]
    for r, p in zip(got, sched.points):
        assert r["iterations"] == p.iteration and r["points"] == len(sched.points)
        assert (r["stage"], r["shape_t"], r["shape_s"], r["global_batch"]) == \
            expected_position(sched, p.iteration)
        assert r["lr"] == pytest.approx(sched.lr_at_iter(p.iteration - 1))
        assert r["epoch"] == pytest.approx(sched.epoch_at_iter(p.iteration), abs=1e-6)
        assert ("val_top1" in r) == p.evaluate
    assert got[-1]["budget_fraction"] == pytest.approx(1.0)
    # Rank 0's reference step (each rank times its own copy, no collective) and start-up.
    assert all(r["ref_step_start_s"] > 0 for r in got) and got[-1]["ref_step_end_s"] > 0
    assert 0 < got[-1]["worker_start_s"] <= got[-1]["first_step_s"]
    assert got[-1]["time_total_s"] == pytest.approx(
        sum(got[-1][k] for k in ("time_train_s", "time_eval_s", "time_data_wait_s", "time_other_s")))


def test_killed_worker_resumes_at_the_same_iteration(ray_local, tiny_dataset, tmp_path):
    """Kill a worker inside a stage; the restarted group resumes at the last checkpoint's
    iteration and replays the points after it exactly: same position, counters and losses
    (model, optimizer, data position and RNG all restored)."""
    from ray.util.state import list_actors

    # Larger clips and more iterations than the other tests, so the kill lands mid-run.
    cfg = two_stage_cfg(tiny_dataset, tmp_path, max_failures=1)
    cfg = make_config({**_raw(cfg), "shape": {"batch": 4, "frames": 8, "crop": 64,
                                              "sampling_rate": 1},
                       "solver": {"base_lr": 0.05, "steps": [0, 4], "max_epoch": 8}})
    sched = build_schedule(cfg, clips=52)
    first_ckpt = next(p for p in sched.points if p.checkpoint)
    assert sched.stage_at_iter(first_ckpt.iteration).index == \
        sched.stage_at_iter(first_ckpt.iteration - 1).index, "the checkpoint must be mid-stage"
    run_dir = os.path.join(str(tmp_path), "killed")
    out = {}
    thread = threading.Thread(target=lambda: out.update(r=run_training(cfg, name="killed")))
    thread.start()
    deadline = time.time() + 240
    while len(rows(run_dir)) < first_ckpt.index + 1 and time.time() < deadline:
        time.sleep(0.2)
    assert len(rows(run_dir)) > first_ckpt.index, "the run did not get past its first checkpoint"
    time.sleep(1.0)  # past the controller's poll, so the checkpoint is registered
    # This session's own Ray by its address: another Ray on the machine must not be asked.
    own = ray_local.get_runtime_context().gcs_address
    workers = list_actors(address=own, filters=[("class_name", "=", "RayTrainWorker"),
                                                ("state", "=", "ALIVE")])
    assert workers
    os.kill(workers[-1].pid, signal.SIGKILL)
    thread.join(timeout=300)
    assert "r" in out, "the run did not finish after the restart"
    got = rows(run_dir)
    points = [r["point"] for r in got]
    assert points[-1] == len(sched.points)
    restart = next((i for i in range(1, len(points)) if points[i] <= points[i - 1]), None)
    assert restart is not None, "no point was repeated: the kill did not cause a restart"
    # Every report, before and after the restart, sits where the schedule says.
    by_point = {p.index: p for p in sched.points}
    for r in got:
        p = by_point[r["point"]]
        assert r["iterations"] == p.iteration
        assert (r["stage"], r["shape_t"], r["shape_s"], r["global_batch"]) == \
            expected_position(sched, p.iteration)
    # The restart resumed right after a checkpoint and replayed the points after it exactly.
    resumed_after = got[restart]["point"] - 1
    assert by_point[resumed_after].checkpoint
    before = {r["point"]: r for r in got[:restart]}
    replayed = [r for r in got[restart:] if r["point"] in before]
    assert replayed
    for r in replayed:
        b = before[r["point"]]
        assert (r["clips_seen"], r["iterations"]) == (b["clips_seen"], b["iterations"])
        assert r["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
    # After the restart the clock continues from the checkpoint's value, not from zero.
    ckpt_row = before[resumed_after]
    assert got[restart]["time_total_s"] > ckpt_row["time_total_s"]


def test_loss_falls_and_baseline_shares_the_loop(ray_local, tiny_dataset, tmp_path):
    cfg = tiny_baseline(tiny_dataset, tmp_path, "learn", max_epoch=6, report_points=6,
                        eval_points=2, checkpoint_points=1)
    result = run_training(baseline_of(cfg), name="learn")
    got = rows(result.run_dir)
    assert {r["kind"] for r in got} == {"baseline"}
    assert {(r["shape_t"], r["shape_s"]) for r in got} == {(4, 32)}
    assert got[-1]["train_loss"] < got[0]["train_loss"]
    # 52 clips / 4 = 13 iterations an epoch, 78 in all: points every 13, evaluations at 3 and 6.
    assert [r["iterations"] for r in got] == [13 * k for k in range(1, 7)]
    assert [r["point"] for r in got if "val_top1" in r] == [3, 6]
