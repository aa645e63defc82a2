"""Fair clocks on one machine: one trial at a time on every core, or one trial per pinned core?

    python bench/trial_pinning.py [--config experiments/quickstart.yaml] [--rounds 20]

Times the trials' reference step (`mgsearch.train.refstep`: forward + backward + AdamW step of
the config's model at its full shape) in three layouts, round after round:

- `alone`: one process with every core's threads (how `make demo` runs trials:
  `search.max_concurrent_trials: 1`, `train.cpus_per_worker` = cores);
- `pinned`: one process per core, each pinned to its core (`os.sched_setaffinity`), one thread,
  all stepping at the same time (two concurrent trials, each on its own core);
- `shared`: the same processes unpinned (two concurrent trials as Ray runs them by default).

and prints, per layout, clips per second per process and in all (median over rounds) and the
spread between processes and rounds (max/min of the per-process medians, and the rounds' 10-90%
range), which is what decides whether two trials' clocks can be compared. Linux only (affinity).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _worker(config: str, threads: int, core: int | None, rounds: int, start, out) -> None:
    import torch

    from mgsearch.config import load_config
    from mgsearch.train.refstep import reference_step_s

    if core is not None:
        os.sched_setaffinity(0, {core})
    torch.set_num_threads(threads)
    cfg = load_config(config)
    reference_step_s(cfg, 12, torch.device("cpu"), warmup=2, repeats=1)  # warm caches
    start.wait()
    out.put([reference_step_s(cfg, 12, torch.device("cpu"), warmup=1, repeats=3)
             for _ in range(rounds)])


def layout(config: str, procs: int, threads: int, pin: bool, rounds: int) -> list[list[float]]:
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(procs), ctx.Queue()
    ps = [ctx.Process(target=_worker, args=(config, threads, i if pin else None, rounds, start, out))
          for i in range(procs)]
    for p in ps:
        p.start()
    times = [out.get() for _ in ps]
    for p in ps:
        p.join()
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "experiments" / "quickstart.yaml"))
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    from mgsearch.config import load_config

    cores = len(os.sched_getaffinity(0))
    batch = load_config(args.config).shape.batch
    print(f"{cores} cores; reference step = one training step of {batch} clips\n")
    print("| layout | processes x threads | clips/s per process | clips/s in all | "
          "process max/min | rounds 10-90% (s) |")
    print("|---|---|---|---|---|---|")
    for name, procs, threads, pin in (("alone", 1, cores, False), ("pinned", cores, 1, True),
                                      ("shared", cores, 1, False)):
        times = layout(args.config, procs, threads, pin, args.rounds)
        med = [statistics.median(t) for t in times]
        flat = sorted(x for t in times for x in t)
        lo, hi = flat[len(flat) // 10], flat[(9 * len(flat)) // 10]
        per = [batch / m for m in med]
        print(f"| {name} | {procs} x {threads} | {' / '.join(f'{v:.0f}' for v in per)} | "
              f"{sum(per):.0f} | {max(med) / min(med):.2f} | {lo:.3f}-{hi:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
