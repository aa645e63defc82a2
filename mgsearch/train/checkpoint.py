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
         point: int, clock_state: dict, counters: dict, cfg_hash: str,
         score: float | None = None) -> Path:
    """Write a checkpoint after `iteration` completed iterations (report point `point`);
    `score`: the search metric measured there (val_top1), when the point evaluated."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model_state, "optimizer": optimizer_state, "iteration": iteration,
                "point": point, "clock": clock_state, "counters": counters, "rng": rng_state(),
                "config_hash": cfg_hash}, folder / STATE)
    (folder / META).write_text(json.dumps({"iteration": iteration, "point": point,
                                           "config_hash": cfg_hash, "clock": clock_state,
                                           "counters": counters, "score": score}, indent=1))
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
    """The checkpoint folders a run folder holds (`checkpoint_*`, each with meta.json and
    state.pt), newest iteration first."""
    return [folder for folder, _ in _metas(run_dir)]


def _metas(run_dir: str | Path) -> list[tuple[Path, dict]]:
    found = []
    for meta in Path(run_dir).glob(f"*/{META}"):
        try:
            data = json.loads(meta.read_text())
            data["iteration"] = int(data["iteration"])
        except (OSError, ValueError, KeyError, TypeError):  # a copy cut short by a kill
            continue
        if (meta.parent / STATE).is_file():
            found.append((meta.parent, data))
    return sorted(found, key=lambda f: (-f[1]["iteration"], str(f[0])))


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
    then renamed: a kill leaves the previous ones whole), then keep the newest `keep` and the
    one of the best score. The run's restarts and reruns resume from the newest (`load_latest`);
    Ray never holds these (its in-process mode would keep none)."""
    run_dir = Path(run_dir)
    final = run_dir / f"checkpoint_{int(state['iteration']):08d}"
    tmp = run_dir / f".{final.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp, **state)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    metas = _metas(run_dir)
    scored = [(m["score"], -m["iteration"], f) for f, m in metas
              if isinstance(m.get("score"), (int, float))]
    best = max(scored)[2] if scored else None  # the earliest of equal best scores
    for folder, _ in metas[keep:]:
        if folder != best:
            shutil.rmtree(folder, ignore_errors=True)
    return final
