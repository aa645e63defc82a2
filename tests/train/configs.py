"""Small training configs shared by the training tests (real MP4s of the `tiny_dataset`)."""

from __future__ import annotations

from ..conftest import make_config


def tiny_baseline(tiny_dataset, tmp_path, name: str, max_epoch: int = 2, **train):
    """The fixed-shape baseline in-process: B=4 of 4 frames x 32 px, AdamW, fp32, 13 iterations
    an epoch on the tiny set's 52 training clips; `train` overrides the train section."""
    return make_config({
        "name": name,
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.02, "steps": [0], "max_epoch": max_epoch, "optimizer": "adamw",
                   "weight_decay": 0.0},
        "multigrid": {"grid_set": "baseline"},
        "dataset": tiny_dataset,
        "train": {"workers": 0, "storage_path": str(tmp_path), "precision": "fp32", **train},
    })
