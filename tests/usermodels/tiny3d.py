"""A model and a loss as a user writes them (torch only), for `model.name` and `train.loss`:

    model: {name: "tests.usermodels.tiny3d:build"}
    train: {loss: "tests.usermodels.tiny3d:smoothed_ce_plus_100"}
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

LOSS_OFFSET = 100.0  # added to the loss: a reported train_loss above it shows this loss ran

NOT_CALLABLE = 3
WIDTH = 8


def build(num_classes: int) -> nn.Module:
    """A tiny 3D CNN for any N x 3 x T x H x W input."""
    return nn.Sequential(
        nn.Conv3d(3, WIDTH, 3, padding=1, bias=False), nn.BatchNorm3d(WIDTH), nn.ReLU(),
        nn.Conv3d(WIDTH, WIDTH, 3, stride=2, padding=1, bias=False), nn.BatchNorm3d(WIDTH),
        nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(WIDTH, num_classes))


def not_a_module(num_classes: int):
    return [num_classes]


def smoothed_ce_plus_100(logits, labels):
    """Label-smoothing cross-entropy plus a constant (same gradients, visible in the reports)."""
    return F.cross_entropy(logits, labels, label_smoothing=0.1) + LOSS_OFFSET


def per_clip_ce(logits, labels):
    return F.cross_entropy(logits, labels, reduction="none")


KILL_AFTER_ENV = "MGSEARCH_TEST_KILL_AFTER"
_steps = 0


def ce_killed_after_env(logits, labels):
    """Cross-entropy; with $MGSEARCH_TEST_KILL_AFTER=N set, the process that trains SIGKILLs
    itself at the N-th training call: a driver killed mid-run at a known iteration (in-process
    runs train in the driver). Unset, it is plain cross-entropy."""
    global _steps
    import os
    import signal

    import torch

    if torch.is_grad_enabled():
        _steps += 1
        if os.environ.get(KILL_AFTER_ENV) and _steps >= int(os.environ[KILL_AFTER_ENV]):
            os.kill(os.getpid(), signal.SIGKILL)
    return F.cross_entropy(logits, labels)
