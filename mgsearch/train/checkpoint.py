"""Training checkpoints: everything a restarted worker needs to continue where the run stopped.

A checkpoint is a folder with `state.pt` (model with ordinary BatchNorm statistics, optimizer,
schedule position, clock, RNG states; loaded with `weights_only=True`) and `meta.json` (the same
position and the config hash, readable without torch). A checkpoint from another config is refused.
The position is the number of completed iterations: the schedule (pure data) gives the stage,
the pass over the data, the clip offset in it and the short-cycle phase from it.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch

from ..configtypes import to_dict
from ..errors import ConfigError

STATE, META = "state.pt", "meta.json"


def config_hash(cfg, baseline: bool) -> str:
    """Hash of what decides the training trajectory (the name and where results go excluded)."""
    data = to_dict(cfg)
    data.pop("name", None)
    data.get("train", {}).pop("storage_path", None)
    if data.get("train", {}).get("loss", 0) is None:  # the default: the hash configs had before
        data["train"].pop("loss")
    blob = json.dumps({"config": data, "baseline": baseline}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        # numpy's tuple holds an ndarray, which weights_only loading refuses: store a tensor.
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))


def save(folder: str | Path, *, model_state: dict, optimizer_state: dict, iteration: int,
         point: int, clock_state: dict, counters: dict, cfg_hash: str) -> Path:
    """Write a checkpoint after `iteration` completed iterations (report point `point`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model_state, "optimizer": optimizer_state, "iteration": iteration,
                "point": point, "clock": clock_state, "counters": counters, "rng": rng_state(),
                "config_hash": cfg_hash}, folder / STATE)
    (folder / META).write_text(json.dumps({"iteration": iteration, "point": point,
                                           "config_hash": cfg_hash, "clock": clock_state,
                                           "counters": counters}, indent=1))
    return folder


def load(folder: str | Path, cfg_hash: str) -> dict:
    """The state saved in `folder`; ConfigError if it was written for another config."""
    folder = Path(folder)
    meta = json.loads((folder / META).read_text())
    if meta["config_hash"] != cfg_hash:
        raise ConfigError(
            f"checkpoint {folder} was written for config hash {meta['config_hash']}, this run's is "
            f"{cfg_hash}; resume with the config that wrote it or start a new run name")
    return torch.load(folder / STATE, map_location="cpu", weights_only=True)
