"""Does the clock follow the compute? Every stage of a schedule and the baseline, timed alike.

In one process, on the same threads, on the real data path (the experiment's dataset and cache,
its loaders, sub-batch BN, optimizer, precision and memory format: `TrainModel.step` as the
training loop calls it), each distinct stage of the multigrid schedule and the baseline's stage
run a fixed number of iterations, in turn, for several rounds (so a burst of other load spreads
over all of them). Per stage it prints

- predicted: the stage's compute per iteration in baseline iterations (b·t·s² summed over the
  global batch, mean over its short-cycle grids; mgsearch.cost),
- measured: its seconds per iteration (step + data wait) over the baseline's,
- efficiency = predicted / measured (1.00: time follows compute; above 1: cheaper than its
  voxels), and its data-wait share,

and for the whole run: the predicted compute speed-up, the measured step-time speed-up (every
stage's seconds per iteration times its iterations in the schedule, against the baseline's) and
their ratio, the efficiency; then the evaluation share: one evaluation at every evaluation point
of the schedule (precise BN, the fixed subset, the full set at the last), timed here, added to
both runs. A per-grid table gives the time per voxel of every grid relative to the full shape.

    python bench/schedule_efficiency.py                               # quickstart, wu2020 (~6 min)
    python bench/schedule_efficiency.py --set multigrid.grid_set=long_only
    python bench/schedule_efficiency.py --iters 24 --rounds 4 --json out.json
    python bench/schedule_efficiency.py --gpu --set train.precision=bf16   # CUDA, where present

The dataset must exist (`mgsearch data synth data/gist` for the quickstart); the first run
builds its cache. Numbers move with other load on the machine: quote a quiet run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mgsearch.clock import Clock  # noqa: E402
from mgsearch.config import load_config  # noqa: E402
from mgsearch.contract import baseline_of
from mgsearch.cost import compare  # noqa: E402
from mgsearch.data import Loaders  # noqa: E402
from mgsearch.schedule import build_schedule  # noqa: E402
from mgsearch.stream import Segment, batches_per_epoch  # noqa: E402
from mgsearch.train.evaluation import evaluate  # noqa: E402
from mgsearch.train.model import TrainModel  # noqa: E402


def _label(grids) -> str:
    return " ".join(f"{g.t}x{g.s}² b{g.global_batch}" for g in grids)


class Unit:
    """One distinct stage (its grids), stepped `iters` iterations at a time."""

    def __init__(self, name: str, schedule, stage, schedule_iterations: int):
        self.name, self.schedule, self.stage = name, schedule, stage
        self.schedule_iterations = schedule_iterations  # iterations of the run on these grids
        self.clock = Clock()
        self.iterations = 0
        self.grid_s: dict[int, list[float]] = defaultdict(list)  # step + wait per grid

    def run(self, loaders, net, iters: int, data_pass: int, record: bool) -> None:
        stage = self.stage
        n = len(stage.grids)
        iters = max(n, iters - iters % n)  # whole short cycles: every grid equally often
        room = batches_per_epoch(len(loaders.train_set), stage.batch_sizes)
        seg = Segment(stage=stage.index, start_iter=0, iterations=min(iters, room),
                      data_pass=data_pass, offset=0)
        lr = self.schedule.lr_at_iter(stage.start_iter)
        clock = self.clock if record else Clock()
        it = iter(loaders.segment(stage, seg))
        for _ in range(seg.iterations):
            start = time.perf_counter()
            with clock.data_wait():
                clips, labels, g = next(it)
            with clock.train():
                net.step(clips, labels, lr, stage.grids[g].bn_split)
            if record:
                self.grid_s[g].append(time.perf_counter() - start)
        if record:
            self.iterations += seg.iterations

    @property
    def s_per_it(self) -> float:
        return (self.clock.train_s + self.clock.data_wait_s) / max(self.iterations, 1)

    @property
    def wait_share(self) -> float:
        busy = self.clock.train_s + self.clock.data_wait_s
        return self.clock.data_wait_s / busy if busy else 0.0

    def predicted(self, unit_voxels: int) -> float:
        """Compute per iteration in baseline iterations (grids taken equally often)."""
        return statistics.fmean(g.cost for g in self.stage.grids) / unit_voxels


def build_units(sched, base, cmp) -> list[Unit]:
    """The baseline's stage first, then each distinct stage of `sched` (stages on equal grids
    are one unit: their time per iteration is the same), with its iterations in the run."""
    units = [Unit("baseline", base, base.stages[0], cmp.baseline.iterations)]
    by_grids: dict[tuple, Unit] = {}
    for stage, cost in zip(sched.stages, cmp.cost.stages):
        unit = by_grids.get(stage.grids)
        if unit is None:
            unit = by_grids[stage.grids] = Unit(f"stage {stage.index}", sched, stage, 0)
            units.append(unit)
        else:
            unit.name += f",{stage.index}"
        unit.schedule_iterations += cost.iterations
    return units


def time_evaluation(cfg, loaders, net, device, repeats: int) -> dict[str, float]:
    """Seconds of the evaluation pieces (fastest of `repeats`): merge + precise BN, the subset,
    the full validation set."""
    best = defaultdict(lambda: float("inf"))
    for _ in range(repeats):
        start = time.perf_counter()
        net.merge_bn()
        if cfg.train.precise_bn_clips:
            net.precise_bn(loaders.precise_bn(cfg.train.precise_bn_clips), False)
        best["bn"] = min(best["bn"], time.perf_counter() - start)
        for key, subset in (("subset", True), ("full", False)):
            start = time.perf_counter()
            evaluate(net, loaders, subset, False, device)
            best[key] = min(best[key], time.perf_counter() - start)
        net.train()
    return dict(best)


def report(cfg, sched, cmp, units, evals) -> tuple[str, dict]:
    base = units[0]
    unit_voxels = cfg.shape.batch * cfg.shape.frames * cfg.shape.crop ** 2
    lines = ["| stage | grids (t×s² b) | iterations in run | predicted (baseline its) | "
             "measured s/it | measured / baseline | efficiency | data wait |",
             "|---|---|---|---|---|---|---|---|"]
    rows = []
    for u in units:
        pred = u.predicted(unit_voxels)
        meas = u.s_per_it / base.s_per_it
        rows.append({"stage": u.name, "grids": _label(u.stage.grids),
                     "iterations": u.schedule_iterations, "predicted": pred, "s_per_it": u.s_per_it, "measured": meas,
                     "efficiency": pred / meas, "data_wait": u.wait_share})
        lines.append(f"| {u.name} | {_label(u.stage.grids)} | {u.schedule_iterations} | "
                     f"{pred:.2f} | {u.s_per_it * 1e3:.1f} ms | {meas:.2f} | {pred / meas:.2f} | "
                     f"{100 * u.wait_share:.1f}% |")
    t_base = base.s_per_it * base.schedule_iterations
    t_sched = sum(u.s_per_it * u.schedule_iterations for u in units[1:])
    wait_sched = sum(u.wait_share * u.s_per_it * u.schedule_iterations for u in units[1:])
    predicted, measured = cmp.speedup_compute, t_base / t_sched
    n_eval = sum(p.evaluate for p in sched.points)
    one_eval = evals["bn"] + evals["subset"]  # an intermediate point
    e_run = (n_eval - 1) * one_eval + evals["bn"] + evals["full"] if n_eval else 0.0
    total = {"predicted_speedup": predicted, "measured_speedup": measured,
             "efficiency": measured / predicted, "train_s_baseline": t_base,
             "train_s_schedule": t_sched, "data_wait_share_schedule": wait_sched / t_sched,
             "eval_points": n_eval, "eval_s_per_run": e_run,
             **{f"eval_{k}_s": v for k, v in evals.items()},
             "eval_share_baseline": e_run / (t_base + e_run),
             "eval_share_schedule": e_run / (t_sched + e_run),
             "speedup_with_eval": (t_base + e_run) / (t_sched + e_run)}
    lines += ["", f"**{sched.grid_set}, whole run**: predicted compute speed-up "
                  f"{predicted:.2f}x, measured step-time speed-up {measured:.2f}x, "
                  f"efficiency **{measured / predicted:.2f}**; training {t_sched:.0f} s against "
                  f"the baseline's {t_base:.0f} s (step times x iterations), data wait "
                  f"{100 * total['data_wait_share_schedule']:.1f}% of it.",
              f"Evaluation: {n_eval} points, {one_eval:.1f} s each ({evals['bn']:.1f} s "
              f"precise BN + {evals['subset']:.1f} s on the subset), the last "
              f"{evals['bn'] + evals['full']:.1f} s on the full set: {e_run:.0f} s a run, "
              f"{100 * total['eval_share_schedule']:.0f}% of the schedule's clock and "
              f"{100 * total['eval_share_baseline']:.0f}% of the baseline's; speed-up with it "
              f"{total['speedup_with_eval']:.2f}x."]
    # Per grid: time per voxel against the full shape's (the baseline's one grid).
    full = base.stage.grids[0]
    ref = statistics.median(base.grid_s[0]) / (full.global_batch * full.t * full.s ** 2)
    seen: dict[tuple, list[float]] = defaultdict(list)
    for u in units[1:]:
        for g, times in u.grid_s.items():
            grid = u.stage.grids[g]
            seen[(grid.global_batch, grid.t, grid.s)] += times
    lines += ["", "| grid b×t×s² | s/it (median) | time per voxel / full shape's |",
              "|---|---|---|"]
    per_grid = []
    for (b, t, s), times in sorted(seen.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        sec = statistics.median(times)
        ratio = sec / (b * t * s * s) / ref
        per_grid.append({"grid": f"{b}x{t}x{s}", "s_per_it": sec, "per_voxel": ratio})
        lines.append(f"| {b}x{t}x{s}² | {sec * 1e3:.1f} ms | {ratio:.2f} |")
    return "\n".join(lines), {"stages": rows, "grids": per_grid, "total": total}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "quickstart.yaml")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, as `mgsearch train --set`")
    ap.add_argument("--iters", type=int, default=24, help="iterations per stage per round")
    ap.add_argument("--rounds", type=int, default=4, help="timed rounds over all stages")
    ap.add_argument("--eval-repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads (default: train.cpus_per_worker, as a trial uses)")
    ap.add_argument("--gpu", action="store_true", help="run on CUDA (train.use_gpu)")
    ap.add_argument("--json", type=Path, help="write the numbers here too")
    args = ap.parse_args(argv)
    cfg = load_config(args.config, args.sets)
    if args.gpu:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, use_gpu=True))
    threads = args.threads or max(1, int(cfg.train.cpus_per_worker))
    torch.set_num_threads(threads)
    device = torch.device("cuda" if args.gpu else "cpu")
    if not Path(cfg.dataset.root).is_dir():
        sys.exit(f"dataset.root {cfg.dataset.root!r} is not a folder: generate it first "
                 f"(`mgsearch data synth {cfg.dataset.root}`)")
    loaders = Loaders(cfg)
    clips = len(loaders.train_set)
    sched = build_schedule(cfg, clips=clips)
    base = build_schedule(baseline_of(cfg), clips=clips)
    cmp = compare(sched, base)
    torch.manual_seed(cfg.train.seed)
    net = TrainModel(cfg, sched, loaders.num_classes, device, distributed=False)
    net.train()
    units = build_units(sched, base, cmp)
    print(f"{cfg.name}: {sched.grid_set} against the baseline, {clips} training clips, "
          f"{len(units) - 1} distinct stages, {args.rounds} rounds x {args.iters} iterations, "
          f"{threads} threads, {cfg.train.precision}"
          f"{' channels_last' if cfg.train.channels_last else ''}, {device.type}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for r in range(args.rounds + 1):  # round 0 warms up (kernel choice, cache pages)
        for u in units:
            u.run(loaders, net, args.iters if r else 2 * len(u.stage.grids), r, record=r > 0)
        print(f"  round {r}/{args.rounds} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    evals = time_evaluation(cfg, loaders, net, device, args.eval_repeats)
    text, numbers = report(cfg, sched, cmp, units, evals)
    print(f"\nload average at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}\n")
    print(text)
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=1))


if __name__ == "__main__":
    main()
