"""Shared test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgsearch.config import config_from_dict

ROOT = Path(__file__).resolve().parents[1]

# The Kinetics-400 SlowFast R50 8x8 stepwise-multigrid setting of the paper's public release:
# global batch 64 on 8 GPUs, 32 frames, 224-px crops, LR steps [0, 94, 154, 196], 239 epochs,
# base LR 0.1, 34 warm-up epochs from 0.01.
KINETICS_R50 = {
    "shape": {"batch": 64, "frames": 32, "crop": 224, "sampling_rate": 2},
    "solver": {"base_lr": 0.1, "steps": [0, 94, 154, 196], "max_epoch": 239,
               "warmup_epochs": 34.0, "warmup_start_lr": 0.01, "gamma": 0.1},
    "multigrid": {"grid_set": "wu2020"},
    "train": {"workers": 8},
}


def make_config(base: dict | None = None, *overrides: str):
    return config_from_dict(base or {}, "<test>", overrides)


@pytest.fixture
def kinetics_cfg():
    return make_config(KINETICS_R50)
