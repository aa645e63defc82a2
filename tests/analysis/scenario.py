"""A hand-built search in the real folder format, small enough to check by hand.

Each curve is [(time_total_s, val_top1) after epoch 1, 2, 3]; every schedule has 3 epochs.
"""

from __future__ import annotations

from pathlib import Path

from .builders import point, write_trial

CURVES = {
    ("baseline", 0): [(10.0, 50.0), (20.0, 60.0), (30.0, 70.0)],
    ("baseline", 1): [(12.0, 52.0), (22.0, 62.0), (32.0, 72.0)],
    ("wu2020", 0): [(4.0, 60.0), (8.0, 70.5), (12.0, 71.0)],
    ("wu2020", 1): [(5.0, 60.0), (9.0, 69.0), (13.0, 70.6)],
    ("long_only", 0): [(3.0, 60.0), (6.0, 70.4), (9.0, 70.0)],
    ("short_only", 0): [(2.0, 50.0)],  # still running: 1 of 3 epochs
}
PREDICTED = {"wu2020": 4.0, "long_only": 3.0, "short_only": 2.0}


def write_search(root: Path) -> Path:
    for i, ((grid_set, seed), curve) in enumerate(sorted(CURVES.items())):
        p = point(grid_set, seed, predicted_speedup=PREDICTED.get(grid_set, 1.0), max_epoch=3)
        write_trial(root, f"ccccc_{i:05d}", p, curve,
                    stages=[(e, 2 ** e, 8 * (e + 1)) for e in range(len(curve))],
                    clips_per_s=[1000.0 / (e + 1) + seed for e in range(len(curve))])
    return root


def final(grid_set: str, seed: int) -> tuple[float, float]:
    """(wall-clock, final top-1) of one trial: its last report."""
    return CURVES[(grid_set, seed)][-1]
