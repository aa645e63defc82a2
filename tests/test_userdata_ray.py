"""A user's dataset, named by import path (`dataset.format`), in real Ray runs: 2 DDP Train
workers on the short cycle's grids, a 2-trial Tune search, and bad paths that stop a search and
`mgsearch train` before Ray starts.

Ray puts the driver's current directory (the repository root, where pytest runs) on every
worker's sys.path, so `tests.userdata.moving_dots` imports there as a user's package beside
their config would (README "Your own data")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mgsearch.errors import ConfigError

from .conftest import make_config

DOTS = "tests.userdata.moving_dots:build"
TINY3D = "tests.usermodels.tiny3d:build"


def reports(run_dir) -> list[dict]:
    return [json.loads(line) for line in Path(run_dir, "metrics.jsonl").read_text().splitlines()
            if line.strip()]


def dots_cfg(tmp_path, fmt: str = DOTS, model: str = TINY3D, workers: int = 0, **search):
    """48 training and 16 validation clips of moving_dots: B=4 of 4 frames x 32 px, 1 epoch."""
    return make_config({
        "name": "userdata",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.02, "steps": [0], "max_epoch": 1, "optimizer": "adamw",
                   "weight_decay": 0.0},
        "multigrid": {"grid_set": "short_only", "bn_base_size": 2},
        "model": {"name": model},
        "dataset": {"format": fmt},
        "train": {"workers": workers, "storage_path": str(tmp_path / "results"),
                  "precision": "fp32", "report_points": 2, "eval_points": 1,
                  "checkpoint_points": 1, "precise_bn_clips": 8},
        "search": {"grid_sets": ["short_only"], "repeats": 1, "max_concurrent_trials": 1,
                   **search},
    })


def assert_ran_to_the_end_and_evaluated(rows: list[dict]) -> None:
    assert rows and rows[-1]["point"] == rows[-1]["points"]
    evaluated = [r for r in rows if r.get("val_top1") is not None]
    assert evaluated and evaluated[-1]["val_clips"] == 16  # the whole val split, summed over ranks


@pytest.mark.ray
@pytest.mark.slow
def test_two_workers_train_on_the_users_dataset(ray_local, tmp_path):
    from mgsearch.train.launch import run_training

    result = run_training(dots_cfg(tmp_path, workers=2))  # multigrid: the short cycle, in DDP
    rows = reports(result.run_dir)
    assert_ran_to_the_end_and_evaluated(rows)
    assert rows[-1]["num_classes"] == 4 and rows[-1]["kind"] == "multigrid"


@pytest.mark.ray
@pytest.mark.slow
def test_a_search_of_two_trials_trains_on_the_users_dataset(ray_local, tmp_path):
    from mgsearch.data import prepare_data
    from mgsearch.search import run_search

    cfg = dots_cfg(tmp_path, model="resnet3d_small")
    res = run_search(cfg, clips=prepare_data(cfg))
    grid = res[0] if isinstance(res, tuple) else res
    assert len(grid) == 2 and not grid.errors  # short_only and the baseline
    runs = sorted((tmp_path / "results").rglob("metrics.jsonl"))
    assert len(runs) == 2
    for run in runs:
        assert_ran_to_the_end_and_evaluated(reports(run.parent))


BAD = [
    ("mypkg_absent.clips:build", "dataset.format = 'mypkg_absent.clips:build': no module named "
                                 "'mypkg_absent'; the module must be importable"),
    ("tests.userdata.moving_dots:bild", "has no attribute 'bild'"),
]


@pytest.mark.parametrize("fmt, expected", BAD)
def test_a_bad_dataset_stops_the_search_before_ray(tmp_path, fmt, expected):
    from mgsearch.search import run_search

    with pytest.raises(ConfigError) as err:
        run_search(dots_cfg(tmp_path, fmt), clips=48)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "results").exists()  # no experiment folder, no trial folder


@pytest.mark.parametrize("fmt, expected", BAD + [
    ("tests.userdata.moving_dots:build_wrong_shape",
     "clip(item 0, t=16, s=64, strides=(2, 2)) returned float32 (3, 16, 63, 64); expected "
     "float32 (3, 16, 64, 64)"),  # the default shape, first clip of the val split
])
def test_a_bad_dataset_stops_mgsearch_train_with_one_line(tmp_path, capsys, fmt, expected):
    import yaml

    from mgsearch.cli import main

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"format": DOTS},
                                    "train": {"storage_path": str(tmp_path / "results")}}))
    assert main(["train", str(path), "--set", f"dataset.format={fmt}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"mgsearch: error: {path} (with --set dataset.format={fmt}): "
                              f"dataset.format = {fmt!r}: ")
    assert expected in err[-1]
    assert not (tmp_path / "results").exists()
