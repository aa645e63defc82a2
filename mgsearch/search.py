"""Schedule search on Ray Tune: grid sets and schedules against the fixed-shape baseline.

    grid = run_search(load_config("experiments/quickstart.yaml"))   # a Tune ResultGrid

    tuner = tune.Tuner(trainable(cfg), param_space=search_space(cfg), ...)   # or by hand

Every trial is a Tune *function trainable* that builds and fits one Ray Train `TorchTrainer`
(Ray Train V2: the trainer is not passed to the Tuner). A search point is a
`mgsearch.contract.SearchPoint`; `grid_set: baseline` is the fixed-shape run, which joins every
search with the same seeds unless `search.baseline: false`.
Each trial's config also records what the schedule predicts (iterations, compute, speed-up), so
results group without re-deriving them.

Time: reports carry `time_this_iter_s` from the run's clock, so Tune's `time_total_s` (which Tune
fills in itself and would otherwise set to the trial's wall time, Ray start-up included) is the
training clock that ASHA and the analysis use.
"""

from __future__ import annotations

import itertools
import json
import math
import time

from . import storage
from .config import Config, with_absolute_paths
from .configtypes import to_dict
from .contract import (BASELINE, METRIC, MODE, POINT_KEYS, PREDICTED_KEYS, SEARCH_CONFIG,
                       TIME_ATTR, TRIAL_RUNS, SearchPoint, check_name, listed_points, predict,
                       trial_run_name)
from .errors import ConfigError
from .raycluster import ensure_ray
from .storage import absolute_storage, join

DRIVER_MEMORY = 256 * 2**20  # a Tune bundle of only cpu: 0 is refused; this one is tiny


# -- points ------------------------------------------------------------------------------------


def search_points(cfg: Config) -> list[SearchPoint]:
    """Every point of a grid search, baseline first; seeds train.seed .. +repeats-1; the listed
    `search.points`, else the lists crossed. With a
    `search.space` under random search or Optuna, which sample it: the baseline points and the
    space's corners (mgsearch.space), the points checked before any trial."""
    sc = cfg.search
    seeds = _seeds(cfg)
    points = []
    bn_sizes = cfg.bn_base_sizes()  # one authority: the baseline records the first
    if sc.baseline:
        points += [SearchPoint(BASELINE, 1.0, 1.0, bn_sizes[0], s)
                   for s in _seeds(cfg, sc.baseline_repeats)]
    if sc.space is not None:
        from .space import corner_points, grid_points

        return points + (grid_points(cfg, seeds) if sc.algorithm == "grid" else corner_points(cfg))
    if sc.points:
        return points + listed_points(cfg, seeds)
    for g, ef, lr, bn, s in itertools.product(sc.grid_sets, sc.epoch_factors, sc.lr_multipliers,
                                              bn_sizes, seeds):
        points.append(SearchPoint(g, ef, lr, bn, s))
    return points


def _seeds(cfg: Config, repeats: int | None = None) -> list[int]:
    return [cfg.train.seed + i for i in range(repeats or cfg.search.repeats)]


def check_points(base: Config, points: list[SearchPoint], clips: int) -> list[dict]:
    """Build every point's schedule now and probe the model with each of its grids, so a bad
    point fails before any trial starts (or, with `search.repair`, is repaired: the returned
    point says so). Each point's dict carries what it predicts (recorded in the trial's config,
    for pending trials)."""
    from .feasible import ModelShapes, settle

    shapes = ModelShapes(base)
    out = []
    for p in points:
        try:
            p = settle(p, base, shapes)
            _, prediction = predict(p.apply(base), clips)
        except ConfigError as err:
            given = {k: v for k, v in p.as_dict().items() if v is not None}
            raise ConfigError(f"search point {given}: {err}") from None
        out.append({**p.as_dict(), **prediction.as_dict()})
    return out


def search_space(cfg: Config, clips: int | None = None) -> dict:
    """The Tune param space of `cfg.search` (every point validated; `clips`: the training set's
    size, read from the data when None). Grid and random searches nest each point under
    "point"; Optuna's space is flat. With `search.algorithm: random`/`optuna` the baseline
    points are in the search algorithm (`build_tuner`), not in this space."""
    cfg = with_absolute_paths(cfg)
    clips = _training_clips(cfg) if clips is None else clips
    _, space, _ = _search_alg(cfg, check_points(cfg, search_points(cfg), clips))
    return space


