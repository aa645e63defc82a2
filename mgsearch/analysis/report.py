"""The report of one experiment: every table, a pasteable Markdown summary, and the figures.

    a = analyze("results/quickstart")                  # tables only, nothing written
    paths = write_report("results/quickstart", out="report")

Works on a search that is still running: numbers are then provisional and the summary says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract import CONFIG_KEYS, schedule_from_record, started_config
from .answer import answer, write_answer
from .fairness import clock_line, reference_clock
from .figures import (curves_info, observed_timeline_info, one_trial_per_config, pareto_info,
                      recorded_classes, throughput_info, timeline_info)
from .load import Experiment, load_experiment
from .render import render_curves, render_pareto, render_throughput, render_timeline, save_figure
from .speedup import (BOOTSTRAP_RESAMPLES, NOT_REACHED, NOT_YET, REACHED, BaselineTarget,
                      baseline_target, matched_accuracy)
from .tables import config_summary, pm as _pm, trial_summary
from .yardstick import (DEFAULT_DELTA, MIN_SEEDS, REFERENCE, TOO_FEW, ValidationSize,
                        validation_size, verdicts)

# The verdict first, then the difference and its interval, then the speed-up and its interval.
SUMMARY_COLUMNS = (
    "label", "verdict", "top1_diff", "top1_diff_low", "top1_diff_high", "speedup", "speedup_low",
    "speedup_high", "kind") + CONFIG_KEYS + (
    "seeds", "finished", "active", "top1_mean", "top1_ci", "top1_n", "top1_min", "top1_max", "top5_mean",
    "top5_ci", "val_clips", "wallclock_mean", "wallclock_ci", "delta", "top1_diff_df",
    "target_top1", "seeds_reached", "target_status", "time_to_target_s",
    "baseline_time_to_target_s", "predicted_speedup", "efficiency", "clock_flagged",
    "train_gflops", "predicted_compute", "pareto")


@dataclass(frozen=True)
class Analysis:
    experiment: Experiment
    trials: pd.DataFrame  # trial_summary
    configs: pd.DataFrame  # config_summary
    baseline: BaselineTarget | None
    summary: pd.DataFrame  # one row per configuration, SUMMARY_COLUMNS
    delta: float  # the non-inferiority margin used, accuracy points
    validation: ValidationSize | None  # None without a baseline accuracy

    @property
    def complete(self) -> bool:
        """No trial is still training or waiting to (finished or stopped by Tune)."""
        return bool(len(self.trials)) and not bool(self.trials["active"].any())


def analyze(experiment: str | Path | Experiment, delta: float | None = None) -> Analysis:
    """Every table of one experiment. `delta` (accuracy points): None takes the value the
    trials recorded (`search.delta`, when they all agree), else DEFAULT_DELTA."""
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    delta = recorded_delta(exp.reports) if delta is None else float(delta)
    trials = reference_clock(trial_summary(exp.reports, exp.trials))
    configs = config_summary(trials)
    base = baseline_target(trials, delta)
    if configs.empty:
        summary = pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    else:
        summary = configs
        for table in (verdicts(trials, delta), matched_accuracy(exp.reports, trials, delta)):
            extra = [c for c in table.columns if c not in summary.columns or c in CONFIG_KEYS]
            summary = summary.merge(_keys_like(table[extra], summary), on=list(CONFIG_KEYS),
                                    how="left")
        flagged = trials.groupby(list(CONFIG_KEYS), dropna=False)["clock_flag"].sum()
        summary = summary.merge(_keys_like(flagged.rename("clock_flagged").reset_index(), summary),
                                on=list(CONFIG_KEYS), how="left")
        summary = summary.reindex(columns=list(SUMMARY_COLUMNS))
    valid = validation_size(exp.reports, trials, base.top1) if base else None
    return Analysis(exp, trials, configs, base, summary, delta, valid)


def _keys_like(table: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """`table` with its configuration keys in `like`'s dtypes: a text key that no trial set (all
    None) comes out of a groupby as float NaN in one table and object in another, and pandas
    refuses to merge those."""
    return table.astype({k: like[k].dtype for k in CONFIG_KEYS})


def recorded_delta(reports: pd.DataFrame) -> float:
    """The `delta` the trials recorded from their config; DEFAULT_DELTA when none did or
    they disagree (pass `delta` then)."""
    values = reports["delta"].dropna().unique() if "delta" in reports else []
    return float(values[0]) if len(values) == 1 else DEFAULT_DELTA


def summary_markdown(a: Analysis, ans=None) -> str:
    """The summary a person pastes: the baseline, target, validation size and clock fairness,
    then one row per configuration (baseline first), verdict first; then the answer
    (`answer.answer`), when given."""
    lines = [f"# Schedule comparison: `{a.experiment.path}`", ""]
    running = int(a.trials["active"].sum())
    if running:
        lines += [f"**Provisional:** {running} of {len(a.trials)} trials are still running or "
                  f"pending; their numbers are the latest reported.", ""]
    b = a.baseline
    if b is None:
        lines += ["No baseline accuracy yet: verdicts, time to baseline accuracy and speed-up "
                  "are empty.", ""]
    else:
        lines += [f"Baseline: final top-1 {b.top1:.2f}% over {b.seeds} seed(s)"
                  f"{'' if b.complete else ' (not all finished)'}, "
                  f"wall-clock {b.wallclock_s:.1f} s. Margin δ = {a.delta:g} pt; target: "
                  f"{b.top1:.2f} − {a.delta:g} = **{b.target:.2f}%** top-1.", ""]
    if a.validation is not None:
        lines += [_validation_line(a.validation), ""]
    lines += [clock_line(a.trials), ""]
    head = ["configuration", "verdict", "Δ top-1 vs baseline (pt) [95% Welch]",
            "speed-up [95% bootstrap]", "seeds", "final top-1 (%)", "wall-clock (s)",
            "time to target (s)", "predicted speed-up", "efficiency"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in a.summary.itertuples():
        stopped = int(r.seeds) - int(r.finished) - int(r.active)
        notes = [f"{n} {what}" for n, what in ((int(r.active), "running"), (stopped, "stopped"),
                                               (int(r.clock_flagged or 0), "clock flagged"))
                 if n]
        seeds = f"{int(r.seeds)}" + (f" ({', '.join(notes)})" if notes else "")
        cells = [str(r.label), _verdict(r), _diff(r), _speedup(r), seeds,
                 _seed_pm(r.top1_mean, r.top1_ci, r.top1_n, 2, (r.top1_min, r.top1_max)),
                 _seed_pm(r.wallclock_mean, r.wallclock_ci, r.top1_n, 1),
                 _time_to_target(r), _x(r.predicted_speedup), _num(r.efficiency, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Verdict (non-inferiority at margin δ): *matches* when the lower 95% bound of "
              f"Δ = config − baseline mean final top-1 is ≥ −δ, *worse* when the upper bound is "
              f"< −δ, *undecided* otherwise; *too few seeds* below {MIN_SEEDS} seeds on either "
              f"side (no interval claimed). Δ's interval: Welch two-sample t. Final top-1 is the "
              f"last full-set evaluation; mean ± 95% t over seeds, or with fewer than {MIN_SEEDS} "
              f"seeds the mean and the seeds' range. Speed-up = the baseline's own time to the "
              f"target ÷ the configuration's, both on seed-mean curves (mean top-1 and mean "
              f"`time_total_s` per evaluation point, linearly interpolated between evaluations); "
              f"its interval: percentile bootstrap over seeds, {BOOTSTRAP_RESAMPLES} resamples, "
              f"fixed seed. Efficiency = speed-up ÷ predicted compute speed-up.", ""]
    if ans is not None:
        lines += ["## Answer", "", ans.text, ""]
        if ans.file:
            lines += [f"Experiment file: [`{ans.file}`]({ans.file}) (beside this summary).", ""]
    return "\n".join(lines)


def _validation_line(v: ValidationSize) -> str:
    if v.clips is None:
        return "Validation: the final evaluations did not record their clip count."
    text = (f"Validation: {v.clips} clips at the final evaluation"
            f"{' (the smallest; trials differ)' if v.clips_differ else ''}; one model's binomial "
            f"standard error at the baseline's {v.baseline_top1:.1f}% is "
            f"√(p(1−p)/n) = {v.binomial_se:.2f} pt.")
    if v.subset_points:
        text += (f" Evaluations at point(s) {_ranges(v.subset_points)} ran on the validation "
                 f"subset ({v.subset_clips} clips): curves only, never a final top-1.")
    else:
        text += " Every evaluation used the full validation set."
    return text


def write_report(experiment: str | Path | Experiment, out: str | Path | None = None, *,
                 delta: float | None = None) -> list[Path]:
    """Write summary.csv, trials.csv, reports.csv (every report of every trial: the raw
    per-trial, per-evaluation table everything else is computed from), summary.md, answer.md
    (and the file the answer proposes) and figures/ into `out` (default:
    <experiment>/report). `delta`: as `analyze`."""
    a = analyze(experiment, delta)
    out = Path(out) if out is not None else Path(a.experiment.path) / "report"
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.csv", out / "trials.csv", out / "summary.md"]
    ans = answer(a, started_config(str(a.experiment.path)))
    paths += write_answer(ans, out)
    a.summary.to_csv(paths[0], index=False)
    a.trials.to_csv(paths[1], index=False)
    labels = dict(zip(a.trials["trial_id"], a.trials["label"]))
    reports = a.experiment.reports
    paths.append(out / "reports.csv")
    reports.assign(label=reports["trial_id"].map(labels)).to_csv(paths[-1], index=False)
    figs = out / "figures"
    target = a.baseline.target if a.baseline else None
    classes = recorded_classes(reports)
    paths += save_figure(render_curves(curves_info(reports, a.trials, target, classes)), figs,
                         "accuracy_vs_time")
    paths += save_figure(render_pareto(pareto_info(a.configs, classes)), figs, "pareto")
    paths += save_figure(render_throughput(throughput_info(reports, a.trials)), figs, "throughput")
    for label, info in timelines(a).items():
        paths += save_figure(render_timeline(info), figs, f"timeline_{label}")
    md = summary_markdown(a, ans) + "\n## Figures\n\n" + "\n".join(
        f"![{p.stem}](figures/{p.name})" for p in paths if p.suffix == ".png") + "\n"
    paths[2].write_text(md)
    return paths


def timelines(a: Analysis) -> dict:
    """label -> TimelineInfo per configuration: from the Schedule one of its trials recorded
    (mgsearch.contract.TRIAL_FILE, rebuilt), else from what that trial reported."""
    out = {}
    for label, trial_id in one_trial_per_config(a.trials).items():
        record = a.experiment.records.get(trial_id)
        schedule = schedule_from_record(record) if record is not None else None
        out[label] = (timeline_info(schedule, title=label) if schedule is not None
                      else observed_timeline_info(a.experiment.reports, trial_id, title=label))
    return out


def _verdict(r) -> str:
    return "– (no baseline)" if not isinstance(r.verdict, str) else (
        "baseline" if r.verdict == REFERENCE else f"**{r.verdict}**")


def _diff(r) -> str:
    if not _finite(r.top1_diff) or r.verdict == REFERENCE:
        return "–"
    if r.verdict == TOO_FEW or not _finite(r.top1_diff_low):
        return f"{r.top1_diff:+.2f} (no interval)"
    return f"{r.top1_diff:+.2f} [{r.top1_diff_low:+.2f}, {r.top1_diff_high:+.2f}]"


def _speedup(r) -> str:
    if not _finite(r.speedup):
        return "–"
    if _finite(r.speedup_low):
        return f"{r.speedup:.2f}× [{r.speedup_low:.2f}, {r.speedup_high:.2f}]"
    return f"{r.speedup:.2f}× (no interval)"


def _ranges(points) -> str:
    """1, 2, 3, 5 -> '1–3, 5'."""
    out, start, prev = [], None, None
    for p in list(points) + [None]:
        if start is not None and (p is None or p != prev + 1):
            out.append(f"{start}" if start == prev else f"{start}–{prev}")
            start = None
        if p is not None and start is None:
            start = p
        prev = p
    return ", ".join(out)


def _time_to_target(r) -> str:
    status = r.target_status
    if status == REACHED:
        return _num(r.time_to_target_s, 1)
    if status in (NOT_REACHED, NOT_YET):
        return f"{status} ({int(r.seeds_reached)}/{int(r.seeds)})"
    return "–"


def _seed_pm(mean, ci, n, digits: int, span=None) -> str:
    """mean ± t half-width with >= MIN_SEEDS seeds; else the mean (and the seeds' range)."""
    if _finite(n) and n >= MIN_SEEDS:
        return _pm(mean, ci, digits)
    text = _pm(mean, math.nan, digits)
    if span is not None and _finite(n) and n > 1 and _finite(span[0]):
        text += f" (range {span[0]:.{digits}f}–{span[1]:.{digits}f})"
    return text


def _x(value) -> str:
    return f"{value:.2f}×" if _finite(value) else "–"


def _num(value, digits: int) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "–"


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
