"""The `mgsearch` command. Each subcommand lives beside the code it drives.

    mgsearch schedule experiments/quickstart.yaml [--set k=v] [--clips N] [--json]
    mgsearch schedule --slowfast-config SLOWFAST_8x8_R50_stepwise_multigrid.yaml

Bad input (a config typo, an impossible grid, a missing file) prints one line,
`mgsearch: error: ...`, and exits with code 2 before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

from .cliargs import add_config_args, add_point_arg, listed_point, naming_source
from .contract import baseline_of
from .errors import ConfigError


def _schedule(args: argparse.Namespace) -> int:
    from .config import load_config
    from .slowfast import load_slowfast_config

    if args.slowfast_config and args.config:
        raise ConfigError("give either CONFIG or --slowfast-config FILE, not both")
    if args.slowfast_config:
        cfg = load_slowfast_config(args.slowfast_config, args.overrides)
    elif args.config:
        cfg = load_config(args.config, args.overrides)
        if not args.baseline:
            cfg, point = listed_point(cfg, args.config, args.overrides, args.point)
            if point is not None:
                print(f"[mgsearch] search.points[{args.point or 0}] of {args.config}",
                      file=sys.stderr)
    else:
        raise ConfigError("no config given: pass CONFIG (e.g. experiments/quickstart.yaml) "
                          "or --slowfast-config FILE")
    with naming_source(args.slowfast_config or args.config, args.overrides):
        return _print_schedule(args, cfg)


def _print_schedule(args: argparse.Namespace, cfg) -> int:
    from .data.fit import check_scales
    from .imports import is_import_path
    from .schedule import build_schedule
    from .schedule_view import comparison_dict, format_table

    if not args.slowfast_config and not is_import_path(cfg.dataset.format):
        check_scales(cfg)  # a PySlowFast config's data keys are not imported
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.clips is None and args.slowfast_config:  # its data paths are not imported
            args.clips, where = DEFAULT_CLIPS, "default; pass --clips N, the training set's size"
        elif args.clips is None:
            args.clips, where = _dataset_clips(cfg)
            print(f"[mgsearch] cost model: {args.clips} training clips ({where})",
                  file=sys.stderr)
        if args.clips < 1:
            raise ConfigError(f"--clips {args.clips}: the cost model needs >= 1 training clip")
        schedule = build_schedule(baseline_of(cfg) if args.baseline else cfg, clips=args.clips)
        baseline = build_schedule(baseline_of(cfg), clips=args.clips)
    for message in dict.fromkeys(str(w.message) for w in caught):  # each warning once
        print(f"mgsearch: warning: {message}", file=sys.stderr)
    if args.lr_summary:
        from .lr_view import format_lr_summary

        print(format_lr_summary(cfg, args.clips))
    elif args.json:
        json.dump(comparison_dict(schedule, baseline, args.clips), sys.stdout, indent=1)
        print()
    else:
        print(format_table(cfg.name, schedule, baseline, args.clips))
    return 0


DEFAULT_CLIPS = 1000  # the cost model's clips per epoch when the dataset cannot be read


def _dataset_clips(cfg) -> tuple[int, str]:
    """Training clips of the config's dataset, or DEFAULT_CLIPS when it is not there (yet)."""
    from .data.fit import ClipShapeError
    from .data.loaders import count_train_clips

    try:
        return count_train_clips(cfg), f"{cfg.dataset.root}, split {cfg.dataset.train_split}"
    except ClipShapeError:
        raise  # the data was read: its videos cannot give this clip shape
    except (ConfigError, OSError) as err:
        return DEFAULT_CLIPS, (f"default; the dataset is not readable here: "
                               f"{str(err).splitlines()[0]}; pass --clips N")


def _add_schedule(sub) -> None:
    p = sub.add_parser("schedule", help="print the multigrid schedule of a config",
                       description="Print the schedule a config gives: stages, shapes, batch "
                                   "sizes, LR, iterations and compute against the baseline.")
    add_config_args(p, required=False)
    p.add_argument("--slowfast-config", metavar="FILE",
                   help="read a PySlowFast YAML instead of an mgsearch config")
    p.add_argument("--clips", type=int, default=None,
                   help="training clips (the dataset's size): iterations, cost and report "
                        "points depend on it (default: the config's training split, or "
                        f"{DEFAULT_CLIPS} when it cannot be read)")
    p.add_argument("--baseline", action="store_true",
                   help="show the fixed-shape baseline schedule instead")
    add_point_arg(p, "show")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document (schema: docs/schedule-json.md)")
    p.add_argument("--lr-summary", action="store_true",
                   help="print the per-iteration LR of every solver.policy x lr_scaling on "
                        "this config: summed LR by shape against the baseline, LR at the restart")
    p.set_defaults(func=_schedule)


def _search(args: argparse.Namespace) -> int:
    from . import storage
    from .config import load_config
    from .search import early_stopping, experiment_path, run_search, search_complete, summarize
    from .watch import tensorboard_hint

    cfg = load_config(args.config, args.overrides)
    with naming_source(args.config, args.overrides):
        path = experiment_path(cfg)
        print(tensorboard_hint(path), flush=True)
        start = time.monotonic()
        grid = run_search(cfg, resume=args.resume, retry_errored=args.retry_errored)
    early = early_stopping(cfg, time.monotonic() - start)
    print(summarize(grid, early))
    print(f"[mgsearch] experiment folder: {path}")
    complete = search_complete(grid, early)
    if complete and storage.file_path(path):  # the answer, and the file it proposes, beside it
        from .analysis.answer import answer, write_answer
        from .analysis.report import analyze

        ans = answer(analyze(storage.file_path(path)), cfg)
        written = write_answer(ans, storage.file_path(path))
        print(f"\n{ans.text}\n")
        if len(written) > 1:
            print(f"[mgsearch] {ans.file}: {written[-1]}")
    print(f"[mgsearch] report: mgsearch report {path}")
    return 0 if complete else 1  # a partial search is not a result


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="search grid sets and schedules with Ray Tune",
                       description="Run CONFIG's search (its `search:` section) with Ray Tune; "
                                   "every trial is one Ray Train run, the baseline included.")
    add_config_args(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the search in the experiment folder (start it if there is none); "
                        "finished trials are not run again")
    p.add_argument("--retry-errored", action="store_true",
                   help="with --resume: run trials that errored again")
    p.set_defaults(func=_search)


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("mgsearch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        ver = "unknown (not installed)"
    parser = argparse.ArgumentParser(
        prog="mgsearch", description="Search multigrid training schedules for video models.")
    parser.add_argument("--version", action="version", version=f"mgsearch {ver}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_schedule(sub)
    from .train.cli import register as register_train

    register_train(sub)
    _add_search(sub)
    from .analysis.cli import register as register_report
    from .data.cli import register as register_data

    register_report(sub)
    register_data(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as err:
        print(f"mgsearch: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mgsearch schedule ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