def _training_clips(cfg: Config, check=None) -> int:
    from .data import prepare_data

    return prepare_data(cfg, check=check)


# -- trials ------------------------------------------------------------------------------------


def trial(config: dict, base: Config) -> None:
    """Tune function trainable: one Ray Train run of one search point."""
    started = time.time()  # the trial's start: its reports measure start-up from here
    import ray.tune
    from ray.tune.integration.ray_train import TuneReportCallback

    from .train.launch import build_trainer

    point = SearchPoint.from_dict(config, default=SearchPoint.of(base))
    if base.search.repair:  # a sampled point (random, Optuna) is repaired here, as checked
        from .feasible import ModelShapes, settle

        point = settle(point, base, ModelShapes(base))
    in_process = base.train.workers == 0
    ctx = ray.tune.get_context()
    # <train.storage_path>/<this Tune experiment>/train_runs/train-<trial id>: a restored trial
    # finds its checkpoints there, whoever built the Tuner
    runs = join(absolute_storage(base.train.storage_path), ctx.get_experiment_name(), TRIAL_RUNS)
    name = trial_run_name(ctx.get_trial_id())
    last = finished_report(join(runs, name))
    if last is not None:  # a restored search whose state lagged: the run is done, report it
        print(f"[mgsearch] {name} finished before (point {last['point']}/{last['points']}): "
              f"not trained again", flush=True)
        ray.tune.report(last)
        return
    trainer = build_trainer(
        point.apply(base), point=point, name=name, storage=runs,
        callbacks=[] if in_process else [TuneReportCallback()], via_tune=in_process,
        driver_start=started)
    trainer.fit()


def finished_report(run_dir: str) -> dict | None:
    """The last report of a run folder whose run reached its last point, else None."""
    from .train.launch import last_report

    last = last_report(run_dir)
    done = last is not None and last.get("points") is not None and (
        last.get("point") == last.get("points"))
    return last if done else None


def trainable(cfg: Config):
    """`cfg`'s Tune function trainable with its resources: one Ray Train run per trial of the
    point in the trial's config (`search_space(cfg)`, or a space of your own over
    `contract.POINT_KEYS`; keys it leaves out keep `cfg`'s values). For
    `tune.Tuner(trainable(cfg), param_space=search_space(cfg), ...)`: Ray must be up (call
    `mgsearch.raycluster.ensure_ray()` or `ray.init()` first); give the Tuner
    `RunConfig(storage_path=cfg.train.storage_path)` so the trials' Train runs
    (`<storage_path>/<experiment>/train_runs/`) sit in its experiment folder. Relative paths in
    `cfg` are taken from the current directory (trials run elsewhere)."""
    from ray import tune

    from .train.model import check_imports

    cfg = with_absolute_paths(cfg)
    check_imports(cfg)
    return tune.with_resources(tune.with_parameters(trial, base=cfg), trial_resources(cfg))


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


def experiment_name(cfg: Config) -> str:
    """search.name, else the config's name: a folder name under train.storage_path."""
    return check_name(cfg.search.name or cfg.name, "search.name" if cfg.search.name else "name")


def experiment_path(cfg: Config) -> str:
    """`<storage_path>/<search name>`: a local folder or a URI (never built with pathlib)."""
    return join(absolute_storage(cfg.train.storage_path), experiment_name(cfg))


# -- the Tuner ---------------------------------------------------------------------------------


def _search_alg(cfg: Config, points: list[dict]):
    from ray.tune.search import BasicVariantGenerator

    sc = cfg.search
    baseline_points = [p for p in points if p["grid_set"] == BASELINE]
    if sc.algorithm == "grid":
        from ray import tune

        return None, {"point": tune.grid_search(points)}, 1
    if sc.algorithm == "random":
        from ray import tune

        if sc.space is not None:  # every key a baseline point holds, so it can be pre-set
            from .space import start_values, tune_space

            space = {"point": {**dict.fromkeys(POINT_KEYS + PREDICTED_KEYS),
                               **tune_space(cfg, _seeds(cfg), flat=False)}}
            baseline_points = [_preset(p, p, start_values(cfg)) for p in baseline_points]
        else:
            space = {"point": tune.choice([p for p in points if p["grid_set"] != BASELINE])}
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
    fill: dict = {}  # values for the space's keys a baseline point leaves unset
    if sc.space is not None:
        from .space import start_values, tune_space

        space, fill = tune_space(cfg, _seeds(cfg), flat=True), start_values(cfg)
    else:  # the points' keys that hold values (the schedule parameters are all None there)
        others = [p for p in points if p["grid_set"] != BASELINE]
        space = {k: tune.choice(sorted({p[k] for p in others}, key=str)) for k in POINT_KEYS
                 if any(p[k] is not None for p in others)}
    if sc.multi_objective:
        alg = OptunaSearch(metric=[METRIC, TIME_ATTR], mode=[MODE, "min"], seed=cfg.train.seed)
    else:
        alg = OptunaSearch(metric=METRIC, mode=MODE, seed=cfg.train.seed)
    # The baseline runs first, outside TPE: it is the reference, not a point of the space (in
    # the space, a single-objective TPE would keep sampling the most accurate schedule there is)
    start = [_preset(p, space, fill) for p in baseline_points]
    from .searchers import ReferenceFirst

    return ReferenceFirst(alg, start), space, sc.num_samples + len(start)


