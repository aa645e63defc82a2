"""Per-trial and per-configuration tables, and the Pareto front; pure functions over frames.

    trials = trial_summary(exp.reports, exp.trials)   # one row per trial
    configs = config_summary(trials)                  # one row per configuration, over seeds

A configuration is grid_set x epoch_factor x lr_multiplier x bn_base_size; its seeds are its
repeats. "Final" accuracy is the last full-set evaluation (`val_subset` false): an evaluation on
the fixed validation subset is a progress reading, never a final one. `wallclock_s` is the run's training clock
(`time_total_s`) at its last report: for a trial still running, the time so far.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..contract import _SCHEDULE_KEYS, CONFIG_KEYS, POINT_KEYS, PREDICTED_KEYS
from .stats import mean_ci

STOPPED = ("TERMINATED", "ERROR")  # Tune statuses of a trial that will not report again
TRIAL_COLUMNS = (
    ("trial_id", "kind", "label") + POINT_KEYS
    + ("points_done", "points", "epochs_done", "max_epoch", "finished", "status", "active",
       "final_top1", "final_top5", "val_clips",
       "eval_epoch", "wallclock_s", "clips_seen", "iterations", "train_gflops",
       "ref_step_start_s", "ref_step_end_s")
    + PREDICTED_KEYS)


def trial_summary(reports: pd.DataFrame, found: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per trial. `found` (Experiment.trials) adds Tune's status and the trials that
    have not reported yet (points_done 0, no accuracy). `finished`: trained its whole schedule;
    `active`: neither finished nor stopped by Tune (early stopping, error)."""
    rows = []
    for trial_id, df in reports.groupby("trial_id", sort=True):
        df = df.sort_values("point")
        last = df.iloc[-1]
        evaluated = df[df["val_top1"].notna() & ~df["val_subset"].astype(bool)]
        ev = evaluated.iloc[-1] if len(evaluated) else None
        rec = {k: _first(df[k]) for k in ("kind",) + POINT_KEYS + PREDICTED_KEYS}
        rec.update(
            trial_id=trial_id, points_done=int(last["point"]), points=last["points"],
            epochs_done=last["epoch"], max_epoch=last["max_epoch"],
            finished=bool(last["point"] >= last["points"]),
            final_top1=ev["val_top1"] if ev is not None else math.nan,
            final_top5=ev["val_top5"] if ev is not None else math.nan,
            val_clips=ev["val_clips"] if ev is not None else math.nan,
            # the reference step is timed once at the start and once at the end
            ref_step_start_s=_first(df["ref_step_start_s"]),
            ref_step_end_s=_last(df["ref_step_end_s"]),
            eval_epoch=ev["epoch"] if ev is not None else math.nan,
            wallclock_s=last["time_total_s"], clips_seen=last["clips_seen"],
            iterations=last["iterations"], train_gflops=last["train_gflops"], status=None)
        rows.append(rec)
    out = pd.DataFrame(rows, columns=list(TRIAL_COLUMNS))
    if found is not None and len(found):
        out = _with_found(out, found)
    out["kind"] = [k if isinstance(k, str) else ("baseline" if g == "baseline" else "multigrid")
                   for k, g in zip(out["kind"], out["grid_set"])]
    out["label"] = config_labels(out)
    # Still training (or waiting to): not finished, and Tune has not stopped it (ASHA, error).
    out["active"] = ~out["finished"].astype(bool) & ~out["status"].isin(STOPPED)
    return out.sort_values(["kind", "label", "seed"], ignore_index=True)


