"""Data throughput per grid shape of an experiment's schedule, beside the model's step time.

For every distinct grid (t frames, s crop, per-worker batch b) it measures
  - loader clips/s alone, from the video files (PyAV) and from the decoded-clip cache, with
    0, 1 and 2 DataLoader workers;
  - the model's training step (forward, backward, SGD) at that shape;
  - the data-wait fraction of a real loop (next(loader) time / (that + step time)).
The target is <= 5% data-wait at every shape with the configuration training uses (cache on,
0 workers). One warm-up batch per measurement is not counted (worker start, first decode).
The training store is mapped whole before each measurement (ClipCache.touch, ~0.1 s): a run
keeps one mapping and pays each page's first-touch fault once, in its first epoch (~0.1-0.2 s a
run here), while a few-batch measurement on a fresh mapping would pay it on every batch (2-3 ms
of a 128-clip batch); `--no-warm` measures that cold case.
`--paths batch clip` also times the clip-by-clip loader (`Loaders(per_clip=True)`: what
VideoClipDataset.batch replaced, the same clips) beside the batched one, alternating per shape in
one process, so the two columns see the same machine load.

    mgsearch data synth data/synth                                # once: the quickstart's data
    python bench/data_throughput.py experiments/quickstart.yaml --json bench/data_throughput.json
    python bench/data_throughput.py experiments/quickstart.yaml --batches 3 --workers 0 1 \
        --threads 1                                                # the smaller run, ~3 min
    python bench/data_throughput.py experiments/quickstart.yaml --batches 3 --workers 0 \
        --threads 1 --paths batch clip --no-files                  # batched against per-clip

The first run also builds the decoded-clip cache (every core). The model is
`mgsearch.models.build_model(--model, num_classes=12)`, stepped like the training loop (the
config's `train.precision` and `train.channels_last` unless given, `--threads` torch threads). The dataset is `dataset.root` of the
config; when it does not exist a synthetic set of `--clips` clips is generated into a temporary
folder first. The `model` column of `files` rows repeats the step time measured with the cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

from mgsearch.config import load_config
from mgsearch.data.loaders import Loaders
from mgsearch.data.synth import write_synth
from mgsearch.models import build_model
from mgsearch.schedule import build_schedule

WAIT_TARGET = 0.05  # fraction of a training step spent waiting for data


def make_step(model: torch.nn.Module, precision: str, channels_last: bool):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    if channels_last:
        model = model.to(memory_format=torch.channels_last_3d)
    model.train()

    def step(clips: torch.Tensor, labels: torch.Tensor) -> None:
        if channels_last:
            clips = clips.contiguous(memory_format=torch.channels_last_3d)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(clips).float(), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def loop(loader, batches: int, step=None) -> dict:
    """Time `batches` batches after one warm-up: waiting for data, and stepping when given."""
    it = iter(loader)
    first = next(it)
    if step is not None:
        step(first[0], first[1])
    wait = busy = 0.0
    clips = 0
    for _ in range(batches):
        t0 = time.perf_counter()
        x, y, _ = next(it)
        t1 = time.perf_counter()
        if step is not None:
            step(x, y)
        wait += t1 - t0
        busy += time.perf_counter() - t1
        clips += y.shape[0]
    return {"clips_per_s": clips / max(wait, 1e-9), "wait_s": wait, "step_s": busy / batches,
            "wait_fraction": wait / max(wait + busy, 1e-9)}


def one_grid_stage(stage, g: int):
    """A view of `stage` that runs only its grid `g` (so every batch has that shape)."""
    return dataclasses.replace(stage, grids=(stage.grids[g],))


def run(args) -> list[dict]:
    cfg = load_config(args.config, args.overrides)
    if not Path(cfg.dataset.root).is_dir():
        tmp = Path(tempfile.mkdtemp(prefix="mgsearch-bench-"))
        print(f"{cfg.dataset.root} missing: generating {args.clips} synthetic clips in {tmp}")
        write_synth(tmp / "synth", clips=args.clips, seed=0)
        cfg = dataclasses.replace(cfg, dataset=dataclasses.replace(
            cfg.dataset, root=str(tmp / "synth"), cache_dir=str(tmp / "cache")))
    from mgsearch.data.loaders import count_train_clips

    schedule = build_schedule(cfg, clips=count_train_clips(cfg))
    torch.set_num_threads(args.threads)
    rows = []
    shapes = {}
    for stage in schedule.stages:  # distinct grids, first stage that runs each
        for g, grid in enumerate(stage.grids):
            shapes.setdefault((grid.t, grid.s, grid.per_worker_batch), (stage, g))
    precision = args.precision or cfg.train.precision
    channels_last = cfg.train.channels_last if args.channels_last is None else args.channels_last
    print(f"model {args.model}: {precision}, channels_last {channels_last}, "
          f"{args.threads} thread(s)", flush=True)
    model = build_model(args.model, num_classes=12)
    step = make_step(model, precision, channels_last)
    for (t, s, b), (stage, g) in list(shapes.items())[: args.shapes or None]:
        single = one_grid_stage(stage, g)
        step_s = None
        for cached in (True, False) if args.files else (True,):
            for workers in args.workers:
                for path in args.paths:
                    dcfg = dataclasses.replace(cfg.dataset, cache=cached, loader_workers=workers)
                    loaders = Loaders(dataclasses.replace(cfg, dataset=dcfg), schedule,
                                      per_clip=path == "clip")
                    if cached and args.warm:
                        loaders.train_set.cache.touch()
                    alone = loop(loaders.train(single, epoch=0), args.batches)
                    row = {"t": t, "s": s, "batch": b, "source": "cache" if cached else "files",
                           "workers": workers, "path": path,
                           "loader_clips_per_s": round(alone["clips_per_s"], 1)}
                    if cached or args.files_with_model:
                        timed = loop(loaders.train(single, epoch=1), args.batches, step)
                        step_s = timed["step_s"]
                        row["wait_fraction"] = round(timed["wait_fraction"], 4)
                    row["step_s"] = round(step_s, 4) if step_s is not None else None
                    row["model_clips_per_s"] = round(b / step_s, 1) if step_s else None
                    rows.append(row)
                    print(_line(row), flush=True)
    return rows


def _line(r: dict) -> str:
    wait = r.get("wait_fraction")
    mark = "" if wait is None else (" ok" if wait <= WAIT_TARGET else " OVER TARGET")
    wait_s = "   -  " if wait is None else f"{100 * wait:5.1f}%"
    return (f"{r['t']:>3}x{r['s']:<3} b{r['batch']:<4} {r['source']:<5} w{r['workers']} "
            f"{r['path']:<5} "
            f"loader {r['loader_clips_per_s']:8.1f} clips/s | model {r['model_clips_per_s'] or 0:8.1f}"
            f" clips/s (step {r['step_s'] or 0:.3f} s) | data-wait {wait_s}{mark}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config", help="experiment YAML, e.g. experiments/quickstart.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--model", default="resnet3d_small", help="mgsearch.models name")
    p.add_argument("--precision", choices=("bf16", "fp32"), default=None,
                   help="model precision (default: the config's train.precision)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last_3d model (default: the config's train.channels_last)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--paths", nargs="+", choices=("batch", "clip"), default=["batch"],
                   help="loader paths: batch (VideoClipDataset.batch, what training uses), "
                        "clip (clip by clip, the path it replaced)")
    p.add_argument("--warm", action=argparse.BooleanOptionalAction, default=True,
                   help="map the training store whole before measuring (a run's steady state)")
    p.add_argument("--files", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the loader reading the video files (PyAV)")
    p.add_argument("--batches", type=int, default=10, help="timed batches per measurement")
    p.add_argument("--shapes", type=int, default=0, help="only the first N shapes (0: all)")
    p.add_argument("--clips", type=int, default=1200, help="synthetic clips if no dataset")
    p.add_argument("--threads", type=int, default=2, help="torch threads for the model")
    p.add_argument("--files-with-model", action="store_true",
                   help="also time the training loop reading files (slow)")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = p.parse_args()
    rows = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
