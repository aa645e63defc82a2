"""Hand-built experiment folders in the format `mgsearch search` writes (see data/real_search
for a real one): <root>/<trial_id>_<grid_set>_s<seed>/{params.json,result.json,progress.csv}
and <root>/train_runs/train-<trial_id>/metrics.jsonl. Tests choose every number themselves."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
DATA = Path(__file__).parent / "data"
REAL_SEARCH = DATA / "real_search"  # a real 3-trial search (baseline, wu2020, long_only)


def copy_real_search(tmp_path: Path) -> Path:
    dest = tmp_path / "real_search"
    shutil.copytree(REAL_SEARCH, dest)
    return dest


def point(grid_set: str, seed: int = 0, *, epoch_factor: float = 1.5, lr_multiplier: float = 1.0,
          bn_base_size: int = 8, predicted_speedup: float = 2.0, max_epoch: int = 4) -> dict:
    baseline = grid_set == "baseline"
    return {"grid_set": grid_set, "epoch_factor": 1.0 if baseline else epoch_factor,
            "lr_multiplier": lr_multiplier, "bn_base_size": bn_base_size, "seed": seed,
            "predicted_epochs": max_epoch, "predicted_iterations": 40,
            "predicted_compute": 40.0 / (1.0 if baseline else predicted_speedup),
            "predicted_speedup": 1.0 if baseline else predicted_speedup, "train_clips": 64}


def reports(p: dict, curve: list[tuple[float, float | None]], max_epoch: int | None = None,
            trial_id: str = "", stages: list[tuple[int, int, int]] | None = None,
            clips_per_s: list[float] | None = None) -> list[dict]:
    """One report per epoch: `curve[i]` = (time_total_s, val_top1 or None) after epoch i+1;
    `stages[i]` = (stage, shape_t, shape_s) and global batch 32 // shape_t."""
    max_epoch = max_epoch or p["predicted_epochs"]
    rows = []
    for i, (clock, top1) in enumerate(curve):
        stage, t, s = stages[i] if stages else (0, 4, 16)
        row = {"point": i + 1, "points": max_epoch, "epoch": i + 1, "max_epoch": max_epoch, "stage": stage, "phase": "train",
               "shape_t": t, "shape_s": s, "global_batch": 32 // t,
               "kind": "baseline" if p["grid_set"] == "baseline" else "multigrid",
               "grid_set": p["grid_set"], "seed": p["seed"],
               "predicted_iterations": p["predicted_iterations"],
               "predicted_compute": p["predicted_compute"],
               "predicted_speedup": p["predicted_speedup"], "train_loss": 1.0 / (i + 1),
               "lr": 0.1 / (i + 1), "clips_per_s": clips_per_s[i] if clips_per_s else 100.0,
               "iterations_chunk": 4, "time_train_s": clock * 0.8, "time_eval_s": 0.0,
               "time_data_wait_s": clock * 0.1, "time_other_s": clock * 0.1,
               "time_total_s": clock, "clips_seen": 64 * (i + 1), "iterations": 4 * (i + 1),
               "train_gflops": 0.5 * (i + 1), "time_this_iter_s": 1.0}
        if top1 is not None:
            row.update(val_top1=top1, val_top5=min(100.0, top1 + 20), val_loss=1.0,
                       val_clips=16)
        if trial_id:  # Tune's own keys, as in result.json
            row.update(trial_id=trial_id, training_iteration=i + 1, done=False,
                       config={"point": p})
        rows.append(row)
    return rows


def write_trial(root: Path, trial_id: str, p: dict, curve, *, flat_params: bool = False,
                metrics: bool = True, result: bool = True, **kw) -> Path:
    """A Tune trial folder (+ its train run's metrics.jsonl); returns the trial folder."""
    folder = root / f"{trial_id}_{p['grid_set']}_s{p['seed']}"
    folder.mkdir(parents=True, exist_ok=True)
    params = dict(p) if flat_params else {"point": p}
    (folder / "params.json").write_text(json.dumps(params))
    rows = reports(p, curve, trial_id=trial_id, **kw)
    if result:
        write_jsonl(folder / "result.json", rows)
        write_csv(folder / "progress.csv", rows)
    if metrics:
        write_jsonl(root / "train_runs" / f"train-{trial_id}" / "metrics.jsonl",
                    [{k: v for k, v in r.items()
                      if k not in ("trial_id", "training_iteration", "done", "config")}
                     for r in rows])
    return folder


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def write_csv(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r if k != "config"))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
