"""The yardstick: does a configuration match the baseline's accuracy, and how finely can the
validation set tell?

    table = verdicts(trials, delta=1.0)      # one row per configuration
    v = validation_size(reports, trials, baseline_top1=80.0)

Non-inferiority on the mean final top-1 over seeds, in accuracy points: with d = config mean −
baseline mean and its Welch 95% interval [low, high] (`stats.welch_ci`),

    matches        low >= −δ         (no worse than δ points below the baseline, at 95%)
    worse          high < −δ         (more than δ points below, at 95%)
    undecided      otherwise         (the interval straddles −δ: more seeds would decide)
    too few seeds  fewer than 3 seeds on either side: no interval is claimed

"Final" top-1 is the last full-set evaluation (`trial_summary`); evaluations on the validation
subset never enter a verdict. Seeds are the finished ones of each side, or all that have a
final top-1 while none has finished (provisional).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..contract import CONFIG_KEYS
from .stats import DiffCI, welch_ci

DEFAULT_DELTA = 1.0  # accuracy points; the config's search.delta default
MIN_SEEDS = 3  # per side; two seeds give a t interval with one degree of freedom (±12.7 s)
MATCHES, WORSE, UNDECIDED, TOO_FEW, REFERENCE = (
    "matches", "worse", "undecided", "too few seeds", "baseline")
VERDICT_COLUMNS = ("verdict", "top1_diff", "top1_diff_low", "top1_diff_high", "top1_diff_df",
                   "delta")


def verdict(ci: DiffCI, delta: float) -> str:
    """matches / worse / undecided / too few seeds for the interval of (config − baseline)."""
    if ci.n_a < MIN_SEEDS or ci.n_b < MIN_SEEDS:
        return TOO_FEW
    if ci.low >= -delta:
        return MATCHES
    if ci.high < -delta:
        return WORSE
    return UNDECIDED


def final_top1(df: pd.DataFrame) -> pd.Series:
    """The final top-1 of the seeds that count: finished ones, else all that have one."""
    have = df[df["final_top1"].notna()]
    done = have[have["finished"].astype(bool)]
    return (done if len(done) else have)["final_top1"]


def verdicts(trials: pd.DataFrame, delta: float = DEFAULT_DELTA) -> pd.DataFrame:
    """One row per configuration of `trials` (`trial_summary`): CONFIG_KEYS + VERDICT_COLUMNS.
    The baseline's own row has verdict `baseline`; without a baseline every verdict is NaN."""
    _check_delta(delta)
    base = final_top1(trials[trials["kind"] == "baseline"])
    rows = []
    for _, df in trials.groupby(list(CONFIG_KEYS), dropna=False, sort=True):
        rec = {k: df[k].iloc[0] for k in CONFIG_KEYS}
        ci = welch_ci(final_top1(df), base)
        if df["kind"].iloc[0] == "baseline":
            word = REFERENCE
        elif base.empty:
            word = math.nan
        else:
            word = verdict(ci, delta)
        claimed = word in (MATCHES, WORSE, UNDECIDED)
        rec.update(verdict=word, top1_diff=ci.diff if len(base) else math.nan,
                   top1_diff_low=ci.low if claimed else math.nan,
                   top1_diff_high=ci.high if claimed else math.nan,
                   top1_diff_df=ci.df if claimed else math.nan, delta=float(delta))
        rows.append(rec)
    return pd.DataFrame(rows, columns=list(CONFIG_KEYS + VERDICT_COLUMNS))


@dataclass(frozen=True)
class ValidationSize:
    clips: int | None  # validation clips of the final (full-set) evaluations; None: unknown
    clips_differ: bool  # trials' final evaluations used different numbers of clips
    baseline_top1: float  # percent
    binomial_se: float  # one model's standard error at that accuracy, points; nan if unknown
    subset_points: tuple[int, ...]  # report points evaluated on the subset by some trial
    subset_clips: int | None  # clips of those subset evaluations (the smallest, if they differ)


def validation_size(reports: pd.DataFrame, trials: pd.DataFrame,
                    baseline_top1: float) -> ValidationSize:
    """How many clips the final evaluations ran on, and one model's binomial standard error
    sqrt(p(1 − p)/n) at the baseline's accuracy p, in points: a difference between two models
    smaller than about twice that is within what evaluation alone can move."""
    clips = trials.loc[trials["final_top1"].notna(), "val_clips"].dropna()
    n = int(clips.min()) if len(clips) else None
    p = baseline_top1 / 100.0
    se = 100.0 * math.sqrt(p * (1 - p) / n) if n and math.isfinite(p) else math.nan
    ev = reports[reports["val_top1"].notna()]
    subset = ev[ev["val_subset"].astype(bool)]
    sub_clips = subset["val_clips"].dropna()
    return ValidationSize(
        clips=n, clips_differ=bool(clips.nunique() > 1), baseline_top1=float(baseline_top1),
        binomial_se=se, subset_points=tuple(sorted(int(x) for x in subset["point"].unique())),
        subset_clips=int(sub_clips.min()) if len(sub_clips) else None)


def _check_delta(delta: float) -> None:
    if not delta >= 0:  # also refuses nan
        raise ValueError(f"delta {delta}: give accuracy points >= 0 below the baseline, e.g. 1.0")
