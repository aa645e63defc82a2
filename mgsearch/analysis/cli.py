"""`mgsearch report EXPERIMENT_DIR [--out DIR] [--delta PT]`."""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from ..storage import local_view


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    folder = local_view(args.experiment)  # a URI's files are read (and reported) locally
    if not folder.is_dir():
        raise ConfigError(f"experiment folder {folder} does not exist; pass the folder "
                          f"`mgsearch search` printed (<storage_path>/<search name>)")
    if args.delta is not None and not args.delta >= 0:
        raise ConfigError(f"--delta {args.delta}: give accuracy points >= 0 below the "
                          f"baseline, e.g. --delta 1.0")
    paths = write_report(folder, args.out, delta=args.delta)
    summary = next(p for p in paths if p.name == "summary.md")
    print(summary.read_text().split("\n## Figures")[0].rstrip())
    print(f"\n[mgsearch] report: {summary.parent} ({len(paths)} files)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="tables, speed-ups and figures of a search",
                       description="Summarize a search's experiment folder (finished or still "
                                   "running): a verdict per configuration against the "
                                   "baseline, speed-up at its accuracy, Pareto front, figures.")
    p.add_argument("experiment", metavar="EXPERIMENT_DIR",
                   help="the folder `mgsearch search` printed, or a `mgsearch train` run folder")
    p.add_argument("--out", metavar="DIR",
                   help="where to write the report (default: EXPERIMENT_DIR/report)")
    p.add_argument("--delta", type=float, default=None, metavar="PT",
                   help="non-inferiority margin, top-1 points below the baseline's mean final "
                        "accuracy that still count as matched (default: the search.delta the "
                        "trials recorded, else 1.0)")
    p.set_defaults(func=_report)
