"""Schedule search on Ray Tune: grid sets and schedules against the fixed-shape baseline.

    grid = run_search(load_config("experiments/quickstart.yaml"))

Every trial is a Tune *function trainable* that builds and fits one Ray Train `TorchTrainer`
(Ray Train V2: the trainer is not passed to the Tuner). A search point is
`{grid_set, epoch_factor, lr_multiplier, bn_base_size, seed}`; `grid_set: baseline` is the
fixed-shape run, which joins every search with the same seeds unless `search.baseline: false`.
Each trial's config also records what the schedule predicts (iterations, compute, speed-up), so
results group without re-deriving them.

Time: reports carry `time_this_iter_s` from the run's clock, so Tune's `time_total_s` (which Tune
fills in itself and would otherwise set to the trial's wall time, Ray start-up included) is the
training clock that ASHA and the analysis use.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time

from .config import Config, with_absolute_paths
from .cost import compare
from .errors import ConfigError
from .raycluster import ensure_ray
from .storage import absolute_storage, join
from .schedule import build_schedule

METRIC, MODE = "val_top1", "max"
DRIVER_MEMORY = 256 * 2**20  # a Tune bundle of only cpu: 0 is refused; this one is tiny


# -- points ------------------------------------------------------------------------------------


def search_points(cfg: Config) -> list[dict]:
    """Every point of a grid search, baseline first; seeds train.seed .. +repeats-1."""
    sc = cfg.search
    seeds = [cfg.train.seed + i for i in range(sc.repeats)]
    points = []
    if sc.baseline:
        points += [_point("baseline", 1.0, 1.0, cfg.multigrid.bn_base_size, s) for s in seeds]
    for g, ef, lr, bn, s in itertools.product(sc.grid_sets, sc.epoch_factors, sc.lr_multipliers,
                                              sc.bn_base_sizes, seeds):
        points.append(_point(g, ef, lr, bn, s))
    return points


def _point(grid_set, epoch_factor, lr_multiplier, bn_base_size, seed) -> dict:
    return {"grid_set": grid_set, "epoch_factor": epoch_factor, "lr_multiplier": lr_multiplier,
            "bn_base_size": bn_base_size, "seed": seed}


def point_config(base: Config, point: dict) -> tuple[Config, bool]:
    """The Config one trial trains, and whether it is the baseline."""
    name = point["grid_set"]
    mg = dataclasses.replace(base.multigrid, epoch_factor=point["epoch_factor"],
                             bn_base_size=point["bn_base_size"])
    custom = base.search.grid_set(name)
    if custom is not None:
        mg = custom.multigrid(mg)
    else:
        mg = dataclasses.replace(mg, grid_set=name, long_cycle_factors=None,
                                 short_cycle_factors=None)
    cfg = dataclasses.replace(
        base, multigrid=mg,
        solver=dataclasses.replace(base.solver,
                                   base_lr=base.solver.base_lr * point["lr_multiplier"]),
        train=dataclasses.replace(base.train, seed=int(point["seed"])))
    return cfg, name == "baseline"


def predictions(base: Config, point: dict, clips: int) -> dict:
    """What the schedule of `point` predicts, recorded in the trial's config."""
    cfg, baseline = point_config(base, point)
    sched = build_schedule(cfg, clips=clips, baseline=baseline)  # refuses what cannot fit
    cmp = compare(sched, build_schedule(cfg, clips=clips, baseline=True))
    return {"predicted_epochs": sched.max_epoch, "predicted_iterations": cmp.cost.iterations,
            "predicted_compute": cmp.cost.compute,
            "predicted_speedup": cmp.speedup_compute, "train_clips": clips}


def check_points(base: Config, points: list[dict], clips: int) -> list[dict]:
    """Build every point's schedule now, so a bad point fails before any trial starts."""
    out = []
    for p in points:
        try:
            out.append({**p, **predictions(base, p, clips)})
        except ConfigError as err:
            raise ConfigError(f"search point {p}: {err}") from None
    return out


# -- trials ------------------------------------------------------------------------------------


