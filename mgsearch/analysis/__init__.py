"""Analysis of search results: tidy tables (pandas), figure info objects and their renderers.

    from mgsearch.analysis import analyze, write_report
    a = analyze("results/quickstart")          # tables, nothing written
    a.summary                                  # one row per configuration
    write_report("results/quickstart")         # summary.csv/.md and figures in .../report

Pure functions compute tables and `*_info` objects; `render_*` draws an info object (Agg).
"""

from .fairness import REF_TOLERANCE, clock_line, median_reference_s, reference_clock
from .figures import (CurveSeries, CurvesInfo, ParetoInfo, ParetoPoint, ThroughputBar,
                      ThroughputInfo, TimelineInfo, accuracy_ylim, chance_level, curves_info,
                      observed_timeline_info, one_trial_per_config, pareto_info,
                      recorded_classes, throughput_info, timeline_info)
from .importance import (ablation, ablation_table, param_effects, param_importances,
                         schedule_study, search_distributions, trial_schedules)
from .load import (CONFIG_KEYS, REPORT_COLUMNS, Experiment, experiment_from_result_grid,
                   load_experiment, reports_from_result_grid, tidy_reports)
from .notebook import IMPORTANCE_NOTEBOOK, NOTEBOOK, execute_notebook
from .render import (render_curves, render_param_effects, render_pareto, render_throughput,
                     render_timeline, save_figure)
from .report import (SUMMARY_COLUMNS, Analysis, analyze, recorded_delta, summary_markdown,
                     timelines, write_report)
from .speedup import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, BaselineTarget, SeedCurves,
                      baseline_target, crossing_time, matched_accuracy, seed_curves,
                      time_to_accuracy)
from .stats import DiffCI, MeanCI, mean_ci, t_quantile_95, welch_ci
from .tables import config_labels, config_summary, pareto_front, trial_summary
from .yardstick import (DEFAULT_DELTA, MIN_SEEDS, ValidationSize, final_top1, validation_size,
                        verdict, verdicts)

__all__ = [
    "Analysis",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "BaselineTarget",
    "CONFIG_KEYS",
    "CurveSeries",
    "CurvesInfo",
    "DEFAULT_DELTA",
    "DiffCI",
    "Experiment",
    "IMPORTANCE_NOTEBOOK",
    "MIN_SEEDS",
    "MeanCI",
    "NOTEBOOK",
    "ParetoInfo",
    "ParetoPoint",
    "REF_TOLERANCE",
    "REPORT_COLUMNS",
    "SUMMARY_COLUMNS",
    "SeedCurves",
    "ThroughputBar",
    "ThroughputInfo",
    "TimelineInfo",
    "ValidationSize",
    "ablation",
    "ablation_table",
    "accuracy_ylim",
    "analyze",
    "baseline_target",
    "chance_level",
    "clock_line",
    "config_labels",
    "config_summary",
    "crossing_time",
    "curves_info",
    "execute_notebook",
    "experiment_from_result_grid",
    "final_top1",
    "load_experiment",
    "matched_accuracy",
    "mean_ci",
    "median_reference_s",
    "observed_timeline_info",
    "one_trial_per_config",
    "param_effects",
    "param_importances",
    "pareto_front",
    "pareto_info",
    "recorded_classes",
    "recorded_delta",
    "reference_clock",
    "render_curves",
    "render_param_effects",
    "render_pareto",
    "render_throughput",
    "render_timeline",
    "reports_from_result_grid",
    "save_figure",
    "schedule_study",
    "search_distributions",
    "seed_curves",
    "summary_markdown",
    "t_quantile_95",
    "throughput_info",
    "tidy_reports",
    "time_to_accuracy",
    "timeline_info",
    "timelines",
    "trial_schedules",
    "trial_summary",
    "validation_size",
    "verdict",
    "verdicts",
    "welch_ci",
    "write_report",
]
