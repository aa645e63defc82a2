"""A user's model and loss, named by import path, in real Ray runs: 2 DDP Train workers, a
2-trial Tune search, and a bad path that stops a search before any trial.

Ray puts the driver's current directory (here the repository root, where pytest runs) on every
worker's sys.path, so `tests.usermodels.tiny3d` imports there as a user's package beside their
config would (README "Your own model")."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from mgsearch.contract import baseline_of
from mgsearch.errors import ConfigError

from .conftest import make_config
from .train.configs import tiny_baseline

MODEL, LOSS = "tests.usermodels.tiny3d:build", "tests.usermodels.tiny3d:smoothed_ce_plus_100"


def reports(run_dir) -> list[dict]:
    return [json.loads(line) for line in Path(run_dir, "metrics.jsonl").read_text().splitlines()
            if line.strip()]


@pytest.mark.ray
@pytest.mark.slow
def test_two_workers_train_the_users_model_with_the_users_loss(ray_local, tiny_dataset, tmp_path):
    from mgsearch.train.launch import run_training

    cfg = tiny_baseline(tiny_dataset, tmp_path, "usermodel", max_epoch=1, workers=2, loss=LOSS,
                        report_points=2, eval_points=1, checkpoint_points=1,
                        precise_bn_clips=0)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name=MODEL))
    result = run_training(baseline_of(cfg))
    rows = reports(result.run_dir)
    assert rows and rows[-1]["point"] == rows[-1]["points"]
    assert all(100 < r["train_loss"] < 103 for r in rows)  # the offset loss ran in the workers
    state = torch.load(Path(result.checkpoint, "state.pt"), weights_only=True)["model"]
    assert "0.weight" in state and state["8.weight"].shape == (4, 8)  # tiny3d's Sequential


def search_cfg(tiny_dataset, tmp_path, model: str, **search):
    return make_config({
        "name": "usersearch",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.05, "steps": [0], "max_epoch": 1},
        "multigrid": {"bn_base_size": 2},
        "model": {"name": model},
        "dataset": tiny_dataset,
        "train": {"workers": 0, "storage_path": str(tmp_path / "results"), "precision": "fp32",
                  "report_points": 2, "eval_points": 1, "checkpoint_points": 1,
                  "precise_bn_clips": 0},
        "search": {"grid_sets": ["short_only"], "repeats": 1, "max_concurrent_trials": 1,
                   **search},
    })


@pytest.mark.ray
@pytest.mark.slow
def test_a_search_of_two_trials_trains_the_users_model(ray_local, tiny_dataset, tmp_path):
    from mgsearch.search import run_search

    grid = run_search(search_cfg(tiny_dataset, tmp_path, MODEL), clips=52)
    path = grid.experiment_path
    assert len(grid) == 2 and not grid.errors  # short_only and the baseline
    runs = sorted(Path(path, "train_runs").glob("train-*/metrics.jsonl"))
    assert len(runs) == 2
    for run in runs:
        rows = reports(run.parent)
        assert rows[-1]["point"] == rows[-1]["points"] and rows[-1]["train_loss"] < 100


@pytest.mark.parametrize("model, expected", [
    ("mypkg_absent.nets:build", "model.name = 'mypkg_absent.nets:build': no module named "
                                "'mypkg_absent'; the module must be importable"),
    ("tests.usermodels.tiny3d:buld", "has no attribute 'buld'"),
    ("resnet3d_smal", "did you mean 'resnet3d_small'?"),
])
def test_a_bad_model_stops_the_search_before_any_trial(tiny_dataset, tmp_path, model, expected):
    """No Ray needed: the driver refuses the config before it starts Ray or any trial."""
    from mgsearch.search import run_search

    with pytest.raises(ConfigError) as err:
        run_search(search_cfg(tiny_dataset, tmp_path, model), clips=52)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "results").exists()  # no experiment folder, no trial folder


def test_the_cli_prints_a_bad_loss_as_one_line(tiny_dataset, tmp_path, capsys):
    import yaml

    from mgsearch.cli import main

    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump({"dataset": tiny_dataset,
                                    "train": {"storage_path": str(tmp_path / "results")}}))
    assert main(["train", str(path), "--set", "train.loss=mypkg_absent:ls"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"mgsearch: error: {path} (with --set train.loss=mypkg_absent:ls)")
    assert "train.loss = 'mypkg_absent:ls': no module named" in err[-1]
    assert not (tmp_path / "results").exists()
