"""Watching a running search: Tune's progress table and the TensorBoard command.

Ray 2.60's default ("new") output engine infers the table's columns itself (one truncated
`point` column, the first four metrics it meets) and ignores `RunConfig(progress_reporter=...)`.
The legacy engine (`RAY_AIR_NEW_OUTPUT=0`) honours a `CLIReporter`, whose columns here are the
trial's grid set and seed, the epoch, `val_top1` and the training clock. An explicit
`RAY_AIR_NEW_OUTPUT=1` keeps Ray's table.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import storage
from .train.tblog import TENSORBOARD

# Column labels of the point keys (mgsearch.contract.POINT_KEYS); grid/random searches nest
# the point under "point", Optuna's are flat.
POINT_LABELS = {"grid_set": "grid set", "seed": "seed", "epoch_factor": "epoch x",
                "lr_multiplier": "lr x", "bn_base_size": "bn", "long_shapes": "shapes",
                "long_t": "t", "long_s": "s", "long_spacing": "spacing", "short_cycle": "short",
                "short_s1": "s1", "short_s2": "s2", "long_cycles": "cycles",
                "fine_tune_fraction": "ft", "lr_policy": "lr policy", "lr_scaling": "lr scale"}
METRIC_COLUMNS = {"epoch": "epoch", "max_epoch": "epochs", "val_top1": "val_top1",
                  "train_loss": "loss", "time_total_s": "time_total_s"}
REPORT_EVERY_S = 10  # a table at most this often (Ray's default: 5 s)


def parameter_columns(cfg) -> dict[str, str]:
    """Grid set and seed, plus the point keys the search varies (its lists, its schedule space,
    or its listed points); nested or flat per algorithm."""
    from .space import Dist, space_of

    sc = cfg.search
    if sc.points:
        varied = [k for k in POINT_LABELS
                  if len({getattr(p, k, None) for p in sc.points} - {None}) > 1]
    else:
        varied = [k for k, v in space_of(cfg).items()
                  if isinstance(v, Dist) and len(set(v.args)) > 1]
    keys = ["grid_set", "seed"] + [k for k in POINT_LABELS if k in varied and k != "grid_set"]
    prefix = "" if sc.algorithm == "optuna" else "point/"
    return {prefix + k: POINT_LABELS[k] for k in keys}


def progress_reporter(cfg):
    """A CLIReporter with our columns, or None where Ray's new output engine is asked for.

    Sets `RAY_AIR_NEW_OUTPUT=0` unless it is set: Tune reads it when the search starts."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if os.environ["RAY_AIR_NEW_OUTPUT"] != "0":
        return None
    from ray.tune import CLIReporter

    return CLIReporter(parameter_columns=parameter_columns(cfg), metric_columns=METRIC_COLUMNS,
                       max_report_frequency=REPORT_EVERY_S)


def tensorboard_hint(experiment: str) -> str:
    """The line `mgsearch search` prints at its start: where the live TensorBoard files are."""
    local = storage.file_path(experiment)  # None: a remote URI
    if local is None:
        return (f"[mgsearch] TensorBoard: not written for remote storage ({experiment}); "
                f"use a local or file:// train.storage_path to watch live")
    logdir = Path(local) / TENSORBOARD
    line = f"[mgsearch] watch live: tensorboard --logdir {logdir} --host 127.0.0.1 --port 6006"
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        line += "  (needs: pip install 'mgsearch[watch]')"
    return line
