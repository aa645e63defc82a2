"""Analysis of search results: tidy tables (pandas), figure info objects and their renderers.

    from mgsearch.analysis import analyze, write_report
    a = analyze("results/quickstart")          # tables, nothing written
    a.summary                                  # one row per configuration
    write_report("results/quickstart")         # summary.csv/.md and figures in .../report

Pure functions compute tables and `*_info` objects; `render_*` draws an info object (Agg).
"""

from .figures import (CurveSeries, CurvesInfo, ParetoInfo, ParetoPoint, ThroughputBar,
                      ThroughputInfo, TimelineInfo, curves_info, observed_timeline_info,
                      one_trial_per_config, pareto_info, throughput_info, timeline_info)
from .load import (CONFIG_KEYS, REPORT_COLUMNS, Experiment, experiment_from_result_grid,
                   load_experiment, reports_from_result_grid, tidy_reports)
from .notebook import execute_notebook
from .render import (render_curves, render_pareto, render_throughput, render_timeline,
                     save_figure)
from .report import Analysis, analyze, summary_markdown, timelines, write_report
from .speedup import (DEFAULT_TOLERANCE, BaselineTarget, baseline_target, matched_accuracy,
                      time_to_accuracy)
from .stats import MeanCI, mean_ci, t_quantile_95
from .tables import config_labels, config_summary, pareto_front, trial_summary

__all__ = [
    "Analysis",
    "BaselineTarget",
    "CONFIG_KEYS",
    "CurveSeries",
    "CurvesInfo",
    "DEFAULT_TOLERANCE",
    "Experiment",
    "MeanCI",
    "ParetoInfo",
    "ParetoPoint",
    "REPORT_COLUMNS",
    "ThroughputBar",
    "ThroughputInfo",
    "TimelineInfo",
    "analyze",
    "baseline_target",
    "config_labels",
    "config_summary",
    "curves_info",
    "execute_notebook",
    "experiment_from_result_grid",
    "load_experiment",
    "matched_accuracy",
    "mean_ci",
    "observed_timeline_info",
    "one_trial_per_config",
    "pareto_front",
    "pareto_info",
    "render_curves",
    "render_pareto",
    "render_throughput",
    "render_timeline",
    "reports_from_result_grid",
    "save_figure",
    "summary_markdown",
    "t_quantile_95",
    "throughput_info",
    "timeline_info",
    "tidy_reports",
    "time_to_accuracy",
    "timelines",
    "trial_summary",
    "write_report",
]