def config_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration: seeds, and mean ± 95% CI half-width over seeds of final
    top-1/top-5 and wall-clock; compute and predictions are means (equal across seeds)."""
    rows = []
    for _, df in trials.groupby(list(CONFIG_KEYS), dropna=False, sort=True):
        top1, top5, clock = (mean_ci(df[c]) for c in ("final_top1", "final_top5", "wallclock_s"))
        rec = {k: df[k].iloc[0] for k in CONFIG_KEYS}
        rec.update(
            label=df["label"].iloc[0], kind=df["kind"].iloc[0], seeds=len(df),
            finished=int(df["finished"].sum()), active=int(df["active"].sum()),
            top1_mean=top1.mean, top1_ci=top1.half_width, top1_n=top1.n,
            top1_min=df["final_top1"].min(), top1_max=df["final_top1"].max(),
            val_clips=df["val_clips"].min(),
            top5_mean=top5.mean, top5_ci=top5.half_width,
            wallclock_mean=clock.mean, wallclock_ci=clock.half_width,
            train_gflops=df["train_gflops"].mean(),
            predicted_compute=df["predicted_compute"].mean(),
            predicted_speedup=df["predicted_speedup"].mean())
        rows.append(rec)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["pareto"] = pareto_front(out)
    return out.sort_values(["kind", "label"], ignore_index=True)


def pareto_front(df: pd.DataFrame, maximize: str = "top1_mean",
                 minimize: str = "wallclock_mean") -> pd.Series:
    """True for rows no other row dominates (at least as accurate and as fast, better in one).

    Rows missing either value are never on the front; equal points are all on it."""
    acc = df[maximize].to_numpy(dtype=float)
    time = df[minimize].to_numpy(dtype=float)
    ok = np.isfinite(acc) & np.isfinite(time)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        others = ok & (acc >= acc[i]) & (time <= time[i]) & ((acc > acc[i]) | (time < time[i]))
        front[i] = not others.any()
    return pd.Series(front, index=df.index, name="pareto")


# How a label shows each configuration key that varies (value formats in _label_bit).
_LABEL_NAMES = {"long_shapes": "L", "long_t": "t=", "long_s": "s=", "long_spacing": "",
                "short_cycle": "", "short_s1": "s1=", "short_s2": "s2=", "long_cycles": "cycles=",
                "fine_tune_fraction": "ft=", "lr_policy": "", "lr_scaling": "", "epoch_factor": "ef=",
                "lr_multiplier": "lr×", "bn_base_size": "bn="}
_LABEL_WORDS = {"geometric": "geo", "linear": "lin", "cosine_per_cycle": "cos/cycle",
                True: "short", False: "no-short"}


def config_labels(df: pd.DataFrame) -> pd.Series:
    """Short names: the grid set plus the configuration keys that vary among its kind
    (`wu2020 ef=1.5`; a schedule search's `wu2020 L3 t=0.25 s=0.84 lin no-short cycles=2
    ft=0.12 steps sqrt-lr ef=1.23 lr×0.8`); the baseline is `baseline` when there is one
    baseline configuration."""
    labels = pd.Series("", index=df.index, dtype=object)
    keys = [k for k in _LABEL_NAMES if k in df.columns]
    for is_baseline, part in df.groupby(df["grid_set"].eq("baseline")):
        # A schedule parameter a multigrid row sets is always shown: its schedule is not its
        # grid set's (a found schedule replayed alone must not read as plain `wu2020`).
        varying = [k for k in keys if part[k].nunique(dropna=True) > 1
                   or (not is_baseline and k in _SCHEDULE_KEYS)]
        for i, row in part.iterrows():
            bits = [str(row["grid_set"])] + [_label_bit(k, row[k]) for k in varying]
            labels[i] = " ".join(b for b in bits if b)
    return labels


def _label_bit(key: str, value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # the grid set's own value: nothing to add
    if key == "short_cycle":  # a bool that tables may hold as 0.0 / 1.0
        return _LABEL_WORDS[bool(value)]
    if key == "lr_scaling":  # `linear` is also a spacing: say which
        return f"{value}-lr"
    if isinstance(value, (bool, str, np.bool_)):
        return _LABEL_WORDS.get(bool(value) if isinstance(value, np.bool_) else value, str(value))
    if key in ("long_t", "long_s", "short_s1", "short_s2", "fine_tune_fraction",
               "epoch_factor", "lr_multiplier"):
        return f"{_LABEL_NAMES[key]}{value:.3g}"
    return f"{_LABEL_NAMES[key]}{_num(value)}"


def _with_found(out: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    status = dict(zip(found["trial_id"], found["status"]))
    out["status"] = out["trial_id"].map(status)
    for k in POINT_KEYS + PREDICTED_KEYS:  # the trial config knows what reports do not
        if k in found:
            out[k] = out[k].fillna(out["trial_id"].map(dict(zip(found["trial_id"], found[k]))))
    pending = found[~found["trial_id"].isin(out["trial_id"])]
    if len(pending):
        extra = pending.reindex(columns=list(TRIAL_COLUMNS)).assign(points_done=0, epochs_done=0,
                                                                    finished=False)
        out = pd.concat([out, extra], ignore_index=True) if len(out) else extra
    return out


def _first(col: pd.Series):
    col = col.dropna()
    return col.iloc[0] if len(col) else math.nan


def _last(col: pd.Series):
    col = col.dropna()
    return col.iloc[-1] if len(col) else math.nan


def _num(value) -> str:
    return "?" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:g}"


def pm(mean, ci, digits: int) -> str:
    """`mean ± ci` at `digits` decimals (`mean` alone without a finite ci; – without a mean)."""
    def finite(v) -> bool:
        try:
            return math.isfinite(float(v))
        except (TypeError, ValueError):
            return False

    if not finite(mean):
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {ci:.{digits}f}" if finite(ci) else "")