def trial(config: dict, base: Config) -> None:
    """Tune function trainable: one Ray Train run of one search point."""
    started = time.time()  # the trial's start: its reports measure start-up from here
    import ray.tune
    from ray.tune.integration.ray_train import TuneReportCallback

    from .train.launch import build_trainer

    point = config.get("point", config)
    cfg, baseline = point_config(base, point)
    in_process = cfg.train.workers == 0
    trial_id = ray.tune.get_context().get_trial_id()
    trainer, _, _ = build_trainer(
        cfg, baseline=baseline, name=f"train-{trial_id}",
        storage=join(experiment_path(base), "train_runs"),
        callbacks=[] if in_process else [TuneReportCallback()], via_tune=in_process,
        driver_start=started)
    trainer.fit()


def trial_resources(cfg: Config) -> dict:
    """The Tune bundle of a trial's driver. Train workers take their own placement group,
    which Tune does not see, so the driver must not hold CPUs they need."""
    tc = cfg.train
    if tc.workers == 0:  # in-process: the driver *is* the training process
        res = {"cpu": tc.cpus_per_worker, "memory": DRIVER_MEMORY}
        if tc.use_gpu:
            res["gpu"] = 1
        return res
    return {"cpu": 0, "memory": DRIVER_MEMORY}


def max_concurrency(cfg: Config, cluster: dict) -> int:
    """Trials that fit at once: CPUs (and GPUs) of the cluster over one trial's workers."""
    tc = cfg.train
    n = max(tc.workers, 1)
    fits = math.floor(cluster.get("CPU", 0) / (n * tc.cpus_per_worker) + 1e-9)
    if tc.use_gpu:
        fits = min(fits, math.floor(cluster.get("GPU", 0) / n + 1e-9))
    if fits < 1:
        raise ConfigError(
            f"one trial needs {n} worker(s) x {tc.cpus_per_worker} CPU"
            f"{' + 1 GPU' if tc.use_gpu else ''} each, the cluster has {cluster.get('CPU', 0)} "
            f"CPU / {cluster.get('GPU', 0)} GPU; lower train.workers or train.cpus_per_worker")
    want = cfg.search.max_concurrent_trials
    return min(want, fits) if want else fits


def experiment_path(cfg: Config) -> str:
    """`<storage_path>/<search name>`: a local folder or a URI (never built with pathlib)."""
    return join(absolute_storage(cfg.train.storage_path), cfg.search.name or cfg.name)


# -- the Tuner ---------------------------------------------------------------------------------


def _search_alg(cfg: Config, points: list[dict]):
    from ray.tune.search import BasicVariantGenerator

    sc = cfg.search
    baseline_points = [p for p in points if p["grid_set"] == "baseline"]
    if sc.algorithm == "grid":
        from ray import tune

        return None, {"point": tune.grid_search(points)}, 1
    if sc.algorithm == "random":
        from ray import tune

        others = [p for p in points if p["grid_set"] != "baseline"]
        space = {"point": tune.choice(others)}
        alg = BasicVariantGenerator(points_to_evaluate=[{"point": p} for p in baseline_points])
        return alg, space, sc.num_samples + len(baseline_points)
    return _optuna(cfg, points, baseline_points)


def _optuna(cfg: Config, points: list[dict], baseline_points: list[dict]):
    try:
        from ray.tune.search.optuna import OptunaSearch
    except ImportError:  # pragma: no cover - optuna is in the project's 'search' extra
        raise ConfigError("search.algorithm: optuna needs the optuna package; "
                          "pip install 'mgsearch[search]'") from None
    from ray import tune

    sc = cfg.search
    keys = ("grid_set", "epoch_factor", "lr_multiplier", "bn_base_size", "seed")
    others = [p for p in points if p["grid_set"] != "baseline"]
    space = {k: tune.choice(sorted({p[k] for p in others}, key=str)) for k in keys}
    start = [{k: p[k] for k in keys} for p in baseline_points]
    if sc.multi_objective:
        alg = OptunaSearch(metric=[METRIC, "time_total_s"], mode=[MODE, "min"],
                           points_to_evaluate=start or None)
    else:
        alg = OptunaSearch(metric=METRIC, mode=MODE, points_to_evaluate=start or None)
    return alg, space, sc.num_samples + len(start)


