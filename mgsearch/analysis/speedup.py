"""Speed-up at matched accuracy, on the seed-mean curves: how soon each configuration's mean
accuracy reaches the baseline's, against the baseline's own time to get there.

    target = baseline_target(trials, delta=1.0)
    table = matched_accuracy(exp.reports, trials, delta=1.0)

1. The target is the baseline's mean final top-1 (`yardstick.final_top1`) minus δ points.
2. A configuration's mean curve: at each evaluation point all of its counted seeds reported
   (seeds of one schedule evaluate at the same budget fractions), the mean top-1 and the mean
   training clock `time_total_s`. Counted seeds are the finished ones, or all while none has
   finished. Intermediate evaluations may be on the validation subset; they are what the curve has.
3. Time to target on a mean curve: linear interpolation in (clock, top-1) between the last
   evaluation below the target and the first at or above it; the first evaluation's clock when
   it already reaches the target (nothing before it is interpolated from time 0).
4. speedup = the baseline's own time to target ÷ the configuration's (so the baseline is 1.00×);
   efficiency = speedup ÷ predicted_speedup (1: the clock kept the whole compute saving).
5. Interval: percentile bootstrap, `BOOTSTRAP_RESAMPLES` resamples of the seeds with replacement
   within the configuration and within the baseline (target re-derived from each baseline
   resample), RNG seed `BOOTSTRAP_SEED`; a resample whose mean curve never reaches its target
   counts as speed-up 0. Reported as the 2.5th and 97.5th percentiles when both sides have at
   least `MIN_SEEDS` seeds; NaN otherwise, and NaN when the target is not reached at all.

"not reached" (the mean curve of finished or stopped seeds never gets there) and "not yet" (a
seed is still running) are results, not errors; their speed-up is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .load import CONFIG_KEYS
from .yardstick import DEFAULT_DELTA, MIN_SEEDS, _check_delta, final_top1

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0  # fixed: the same results give the same interval
_EPS = 1e-9  # a mean of equal accuracies can land a rounding error below the value itself

REACHED, NOT_REACHED, NOT_YET, NO_BASELINE = "reached", "not reached", "not yet", "no baseline"
MATCHED_COLUMNS = (
    "label", "kind", "seeds", "seeds_reached", "target_status", "target_top1", "time_to_target_s",
    "baseline_time_to_target_s", "speedup", "speedup_low", "speedup_high", "predicted_speedup",
    "efficiency")


@dataclass(frozen=True)
class BaselineTarget:
    top1: float  # the baseline's final top-1, mean over its seeds (percent)
    wallclock_s: float  # its training clock at the end, mean over the same seeds
    delta: float  # accuracy points below the baseline that still count as matched
    seeds: int
    complete: bool  # False while a baseline seed is still running (numbers are provisional)

    @property
    def target(self) -> float:
        return self.top1 - self.delta


def baseline_target(trials: pd.DataFrame, delta: float = DEFAULT_DELTA) -> BaselineTarget | None:
    """The baseline's accuracy and wall-clock from its finished seeds (from all of its seeds
    that have an accuracy while none has finished); None without a baseline accuracy."""
    _check_delta(delta)
    base = trials[trials["kind"] == "baseline"]
    use = base.loc[final_top1(base).index]
    if use.empty:
        return None
    complete = bool(use["finished"].astype(bool).sum() == len(base))
    return BaselineTarget(top1=float(use["final_top1"].mean()),
                          wallclock_s=float(use["wallclock_s"].mean()),
                          delta=float(delta), seeds=len(use), complete=complete)


def time_to_accuracy(reports: pd.DataFrame, target: float) -> pd.Series:
    """Per trial_id: `time_total_s` at its own first evaluation with val_top1 >= target (NaN:
    never). Per seed, without interpolation; the configuration's time is `matched_accuracy`'s."""
    hit = reports[reports["val_top1"] >= target - _EPS].sort_values("point")
    first = hit.groupby("trial_id")["time_total_s"].first()
    return first.reindex(reports["trial_id"].unique()).rename("time_to_target_s")


@dataclass(frozen=True)
class SeedCurves:
    """One configuration's counted seeds at the points all of them evaluated."""

    trial_ids: tuple[str, ...]
    points: tuple[int, ...]
    top1: np.ndarray  # (seeds, points), percent
    time_s: np.ndarray  # (seeds, points), time_total_s
    final: np.ndarray  # (seeds,) final full-set top-1


def seed_curves(reports: pd.DataFrame, trials: pd.DataFrame) -> SeedCurves:
    """The counted seeds of one configuration (`trials` holds only its rows)."""
    use = trials.loc[final_top1(trials).index] if trials["final_top1"].notna().any() else trials
    ev = reports[reports["trial_id"].isin(use["trial_id"]) & reports["val_top1"].notna()]
    top1 = ev.pivot_table(index="trial_id", columns="point", values="val_top1", aggfunc="last")
    time = ev.pivot_table(index="trial_id", columns="point", values="time_total_s",
                          aggfunc="last").reindex(index=top1.index, columns=top1.columns)
    common = top1.columns[top1.notna().all() & time.notna().all()]
    finals = use.set_index("trial_id")["final_top1"].reindex(top1.index)
    return SeedCurves(tuple(str(t) for t in top1.index), tuple(int(p) for p in common),
                      top1[common].to_numpy(float), time[common].to_numpy(float),
                      finals.to_numpy(float))


