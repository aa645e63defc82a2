"""Trial layout: one trial at a time in-process against the same trial on 2 DDP workers.

    python bench/trial_layout.py run                                  # quickstart baseline, 3 seeds
    python bench/trial_layout.py run --seeds 3 --grid-sets wu2020 --config experiments/x.yaml \\
        --set solver.max_epoch=2                                      # --set goes to every trial
    python bench/trial_layout.py report --out results/trial_layout.md

Two layouts of the same search (`search.max_concurrent_trials: 1`, so each trial has the 2 cores
to itself): `inprocess` (`train.workers: 0`, `train.cpus_per_worker: 2`: one process, two torch
threads) and `ddp2` (`train.workers: 2`, `train.cpus_per_worker: 1`: a Ray Train worker group of
two gloo ranks, one thread each). Each is its own search, `results/<name>-<layout>` (`--resume`:
finished trials are not run again), with the baseline for `--seeds` seeds plus any
`--grid-sets`. `run` then times a gloo all_reduce on 2 ranks of a float32 tensor of the model's
gradient size (`results/<name>-allreduce.json`). `report` reads every finished run's last report
(`train_runs/train-*/metrics.jsonl`, rank 0's numbers) and writes one Markdown table:

- worker start: `worker_start_s`, the trial function's start to the training loop's entry (the
  worker group's start-up under DDP); first step: `first_step_s`, to the first training step,
  loaders and model built, the reference step excluded. Both are wall clock, off the trial clock.
- step: `time_train_s / iterations` (forward, backward, optimizer; under DDP the gradient
  all_reduce inside backward and the wait for the slower rank).
- all-reduce: the separate measurement above (median of 20 after 3 warm-ups), and beside it the
  step-time difference ddp2 - inprocess, which also holds the change of one 2-thread process to
  two 1-thread ones: the measurement is the cost, the difference only a bound to compare.
- reference step: `ref_step_start_s`, `ref_step_end_s` (mgsearch.train.refstep); a trial whose
  start or end reference differs by more than 10% from the median of all its layout's reference
  times is flagged.
- final top-1 (`val_top1` of the last report, the full validation set) and the clock
  (`time_total_s`), as the mean over seeds with the seeds' range.
- DDP overhead: (ddp2 - inprocess) / inprocess of the mean clock, and of the mean clock plus the
  time to the first step (what a trial waits for before its clock starts). Teardown after the
  last report is not counted.

Runtime: not measured yet (only smoke-tested on a 200-clip set at 4x32², 1 epoch, 1 seed: ~2
minutes for both layouts, DDP start-up included). Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
from pathlib import Path

from searches import run_searches, set_args

from mgsearch.analysis.fairness import REF_TOLERANCE as FLAG  # the report's 10% rule

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "experiments/quickstart.yaml"
LAYOUTS = {"inprocess": {"train.workers": "0", "train.cpus_per_worker": "2"},
           "ddp2": {"train.workers": "2", "train.cpus_per_worker": "1"}}


def search_args(args, layout: str) -> list[str]:
    """`mgsearch search` arguments of one layout; the layout's keys win over --set."""
    sets = {"search.name": f"{args.name}-{layout}", "search.max_concurrent_trials": "1",
            "search.repeats": str(args.seeds), "search.baseline": "true",
            "search.grid_sets": "[" + ",".join(args.grid_sets) + "]",
            "train.storage_path": str(Path(args.results).resolve()), **LAYOUTS[layout]}
    return [a for s in args.overrides for a in ("--set", s)] + set_args(sets)


def run(args) -> None:
    run_searches(args.config, {layout: search_args(args, layout) for layout in args.only})
    out = Path(args.results) / f"{args.name}-allreduce.json"
    out.write_text(json.dumps(allreduce(args), indent=1))
    print(f"wrote {out}")


# -- the all-reduce --------------------------------------------------------------------------


def allreduce(args, warmup: int = 3, repeats: int = 20) -> dict:
    """Median seconds of a gloo all_reduce on 2 local ranks of the model's gradient size."""
    import torch.multiprocessing as mp

    from mgsearch import models
    from mgsearch.config import load_config
    from mgsearch.data.index import build_index

    cfg = load_config(ROOT / args.config, args.overrides)
    classes = len(build_index(cfg.dataset, cfg.dataset.train_split).classes)
    net = models.build_model(cfg.model.name, classes)
    numel = sum(p.numel() for p in net.parameters() if p.requires_grad)
    times = mp.get_context("spawn").Manager().list()
    with socket.socket() as s:  # a free port for the two ranks to meet on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_allreduce_rank, args=(port, numel, warmup, repeats, times), nprocs=2, join=True)
    return {"model": cfg.model.name, "params": numel, "bytes": 4 * numel, "ranks": 2,
            "warmup": warmup, "repeats": repeats, "median_s": statistics.median(times)}


def _allreduce_rank(rank: int, port: int, numel: int, warmup: int, repeats: int, times) -> None:
    import time

    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # as a 1-CPU DDP worker
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    grad = torch.ones(numel)
    for k in range(warmup + repeats):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(grad)
        if k >= warmup and rank == 0:
            times.append(time.perf_counter() - start)
    dist.destroy_process_group()


# -- the report ------------------------------------------------------------------------------


def final_reports(results: Path, name: str, layout: str) -> list[dict]:
    """The last report of every run of `layout` that reached its end."""
    out = []
    for f in sorted((results / f"{name}-{layout}" / "train_runs").glob("train-*/metrics.jsonl")):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        if rows and rows[-1]["point"] == rows[-1]["points"]:
            out.append({**rows[-1], "layout": layout})
    return out


