"""mgsearch: search multigrid training schedules for video models with Ray Tune and Ray Train."""

from .config import Config, load_config
from .cost import Comparison, Cost, compare, schedule_cost
from .errors import ConfigError
from .grids import GRID_SETS, GridSet, resolve_grid_set
from .schedule import GridShape, Point, Schedule, Stage, batches_per_epoch, build_schedule
from .slowfast import load_slowfast_config

__all__ = [
    "Comparison",
    "Config",
    "ConfigError",
    "Cost",
    "GRID_SETS",
    "GridSet",
    "GridShape",
    "Point",
    "Schedule",
    "Stage",
    "batches_per_epoch",
    "build_schedule",
    "compare",
    "load_config",
    "load_slowfast_config",
    "resolve_grid_set",
    "schedule_cost",
]
__version__ = "0.1.0"