def crossing_time(top1: np.ndarray, time_s: np.ndarray, target) -> np.ndarray:
    """Time each curve (a row of `top1`/`time_s`) reaches `target` (scalar or one per row),
    interpolated linearly between the evaluations either side of it; NaN where it never does."""
    top1, time_s = np.atleast_2d(top1), np.atleast_2d(time_s)
    rows = np.arange(top1.shape[0])
    target = np.broadcast_to(np.asarray(target, float), rows.shape)
    if top1.shape[1] == 0:
        return np.full(rows.shape, np.nan)
    hit = top1 >= target[:, None] - _EPS
    j = hit.argmax(axis=1)  # the first evaluation at or above the target
    before = np.maximum(j - 1, 0)
    a0, a1 = top1[rows, before], top1[rows, j]
    t0, t1 = time_s[rows, before], time_s[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(j > 0, np.clip((target - a0) / (a1 - a0), 0.0, 1.0), 1.0)
    t = np.where(j > 0, t0 + frac * (t1 - t0), t1)
    return np.where(hit.any(axis=1), t, np.nan)


def _mean_time(c: SeedCurves, target: float) -> float:
    return float(crossing_time(c.top1.mean(axis=0), c.time_s.mean(axis=0), target)[0])


def _bootstrap(c: SeedCurves, base: SeedCurves, delta: float, same: bool,
               rng: np.random.Generator, base_idx: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of the speed-up over seed resamples (module docstring, 5)."""
    idx = base_idx if same else rng.integers(0, len(c.trial_ids),
                                             (BOOTSTRAP_RESAMPLES, len(c.trial_ids)))
    target = base.final[base_idx].mean(axis=1) - delta
    t_base = crossing_time(base.top1[base_idx].mean(axis=1), base.time_s[base_idx].mean(axis=1),
                           target)
    t_cfg = crossing_time(c.top1[idx].mean(axis=1), c.time_s[idx].mean(axis=1), target)
    ratio = np.where(np.isnan(t_cfg), 0.0, t_base / t_cfg)  # never reached: speed-up 0
    ratio = ratio[np.isfinite(ratio)]
    if not len(ratio):
        return math.nan, math.nan
    low, high = np.percentile(ratio, [2.5, 97.5])
    return float(low), float(high)


def matched_accuracy(reports: pd.DataFrame, trials: pd.DataFrame,
                     delta: float = DEFAULT_DELTA) -> pd.DataFrame:
    """One row per configuration of `trials` (`trial_summary`): CONFIG_KEYS + MATCHED_COLUMNS."""
    base = baseline_target(trials, delta)
    is_base = trials["kind"] == "baseline"
    base_curves = seed_curves(reports, trials[is_base]) if base else None
    t_base = _mean_time(base_curves, base.target) if base else math.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    base_idx = (rng.integers(0, len(base_curves.trial_ids),
                             (BOOTSTRAP_RESAMPLES, len(base_curves.trial_ids)))
                if base else None)
    per_seed = time_to_accuracy(reports, base.target) if base else pd.Series(dtype=float)
    rows = []
    for _, df in trials.groupby(list(CONFIG_KEYS), dropna=False, sort=True):
        own = df["kind"].iloc[0] == "baseline"
        curves = seed_curves(reports, df)
        t_cfg = _mean_time(curves, base.target) if base and curves.points else math.nan
        reached = df["trial_id"].map(per_seed).notna()
        if base is None:
            status = NO_BASELINE
        elif math.isfinite(t_cfg):
            status = REACHED
        elif df["active"].astype(bool).any():
            status = NOT_YET
        else:
            status = NOT_REACHED
        speedup = 1.0 if own and math.isfinite(t_cfg) else (
            t_base / t_cfg if math.isfinite(t_cfg) and t_cfg > 0 else math.nan)
        low = high = math.nan
        if (math.isfinite(speedup) and len(curves.trial_ids) >= MIN_SEEDS
                and len(base_curves.trial_ids) >= MIN_SEEDS):
            low, high = _bootstrap(curves, base_curves, delta, own, rng, base_idx)
        predicted = df["predicted_speedup"].mean()
        rec = {k: df[k].iloc[0] for k in CONFIG_KEYS}
        rec.update(
            label=df["label"].iloc[0], kind=df["kind"].iloc[0], seeds=len(df),
            seeds_reached=int(reached.sum()), target_status=status,
            target_top1=base.target if base else math.nan, time_to_target_s=t_cfg,
            baseline_time_to_target_s=t_base, speedup=speedup, speedup_low=low,
            speedup_high=high, predicted_speedup=predicted,
            efficiency=speedup / predicted if predicted and predicted > 0 else math.nan)
        rows.append(rec)
    return pd.DataFrame(rows, columns=list(CONFIG_KEYS + MATCHED_COLUMNS))
