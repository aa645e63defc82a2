"""`mgsearch data synth|info|preview`: make the synthetic set, look at a dataset before training.

    mgsearch data synth data/synth [--task gist] [--clips 6500] [--val 2500] [--size 40x40]
    mgsearch data info data/synth [--format folder] [--json] [--decode-all]
    mgsearch data preview experiments/quickstart.yaml --out preview.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..cliargs import add_config_args, add_set_arg
from ..errors import ConfigError
from .config import FORMATS, format_problem


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected WIDTHxHEIGHT, e.g. 64x64") from None
    return w, h


def _format(text: str) -> str:
    problem = format_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} {problem}")
    return text


def _synth(args) -> int:
    from .synth import write_synth

    t0 = time.perf_counter()
    meta = write_synth(args.out, clips=args.clips, classes=args.classes, frames=args.frames,
                       size=args.size, seed=args.seed, workers=args.workers, task=args.task,
                       val=args.val)
    print(f"wrote {meta['clips']['train']} train + {meta['clips']['val']} val clips "
          f"({args.task} task, {len(meta['classes'])} classes, {args.frames} frames at "
          f"{meta['size'][0]}x{meta['size'][1]}, {meta['codec']}) to {args.out} "
          f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _info(args) -> int:
    from .info import clip_span_for, dataset_config_for, dataset_summary, format_summary

    summary = dataset_summary(dataset_config_for(args.target, args.format, args.overrides),
                              clip_span_for(args.target, args.overrides),
                              decode_every_frame=args.decode_all or None)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        print()
    else:
        print(format_summary(summary))
    return 0


def _preview(args) -> int:
    from ..config import load_config
    from .info import preview_info, render_preview

    if not args.out.lower().endswith(".png"):
        raise ConfigError(f"--out {args.out}: write a .png file, e.g. --out preview.png")
    cfg = load_config(args.config, args.overrides)
    rows = preview_info(cfg, clips_per_grid=args.clips, seed=args.seed)
    print(f"wrote {render_preview(rows, args.out)} ({len(rows)} strips)")
    return 0


def register(subparsers) -> None:
    """Add `data` with its `synth`, `info` and `preview` subcommands."""
    data = subparsers.add_parser("data", help="make the synthetic dataset, inspect a dataset",
                                 description="Video data: generate the embedded synthetic set, "
                                             "summarize a dataset, preview sampled clips.")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    p = sub.add_parser("synth", help="write the synthetic action dataset (MP4 files)",
                       description="Write an embedded synthetic action set (--task gist or "
                                   "motion) as H.264 MP4 files in train/ and val/ "
                                   "class folders plus synth.json. An existing OUT is never "
                                   "touched; an interrupted run leaves nothing behind.")
    p.add_argument("out", metavar="OUT", help="new folder to write, e.g. data/synth")
    p.add_argument("--task", choices=("gist", "motion"), default="gist",
                   help="gist (default): 3 scenes x 4 actions, the scene visible in one frame, "
                        "travel in two, vibration only frame by frame; motion: the earlier "
                        "task, 6 time-reversal pairs of motions (kept for comparison)")
    p.add_argument("--val", type=int, default=None,
                   help="clips held out in val/ (default: the task's share, gist 2500 of 6500, "
                        "motion 600 of 4600)")
    p.add_argument("--clips", type=int, default=None, help="clips in all (default: gist 6500 = "
                   "4000 train + 2500 val; motion 4600 = 4000 + 600)")
    p.add_argument("--classes", type=int, default=12,
                   help="classes, the first N of the task's 12: gist a multiple of 4, motion an "
                        "even number (default 12)")
    p.add_argument("--frames", type=int, default=32, help="frames per clip (default 32)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="frame size in pixels (default: gist 40x40, motion 64x64)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same videos (default 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes (default: one per core, at most 8)")
    p.set_defaults(func=_synth)

    p = sub.add_parser("info", help="summarize a dataset: classes, clips, skipped files",
                       description="Index a dataset as training would (every file probed once, "
                                   "its frames counted) and print its classes, "
                                   "clips per split, skipped and truncated files with the "
                                   "reason, videos shorter than a clip's span (of CONFIG's "
                                   "shape, or the default one), and the fps and frame-size "
                                   "ranges.")
    p.add_argument("target", metavar="ROOT_OR_CONFIG",
                   help="dataset folder or experiment YAML (its dataset: section)")
    p.add_argument("--format", type=_format, metavar="FORMAT",
                   help=f"layout: {', '.join(FORMATS)}, or 'package.module:callable' (default: "
                        f"the config's, or folder / synthetic for a folder)")
    add_set_arg(p, help="override a config value (with a CONFIG)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--decode-all", action="store_true",
                   help="decode every frame of every file (no RGB conversion), finding corrupt "
                        "packets inside a file too; about 2x the time on short clips (default: "
                        "count packets and decode the first frame, and every frame only of a "
                        "file that falls short, or with dataset.cache off, as training does)")
    p.set_defaults(func=_info)

    p = sub.add_parser("preview", help="draw sampled frames for every grid of a schedule",
                       description="Sample clips on every grid of CONFIG's schedule, as the "
                                   "training loader would, and draw what the model is fed: one "
                                   "strip of frames per grid, in a PNG.")
    add_config_args(p)
    p.add_argument("--out", required=True, metavar="FILE.png", help="image to write")
    p.add_argument("--clips", type=int, default=1, help="clips per grid (default 1)")
    p.add_argument("--seed", type=int, default=0, help="which clips and crops (default 0)")
    p.set_defaults(func=_preview)
