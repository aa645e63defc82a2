"""`mgsearch train CONFIG [--baseline] [--workers N] [--set k=v]`: one Ray Train run."""

from __future__ import annotations

import argparse
import sys

from ..cliargs import add_config_args, add_point_arg, listed_point, naming_source
from ..errors import ConfigError


def _train(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..contract import baseline_of, check_name
    from .launch import run_training

    if args.name is not None:
        check_name(args.name, "--name")
    overrides = list(args.overrides)
    if args.workers is not None:
        overrides.append(f"train.workers={args.workers}")
    cfg = load_config(args.config, overrides)
    point = None
    if args.baseline:
        cfg = baseline_of(cfg)
    else:
        cfg, point = listed_point(cfg, args.config, overrides, args.point)
        if point is not None:
            given = {k: v for k, v in point.as_dict().items() if v is not None}
            print(f"[mgsearch] training search.points[{args.point or 0}]: {given}")
    try:
        with naming_source(args.config, overrides):
            result = run_training(cfg, name=args.name, point=point)
    except Exception as err:  # Ray wraps worker errors; show the cause, not Ray's traceback
        if isinstance(err, ConfigError):
            raise
        last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        print(f"mgsearch: error: training failed: {last}", file=sys.stderr)
        return 1
    m = result.metrics
    top1 = f"{m['val_top1']:.1f}%" if "val_top1" in m else "n/a"
    print(f"[mgsearch] done: {cfg.multigrid.grid_set}, "
          f"{m.get('epoch', 0)} epochs, val top-1 {top1}, top-5 "
          f"{m.get('val_top5', float('nan')):.1f}%, training clock {m.get('time_total_s', 0):.1f} s "
          f"(wall {result.wall_s:.1f} s)")
    print(f"[mgsearch] run folder: {result.run_dir}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="run one multigrid (or baseline) training on Ray Train",
                       description="Train CONFIG's model on its schedule with Ray Train, on the "
                                   "cluster in RAY_ADDRESS or a local Ray started in-process.")
    add_config_args(p)
    p.add_argument("--baseline", action="store_true", help="train the fixed-shape baseline (the same as --set "
                   "multigrid.grid_set=baseline)")
    add_point_arg(p, "train")
    p.add_argument("--workers", type=int, help="data-parallel workers (0: in-process)")
    p.add_argument("--name", help="run name, a folder under train.storage_path (default: "
                   "<config>-<grid set>-s<seed>-<config hash>: the same config continues the "
                   "same run)")
    p.set_defaults(func=_train)
