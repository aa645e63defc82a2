"""Training checkpoints: everything a restarted worker needs to continue where the run stopped.

A checkpoint is a folder with `state.pt` (model with ordinary BatchNorm statistics, optimizer,
schedule position, clock, RNG states; loaded with `weights_only=True`) and `meta.json` (the same
position and the config hash, readable without torch). A checkpoint from another config is refused.
The position is the number of completed iterations: the schedule (pure data) gives the stage,
the pass over the data, the clip offset in it and the short-cycle phase from it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError

STATE, META = "state.pt", "meta.json"


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


def saved_in(run_dir: str | Path) -> list[Path]:
    """The checkpoint folders a run folder holds (Ray Train's `checkpoint_*`, each with our
    meta.json and state.pt), newest iteration first: what a new driver resumes from when Ray
    hands it none (Ray Train's in-process mode does not restore a run by its name)."""
    found = []
    for meta in Path(run_dir).glob(f"*/{META}"):
        try:
            iteration = int(json.loads(meta.read_text())["iteration"])
        except (OSError, ValueError, KeyError, TypeError):  # a copy cut short by a kill
            continue
        if (meta.parent / STATE).is_file():
            found.append((iteration, meta.parent))
    return [folder for _, folder in sorted(found, key=lambda f: (-f[0], str(f[1])))]


def load_latest(run_dir: str | Path, cfg_hash: str) -> tuple[Path, dict] | None:
    """(folder, state) of the newest readable checkpoint in `run_dir`, or None; one written for
    another config is refused (ConfigError) as by `load`."""
    for folder in saved_in(run_dir):
        try:
            return folder, load(folder, cfg_hash)
        except (OSError, RuntimeError, EOFError):  # a state.pt cut short: take the one before
            continue
    return None


def save_into_run(run_dir: str | Path, keep: int = 2, **state) -> Path:
    """`save` straight into a local run folder as `checkpoint_<iteration>` (written beside it,
    then renamed: a kill leaves the previous ones whole), keeping the newest `keep`. For runs
    whose checkpoints Ray does not persist (Ray Train's in-process mode keeps none)."""
    run_dir = Path(run_dir)
    final = run_dir / f"checkpoint_{int(state['iteration']):08d}"
    tmp = run_dir / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp, **state)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in saved_in(run_dir)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return final
