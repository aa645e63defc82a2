"""`mgsearch train` names a run by its config: the same command after the driver was killed
continues the run from its last checkpoint; after the run finished it trains nothing.

Real processes: the CLI in a subprocess (its own session, its own local Ray), killed with SIGKILL
by the test model's loss at a known training call (tests/usermodels/tiny3d.py); the test stops
only that session's processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import ROOT

MGSEARCH = str(Path(sys.executable).parent / "mgsearch")
LOSS = "tests.usermodels.tiny3d:ce_killed_after_env"


def run_cli(config: Path, kill_after: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    if kill_after is not None:
        env["MGSEARCH_TEST_KILL_AFTER"] = str(kill_after)
    proc = subprocess.Popen([MGSEARCH, "train", str(config)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    finally:
        try:  # what the killed driver left of its Ray, in its own session only
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def points(run_dir: Path) -> list[int]:
    return [json.loads(line)["point"] for line in (run_dir / "metrics.jsonl").read_text()
            .splitlines() if line.strip()]


@pytest.mark.ray
@pytest.mark.slow
def test_the_same_command_continues_a_killed_run_and_skips_a_finished_one(tiny_dataset,
                                                                          tmp_path):
    # 3 epochs of 13 iterations (52 clips, B=4): points every 6.5 iterations, checkpoints at
    # points 2, 4, 6 (iterations 13, 26, 39).
    config = tmp_path / "rerun.yaml"
    config.write_text(yaml.safe_dump({
        "name": "rerun",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.02, "steps": [0], "max_epoch": 3, "optimizer": "adamw",
                   "weight_decay": 0.0},
        "multigrid": {"grid_set": "baseline"},
        "model": {"name": "resnet3d_small"},
        "dataset": tiny_dataset,
        "train": {"workers": 0, "storage_path": str(tmp_path / "results"), "precision": "fp32",
                  "loss": LOSS, "ref_step": False, "precise_bn_clips": 0, "report_points": 6,
                  "eval_points": 3, "checkpoint_points": 3},
    }))
    killed = run_cli(config, kill_after=30)  # during iteration 30: after the checkpoint at 26
    assert killed.returncode != 0, killed.stdout[-2000:]
    runs = list((tmp_path / "results").glob("rerun-baseline-s0-*"))
    assert len(runs) == 1, killed.stdout[-2000:]
    run = runs[0]
    assert points(run) == [1, 2, 3, 4]  # point 5 falls at iteration 33

    resumed = run_cli(config)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "resumed after iteration 26" in resumed.stdout
    assert points(run) == [1, 2, 3, 4, 5, 6]  # no point trained twice
    assert list((tmp_path / "results").glob("rerun-*")) == [run]  # the same run folder

    again = run_cli(config)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "finished before: nothing left to train" in again.stdout
    assert points(run) == [1, 2, 3, 4, 5, 6]
    record = json.loads((run / "trial.json").read_text())
    assert record["point"]["grid_set"] == "baseline" and record["config"]["train"]["loss"] == LOSS
