"""Matplotlib renderers for the info objects of `figures.py`, and PNG + SVG output.

Figures are built on `matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so
rendering needs no display, keeps no global figure state and works the same in a notebook.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from .figures import SEED_BAND, T_BAND, CurvesInfo, ParetoInfo, ThroughputInfo, TimelineInfo

BASELINE_COLOR = "black"
FORMATS = ("png", "svg")


def _canvas(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _figure(width: float, height: float, rows: int = 1, sharex: bool = False):
    fig = _canvas(width, height)
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False)[:, 0]
    return fig, axes


def render_curves(info: CurvesInfo):
    """Top-1 against the training clock; the baseline black and thick. With >= 3 seeds a shaded
    95% t band of the mean; with 2 the seeds' own points and their min-max range, no band."""
    fig, (ax,) = _figure(7.0, 4.2)
    for s in info.series:
        color = BASELINE_COLOR if s.is_baseline else None
        (line,) = ax.plot(s.time_s, s.top1, marker="o", ms=3, lw=2.4 if s.is_baseline else 1.4,
                          color=color, label=s.label, zorder=3 if s.is_baseline else 2)
        if s.band == T_BAND:
            ax.fill_between(s.time_s, [m - h for m, h in zip(s.top1, s.top1_ci)],
                            [m + h for m, h in zip(s.top1, s.top1_ci)], color=line.get_color(),
                            alpha=0.18, lw=0)
        elif s.band == SEED_BAND:
            ax.vlines(s.time_s, s.top1_low, s.top1_high, color=line.get_color(), lw=0.8,
                      alpha=0.6)
            xs = [t for t, vals in zip(s.time_s, s.seed_top1) for _ in vals]
            ys = [v for vals in s.seed_top1 for v in vals]
            ax.scatter(xs, ys, s=9, marker="x", color=line.get_color(), lw=0.8)
    if info.target is not None:
        ax.axhline(info.target, color=BASELINE_COLOR, ls=":", lw=1,
                   label=f"target {info.target:.1f}%")
    _chance(ax, info.chance)
    ax.set_ylim(*info.ylim)
    ax.set_xlabel("training clock time_total_s (s)")
    ax.set_ylabel("validation top-1 (%)")
    ax.set_title("Accuracy against training time\n(band: 95% t of the mean, >= 3 seeds; "
                 "×: each seed, with fewer)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def render_pareto(info: ParetoInfo):
    """Configurations by wall-clock and final top-1; the front is joined and labelled. Error
    bars: 95% t interval with >= 3 seeds, else the seeds' min-max range (drawn dashed)."""
    fig, (ax,) = _figure(6.4, 4.4)
    for p in info.points:
        color = BASELINE_COLOR if p.is_baseline else ("tab:red" if p.on_front else "tab:gray")
        if math.isfinite(p.top1_ci):
            yerr = p.top1_ci
        elif p.seeds > 1 and math.isfinite(p.top1_low):  # the seeds' range, not an interval
            yerr = [[p.top1 - p.top1_low], [p.top1_high - p.top1]]
        else:
            yerr = None
        bars = ax.errorbar(p.wallclock_s, p.top1, yerr=yerr, fmt="s" if p.is_baseline else "o",
                           color=color, ms=6, capsize=3)
        if yerr is not None and not math.isfinite(p.top1_ci):
            for segment in bars[2]:
                segment.set_linestyle("--")
        ax.annotate(p.label, (p.wallclock_s, p.top1), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    if info.front:
        ax.plot([p.wallclock_s for p in info.front], [p.top1 for p in info.front],
                color="tab:red", lw=1, ls="--", label="Pareto front")
    _chance(ax, info.chance)
    ax.set_ylim(*info.ylim)
    ax.legend(fontsize=8)
    ax.set_xlabel("wall-clock, time_total_s at the end (s)")
    ax.set_ylabel("final top-1 (%): mean, 95% t (≥ 3 seeds) or range")
    ax.set_title("Accuracy against wall-clock per configuration")
    ax.grid(alpha=0.3)
    return fig


def _chance(ax, chance: float | None) -> None:
    """The chance level as a dashed line, or a legend entry saying it is unknown."""
    if chance is not None:
        ax.axhline(chance, color="tab:gray", ls="--", lw=1, label=f"chance {chance:.1f}%")
    else:
        ax.plot([], [], ls="none", label="chance level unknown (classes not recorded)")


def render_timeline(info: TimelineInfo):
    """Four rows over epochs: frames t, crop s, global batch (log), learning rate (log)."""
    fig, axes = _figure(7.0, 6.0, rows=4, sharex=True)
    edges = list(info.starts) + [info.ends[-1]] if info.starts else []
    for ax, values, name in zip(axes, (info.shape_t, info.shape_s, info.batch),
                                ("frames t", "crop s (px)", "global batch")):
        if values:
            ax.stairs(values, edges, lw=1.8, baseline=None)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[2].set_yscale("log", base=2)
    axes[3].plot(info.lr_epochs, info.lr, lw=1.4, color="tab:green",
                 drawstyle="steps-post" if info.lr_steps else "default")
    axes[3].set_yscale("log")
    axes[3].set_ylabel("learning rate")
    axes[3].set_xlabel("epoch")
    axes[3].grid(alpha=0.3)
    axes[0].set_title(f"Schedule: {info.title}")
    return fig


def render_throughput(info: ThroughputInfo):
    """Clips/s per stage, one group of bars per configuration, each bar named by its shape."""
    fig, (ax,) = _figure(max(6.0, 0.55 * len(info.bars) + 2.0), 4.2)
    x, ticks, names = 0.0, [], []
    for label in info.labels:
        bars = [b for b in info.bars if b.label == label]
        xs = [x + i for i in range(len(bars))]
        color = BASELINE_COLOR if label == "baseline" else None
        drawn = ax.bar(xs, [b.clips_per_s for b in bars], width=0.8, label=label, color=color)
        ax.bar_label(drawn, labels=[b.shape for b in bars], rotation=90, fontsize=7,
                     padding=2)
        ticks += xs
        names += [f"s{b.stage}" for b in bars]
        x += len(bars) + 1.0  # a gap between configurations
    ax.set_xticks(ticks, names, fontsize=7)
    ax.set_ylabel("training clips/s")
    ax.set_title("Throughput per stage (bar label: t×s² and global batch)")
    ax.margins(y=0.25)
    if info.labels:
        ax.legend(fontsize=8)
    return fig


def render_param_effects(effects):
    """Final top-1 (top row) and clock (bottom row) against each varied parameter, one column
    per parameter, one point per trial (`importance.param_effects`); names and booleans are
    drawn at evenly spaced positions, numbers on their own axis."""
    params = list(dict.fromkeys(effects["param"]))
    fig = _canvas(max(3.0, 2.6 * len(params)), 5.0)
    if not params:
        fig.text(0.5, 0.5, "no finished sampled trials", ha="center", va="center")
        return fig
    axes = fig.subplots(2, len(params), sharey="row", squeeze=False)
    for col, param in enumerate(params):
        part = effects[effects["param"] == param]
        values = list(part["value"])
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            xs = values
        else:  # a choice: its values in first-seen order
            names = list(dict.fromkeys(str(v) for v in values))
            xs = [names.index(str(v)) for v in values]
        for ax, y in zip(axes[:, col], ("top1", "clock")):
            ax.scatter(xs, part[y], s=18, color="tab:blue")
            if not numeric:
                ax.set_xticks(range(len(names)), names, fontsize=8, rotation=20)
                ax.set_xlim(-0.5, len(names) - 0.5)
            elif all(isinstance(v, int) for v in values):  # counts: no 2.25 shapes
                ax.set_xticks(sorted(set(values)))
            ax.grid(alpha=0.3)
        axes[1, col].set_xlabel(param)
    axes[0, 0].set_ylabel("final top-1 (%)")
    axes[1, 0].set_ylabel("clock, time_total_s (s)")
    fig.suptitle("Accuracy and clock against each varied parameter (one point per trial)",
                 fontsize=10)
    return fig


def save_figure(fig, out_dir: str | Path, name: str) -> list[Path]:
    """Write `name`.png and `name`.svg into `out_dir`; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = out / f"{slug(name)}.{fmt}"
        fig.savefig(path, dpi=120)
        paths.append(path)
    return paths


def slug(text: str) -> str:
    """A file-name-safe form of a label (`wu2020 lr×2` -> `wu2020_lrx2`)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text.replace("×", "x")).strip("_") or "figure"