def _preset(point: dict, keys, fill: dict) -> dict:
    """A baseline point pre-set in a sampled space: `keys` of it, where it holds None a value
    inside the space (Tune checks pre-set values against their domains and Optuna refuses a
    point without every key); the baseline's fixed shape ignores the schedule keys and
    SearchPoint clears them."""
    return {k: point[k] if point[k] is not None else fill.get(k) for k in keys}


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
    return ASHAScheduler(time_attr=TIME_ATTR, grace_period=cfg.search.grace_period_s,
                         reduction_factor=cfg.search.reduction_factor, max_t=10**9, **metric)


# Settings a resumed search may change: where results go, how many trials run at once, for how
# long, restarts and retention, the report's margin. Anything else would mix runs.
RESUME_MAY_CHANGE = ("train.storage_path", "train.max_failures", "train.keep_checkpoints",
                     "search.max_concurrent_trials", "search.time_budget_s", "search.delta")


def build_tuner(cfg: Config, *, clips: int | None = None, resume: bool = False,
                retry_errored: bool = False):
    """A Tuner for `cfg.search`, new or restored from the experiment folder, and that folder.
    `clips`: the training set's size (None: index the data, building its caches). The caller
    must hold the experiment's lock (`run_search` does) before fitting it."""
    from .train.model import check_imports
    from .watch import progress_reporter

    cfg = with_absolute_paths(cfg)
    check_imports(cfg)  # a bad model.name or train.loss: one line, before Ray and any trial
    path = experiment_path(cfg)
    points: list[dict] = []

    def check(n: int) -> None:  # every point's schedule on n clips: a point the data cannot
        points[:] = check_points(cfg, search_points(cfg), n)  # hold fails before Ray starts

    if clips is None:  # index the data (its caches after `check`) before Ray takes the cores
        clips = _training_clips(cfg, check=check)
    else:
        check(clips)
    cluster = ensure_ray()  # first: it sets the environment Ray reads when imported
    from ray import tune

    reporter = progress_reporter(cfg)
    exists = tune.Tuner.can_restore(path)
    if exists and resume:  # resuming a search that never started simply starts it
        check_resumed_config(cfg, path)
        return tune.Tuner.restore(path, trainable=trainable(cfg), resume_unfinished=True,
                                  resume_errored=retry_errored, restart_errored=False), path
    if exists:
        raise ConfigError(f"a search already exists at {path}; continue it with --resume, or "
                          f"start another with --set search.name=<new name>")
    alg, space, num_samples = _search_alg(cfg, points)
    check_resumed_config(cfg, path)  # a folder left by a driver killed before Tune wrote state
    storage.write_text(join(path, SEARCH_CONFIG), json.dumps(to_dict(cfg), indent=1))
    # Optuna holds the metric(s) itself; Tune refuses a metric given twice.
    tune_holds_metric = cfg.search.algorithm in ("grid", "random")
    tune_config = tune.TuneConfig(
        metric=METRIC if tune_holds_metric else None, mode=MODE if tune_holds_metric else None,
        search_alg=alg, scheduler=_scheduler(cfg, own_metric=not tune_holds_metric),
        num_samples=num_samples, time_budget_s=cfg.search.time_budget_s,
        max_concurrent_trials=max_concurrency(cfg, cluster),
        trial_dirname_creator=_trial_dirname)
    run_config = tune.RunConfig(name=experiment_name(cfg),
                                storage_path=absolute_storage(cfg.train.storage_path), verbose=1,
                                progress_reporter=reporter)
    return tune.Tuner(trainable(cfg), param_space=space, tune_config=tune_config,
                      run_config=run_config), path


