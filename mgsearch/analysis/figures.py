"""What each figure shows, computed by pure functions; `render.py` draws these objects.

    info = curves_info(exp.reports, trials)      # accuracy against the training clock
    fig = render_curves(info)

Tests assert on the info objects; the renderers only turn them into pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..contract import CONFIG_KEYS
from ..schedule import Schedule
from .stats import mean_ci
from .yardstick import MIN_SEEDS

SEED_BAND, T_BAND = "seeds", "t95"  # how a series' spread is drawn (CurveSeries.band)


def chance_level(num_classes) -> float | None:
    """100 / classes, percent; None when the number of classes is unknown."""
    try:
        n = float(num_classes)
    except (TypeError, ValueError):
        return None
    return 100.0 / n if math.isfinite(n) and n >= 1 else None


def accuracy_ylim(values, margin: float = 5.0) -> tuple[float, float]:
    """An accuracy axis around `values` (percent) with `margin` points, within [0, 100]."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return 0.0, 100.0
    low, high = max(0.0, min(xs) - margin), min(100.0, max(xs) + margin)
    return (low, high) if high > low else (0.0, 100.0)


# -- accuracy against time_total_s ---------------------------------------------------------------


@dataclass(frozen=True)
class CurveSeries:
    label: str
    is_baseline: bool
    points: tuple[int, ...]  # report points evaluated at (the same fractions for every schedule)
    time_s: tuple[float, ...]  # training clock at that evaluation, mean over seeds
    top1: tuple[float, ...]  # mean over the seeds that reported it
    top1_low: tuple[float, ...]  # seed band: lowest and highest seed
    top1_high: tuple[float, ...]
    seeds: tuple[int, ...]  # seeds behind each point (fewer while some still run)
    # 95% Student-t half-width of the mean per point; nan where fewer than MIN_SEEDS seeds
    top1_ci: tuple[float, ...] = ()
    # per point, every seed's top-1: drawn as points when the series has too few seeds for a band
    seed_top1: tuple[tuple[float, ...], ...] = ()

    @property
    def band(self) -> str | None:
        """T_BAND: a t interval of the mean (>= MIN_SEEDS seeds at every point); SEED_BAND: the
        seeds' own points and min-max range (2 seeds); None: one seed, nothing to draw."""
        if min(self.seeds, default=0) >= MIN_SEEDS:
            return T_BAND
        return SEED_BAND if max(self.seeds, default=0) > 1 else None


@dataclass(frozen=True)
class CurvesInfo:
    series: tuple[CurveSeries, ...]  # the baseline first
    target: float | None  # the matched-accuracy target line, when there is a baseline
    chance: float | None = None  # 100 / classes (dashed line); None: classes not recorded
    ylim: tuple[float, float] = (0.0, 100.0)  # accuracy axis, always within [0, 100]


def curves_info(reports: pd.DataFrame, trials: pd.DataFrame,
                target: float | None = None, num_classes=None) -> CurvesInfo:
    """Mean top-1 per evaluation point of each configuration, with a 95% t band of the mean
    where every point has >= MIN_SEEDS seeds, else the seeds' own values (min-max).

    Seeds of one configuration share a schedule, so they evaluate at the same points; the
    point's time is their mean clock there. `num_classes` (default: the reports'
    `num_classes`) gives the chance level."""
    labels = trials.set_index("trial_id")["label"]
    ev = reports[reports["val_top1"].notna()].assign(label=reports["trial_id"].map(labels))
    series = []
    for label, df in ev.groupby("label", sort=True):
        g = df.groupby("point")
        series.append(CurveSeries(
            label=str(label), is_baseline=bool((df["kind"] == "baseline").all()),
            points=tuple(int(e) for e in g.groups), time_s=_floats(g["time_total_s"].mean()),
            top1=_floats(g["val_top1"].mean()), top1_low=_floats(g["val_top1"].min()),
            top1_high=_floats(g["val_top1"].max()), seeds=tuple(int(n) for n in g.size()),
            top1_ci=tuple(_t_half_width(v) for _, v in g["val_top1"]),
            seed_top1=tuple(_floats(v) for _, v in g["val_top1"])))
    series.sort(key=lambda s: (not s.is_baseline, s.label))
    chance = chance_level(recorded_classes(reports) if num_classes is None else num_classes)
    values = [v for s in series for v in s.top1_low + s.top1_high]
    values += [s.top1[i] + s.top1_ci[i] * sign for s in series for i in range(len(s.top1))
               for sign in (-1, 1) if s.band == T_BAND]
    values += [v for v in (target, chance) if v is not None]
    return CurvesInfo(tuple(series), target, chance, accuracy_ylim(values))


