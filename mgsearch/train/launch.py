"""Run one training (multigrid or baseline) as a Ray Train `TorchTrainer`.

    result = run_training(cfg)                   # the config's grid set
    result = run_training(cfg, baseline=True)    # the fixed-shape baseline, same loop

Single process: `workers: 0` (Ray Train's in-process mode). Distributed: `workers: N` gloo
workers on CPU, or NCCL with `use_gpu: true`. Each report's rank-0 metrics are appended to
`<storage_path>/<run name>/metrics.jsonl` (a local folder or a URI), in-process runs included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..raycluster import ensure_ray
from ..storage import absolute_storage, join
from .loop import METRICS_FILE, train_loop_per_worker


@dataclass(frozen=True)
class TrainResult:
    run_dir: str
    metrics: dict  # the last report
    wall_s: float  # driver wall-clock including Ray start-up of the worker group
    checkpoint: str | None


def run_name(cfg, baseline: bool) -> str:
    what = "baseline" if baseline else cfg.multigrid.grid_set
    return f"{cfg.name}-{what}-s{cfg.train.seed}-{time.strftime('%Y%m%d-%H%M%S')}"


def build_trainer(cfg, *, baseline: bool = False, name: str | None = None,
                  storage: str | None = None, callbacks: list | None = None,
                  via_tune: bool = False, driver_start: float | None = None):
    """The TorchTrainer of one run (not started); shared by `train` and the Tune trials.

    `via_tune`: an in-process run inside a Tune trial, which must report through Tune.
    `driver_start`: the unix time the run's driver started; reports then carry the start-up
    seconds the run waited for (`worker_start_s`, `first_step_s`: mgsearch.train.loop)."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    tc = cfg.train
    name = name or run_name(cfg, baseline)
    storage = absolute_storage(storage or tc.storage_path)
    metrics_file = join(storage, name, METRICS_FILE)
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"config": cfg, "baseline": baseline, "metrics_file": metrics_file,
                           "via_tune": via_tune, "driver_start": driver_start},
        torch_config=TorchConfig(backend="nccl" if tc.use_gpu else "gloo"),
        scaling_config=ScalingConfig(num_workers=tc.workers, use_gpu=tc.use_gpu,
                                     resources_per_worker={"CPU": tc.cpus_per_worker}),
        run_config=RunConfig(
            name=name, storage_path=storage, callbacks=list(callbacks or []),
            failure_config=FailureConfig(max_failures=tc.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2)),
    ), name, storage


def preflight(cfg, baseline: bool) -> None:
    """Fail before Ray starts anything: import paths, schedule, data size and model shapes."""
    import warnings

    from ..data import prepare_data
    from ..schedule import build_schedule
    from .model import check_imports

    check_imports(cfg)
    clips = prepare_data(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the workers print the schedule's warnings
        build_schedule(cfg, clips=clips, baseline=baseline)  # refuses what the data cannot hold


def run_training(cfg, *, baseline: bool = False, name: str | None = None) -> TrainResult:
    """One run; relative paths in `cfg` are taken from the current directory."""
    from ..config import with_absolute_paths

    cfg = with_absolute_paths(cfg)
    preflight(cfg, baseline)
    ensure_ray()
    start = time.perf_counter()
    trainer, name, storage = build_trainer(cfg, baseline=baseline, name=name,
                                           driver_start=time.time())
    result = trainer.fit()
    return TrainResult(
        run_dir=join(storage, name),
        metrics=dict(result.metrics or {}), wall_s=time.perf_counter() - start,
        checkpoint=result.checkpoint.path if result.checkpoint else None)
