"""Watching a search: the progress table's columns, the tensorboard command, and a tiny real
search whose live TensorBoard files carry every trial's val_top1 on its training clock."""

from __future__ import annotations

import json

import pytest

from mgsearch.watch import parameter_columns, tensorboard_hint

from .conftest import make_config
from .test_search_ray import mgsearch, write_config
from .train.test_tblog import read_scalars


def test_columns_follow_the_trial_config_layout():
    grid = make_config({}, "search.lr_multipliers=[1.0, 2.0]")
    assert parameter_columns(grid) == {"point/grid_set": "grid set", "point/seed": "seed",
                                       "point/lr_multiplier": "lr x"}
    optuna = make_config({}, "search.algorithm=optuna")
    assert parameter_columns(optuna) == {"grid_set": "grid set", "seed": "seed"}
    space = make_config({"search": {"algorithm": "optuna", "space": {
        "long_shapes": {"randint": [2, 4]}, "long_t": 0.25, "short_cycle": {"choice": [True]},
        "fine_tune_fraction": {"uniform": [0.1, 0.3]}}}})
    assert list(parameter_columns(space)) == ["grid_set", "seed", "long_shapes",
                                              "fine_tune_fraction"]  # varied keys only
    listed = make_config({"search": {"points": [{"grid_set": "wu2020", "long_cycles": 2},
                                                {"grid_set": "long_only", "long_cycles": 3}]}})
    assert list(parameter_columns(listed)) == ["point/grid_set", "point/seed", "point/long_cycles"]


def test_tensorboard_hint_binds_localhost_and_skips_uris():
    line = tensorboard_hint("/r/quickstart")
    assert "tensorboard --logdir /r/quickstart/tensorboard --host 127.0.0.1" in line
    assert "not written for remote storage" in tensorboard_hint("s3://bucket/quickstart")
    assert "tensorboard --logdir /abs/q/tensorboard" in tensorboard_hint("file:///abs/q")


@pytest.mark.ray
@pytest.mark.slow
def test_tiny_search_table_and_live_tensorboard(tiny_dataset, tmp_path):
    # `mgsearch search` in its own process, as a user runs it: after an earlier search in the
    # same process, Tune's table no longer reached pytest's capture (seen in the full suite).
    cfg = write_config(tmp_path, tiny_dataset)
    proc = mgsearch("search", str(cfg), "--set", "search.grid_sets=[two_stage]",
                    "--set", "search.max_concurrent_trials=2")
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    header = [line for line in out.splitlines() if "| Trial name" in line][-1]
    for column in ("grid set", "seed", "epoch", "val_top1", "time_total_s"):
        assert f" {column} " in header, header
    assert "| baseline " in out and "| two_stage " in out
    assert "[mgsearch] watch live: tensorboard --logdir " in out

    runs = sorted((tmp_path / "results" / "tinysearch" / "train_runs").glob("train-*"))
    folders = sorted((tmp_path / "results" / "tinysearch" / "tensorboard").iterdir())
    assert len(runs) == len(folders) == 2
    for run in runs:
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        [folder] = [f for f in folders if f.name.endswith(run.name)]
        assert folder.name.startswith(f"{rows[0]['grid_set']}_s{rows[0]['seed']}_")
        scalars = read_scalars(folder)
        assert [s for s, _ in scalars["val_top1"]] == [
            round(r["time_total_s"]) for r in rows if "val_top1" in r]
        assert [v for _, v in scalars["val_top1"]] == pytest.approx(
            [r["val_top1"] for r in rows if "val_top1" in r], abs=1e-4)  # float32 in the file
        assert [s for s, _ in scalars["by_point/val_top1"]] == [r["point"] for r in rows
                                                                if "val_top1" in r]