def _trial_dirname(trial) -> str:
    """Short trial folders: <id>_<grid set>_s<seed> (Tune's default spells out the whole point)."""
    p = trial.config.get("point", trial.config)
    return f"{trial.trial_id}_{p.get('grid_set', 'trial')}_s{p.get('seed', 0)}"


def _scheduler(cfg: Config, own_metric: bool):
    """ASHA on the training clock; it carries the metric itself when Tune's config does not."""
    if cfg.search.scheduler != "asha":
        return None
    from ray.tune.schedulers import ASHAScheduler

    metric = {"metric": METRIC, "mode": MODE} if own_metric else {}
    return ASHAScheduler(time_attr="time_total_s", grace_period=cfg.search.grace_period_s,
                         reduction_factor=cfg.search.reduction_factor, max_t=10**9, **metric)


def build_tuner(cfg: Config, *, clips: int, resume: bool = False, retry_errored: bool = False):
    """A Tuner for `cfg.search`, new or restored from the experiment folder."""
    from .train.model import check_imports
    from .watch import progress_reporter

    check_imports(cfg)  # a bad model.name or train.loss: one line, before Ray and any trial
    cluster = ensure_ray()  # first: it sets the environment Ray reads when imported
    from ray import tune

    reporter = progress_reporter(cfg)
    path = experiment_path(cfg)
    trainable = tune.with_resources(tune.with_parameters(trial, base=cfg), trial_resources(cfg))
    exists = tune.Tuner.can_restore(path)
    if exists and resume:  # resuming a search that never started simply starts it
        return tune.Tuner.restore(path, trainable=trainable, resume_unfinished=True,
                                  resume_errored=retry_errored, restart_errored=False), path
    if exists:
        raise ConfigError(f"a search already exists at {path}; continue it with --resume, or "
                          f"start another with --set search.name=<new name>")
    points = check_points(cfg, search_points(cfg), clips)
    alg, space, num_samples = _search_alg(cfg, points)
    # Optuna holds the metric(s) itself; Tune refuses a metric given twice.
    tune_holds_metric = cfg.search.algorithm in ("grid", "random")
    tune_config = tune.TuneConfig(
        metric=METRIC if tune_holds_metric else None, mode=MODE if tune_holds_metric else None,
        search_alg=alg, scheduler=_scheduler(cfg, own_metric=not tune_holds_metric),
        num_samples=num_samples, time_budget_s=cfg.search.time_budget_s,
        max_concurrent_trials=max_concurrency(cfg, cluster),
        trial_dirname_creator=_trial_dirname)
    run_config = tune.RunConfig(name=cfg.search.name or cfg.name,
                                storage_path=absolute_storage(cfg.train.storage_path), verbose=1,
                                progress_reporter=reporter)
    return tune.Tuner(trainable, param_space=space, tune_config=tune_config,
                      run_config=run_config), path


def run_search(cfg: Config, *, clips: int, resume: bool = False, retry_errored: bool = False):
    """Run (or continue) the search; returns Tune's ResultGrid and the experiment folder.
    Relative paths in `cfg` are taken from the current directory (trials run elsewhere)."""
    cfg = with_absolute_paths(cfg)
    tuner, path = build_tuner(cfg, clips=clips, resume=resume, retry_errored=retry_errored)
    return tuner.fit(), path


def summarize(grid) -> str:
    """One line per trial: point, final accuracy, training clock."""
    rows = []
    for r in grid:
        m, c = r.metrics or {}, r.config or {}
        p = c.get("point", c)
        top1 = f"{m['val_top1']:.1f}" if "val_top1" in m else "-"
        state = "error" if r.error else "ok"
        rows.append(f"  {p.get('grid_set', '?'):<12} seed {p.get('seed', '?'):<3} "
                    f"top-1 {top1:>5}%  clock {m.get('time_total_s', 0):7.1f} s  "
                    f"epochs {m.get('epoch', 0)}/{m.get('max_epoch', '?')}  {state}")
    return "trials:\n" + "\n".join(sorted(rows))
