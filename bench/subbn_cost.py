"""Cost of sub-batch BatchNorm against plain BatchNorm over the same tensor, forward + backward.

For each shape (N x C x T x H x W) and memory layout (contiguous, channels_last_3d), with
n = N // 8 groups (bn_base_size 8, as the quickstart): plain `F.batch_norm` over the whole batch,
the pre-fusion grouped implementation (tests/models/subbn_reference.py), and SubBatchNorm3d as it
is now (the path it took in the "new path" column). For channels_last_3d both of its exact paths
are timed as well: one native call per block of clips ("blocks") and one call on a copied
(N/n*T*H*W, n*C) matrix ("copied"); SubBatchNorm3d picks blocks on the CPU from `_MIN_BLOCK`
elements per block.
fp32, one torch thread unless told; the variants alternate round by round and each time is the
best of all rounds (the least disturbed by other work on the machine).

    python bench/subbn_cost.py                 # about 30 s on a 2-core machine
    python bench/subbn_cost.py --rounds 3      # quicker, noisier

Prints a markdown table: milliseconds per forward + backward, and in parentheses the ratio to
plain BatchNorm. Then the cost of one `set_bn_splits` call on resnet3d_small against the walk
over `model.modules()` it used to make every step.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' reference

from mgsearch.models import build_model, convert_to_subbn, set_bn_splits, subbn
from mgsearch.models.subbn import SubBatchNorm3d
from tests.models.subbn_reference import grouped_reference

# The shapes, then the quickstart's coarse grids at resnet3d_small's stem output.
SHAPES = [(128, 16, 2, 24, 24), (64, 32, 2, 17, 17), (16, 16, 4, 48, 48), (128, 64, 1, 6, 6),
          (128, 16, 2, 8, 8), (64, 16, 2, 12, 12), (16, 16, 4, 16, 16)]


def fwd_bwd_seconds(fn, x: torch.Tensor, gy: torch.Tensor, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        xx = x.detach().requires_grad_()
        start = time.perf_counter()
        fn(xx).backward(gy)
        best = min(best, time.perf_counter() - start)
    return best


def with_min_block(bn: SubBatchNorm3d, min_block: int):
    def run(x):
        saved, subbn._MIN_BLOCK = subbn._MIN_BLOCK, min_block
        try:
            return bn(x)
        finally:
            subbn._MIN_BLOCK = saved
    return run


def variants(shape, channels_last: bool):
    n, c = shape[0] // 8, shape[1]
    torch.manual_seed(0)
    bn = SubBatchNorm3d(c)
    bn.num_splits = n
    old = copy.deepcopy(bn)
    mean, var = torch.zeros(c), torch.ones(c)
    out = {
        "plain": lambda x: F.batch_norm(x, mean, var, bn.weight, bn.bias, True, 0.1, bn.eps),
        "old": lambda x: grouped_reference(old, x, n),
        "new": bn,
    }
    if channels_last:
        out["blocks"] = with_min_block(bn, 0)
        out["copied"] = with_min_block(bn, 1 << 62)
    return out


def measure(shape, channels_last: bool, rounds: int, reps: int) -> dict[str, float]:
    x, gy = torch.randn(shape), torch.randn(shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last_3d)
        gy = gy.contiguous(memory_format=torch.channels_last_3d)
    fns = variants(shape, channels_last)
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], fwd_bwd_seconds(fn, x, gy, reps))
    return best


def walk_splits(model, num_splits: int) -> None:
    """What set_bn_splits did before its list was cached."""
    for m in model.modules():
        if isinstance(m, SubBatchNorm3d):
            m.num_splits = int(num_splits)


def per_call_us(fn, model, calls: int = 2000, rounds: int = 7) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(calls):
            fn(model, 1 + i % 4)
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), fp32, forward + backward, "
          f"ms (ratio to plain BN); n = N // 8 groups\n")
    print("| N×C×T×H×W | layout | n | plain BN | old grouped | new | new path "
          "| blocks | copied |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shape in SHAPES:
        for channels_last in (False, True):
            t = measure(shape, channels_last, args.rounds, args.reps)
            x = torch.empty(shape)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last_3d)
            cell = {k: f"{v * 1e3:.2f} ({v / t['plain']:.2f}×)" for k, v in t.items()}
            print(f"| {'×'.join(map(str, shape))} | {'cl3d' if channels_last else 'contig'} "
                  f"| {shape[0] // 8} | {t['plain'] * 1e3:.2f} | {cell['old']} | {cell['new']} "
                  f"| {subbn._path(x, shape[0] // 8)} | {cell.get('blocks', '')} "
                  f"| {cell.get('copied', '')} |", flush=True)
    net = convert_to_subbn(build_model("resnet3d_small", 12))
    layers = sum(isinstance(m, SubBatchNorm3d) for m in net.modules())
    walk, cached = per_call_us(walk_splits, net), per_call_us(set_bn_splits, net)
    print(f"\nset_bn_splits on resnet3d_small ({layers} SubBatchNorm3d of "
          f"{sum(1 for _ in net.modules())} modules): {cached:.1f} us per call; "
          f"walking model.modules(): {walk:.1f} us")


if __name__ == "__main__":
    main()