def check_resumed_config(cfg: Config, path: str) -> None:
    """Refuse to continue the experiment at `path` with a config that would mix runs: every
    setting but RESUME_MAY_CHANGE must equal the one it started with (its SEARCH_CONFIG)."""
    text = storage.read_text(join(path, SEARCH_CONFIG))
    if text is None:
        return  # started before configs were stored
    differ = [k for k in _differing(json.loads(text), to_dict(cfg))
              if not any(k == f or k.startswith(f + ".") for f in RESUME_MAY_CHANGE)]
    if differ:
        shown = ", ".join(differ[:6]) + (f" (+{len(differ) - 6} more)" if len(differ) > 6 else "")
        raise ConfigError(f"the search at {path} started with another config: {shown} differ; "
                          f"resume it with the config it started with, or start a new "
                          f"experiment with --set search.name=<new name>")


def _differing(a, b, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [k for key in sorted(set(a) | set(b))
                for k in _differing(a.get(key), b.get(key), f"{prefix}{key}.")]
    return [] if a == b else [prefix.rstrip(".")]


def run_search(cfg: Config, *, clips: int | None = None, resume: bool = False,
               retry_errored: bool = False):
    """Run (or continue) the search; returns Tune's `ResultGrid` (its `experiment_path` is the
    experiment folder). Relative paths in `cfg` are taken from the current directory. One
    driver per experiment: a second one is refused (mgsearch.lock)."""
    from .lock import experiment_lock

    with experiment_lock(experiment_path(with_absolute_paths(cfg))):
        tuner, _ = build_tuner(cfg, clips=clips, resume=resume, retry_errored=retry_errored)
        return tuner.fit()


STOPPED_EARLY = "stopped early by ASHA"


def trial_state(result, early_stopping: bool = False) -> str:
    """What became of one trial: "ok" (reached its last point), "error", "not started", or
    "interrupted at epoch k/n" (it reported, but not its last point) — "stopped early by ASHA at
    epoch k/n" instead where `early_stopping` says the scheduler stopped such trials (ASHA on,
    and the search's time budget, which stops trials the same way, not used up)."""
    m = result.metrics or {}
    if result.error:
        return "error"
    if "point" not in m:
        return "not started"
    if m.get("point") != m.get("points"):
        at = f"at epoch {_g(m.get('epoch', 0))}/{_g(m.get('max_epoch', '?'))}"
        return f"{STOPPED_EARLY} {at}" if early_stopping else f"interrupted {at}"
    return "ok"


def _done(state: str) -> bool:
    return state == "ok" or state.startswith(STOPPED_EARLY)


def early_stopping(cfg: Config, elapsed_s: float) -> bool:
    """Whether a trial that stopped before its end was stopped by ASHA: ASHA is on and the
    search ran for less than its time budget."""
    budget = cfg.search.time_budget_s
    return cfg.search.scheduler == "asha" and (budget is None or elapsed_s < 0.99 * budget)


def summarize(grid, early: bool = False) -> str:
    """One line per trial: point, final accuracy, training clock, what became of it; and a last
    line saying whether the search is complete (every trial finished or, `early`, stopped by
    ASHA)."""
    rows, states = [], []
    for r in grid:
        m, c = r.metrics or {}, r.config or {}
        p = c.get("point", c)
        top1 = f"{m[METRIC]:.1f}" if METRIC in m else "-"
        state = trial_state(r, early)
        states.append(state)
        rows.append(f"  {p.get('grid_set', '?'):<12} seed {p.get('seed', '?'):<3} "
                    f"top-1 {top1:>5}%  clock {m.get(TIME_ATTR, 0):7.1f} s  "
                    f"epochs {_g(m.get('epoch', 0))}/{_g(m.get('max_epoch', '?'))}  {state}")
    done = sum(_done(s) for s in states)
    verdict = ("complete" if done == len(states) else
               f"NOT complete: {done} of {len(states)} trials finished; continue it with "
               f"--resume (--retry-errored for errors); a report of it now is provisional")
    return "trials:\n" + "\n".join(sorted(rows)) + f"\nsearch {verdict}"


def _g(value) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def search_complete(grid, early: bool = False) -> bool:
    return all(_done(trial_state(r, early)) for r in grid)
