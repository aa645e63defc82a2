"""Where a small search's wall-clock goes: training (the trials' own clocks) against the rest.

    .venv/bin/python bench/tune_overhead.py experiments/quickstart.yaml [--set k=v ...]

"The rest" is Ray's start, trial launch and teardown, reporting and checkpointing: everything a
trial's clock (time_total_s) does not count. With C trials running at once a search takes at
least max(sum(clocks) / C, longest clock); the overhead is the wall-clock beyond that bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()

    from mgsearch.config import load_config
    from mgsearch.data import prepare_data
    from mgsearch.raycluster import ensure_ray
    from mgsearch.search import max_concurrency, run_search

    start = time.perf_counter()
    name = f"bench-overhead-{time.strftime('%Y%m%d-%H%M%S')}"
    cfg = load_config(args.config, [*args.overrides, f"search.name={name}"])
    cluster = ensure_ray()
    ray_start = time.perf_counter() - start
    grid = run_search(cfg, clips=prepare_data(cfg))
    path = grid.experiment_path
    wall = time.perf_counter() - start
    clocks = [float((r.metrics or {}).get("time_total_s", 0.0)) for r in grid]
    conc = max_concurrency(cfg, cluster)
    # The search cannot end before its longest trial, nor before the clocks packed perfectly.
    packed = max(sum(clocks) / conc, max(clocks, default=0.0))
    overhead = wall - packed
    rows = [
        ("trials", f"{len(clocks)} ({conc} at a time, workers={cfg.train.workers})"),
        ("search wall-clock", f"{wall:.1f} s"),
        ("  Ray start (in-process)", f"{ray_start:.1f} s"),
        ("sum of trial clocks", f"{sum(clocks):.1f} s"),
        ("longest trial clock", f"{max(clocks, default=0.0):.1f} s"),
        ("lower bound max(sum / concurrency, longest)", f"{packed:.1f} s"),
        ("overhead (wall - packed)", f"{overhead:.1f} s = {100 * overhead / wall:.1f}% of wall"),
        ("overhead per trial slot", f"{overhead * conc / max(len(clocks), 1):.1f} s"),
    ]
    print(f"\n| {cfg.name}: `{' '.join(sys.argv[1:])}` | |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    print(f"\nresults: {path}")
    return 0 if not grid.errors else 1


if __name__ == "__main__":
    sys.exit(main())