def recorded_classes(reports: pd.DataFrame) -> int | None:
    """The number of classes the trials recorded (`num_classes`); None when none did or
    they disagree."""
    values = reports["num_classes"].dropna().unique() if "num_classes" in reports else []
    return int(values[0]) if len(values) == 1 else None


def _t_half_width(values: pd.Series) -> float:
    ci = mean_ci(values)
    return ci.half_width if ci.n >= MIN_SEEDS else math.nan


# -- Pareto scatter ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoPoint:
    label: str
    top1: float
    top1_ci: float  # 95% t half-width over seeds; nan with fewer than MIN_SEEDS seeds
    wallclock_s: float
    on_front: bool
    is_baseline: bool
    top1_low: float = math.nan  # the lowest and highest seed: drawn instead of a t interval
    top1_high: float = math.nan  # when there are too few seeds for one
    seeds: int = 0


@dataclass(frozen=True)
class ParetoInfo:
    points: tuple[ParetoPoint, ...]
    front: tuple[ParetoPoint, ...]  # the front's points, fastest first
    chance: float | None = None  # 100 / classes; None: classes not recorded
    ylim: tuple[float, float] = (0.0, 100.0)  # accuracy axis, always within [0, 100]


def pareto_info(configs: pd.DataFrame, num_classes=None) -> ParetoInfo:
    """Configurations as (wall-clock, top-1) points; `configs` is `config_summary(...)`. The
    interval is the 95% t interval with >= MIN_SEEDS seeds, else the seeds' min-max range."""
    points = tuple(
        ParetoPoint(str(r.label), float(r.top1_mean),
                    float(r.top1_ci) if r.top1_n >= MIN_SEEDS else math.nan,
                    float(r.wallclock_mean), bool(r.pareto), r.kind == "baseline",
                    float(r.top1_min), float(r.top1_max), int(r.top1_n))
        for r in configs.itertuples() if math.isfinite(r.top1_mean))
    front = tuple(sorted((p for p in points if p.on_front), key=lambda p: p.wallclock_s))
    chance = chance_level(num_classes)
    values = [v for p in points for v in (p.top1_low, p.top1_high, p.top1 - p.top1_ci,
                                          p.top1 + p.top1_ci, p.top1)]
    values += [chance] if chance is not None else []
    return ParetoInfo(points, front, chance, accuracy_ylim(values))


# -- schedule timeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineInfo:
    title: str
    starts: tuple[float, ...]  # per segment (stage, or report chunk): first epoch
    ends: tuple[float, ...]  # one past its last epoch
    shape_t: tuple[int, ...]  # frames of the segment's own (long-cycle) shape
    shape_s: tuple[int, ...]  # crop side, pixels
    batch: tuple[int, ...]  # global batch at that shape
    lr_epochs: tuple[float, ...]  # where the LR curve is sampled (per iteration when known)
    lr: tuple[float, ...]
    lr_steps: bool = False  # True: each value holds until the next report (reported LRs)


