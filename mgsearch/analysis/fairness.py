"""Were the trials' clocks comparable? Each trial times one fixed reference training step at its
start and at its end (`ref_step_start_s`, `ref_step_end_s`); a trial that ran on a busier or
slower machine than the others shows it there, whatever its schedule.

    trials = reference_clock(trials)    # adds ref_start_ratio, ref_end_ratio, clock_flag

The ratios are to the experiment's median reference time (every trial's start and end times
pooled); a trial is flagged when either differs from that median by more than 10%. Trials
written before reference steps existed have NaN ratios and are never flagged.
"""

from __future__ import annotations

import math

import pandas as pd

REF_TOLERANCE = 0.10  # relative difference from the median that flags a trial's clock
CLOCK_COLUMNS = ("ref_start_ratio", "ref_end_ratio", "clock_flag")


def median_reference_s(trials: pd.DataFrame) -> float:
    """The median of every recorded reference time, start and end pooled (s); nan if none."""
    times = pd.concat([trials["ref_step_start_s"], trials["ref_step_end_s"]]).dropna()
    times = times[times > 0]
    return float(times.median()) if len(times) else math.nan


def reference_clock(trials: pd.DataFrame, tolerance: float = REF_TOLERANCE) -> pd.DataFrame:
    """`trials` (`trial_summary`) with CLOCK_COLUMNS added."""
    median = median_reference_s(trials)
    start = trials["ref_step_start_s"] / median
    end = trials["ref_step_end_s"] / median
    far = ((start - 1).abs() > tolerance) | ((end - 1).abs() > tolerance)  # NaN compares False
    return trials.assign(ref_start_ratio=start, ref_end_ratio=end, clock_flag=far.astype(bool))


def clock_line(trials: pd.DataFrame, tolerance: float = REF_TOLERANCE) -> str:
    """One Markdown line on clock fairness for the summary; `trials` has CLOCK_COLUMNS."""
    median = median_reference_s(trials)
    if not math.isfinite(median):
        return ("Clock fairness: no trial recorded reference-step times (older results), so "
                "clocks of concurrent trials could not be checked.")
    flagged = trials[trials["clock_flag"].astype(bool)]
    head = (f"Clock fairness: median reference step {1000 * median:.1f} ms over "
            f"{int(trials['ref_step_start_s'].notna().sum())} trial(s); ")
    if flagged.empty:
        return head + f"no trial's start or end differs from it by more than {tolerance:.0%}."
    items = [f"{r.label} seed {_seed(r.seed)} (start {_ratio(r.ref_start_ratio)}, "
             f"end {_ratio(r.ref_end_ratio)})" for r in flagged.itertuples()]
    return head + (f"**{len(flagged)} flagged** (off by more than {tolerance:.0%}; their clocks "
                   f"are not comparable): " + ", ".join(items) + ".")


def _ratio(value) -> str:
    return f"{value:.2f}×" if math.isfinite(value) else "–"


def _seed(value) -> str:
    return str(int(value)) if isinstance(value, (int, float)) and math.isfinite(value) else "?"
