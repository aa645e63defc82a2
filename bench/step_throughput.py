"""Seconds per training iteration and achieved GFLOP/s for each shape of a multigrid schedule.

One iteration is what the training loop does: sub-batch BN split count set, forward under the
precision's autocast, cross-entropy, backward, SGD step. Each shape `b x t x s^2` (global batch,
frames, crop side) runs under fp32 and bf16 autocast, each with and without channels_last_3d,
on randomly initialised weights and random clips. Models come from `mgsearch.models`, so bf16
cells include its fp32 fallback for convolutions under 4 frames (`mgsearch.models.convs`).
Work per iteration is 3x the forward FLOPs (`gflops_per_clip`, 2 FLOPs per multiply-add,
convolutions and matmuls only). Matmul peaks are measured in the same process, so percentages
compare like with like on a shared machine.
Cells are stepped round-robin (every cell once per round) and each reports its median.

Multigrid's promise is that shapes of equal b*t*h*w cost equal time; the second table divides
each shape's time per voxel by the full shape's (1.00 = the promise holds).

    PYTHONPATH=. python bench/step_throughput.py                   # quickstart schedule's shapes
    PYTHONPATH=. python bench/step_throughput.py --shapes 64x4x45 8x16x64 --iters 10
    PYTHONPATH=. python bench/step_throughput.py --config experiments/other.yaml --threads 2

Defaults take ~2-4 min on the 2-core development machine; its results move by 10-20% with
other load on the machine, so quote numbers from a quiet run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mgsearch import models
from mgsearch.allocation import _bn_split as bn_split  # the schedule's own grouping rule
from mgsearch.allocation import schedule_grids
from mgsearch.config import load_config

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = [("fp32", False), ("fp32", True), ("bf16", False), ("bf16", True)]


def _name(variant: tuple[str, bool]) -> str:
    return f"{variant[0]}{'+cl' if variant[1] else ''}"


def _shape(text: str) -> tuple[int, int, int]:
    try:
        b, t, s = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r}: expected BxTxS, e.g. 8x16x64") from None
    return b, t, s


def schedule_shapes(config: Path) -> tuple[list[tuple[int, int, int, int]], tuple[int, int, int]]:
    """(b, t, s, bn_split) of each distinct grid of the config's schedule, and its full shape."""
    cfg = load_config(config)
    grids = schedule_grids(cfg)  # grids do not depend on the dataset size
    shapes = sorted({(g.global_batch, g.t, g.s, g.bn_split) for g in grids},
                    key=lambda x: (x[1], x[2], -x[0]))
    return shapes, (cfg.shape.batch, cfg.shape.frames, cfg.shape.crop)


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 1.0) -> float:
    """GFLOP/s of an n x n matrix product (2 n^3 FLOPs), best of repeated runs."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)  # warm-up: thread pool, kernel choice
    best, end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


class Cell:
    """One (shape, precision, layout): its own model, optimizer and batch, stepped on demand."""

    def __init__(self, model_name: str, shape: tuple[int, int, int, int], precision: str,
                 channels_last: bool, classes: int, sub_bn: bool) -> None:
        b, t, s, splits = shape
        torch.manual_seed(0)
        self.device, self.precision = torch.device("cpu"), precision
        model = models.build_model(model_name, classes)
        if sub_bn:
            models.convert_to_subbn(model)
        self.splits = splits if sub_bn else 1
        self.model = models.prepare_model(model, self.device, channels_last=channels_last)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        clips = torch.randn(b, 3, t, s, s)
        self.clips = (clips.contiguous(memory_format=torch.channels_last_3d) if channels_last
                      else clips)
        self.labels = torch.randint(0, classes, (b,))
        self.times: list[float] = []

    def step(self, record: bool) -> None:
        """One training iteration, as the training loop runs it; its seconds if `record`."""
        start = time.perf_counter()
        models.set_bn_splits(self.model, self.splits)
        with models.autocast_context(self.device, self.precision):
            logits = self.model(self.clips)
        loss = F.cross_entropy(logits.float(), self.labels)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if record:
            self.times.append(time.perf_counter() - start)


def _fmt_shape(shape) -> str:
    b, t, s = shape[:3]
    return f"{b}x{t}x{s}²"


def report(shapes, full, results, peaks, gflops, variants=VARIANTS) -> str:
    """Markdown: per-shape times and rates, equal-cost ratios, and the speed-ups."""
    head = " | ".join(f"{_name(v)} s/it (GFLOP/s, % peak)" for v in variants)
    lines = [f"| shape b×t×s² | voxels/it | GFLOP/it | {head} |",
             "|" + "---|" * (3 + len(variants))]
    for shape in shapes:
        cells = []
        for p, cl in variants:
            sec = results[(shape, p, cl)]
            rate = gflops[shape] / sec
            cells.append(f"{sec:.3f} ({rate:.0f}, {100 * rate / peaks[p]:.0f}%)")
        b, t, s = shape[:3]
        lines.append(f"| {_fmt_shape(shape)} (bn groups {shape[3]}) | {b * t * s * s:,} | "
                     f"{gflops[shape]:.1f} | " + " | ".join(cells) + " |")
    ref = next((x for x in shapes if x[:3] == full), min(shapes, key=lambda x: x[0]))
    lines += ["", f"Time per voxel relative to the full shape {_fmt_shape(ref)} "
                  f"(1.00: equal b·t·s² costs equal time):", "",
              "| shape | " + " | ".join(_name(v) for v in variants) + " |",
              "|" + "---|" * (1 + len(variants))]
    spread = {}
    for shape in shapes:
        cells = []
        for p, cl in variants:
            per_voxel = results[(shape, p, cl)] / _voxels(shape)
            ratio = per_voxel / (results[(ref, p, cl)] / _voxels(ref))
            spread.setdefault((p, cl), []).append(ratio)
            cells.append(f"{ratio:.2f}")
        lines.append(f"| {_fmt_shape(shape)} | " + " | ".join(cells) + " |")
    lines.append("| range | " + " | ".join(f"{min(v):.2f}–{max(v):.2f}"
                                          for v in spread.values()) + " |")

    def total(p, cl):
        return sum(results[(x, p, cl)] for x in shapes)

    lines += ["", "Matmul peak in this run: " + ", ".join(f"{p} {v:.0f} GFLOP/s"
                                                         for p, v in peaks.items()) + "."]
    if len(variants) == len(VARIANTS):
        lines.append(
            f"Speed-ups over all shapes (sum of s/it): bf16 over fp32 "
            f"{total('fp32', False) / total('bf16', False):.2f}x, channels_last under fp32 "
            f"{total('fp32', False) / total('fp32', True):.2f}x, under bf16 "
            f"{total('bf16', False) / total('bf16', True):.2f}x, bf16+cl over fp32 "
            f"{total('fp32', False) / total('bf16', True):.2f}x.")
    return "\n".join(lines)


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


def _voxels(shape) -> int:
    b, t, s = shape[:3]
    return b * t * s * s


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=ROOT / "experiments" / "quickstart.yaml",
                    help="schedule whose grids are the default shapes (and the full shape)")
    ap.add_argument("--shapes", type=_shape, nargs="+",
                    help="BxTxS global shapes instead of the schedule's, e.g. 64x4x45 8x16x64")
    ap.add_argument("--model", default="resnet3d_small", choices=models.list_models())
    ap.add_argument("--bn-base", type=int, default=8, help="clips per BN group with --shapes")
    ap.add_argument("--iters", type=int, default=7, help="timed rounds (median per cell)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(),
                    help="torch intra-op threads (default: torch's, one per core)")
    ap.add_argument("--classes", type=int, default=12)
    ap.add_argument("--variants", nargs="+", choices=[_name(v) for v in VARIANTS],
                    default=[_name(v) for v in VARIANTS],
                    help="precision+layout cells to time (bf16 is slow on CPUs without bf16 units)")
    ap.add_argument("--plain-bn", action="store_true",
                    help="plain BatchNorm over the whole batch (to measure sub-batch BN's cost)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    variants = [v for v in VARIANTS if _name(v) in args.variants]
    shapes, full = schedule_shapes(args.config)
    if args.shapes:
        shapes = [(b, t, s, bn_split(b, args.bn_base)) for b, t, s in args.shapes]
    print(f"model {args.model}, {'plain' if args.plain_bn else 'sub-batch'} BN, "
          f"{args.threads} threads, torch {torch.__version__}, {args.iters} timed + "
          f"{args.warmup} warm-up rounds over all cells; load average {_load()}", flush=True)
    dtypes = {p: {"fp32": torch.float32, "bf16": torch.bfloat16}[p] for p, _ in variants}
    peaks = {p: matmul_peak(dt) for p, dt in dtypes.items()}
    probe = models.build_model(args.model, args.classes)
    gflops = {x: 3 * x[0] * models.gflops_per_clip(probe, x[1], x[2]) for x in shapes}
    cells = {(x, p, cl): Cell(args.model, x, p, cl, args.classes, not args.plain_bn)
             for p, cl in variants for x in shapes}
    # Round-robin over all cells, so a burst of other load on a shared machine spreads over
    # every cell instead of spoiling a few; the first rounds warm up (oneDNN picks kernels).
    for r in range(args.warmup + args.iters):
        for cell in cells.values():
            cell.step(record=r >= args.warmup)
        print(f"  round {r + 1}/{args.warmup + args.iters} done, load average {_load()}",
              flush=True)
    # Re-measured at the end: the larger of the two is the quieter machine's figure.
    peaks = {p: max(peaks[p], matmul_peak(dt)) for p, dt in dtypes.items()}
    results = {key: statistics.median(cell.times) for key, cell in cells.items()}
    print(f"\nload average at the end {_load()} (1, 5, 15 min; {os.cpu_count()} cores)\n")
    print(report(shapes, full, results, peaks, gflops, variants))


if __name__ == "__main__":
    main()
