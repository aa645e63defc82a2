"""A schedule as a JSON document and as a table a person reads (see docs/schedule-json.md)."""

from __future__ import annotations

from dataclasses import asdict

from .cost import Comparison, Cost, compare
from .schedule import Schedule

SCHEMA = "mgsearch.schedule/2"


def _cost_dict(cost: Cost) -> dict:
    return {
        "clips_per_epoch": cost.clips_per_epoch,
        "workers": cost.workers,
        "iterations": cost.iterations,
        "clips": cost.clips,
        "compute": cost.compute,
        "stages": [asdict(s) for s in cost.stages],
    }


def schedule_dict(schedule: Schedule, cost: Cost | None = None) -> dict:
    """Plain data for one schedule; the keys documented in docs/schedule-json.md."""
    out = {
        "kind": schedule.kind,
        "grid_set": schedule.grid_set,
        "default_shape": {"batch": schedule.batch, "frames": schedule.frames,
                          "crop": schedule.crop, "sampling_rate": schedule.sampling_rate},
        "workers": schedule.workers,
        "granularity": schedule.granularity,
        "clips": schedule.clips,
        "max_epoch": schedule.max_epoch,
        "iterations": schedule.iterations if schedule.has_iterations else None,
        "solver": {"policy": schedule.policy, "base_lr": schedule.base_lr,
                   "cosine_end_lr": schedule.cosine_end_lr,
                   "warmup_epochs": schedule.warmup_epochs,
                   "warmup_start_lr": schedule.warmup_start_lr},
        "stages": [
            {
                "index": st.index,
                "phase": st.phase,
                "lr_step": st.lr_step,
                "shape": list(st.shape),
                "start_epoch": st.start_epoch,
                "end_epoch": st.end_epoch,
                "start_iter": st.start_iter,
                "end_iter": st.end_iter,
                "global_batch": st.global_batch,
                "short_cycle_global_batches": [g.global_batch for g in st.grids],
                "grids": [asdict(g) for g in st.grids],
                "lr": schedule.lr_before_warmup(st.start_epoch),
                "lr_scale": st.lr_scale,
            }
            for st in schedule.stages
        ],
        "lr_table": [[start, lr] for start, lr in schedule.lr_table],
        "eval_epochs": list(schedule.eval_epochs),
        "checkpoint_epochs": list(schedule.checkpoint_epochs),
        "points": [{"index": p.index, "iteration": p.iteration,
                    "budget_fraction": p.budget_fraction, "evaluate": p.evaluate,
                    "checkpoint": p.checkpoint} for p in schedule.points],
    }
    if cost is not None:
        out["cost"] = _cost_dict(cost)
    return out


def comparison_dict(schedule: Schedule, baseline: Schedule, clips: int) -> dict:
    """The `mgsearch schedule --json` document: the schedule, its baseline and the totals."""
    cmp = compare(schedule, baseline, clips)
    doc = {"schema": SCHEMA, **schedule_dict(schedule, cmp.cost)}
    doc["baseline"] = schedule_dict(baseline, cmp.baseline)
    doc["totals"] = _totals(schedule, baseline, cmp)
    return doc


def _totals(schedule: Schedule, baseline: Schedule, cmp: Comparison) -> dict:
    return {
        "epochs": schedule.max_epoch,
        "iterations": cmp.cost.iterations,
        "clips": cmp.cost.clips,
        "compute": cmp.cost.compute,
        "baseline_epochs": baseline.max_epoch,
        "baseline_iterations": cmp.baseline.iterations,
        "baseline_clips": cmp.baseline.clips,
        "baseline_compute": cmp.baseline.compute,
        "speedup_iterations": cmp.speedup_iterations,
        "speedup_compute": cmp.speedup_compute,
    }


def _batches(st) -> str:
    return "/".join(str(g.global_batch) for g in st.grids)


def _grids(st) -> str:
    return " ".join(f"{g.t}x{g.s}²" for g in st.grids)


def _epochs(st) -> str:
    if isinstance(st.start_epoch, int) and isinstance(st.end_epoch, int):
        return f"{st.start_epoch}-{st.end_epoch}"
    return f"{st.start_epoch:.2f}-{st.end_epoch:.2f}"


def _num(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:.2f}"


def format_table(name: str, schedule: Schedule, baseline: Schedule, clips: int) -> str:
    """The readable table `mgsearch schedule` prints."""
    cmp = compare(schedule, baseline, clips)
    head = (f"{name}: grid set {schedule.grid_set}, default {schedule.batch} clips x "
            f"{schedule.frames} frames x {schedule.crop}² px, {schedule.workers} worker(s), "
            f"{clips} training clips (--clips), granularity {schedule.granularity}")
    cols = ["stage", "phase", "step", "epochs", "shape b·t·s²", "grids t×s²", "global batches",
            "LR", "iters", "compute"]
    rows = [cols]
    for st, sc in zip(schedule.stages, cmp.cost.stages):
        b, t, s = st.shape
        rows.append([str(st.index), st.phase, str(st.lr_step), _epochs(st),
                     f"{b}·{t}·{s}²", _grids(st), _batches(st),
                     f"{schedule.lr_before_warmup(st.start_epoch):.4g}", str(sc.iterations),
                     f"{sc.compute:.1f}"])
    lines = [head, "", *aligned(rows)]
    c, bc = cmp.cost, cmp.baseline
    lines += [
        "",
        f"{'':10}{'epochs':>8}{'iterations':>12}{'clips':>12}{'compute':>12}",
        f"{'schedule':10}{_num(schedule.max_epoch):>8}{c.iterations:>12}{c.clips:>12}{c.compute:>12.1f}",
        f"{'baseline':10}{_num(baseline.max_epoch):>8}{bc.iterations:>12}{bc.clips:>12}"
        f"{bc.compute:>12.1f}",
        "",
        f"predicted speed-up over the baseline: {cmp.speedup_iterations:.2f}x by iterations, "
        f"{cmp.speedup_compute:.2f}x by compute (compute in baseline iterations of "
        f"{schedule.batch}x{schedule.frames}x{schedule.crop}²)",
        _points_line(schedule),
    ]
    return "\n".join(lines)


def _points_line(schedule: Schedule) -> str:
    evals = [p for p in schedule.points if p.evaluate]
    if not evals:
        return f"evaluate after epochs: {', '.join(map(str, schedule.eval_epochs))}"
    return (f"{len(schedule.points)} reports; evaluate after iterations "
            f"{', '.join(str(p.iteration) for p in evals)} (every 1/{len(evals)} of the run's "
            f"baseline-equivalent clips)")


def aligned(rows: list[list[str]]) -> list[str]:
    """Rows as left-aligned columns, a rule under the first (the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
