"""mgsearch: search multigrid training schedules for video models with Ray Tune and Ray Train.

    import mgsearch
    cfg = mgsearch.load_config("experiments/quickstart.yaml")
    grid = mgsearch.run_search(cfg)                     # a Tune ResultGrid, the baseline included
    result = mgsearch.run_training(cfg)                 # one Ray Train run (TrainResult)
    tuner = tune.Tuner(mgsearch.trainable(cfg), param_space=mgsearch.search_space(cfg),
                       tune_config=tune.TuneConfig(metric=mgsearch.METRIC, mode=mgsearch.MODE))

Names that need Ray or torch (`run_search`, `run_training`, `trainable`, `search_space`,
`ensure_ray`, `load_experiment`, `write_report`) are imported on first use, so
`import mgsearch` stays light.
"""

from __future__ import annotations

from .config import Config, load_config
from .contract import (BASELINE, METRIC, MODE, POINT_KEYS, REPORT_KEYS, TIME_ATTR, Prediction,
                       SearchPoint, baseline_of, predict)
from .cost import Comparison, Cost, compare, schedule_cost
from .errors import ConfigError
from .grids import GRID_SETS, GridSet, resolve_grid_set
from .lazy import lazy_attributes
from .schedule import GridShape, Point, Schedule, Stage, batches_per_epoch, build_schedule
from .slowfast import load_slowfast_config

_LAZY = {
    "run_search": "search", "search_space": "search", "trainable": "search",
    "run_training": "train.launch", "TrainResult": "train.launch",
    "ensure_ray": "raycluster",
    "load_experiment": "analysis", "analyze": "analysis", "write_report": "analysis",
}

__all__ = [
    "BASELINE", "Comparison", "Config", "ConfigError", "Cost", "GRID_SETS", "GridSet", "GridShape",
    "METRIC", "MODE", "POINT_KEYS", "Point", "Prediction", "REPORT_KEYS", "Schedule", "SearchPoint",
    "Stage", "TIME_ATTR", "TrainResult", "analyze", "baseline_of", "batches_per_epoch",
    "build_schedule", "compare", "ensure_ray", "load_config", "load_experiment",
    "load_slowfast_config", "predict", "resolve_grid_set", "run_search", "run_training",
    "schedule_cost", "search_space", "trainable", "write_report",
]
__version__ = "0.1.0"


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
