"""Run one training (multigrid or baseline) as a Ray Train `TorchTrainer`.

    result = run_training(cfg)                                   # the config's grid set
    result = run_training(contract.baseline_of(cfg))             # its fixed-shape baseline

Single process: `workers: 0` (Ray Train's in-process mode). Distributed: `workers: N` gloo
workers on CPU, or NCCL with `use_gpu: true`. A run is named by its config
(`mgsearch.contract.run_name`): running the same config again continues that run from its last
checkpoint (a finished run is not trained again). Each report's rank-0 metrics are appended to
`<storage_path>/<run name>/metrics.jsonl` (a local folder or a URI), in-process runs included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from .. import storage
from ..contract import METRICS_FILE, SearchPoint, check_name, run_name
from ..raycluster import ensure_ray
from ..storage import absolute_storage, join
from . import checkpoint as ckpt
from .loop import train_loop_per_worker


@dataclass(frozen=True)
class TrainResult:
    run_dir: str
    metrics: dict  # the last report
    wall_s: float  # driver wall-clock including Ray start-up of the worker group
    checkpoint: str | None


def build_trainer(cfg, *, point: SearchPoint | None = None, name: str | None = None,
                  storage: str | None = None, callbacks: list | None = None,
                  via_tune: bool = False, driver_start: float | None = None):
    """The TorchTrainer of one run (not started); shared by `train` and the Tune trials.

    `point`: the search point the run trains (reported with every report; default: the
    config's own, `SearchPoint.of`). `name`: the run folder (default `run_name(cfg)`).
    `via_tune`: an in-process run inside a Tune trial, which must report through Tune.
    `driver_start`: the unix time the run's driver started; reports then carry the start-up
    seconds the run waited for (`worker_start_s`, `first_step_s`: mgsearch.train.loop)."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    tc = cfg.train
    name = check_name(name, "the run name") if name else run_name(cfg)
    storage = absolute_storage(storage or tc.storage_path)
    point = point or SearchPoint.of(cfg)
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"config": cfg, "point": point, "run_dir": join(storage, name),
                           "via_tune": via_tune, "driver_start": driver_start},
        torch_config=TorchConfig(backend="nccl" if tc.use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=tc.workers, use_gpu=tc.use_gpu,
                                     resources_per_worker={"CPU": tc.cpus_per_worker}),
        run_config=RunConfig(
            name=name, storage_path=storage, callbacks=list(callbacks or []),
            failure_config=FailureConfig(max_failures=tc.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=tc.keep_checkpoints)),  # remote storage
    )


def preflight(cfg) -> int:
    """Fail before Ray starts anything: import paths, schedule, data size and model shapes.
    Returns the training set's size."""
    import warnings

    from ..data import prepare_data
    from ..schedule import build_schedule
    from .model import check_imports

    def schedule_fits(clips: int) -> None:  # refuses what the data cannot hold
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the workers print the schedule's warnings
            build_schedule(cfg, clips=clips)

    check_imports(cfg)
    return prepare_data(cfg, check=schedule_fits)  # fails before it builds any cache


def run_training(cfg, *, name: str | None = None, point: SearchPoint | None = None) -> TrainResult:
    """One run of `cfg` (its grid set; `contract.baseline_of(cfg)` for the baseline), named
    `name` or by its config, continued when that run folder holds checkpoints of it. Relative
    paths in `cfg` are taken from the current directory. `point`: the search point `cfg` was
    built from (`point.apply`), recorded in its trial.json; default the config's own."""
    from ..config import with_absolute_paths

    cfg = with_absolute_paths(cfg)
    name = check_name(name, "the run name") if name else run_name(cfg)
    preflight(cfg)
    ensure_ray()
    start = time.perf_counter()
    trainer = build_trainer(cfg, point=point, name=name, driver_start=time.time())
    result = trainer.fit()
    run_dir = join(absolute_storage(cfg.train.storage_path), name)
    own = ckpt.saved_in(storage.file_path(run_dir)) if storage.file_path(run_dir) else []
    return TrainResult(
        run_dir=run_dir, metrics=dict(result.metrics or {}) or last_report(run_dir) or {},
        wall_s=time.perf_counter() - start,
        checkpoint=result.checkpoint.path if result.checkpoint else (
            str(own[0]) if own else None))


def last_report(run_dir: str) -> dict | None:
    """The run folder's last whole report (a line cut short by a kill is skipped), or None."""
    text = storage.read_text(join(run_dir, METRICS_FILE)) or ""
    for line in reversed(text.splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            return row
    return None