def timeline_info(schedule: Schedule, title: str | None = None,
                  samples_per_epoch: int = 20, max_samples: int = 5000) -> TimelineInfo:
    """Shape t, s, batch per stage and the LR (warm-up included) across epochs: the LR of
    every iteration (at most `max_samples`, evenly spaced) when the schedule has iterations,
    else `samples_per_epoch` samples per epoch."""
    stages = schedule.stages
    if schedule.has_iterations:
        its = np.unique(np.linspace(0, schedule.iterations - 1,
                                    min(schedule.iterations, max_samples)).round().astype(int))
        lr_epochs = tuple(float(schedule.epoch_at_iter(int(i))) for i in its)
        lr = tuple(schedule.lr_at_iter(int(i)) for i in its)
    else:
        n = int(round(schedule.max_epoch * samples_per_epoch))
        lr_epochs = tuple(float(e) for e in np.linspace(0.0, schedule.max_epoch, n + 1)[:-1])
        lr = tuple(schedule.lr_at(e) for e in lr_epochs)  # (none at max_epoch itself)
    return TimelineInfo(
        title=title or f"{schedule.grid_set} ({schedule.kind})",
        starts=tuple(float(st.start_epoch) for st in stages),
        ends=tuple(float(st.end_epoch) for st in stages),
        shape_t=tuple(st.grids[-1].t for st in stages),
        shape_s=tuple(st.grids[-1].s for st in stages),
        batch=tuple(st.global_batch for st in stages), lr_epochs=lr_epochs, lr=lr)


def observed_timeline_info(reports: pd.DataFrame, trial_id: str,
                           title: str | None = None) -> TimelineInfo:
    """The same figure from what one trial reported: its shape, batch and LR per report (the LR
    a report's chunk ended with), over epochs. Used when the search's config is not at hand."""
    df = reports[reports["trial_id"] == trial_id].sort_values("point")
    ends = tuple(float(e) for e in df["epoch"])
    starts = (0.0,) + ends[:-1]
    lr = _floats(df["lr"])
    return TimelineInfo(
        title=title or str(trial_id), starts=starts, ends=ends,
        shape_t=tuple(int(v) for v in df["shape_t"]), shape_s=tuple(int(v) for v in df["shape_s"]),
        batch=tuple(int(v) for v in df["global_batch"]),
        # the last value again at the end, so the step reaches the last epoch's end
        lr_epochs=starts + ends[-1:], lr=lr + lr[-1:], lr_steps=True)


# -- throughput per stage ------------------------------------------------------------------------


@dataclass(frozen=True)
class ThroughputBar:
    label: str  # configuration
    stage: int
    shape: str  # "t×s² b" of the stage's own shape
    clips_per_s: float  # mean over the stage's epochs and the configuration's seeds
    epochs: int  # reports behind the mean


@dataclass(frozen=True)
class ThroughputInfo:
    bars: tuple[ThroughputBar, ...]  # by configuration, then stage
    labels: tuple[str, ...]  # configurations, in drawing order


def throughput_info(reports: pd.DataFrame, trials: pd.DataFrame) -> ThroughputInfo:
    """Training throughput (clips/s over train and data-wait time) per configuration and stage."""
    labels = trials.set_index("trial_id")["label"]
    df = reports[reports["clips_per_s"].notna()].assign(label=reports["trial_id"].map(labels))
    bars = []
    for (label, stage), part in df.groupby(["label", "stage"], sort=True):
        last = part.iloc[-1]
        shape = f"{int(last['shape_t'])}×{int(last['shape_s'])}² b{int(last['global_batch'])}"
        bars.append(ThroughputBar(str(label), int(stage), shape,
                                  float(part["clips_per_s"].mean()), len(part)))
    baseline = set(trials.loc[trials["kind"] == "baseline", "label"])
    order = sorted({b.label for b in bars}, key=lambda lab: (lab not in baseline, lab))
    bars.sort(key=lambda b: (order.index(b.label), b.stage))
    return ThroughputInfo(tuple(bars), tuple(order))


def one_trial_per_config(trials: pd.DataFrame) -> dict[str, str]:
    """label -> the trial whose reports stand for the configuration (most points, lowest seed)."""
    ranked = trials[trials["points_done"] > 0].sort_values(["points_done", "seed"],
                                                           ascending=[False, True])
    out = {}
    for _, df in ranked.groupby(list(CONFIG_KEYS), dropna=False, sort=True):
        out[str(df["label"].iloc[0])] = str(df["trial_id"].iloc[0])  # groups keep row order
    return out


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
