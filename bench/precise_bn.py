"""Validation top-1 of saved checkpoints against the number of precise-BN clips, and its seconds.

For each checkpoint: top-1 on the full validation set with the checkpoint's own BatchNorm
statistics (0 clips: what evaluation used before precise BN), then with the statistics
recomputed at the full shape on N training clips (`train.precise_bn_clips = N`), and the seconds
that pass takes (one torch thread: what one trial gets on the quickstart).

    mgsearch train experiments/quickstart.yaml --baseline --name base --set train.precise_bn_clips=0
    python bench/precise_bn.py experiments/quickstart.yaml \
        results/base/checkpoint_000005 --clips 0 25 50 100 200 400 --set dataset.root=...
"""

from __future__ import annotations

import argparse
import time

import torch

from mgsearch.contract import baseline_of


def main() -> None:
    from mgsearch.config import load_config
    from mgsearch.data import Loaders
    from mgsearch.schedule import build_schedule
    from mgsearch.train.model import TrainModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("checkpoints", nargs="+", help="checkpoint folders (with state.pt)")
    ap.add_argument("--clips", type=int, nargs="+", default=[0, 25, 50, 100, 200, 400])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.set)
    sched = build_schedule(baseline_of(cfg))
    loaders = Loaders(cfg, sched)
    net = TrainModel(cfg, sched, loaders.num_classes, torch.device("cpu"), distributed=False)

    def top1() -> float:
        net.eval()
        hit = n = 0
        with torch.no_grad():
            for clips, labels, _ in loaders.val():
                hit += int((net.forward(clips).float().argmax(1) == labels).sum())
                n += len(labels)
        return 100.0 * hit / n

    print("checkpoint\tclips\ttop1\tseconds")
    for folder in args.checkpoints:
        state = torch.load(f"{folder}/state.pt", map_location="cpu", weights_only=True)
        for n in args.clips:
            net.load_state(state["model"], state["optimizer"])
            start = time.perf_counter()
            if n:
                net.precise_bn(loaders.precise_bn(n), distributed=False)
            seconds = time.perf_counter() - start
            print(f"{folder}\t{n}\t{top1():.1f}\t{seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()
