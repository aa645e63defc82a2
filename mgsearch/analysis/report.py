"""The report of one experiment: every table, a pasteable Markdown summary, and the figures.

    a = analyze("results/quickstart")                  # tables only, nothing written
    paths = write_report("results/quickstart", out="report", config="experiments/quickstart.yaml")

Works on a search that is still running: numbers are then provisional and the summary says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from .figures import (curves_info, observed_timeline_info, one_trial_per_config, pareto_info,
                      throughput_info, timeline_info)
from .load import CONFIG_KEYS, Experiment, load_experiment
from .render import render_curves, render_pareto, render_throughput, render_timeline, save_figure
from .speedup import (DEFAULT_TOLERANCE, NOT_REACHED, NOT_YET, REACHED, BaselineTarget,
                      baseline_target, matched_accuracy)
from .tables import config_summary, trial_summary

SUMMARY_COLUMNS = (
    "label", "kind") + CONFIG_KEYS + (
    "seeds", "finished", "active", "top1_mean", "top1_ci", "top5_mean", "top5_ci", "wallclock_mean",
    "wallclock_ci", "target_top1", "seeds_reached", "target_status", "time_to_target_mean",
    "time_to_target_ci", "baseline_wallclock_s", "speedup", "predicted_speedup", "efficiency",
    "train_gflops", "predicted_compute", "pareto")


@dataclass(frozen=True)
class Analysis:
    experiment: Experiment
    trials: pd.DataFrame  # trial_summary
    configs: pd.DataFrame  # config_summary
    baseline: BaselineTarget | None
    summary: pd.DataFrame  # one row per configuration, SUMMARY_COLUMNS
    tolerance: float

    @property
    def complete(self) -> bool:
        """No trial is still training or waiting to (finished or stopped by Tune)."""
        return bool(len(self.trials)) and not bool(self.trials["active"].any())


def analyze(experiment: str | Path | Experiment,
            tolerance: float = DEFAULT_TOLERANCE) -> Analysis:
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    trials = trial_summary(exp.reports, exp.trials)
    configs = config_summary(trials)
    matched = matched_accuracy(exp.reports, trials, tolerance)
    if configs.empty:
        summary = pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    else:
        extra = [c for c in matched.columns if c not in configs.columns or c in CONFIG_KEYS]
        summary = configs.merge(matched[extra], on=list(CONFIG_KEYS), how="left")
        summary = summary.reindex(columns=list(SUMMARY_COLUMNS))
    return Analysis(exp, trials, configs, baseline_target(trials, tolerance), summary, tolerance)


def summary_markdown(a: Analysis) -> str:
    """The summary a person pastes: a header on the baseline and target, then one row per
    configuration (baseline first)."""
    lines = [f"# Schedule comparison: `{a.experiment.path}`", ""]
    running = int(a.trials["active"].sum())
    if running:
        lines += [f"**Provisional:** {running} of {len(a.trials)} trials are still running or "
                  f"pending; their numbers are the latest reported.", ""]
    b = a.baseline
    if b is None:
        lines += ["No baseline accuracy yet: time to baseline accuracy and speed-up are empty.", ""]
    else:
        lines += [f"Baseline: final top-1 {b.top1:.2f}% over {b.seeds} seed(s)"
                  f"{'' if b.complete else ' (not all finished)'}, "
                  f"wall-clock {b.wallclock_s:.1f} s. Target: {b.top1:.2f} − {b.tolerance:g} "
                  f"= **{b.target:.2f}%** top-1.", ""]
    head = ["configuration", "seeds", "final top-1 (%)", "wall-clock (s)",
            "time to baseline acc. (s)", "speed-up", "predicted speed-up", "efficiency"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in a.summary.itertuples():
        stopped = int(r.seeds) - int(r.finished) - int(r.active)
        notes = [f"{n} {what}" for n, what in ((int(r.active), "running"), (stopped, "stopped"))
                 if n]
        seeds = f"{int(r.seeds)}" + (f" ({', '.join(notes)})" if notes else "")
        cells = [str(r.label), seeds, _pm(r.top1_mean, r.top1_ci, 2),
                 _pm(r.wallclock_mean, r.wallclock_ci, 1), _time_to_target(r),
                 _x(r.speedup), _x(r.predicted_speedup), _num(r.efficiency, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean ± 95% CI over seeds (Student t; no interval with one seed). Wall-clock is "
              "the training clock `time_total_s` at the last report. Speed-up = baseline "
              "wall-clock ÷ time to the target; efficiency = speed-up ÷ predicted compute "
              "speed-up. A configuration reaches the target when all its seeds do.", ""]
    return "\n".join(lines)


def write_report(experiment: str | Path | Experiment, out: str | Path | None = None, *,
                 tolerance: float = DEFAULT_TOLERANCE, config: str | Path | None = None,
                 ) -> list[Path]:
    """Write summary.csv, trials.csv, summary.md and figures/ into `out` (default:
    <experiment>/report). `config`: the search's YAML, for timelines from the schedules
    themselves; without it they are drawn from what the trials reported."""
    a = analyze(experiment, tolerance)
    out = Path(out) if out is not None else Path(a.experiment.path) / "report"
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.csv", out / "trials.csv", out / "summary.md"]
    a.summary.to_csv(paths[0], index=False)
    a.trials.to_csv(paths[1], index=False)
    figs = out / "figures"
    reports = a.experiment.reports
    target = a.baseline.target if a.baseline else None
    paths += save_figure(render_curves(curves_info(reports, a.trials, target)), figs,
                         "accuracy_vs_time")
    paths += save_figure(render_pareto(pareto_info(a.configs)), figs, "pareto")
    paths += save_figure(render_throughput(throughput_info(reports, a.trials)), figs, "throughput")
    for label, info in timelines(a, config).items():
        paths += save_figure(render_timeline(info), figs, f"timeline_{label}")
    md = summary_markdown(a) + "\n## Figures\n\n" + "\n".join(
        f"![{p.stem}](figures/{p.name})" for p in paths if p.suffix == ".png") + "\n"
    paths[2].write_text(md)
    return paths


def timelines(a: Analysis, config: str | Path | None = None) -> dict:
    """label -> TimelineInfo per configuration: from its Schedule when the search config is
    given and the trial's point is known, else from one trial's reports."""
    from ..config import load_config

    base = load_config(str(config)) if config is not None else None
    out = {}
    by_id = a.trials.set_index("trial_id")
    for label, trial_id in one_trial_per_config(a.trials).items():
        point = {k: by_id.at[trial_id, k] for k in CONFIG_KEYS + ("seed", "train_clips")}
        schedule = _schedule(base, point) if base is not None else None
        out[label] = (timeline_info(schedule, title=label) if schedule is not None
                      else observed_timeline_info(a.experiment.reports, trial_id, title=label))
    return out


def _schedule(base, point: dict):
    from ..schedule import build_schedule
    from ..search import point_config

    if any(isinstance(v, float) and math.isnan(v) for v in point.values()):
        return None  # a bare `mgsearch train` run: its point is not recorded
    point = {k: (int(v) if k in ("bn_base_size", "seed", "train_clips") else v)
             for k, v in point.items()}
    cfg, baseline = point_config(base, point)
    with warnings.catch_warnings():  # dropped zero-length stages were reported at search time
        warnings.simplefilter("ignore")
        # the trial's own training-set size: its iterations depend on it
        try:
            return build_schedule(cfg, clips=point["train_clips"], baseline=baseline)
        except ConfigError:  # results of another engine version: draw what they reported
            return None


def _time_to_target(r) -> str:
    status = r.target_status
    if status == REACHED:
        return _pm(r.time_to_target_mean, r.time_to_target_ci, 1)
    if status in (NOT_REACHED, NOT_YET):
        return f"{status} ({int(r.seeds_reached)}/{int(r.seeds)})"
    return "–"


def _pm(mean, ci, digits: int) -> str:
    if not _finite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {ci:.{digits}f}" if _finite(ci) else "")


def _x(value) -> str:
    return f"{value:.2f}×" if _finite(value) else "–"


def _num(value, digits: int) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "–"


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
