"""Speed-up at matched accuracy: how soon each configuration reaches the baseline's accuracy.

    target = baseline_target(trials, tolerance=0.5)
    table = matched_accuracy(exp.reports, trials, tolerance=0.5)

The target is the baseline's final top-1 (mean over its seeds) minus `tolerance` points. A trial's
time to target is its training clock (`time_total_s`) at the first evaluation at or above the
target. A configuration reaches the target when every one of its seeds does; its time is then the
mean over seeds (with a 95% interval), and

    speedup    = baseline wall-clock / time to target      (measured, > 1 is faster)
    efficiency = speedup / predicted_speedup               (1: the clock kept the compute saving)

"not reached" (a seed ended, finished or stopped early, without getting there) and "not yet" (a
seed that has not got there is still running) are results, not errors; their speed-up is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .load import CONFIG_KEYS
from .stats import mean_ci

DEFAULT_TOLERANCE = 0.5  # accuracy points below the baseline that still count as matched
_EPS = 1e-9  # a mean of equal accuracies can land a rounding error below the value itself

REACHED, NOT_REACHED, NOT_YET, NO_BASELINE = "reached", "not reached", "not yet", "no baseline"


@dataclass(frozen=True)
class BaselineTarget:
    top1: float  # the baseline's final top-1, mean over its seeds (percent)
    wallclock_s: float  # its training clock at the end, mean over the same seeds
    tolerance: float
    seeds: int
    complete: bool  # False while a baseline seed is still running (numbers are provisional)

    @property
    def target(self) -> float:
        return self.top1 - self.tolerance


def baseline_target(trials: pd.DataFrame,
                    tolerance: float = DEFAULT_TOLERANCE) -> BaselineTarget | None:
    """The baseline's accuracy and wall-clock from its finished seeds (from all of its seeds
    that have an accuracy while none has finished); None without a baseline accuracy."""
    if tolerance < 0:
        raise ValueError(f"tolerance {tolerance} < 0: give accuracy points below the baseline")
    base = trials[(trials["kind"] == "baseline") & trials["final_top1"].notna()]
    done = base[base["finished"].astype(bool)]
    use = done if len(done) else base
    if use.empty:
        return None
    complete = len(done) == int((trials["kind"] == "baseline").sum())
    return BaselineTarget(top1=float(use["final_top1"].mean()),
                          wallclock_s=float(use["wallclock_s"].mean()),
                          tolerance=float(tolerance), seeds=len(use), complete=complete)


def time_to_accuracy(reports: pd.DataFrame, target: float) -> pd.Series:
    """Per trial_id: `time_total_s` at the first evaluation with val_top1 >= target (NaN: never)."""
    hit = reports[reports["val_top1"] >= target - _EPS].sort_values("point")
    first = hit.groupby("trial_id")["time_total_s"].first()
    return first.reindex(reports["trial_id"].unique()).rename("time_to_target_s")


def matched_accuracy(reports: pd.DataFrame, trials: pd.DataFrame,
                     tolerance: float = DEFAULT_TOLERANCE) -> pd.DataFrame:
    """One row per configuration of `trials`: seeds reached, time to target, speed-up,
    efficiency. `trials` is `trial_summary(...)`; `reports` the tidy frame."""
    base = baseline_target(trials, tolerance)
    times = time_to_accuracy(reports, base.target) if base else pd.Series(dtype=float)
    trials = trials.assign(time_to_target_s=trials["trial_id"].map(times))
    rows = []
    for _, df in trials.groupby(list(CONFIG_KEYS), dropna=False, sort=True):
        reached = df["time_to_target_s"].notna()
        running = df["active"].astype(bool)
        ci = mean_ci(df["time_to_target_s"]) if reached.all() else None
        if base is None:
            status = NO_BASELINE
        elif reached.all():
            status = REACHED
        elif (~reached & running).any():
            status = NOT_YET
        else:
            status = NOT_REACHED
        rec = {k: df[k].iloc[0] for k in CONFIG_KEYS}
        time = ci.mean if ci else math.nan
        speedup = base.wallclock_s / time if base and time > 0 else math.nan
        predicted = df["predicted_speedup"].mean()
        rec.update(
            label=df["label"].iloc[0], kind=df["kind"].iloc[0], seeds=len(df),
            seeds_reached=int(reached.sum()), target_status=status,
            target_top1=base.target if base else math.nan,
            time_to_target_mean=time, time_to_target_ci=ci.half_width if ci else math.nan,
            baseline_wallclock_s=base.wallclock_s if base else math.nan,
            speedup=speedup, predicted_speedup=predicted,
            efficiency=speedup / predicted if predicted and predicted > 0 else math.nan)
        rows.append(rec)
    return pd.DataFrame(rows)