def layout_info(reports: list[dict], allreduce_s: float | None) -> list[dict]:
    """One row per (layout, grid set): the table's numbers, before any formatting."""
    rows = []
    for layout in LAYOUTS:
        mine = [r for r in reports if r["layout"] == layout]
        ref_median = _median([r.get(k) for r in mine for k in ("ref_step_start_s",
                                                                "ref_step_end_s")])
        for grid_set in sorted({r["grid_set"] for r in mine}):
            runs = [r for r in mine if r["grid_set"] == grid_set]
            flagged = [r["seed"] for r in runs if ref_median and any(
                abs(r.get(k, ref_median) / ref_median - 1) > FLAG
                for k in ("ref_step_start_s", "ref_step_end_s"))]
            rows.append({
                "layout": layout, "grid_set": grid_set, "seeds": [r["seed"] for r in runs],
                "worker_start_s": _values(runs, "worker_start_s"),
                "first_step_s": _values(runs, "first_step_s"),
                "step_s": [r["time_train_s"] / max(r["iterations"], 1) for r in runs],
                "ref_start_s": _values(runs, "ref_step_start_s"),
                "ref_end_s": _values(runs, "ref_step_end_s"),
                "top1": _values(runs, "val_top1"), "clock_s": _values(runs, "time_total_s"),
                "flagged_seeds": flagged,
                "allreduce_s": allreduce_s if layout == "ddp2" else None})
    base = {r["grid_set"]: r for r in rows if r["layout"] == "inprocess"}
    for r in rows:
        b = base.get(r["grid_set"])
        if r["layout"] == "ddp2" and b:
            clock, clock0 = _mean(r["clock_s"]), _mean(b["clock_s"])
            wait, wait0 = _mean(r["first_step_s"]), _mean(b["first_step_s"])
            r["step_diff_s"] = _mean(r["step_s"]) - _mean(b["step_s"])
            r["overhead_clock"] = clock / clock0 - 1
            if wait is not None and wait0 is not None:
                r["overhead_with_start"] = (clock + wait - clock0 - wait0) / clock0
    return rows


def render(rows: list[dict], allreduce: dict | None) -> str:
    head = ["layout", "grid set", "seeds", "worker start s", "first step s", "step ms/iter",
            "all-reduce ms (measured / step diff)", "ref step start ms", "ref step end ms",
            "final top-1 %", "clock s", "DDP overhead (clock / + start)", "ref > 10% off"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ar = "" if r["layout"] != "ddp2" else (
            f"{_ms(r['allreduce_s'])} / {_ms(r.get('step_diff_s'))}")
        over = "" if "overhead_clock" not in r else (
            f"{100 * r['overhead_clock']:+.1f}% / "
            f"{_pct(r.get('overhead_with_start'))}")
        lines.append("| " + " | ".join([
            r["layout"], r["grid_set"], str(len(r["seeds"])), _spread(r["worker_start_s"]),
            _spread(r["first_step_s"]), _spread(r["step_s"], 1000), ar,
            _spread(r["ref_start_s"], 1000), _spread(r["ref_end_s"], 1000),
            _spread(r["top1"]), _spread(r["clock_s"]), over,
            ", ".join(f"seed {s}" for s in r["flagged_seeds"]) or "none"]) + " |")
    note = ("" if allreduce is None else
            f"\nAll-reduce: gloo, 2 local ranks, {allreduce['params']:,} float32 gradients "
            f"({allreduce['bytes'] / 2**20:.1f} MiB, {allreduce['model']}), median of "
            f"{allreduce['repeats']}.")
    return ("Mean over seeds [min, max]. Step: time_train_s / iterations. DDP overhead: "
            "against the in-process mean clock, without and with the time to the first step.\n\n"
            + "\n".join(lines) + "\n" + note + "\n")


def report(args) -> None:
    results = Path(args.results)
    reports = [r for layout in LAYOUTS for r in final_reports(results, args.name, layout)]
    if not reports:
        sys.exit(f"no finished runs under {results}/{args.name}-*; run the benchmark first")
    found = results / f"{args.name}-allreduce.json"
    ar = json.loads(found.read_text()) if found.is_file() else None
    text = render(layout_info(reports, ar and ar["median_s"]), ar)
    out = Path(args.out or results / f"{args.name}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# Trial layout: {args.name}\n\n" + text)
    print(text + f"\nwrote {out}")


def _values(runs, key):
    return [r[key] for r in runs if r.get(key) is not None]


def _mean(xs):
    return statistics.fmean(xs) if xs else None


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _spread(xs, scale: float = 1.0) -> str:
    if not xs:
        return "-"
    xs = [scale * x for x in xs]
    mean = f"{statistics.fmean(xs):.1f}"
    return mean if len(xs) == 1 else f"{mean} [{min(xs):.1f}, {max(xs):.1f}]"


def _ms(s):
    return "-" if s is None else f"{1000 * s:.1f}"


def _pct(x):
    return "-" if x is None else f"{100 * x:+.1f}%"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("run", "report"))
    p.add_argument("--config", default=CONFIG, help="experiment YAML, relative to the repo")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override passed to every trial (repeatable)")
    p.add_argument("--seeds", type=int, default=3, help="seeds of every grid set")
    p.add_argument("--grid-sets", nargs="*", default=[], help="grid sets beside the baseline")
    p.add_argument("--only", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    p.add_argument("--name", default="layout", help="searches are <name>-<layout>")
    p.add_argument("--results", default=str(ROOT / "results"), help="train.storage_path")
    p.add_argument("--out", default=None, help="the Markdown table (default results/<name>.md)")
    args = p.parse_args()
    if args.command == "run":
        run(args)
    else:
        report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
