"""Read a PySlowFast YAML config into an mgsearch Config, so users migrating see their schedule.

Only the keys that decide the schedule are read (batch, frames, crop, sampling rate, solver,
MULTIGRID, GPU count, eval/checkpoint periods); missing keys take PySlowFast's defaults, and
`_BASE_` files are merged first, relative to the file that names them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .config import Config, config_from_dict, read_yaml
from .errors import ConfigError

# PySlowFast's defaults for the keys read here (slowfast/config/defaults.py).
DEFAULTS: dict[str, Any] = {
    "NUM_GPUS": 1,
    "NUM_SHARDS": 1,
    "TRAIN.BATCH_SIZE": 64,
    "TRAIN.EVAL_PERIOD": 10,
    "TRAIN.CHECKPOINT_PERIOD": 10,
    "DATA.NUM_FRAMES": 8,
    "DATA.SAMPLING_RATE": 8,
    "DATA.TRAIN_CROP_SIZE": 224,
    "SOLVER.BASE_LR": 0.1,
    "SOLVER.LR_POLICY": "cosine",
    "SOLVER.COSINE_END_LR": 0.0,
    "SOLVER.GAMMA": 0.1,
    "SOLVER.STEPS": [],
    "SOLVER.LRS": [],
    "SOLVER.MAX_EPOCH": 300,
    "SOLVER.MOMENTUM": 0.9,
    "SOLVER.NESTEROV": True,
    "SOLVER.WEIGHT_DECAY": 1e-4,
    "SOLVER.WARMUP_EPOCHS": 0.0,
    "SOLVER.WARMUP_START_LR": 0.01,
    "SOLVER.OPTIMIZING_METHOD": "sgd",
    "MULTIGRID.EPOCH_FACTOR": 1.5,
    "MULTIGRID.SHORT_CYCLE": False,
    "MULTIGRID.SHORT_CYCLE_FACTORS": [0.5, math.sqrt(0.5)],
    "MULTIGRID.LONG_CYCLE": False,
    "MULTIGRID.LONG_CYCLE_FACTORS": [(0.25, math.sqrt(0.5)), (0.5, math.sqrt(0.5)),
                                     (0.5, 1), (1, 1)],
    "MULTIGRID.BN_BASE_SIZE": 8,
    "MULTIGRID.EVAL_FREQ": 3,
}

_POLICIES = {"steps_with_relative_lrs": "steps", "cosine": "cosine"}


def _merge(base: dict, child: dict) -> dict:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def read_slowfast_yaml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The merged raw mapping of a PySlowFast YAML, with `_BASE_` files resolved recursively."""
    path = Path(path).resolve()
    if path in _seen:
        raise ConfigError(f"{path}: _BASE_ files include each other in a loop; break the cycle")
    data = read_yaml(path)
    base_name = data.pop("_BASE_", None)
    if base_name is None:
        return data
    base_path = Path(base_name)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    if not base_path.is_file():
        raise ConfigError(f"{path}: _BASE_ {base_name!r} not found (looked at {base_path}); "
                          f"fix the path, relative to the file that names it")
    return _merge(read_slowfast_yaml(base_path, _seen + (path,)), data)


def _get(data: dict, dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return DEFAULTS[dotted]
        node = node[part]
    return node


def slowfast_to_dict(data: dict, source: str) -> dict:
    """Raw mgsearch config data for a merged PySlowFast mapping."""
    g = lambda key: _get(data, key)  # noqa: E731
    policy = g("SOLVER.LR_POLICY")
    if policy not in _POLICIES:
        raise ConfigError(f"{source}: SOLVER.LR_POLICY = {policy!r} is not supported; "
                          f"use one of {', '.join(_POLICIES)}")
    steps = [int(s) for s in (g("SOLVER.STEPS") or [0])]
    long_cycle, short_cycle = bool(g("MULTIGRID.LONG_CYCLE")), bool(g("MULTIGRID.SHORT_CYCLE"))
    lrs = g("SOLVER.LRS")
    # Under the long cycle PySlowFast replaces LRS by GAMMA**step; null here does the same.
    use_lrs = policy == "steps_with_relative_lrs" and not long_cycle and lrs
    method = str(g("SOLVER.OPTIMIZING_METHOD")).lower()
    if long_cycle or short_cycle:
        multigrid = {
            "grid_set": "custom",
            "long_cycle_factors": [list(f) for f in g("MULTIGRID.LONG_CYCLE_FACTORS")]
            if long_cycle else None,
            "short_cycle_factors": list(g("MULTIGRID.SHORT_CYCLE_FACTORS")) if short_cycle else None,
        }
    else:
        multigrid = {"grid_set": "baseline"}
    multigrid.update(epoch_factor=g("MULTIGRID.EPOCH_FACTOR"),
                     bn_base_size=g("MULTIGRID.BN_BASE_SIZE"), eval_freq=g("MULTIGRID.EVAL_FREQ"))
    multigrid["granularity"] = "epoch"  # PySlowFast's whole-epoch stages, bit for bit
    return {
        "name": Path(source).stem,
        "shape": {"batch": g("TRAIN.BATCH_SIZE"), "frames": g("DATA.NUM_FRAMES"),
                  "crop": g("DATA.TRAIN_CROP_SIZE"), "sampling_rate": g("DATA.SAMPLING_RATE")},
        "solver": {
            "base_lr": g("SOLVER.BASE_LR"), "policy": _POLICIES[policy], "steps": steps,
            "lrs": list(lrs) if use_lrs else None, "gamma": g("SOLVER.GAMMA"),
            "max_epoch": g("SOLVER.MAX_EPOCH"), "warmup_epochs": g("SOLVER.WARMUP_EPOCHS"),
            "warmup_start_lr": g("SOLVER.WARMUP_START_LR"),
            "cosine_end_lr": g("SOLVER.COSINE_END_LR"),
            "optimizer": method if method in ("sgd", "adamw") else "sgd",
            "momentum": g("SOLVER.MOMENTUM"), "weight_decay": g("SOLVER.WEIGHT_DECAY"),
            "nesterov": g("SOLVER.NESTEROV"),
        },
        "multigrid": multigrid,
        "train": {"workers": g("NUM_GPUS") * g("NUM_SHARDS"),
                  "eval_period": g("TRAIN.EVAL_PERIOD"),
                  "checkpoint_period": g("TRAIN.CHECKPOINT_PERIOD")},
    }


def load_slowfast_config(path: str | Path, overrides=()) -> Config:
    """A Config equivalent (for scheduling) to PySlowFast YAML `path`."""
    return config_from_dict(slowfast_to_dict(read_slowfast_yaml(path), str(path)), str(path),
                            tuple(overrides))
