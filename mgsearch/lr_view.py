"""`mgsearch schedule --lr-summary`: what each LR policy gives a config's shapes, per iteration.

For every `solver.policy` x `multigrid.lr_scaling` the config's schedule is built for `clips`
training clips and its per-iteration LR summed over the iterations at the full T frames and at
the full T x S^2 shape, against the fixed-shape baseline at the same policy (whose iterations
are all full-shape); then the LR at the first long-cycle restart (the first iteration of LR
step 1), the LR of the iteration before it, and the highest LR from there on, in units of
`solver.base_lr`.
"""

from __future__ import annotations

import dataclasses

from .contract import baseline_of
from .lr_policy import lr_summary
from .schedule import build_schedule
from .schedule_view import aligned

# (label, solver.policy, solver.lrs or None): lrs all 1 is the flat relative-steps schedule
POLICIES = (("steps", "steps", None), ("steps lrs=1", "steps", 1.0), ("cosine", "cosine", None),
            ("cosine_per_cycle", "cosine_per_cycle", None))
SCALINGS = ("linear", "sqrt", "none")


def lr_rows(cfg, clips: int) -> list[dict]:
    """One dict per policy x scaling (the numbers `format_lr_summary` prints)."""
    rows = []
    for label, policy, flat in POLICIES:
        lrs = (flat,) * len(cfg.solver.steps) if flat is not None else None
        for scaling in SCALINGS:
            c = dataclasses.replace(
                cfg, solver=dataclasses.replace(cfg.solver, policy=policy, lrs=lrs),
                multigrid=dataclasses.replace(cfg.multigrid, lr_scaling=scaling))
            mg = lr_summary(build_schedule(c, clips=clips))
            base = lr_summary(build_schedule(baseline_of(c), clips=clips))
            b = cfg.solver.base_lr
            rows.append({"policy": label, "lr_scaling": scaling,
                         "sum_full_t": mg.sum_lr_full_t, "sum_full_shape": mg.sum_lr_full_shape,
                         "baseline_sum": base.sum_lr_full_shape,
                         "restart": mg.restart_lr / b, "before": mg.before_restart_lr / b,
                         "max_after_restart": mg.max_lr_after_restart / b})
    return rows


def format_lr_summary(cfg, clips: int) -> str:
    head = (f"{cfg.name}: grid set {cfg.multigrid.grid_set}, granularity "
            f"{cfg.multigrid.granularity}, base LR {cfg.solver.base_lr:g}, {clips} training clips; "
            f"LRs summed over iterations (restart columns in units of base LR)")
    cols = ["policy", "lr_scaling", "ΣLR t=T", "ΣLR T×S²", "baseline ΣLR", "T×S² / baseline",
            "LR before restart", "LR at restart", "max after restart"]
    rows = [cols]
    for r in lr_rows(cfg, clips):
        rows.append([r["policy"], r["lr_scaling"], f"{r['sum_full_t']:.4f}",
                     f"{r['sum_full_shape']:.4f}", f"{r['baseline_sum']:.4f}",
                     f"{r['sum_full_shape'] / r['baseline_sum']:.3f}", f"{r['before']:.3f}",
                     f"{r['restart']:.3f}", f"{r['max_after_restart']:.3f}"])
    return "\n".join([head, "", *aligned(rows)])
