"""Read a PySlowFast YAML config into an mgsearch Config, so users migrating see their schedule.

    cfg = load_slowfast_config("configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml")

Only the keys that decide the schedule are read (batch, frames, crop, sampling rate, solver,
MULTIGRID, GPU and machine counts, eval/checkpoint periods); missing keys take PySlowFast's
defaults (slowfast/config/defaults.py), and `_BASE_` files are merged first, relative to the file
that names them. Numbers read as PySlowFast reads them (`1e-4` is a number; mgsearch.yamlload).
What PySlowFast does with these keys, and what the import does:

- TRAIN.BATCH_SIZE is split over the NUM_GPUS of one machine (PySlowFast asserts it divides) and
  each of NUM_SHARDS machines runs that batch: the global batch is BATCH_SIZE * NUM_SHARDS, over
  NUM_GPUS * NUM_SHARDS workers.
- SOLVER.BASE_LR_SCALE_NUM_SHARDS multiplies BASE_LR, WARMUP_START_LR and COSINE_END_LR by
  NUM_SHARDS, as PySlowFast does when it loads a config.
- SOLVER.STEPS at or past MAX_EPOCH never start (AVA configs end on one); they are dropped,
  except under the long cycle, which PySlowFast computes from the steps as given.
- Under the long cycle PySlowFast replaces LRS by GAMMA**step times the stage's batch; the cosine
  policy ignores both, so there the import sets multigrid.lr_scaling: none (an unscaled cosine).
- MULTIGRID.DEFAULT_B/T/S are overwritten by PySlowFast from the default shape; they are ignored.
- A key repeated in one mapping keeps its last value, as in PySlowFast (published configs repeat
  keys, e.g. MODEL.ARCH in contrastive_ssl/BYOL_SlowR50_8x8.yaml).

Refused with one line: LR policies other than steps_with_relative_lrs and cosine (PySlowFast has
no others), SOLVER.COSINE_AFTER_WARMUP: True (mgsearch's cosine runs from epoch 0, so every LR
would differ), optimizers other than sgd and adamw, steps_with_relative_lrs with fewer LRS than
steps, a TRAIN.BATCH_SIZE that NUM_GPUS does not divide.

Not modelled, as they change neither stage ends nor LRs: AUG.NUM_SAMPLE (PySlowFast then feeds
NUM_SAMPLE augmented copies of each clip, so the cost table undercounts compute by that factor),
SOLVER.LARS_ON, BN options (mgsearch splits BatchNorm by MULTIGRID.BN_BASE_SIZE), gradient
clipping, weight-decay exemptions.
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
    "SOLVER.BASE_LR_SCALE_NUM_SHARDS": False,
    "SOLVER.COSINE_AFTER_WARMUP": False,
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
_OPTIMIZERS = ("sgd", "adamw")

# mgsearch key -> the PySlowFast key it came from, to name the user's key in Config's errors.
_SOURCE_KEYS = {
    "shape.batch": "TRAIN.BATCH_SIZE", "shape.frames": "DATA.NUM_FRAMES",
    "shape.crop": "DATA.TRAIN_CROP_SIZE", "shape.sampling_rate": "DATA.SAMPLING_RATE",
    "solver.base_lr": "SOLVER.BASE_LR", "solver.steps": "SOLVER.STEPS", "solver.lrs": "SOLVER.LRS",
    "solver.gamma": "SOLVER.GAMMA", "solver.max_epoch": "SOLVER.MAX_EPOCH",
    "solver.warmup_epochs": "SOLVER.WARMUP_EPOCHS",
    "solver.warmup_start_lr": "SOLVER.WARMUP_START_LR",
    "solver.cosine_end_lr": "SOLVER.COSINE_END_LR", "solver.momentum": "SOLVER.MOMENTUM",
    "solver.weight_decay": "SOLVER.WEIGHT_DECAY", "solver.nesterov": "SOLVER.NESTEROV",
    "multigrid.long_cycle_factors": "MULTIGRID.LONG_CYCLE_FACTORS",
    "multigrid.short_cycle_factors": "MULTIGRID.SHORT_CYCLE_FACTORS",
    "multigrid.epoch_factor": "MULTIGRID.EPOCH_FACTOR",
    "multigrid.bn_base_size": "MULTIGRID.BN_BASE_SIZE", "multigrid.eval_freq": "MULTIGRID.EVAL_FREQ",
    "train.workers": "NUM_GPUS * NUM_SHARDS", "train.eval_period": "TRAIN.EVAL_PERIOD",
    "train.checkpoint_period": "TRAIN.CHECKPOINT_PERIOD",
}


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
    data = read_yaml(path, unique_keys=False)  # PySlowFast keeps a repeated key's last value
    base_name = data.pop("_BASE_", None)
    if base_name is None:
        return data
    base_path = Path(str(base_name)).expanduser()
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


def _number(g, key: str, source: str, kind: type = float) -> Any:
    value = g(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or (kind is int and value != int(value)):
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{source}: {key} = {value!r}: expected {what}; fix it in the file")
    return kind(value)


def _numbers(g, key: str, source: str, kind: type = float) -> list:
    values = g(key)
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{source}: {key} = {values!r}: expected a list of numbers, "
                          f"e.g. [0, 20, 30]; fix it in the file")
    return [_number(lambda _: v, f"{key}[{i}]", source, kind) for i, v in enumerate(values)]


def _refuse(ok: bool, source: str, key: str, value: Any, why: str) -> None:
    if not ok:
        raise ConfigError(f"{source}: {key} = {value!r}: {why}")


def slowfast_to_dict(data: dict, source: str) -> dict:
    """Raw mgsearch config data for a merged PySlowFast mapping."""
    g = lambda key: _get(data, key)  # noqa: E731
    policy = g("SOLVER.LR_POLICY")
    _refuse(policy in _POLICIES, source, "SOLVER.LR_POLICY", policy,
            f"not supported; use one of {', '.join(_POLICIES)} (PySlowFast's LR policies)")
    _refuse(not (policy == "cosine" and g("SOLVER.COSINE_AFTER_WARMUP")), source,
            "SOLVER.COSINE_AFTER_WARMUP", True,
            "not supported: mgsearch's cosine runs from epoch 0, not from the end of the "
            "warm-up; set it to False to see the schedule with that cosine")
    method = str(g("SOLVER.OPTIMIZING_METHOD")).lower()
    _refuse(method in _OPTIMIZERS, source, "SOLVER.OPTIMIZING_METHOD", method,
            f"not supported; mgsearch trains with {' or '.join(_OPTIMIZERS)}")
    gpus, shards = _number(g, "NUM_GPUS", source, int), _number(g, "NUM_SHARDS", source, int)
    batch = _number(g, "TRAIN.BATCH_SIZE", source, int)
    _refuse(batch % max(gpus, 1) == 0, source, "TRAIN.BATCH_SIZE", batch,
            f"not divisible by NUM_GPUS = {gpus}; PySlowFast splits the batch evenly over the "
            f"GPUs: pick a multiple of {gpus}")
    long_cycle, short_cycle = bool(g("MULTIGRID.LONG_CYCLE")), bool(g("MULTIGRID.SHORT_CYCLE"))
    max_epoch = _number(g, "SOLVER.MAX_EPOCH", source, int)
    steps = _numbers(g, "SOLVER.STEPS", source, int) or [0]
    if not long_cycle:
        steps = [s for s in steps if s < max_epoch] or [0]  # later steps never start
    lrs = _numbers(g, "SOLVER.LRS", source)
    uses_lrs = policy == "steps_with_relative_lrs" and not long_cycle
    _refuse(not uses_lrs or len(lrs) >= len(steps), source, "SOLVER.LRS", lrs,
            f"steps_with_relative_lrs needs one relative LR per SOLVER.STEPS entry "
            f"({len(steps)}: {steps})")
    lr_scale = shards if g("SOLVER.BASE_LR_SCALE_NUM_SHARDS") else 1
    if long_cycle or short_cycle:
        multigrid = {
            "grid_set": "custom",
            # Type-checked by the Config; lists and tuples both read as lists.
            "long_cycle_factors": g("MULTIGRID.LONG_CYCLE_FACTORS") if long_cycle else None,
            "short_cycle_factors": g("MULTIGRID.SHORT_CYCLE_FACTORS") if short_cycle else None,
        }
    else:
        multigrid = {"grid_set": "baseline"}
    multigrid.update(epoch_factor=g("MULTIGRID.EPOCH_FACTOR"),
                     bn_base_size=g("MULTIGRID.BN_BASE_SIZE"), eval_freq=g("MULTIGRID.EVAL_FREQ"),
                     lr_scaling="linear" if policy != "cosine" else "none")
    multigrid["granularity"] = "epoch"  # PySlowFast's whole-epoch stages, bit for bit
    return {
        "name": Path(source).stem,
        "shape": {"batch": batch * shards, "frames": g("DATA.NUM_FRAMES"),
                  "crop": g("DATA.TRAIN_CROP_SIZE"), "sampling_rate": g("DATA.SAMPLING_RATE")},
        "solver": {
            "base_lr": _number(g, "SOLVER.BASE_LR", source) * lr_scale,
            "policy": _POLICIES[policy], "steps": steps,
            # Under the long cycle PySlowFast replaces LRS by GAMMA**step; null does the same.
            "lrs": lrs if uses_lrs else None, "gamma": g("SOLVER.GAMMA"),
            "max_epoch": max_epoch, "warmup_epochs": g("SOLVER.WARMUP_EPOCHS"),
            "warmup_start_lr": _number(g, "SOLVER.WARMUP_START_LR", source) * lr_scale,
            "cosine_end_lr": _number(g, "SOLVER.COSINE_END_LR", source) * lr_scale,
            "optimizer": method, "momentum": g("SOLVER.MOMENTUM"),
            "weight_decay": g("SOLVER.WEIGHT_DECAY"), "nesterov": g("SOLVER.NESTEROV"),
        },
        "multigrid": multigrid,
        "train": {"workers": max(gpus, 1) * shards, "use_gpu": gpus > 0,
                  "eval_period": g("TRAIN.EVAL_PERIOD"),
                  "checkpoint_period": g("TRAIN.CHECKPOINT_PERIOD")},
    }


def _with_source_key(err: ConfigError) -> ConfigError:
    """`err` with the PySlowFast key named beside the first mgsearch key in it."""
    msg = str(err)
    for ours, theirs in _SOURCE_KEYS.items():
        if ours in msg:
            return ConfigError(f"{msg} ({ours} is PySlowFast's {theirs})")
    return err


def load_slowfast_config(path: str | Path, overrides=()) -> Config:
    """A Config equivalent (for scheduling) to PySlowFast YAML `path`."""
    data = slowfast_to_dict(read_slowfast_yaml(path), str(path))
    try:
        return config_from_dict(data, str(path), tuple(overrides))
    except ConfigError as err:
        raise _with_source_key(err) from None
