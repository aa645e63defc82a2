"""Live TensorBoard files of a run, on the run's own clock.

Rank 0 calls `log_epoch(metrics_file, metrics)` after every report; it appends scalars to one
TensorBoard run folder per training run and flushes, so `tensorboard --logdir` shows a search
while it runs (Tune's own event files are indexed by report number, which is not comparable
between a 36-epoch multigrid trial and a 24-epoch baseline, and reach the storage path late).

    <experiment>/train_runs/<run>/metrics.jsonl -> <experiment>/tensorboard/<grid set>_s<seed>_<run>/
    <storage>/<run>/metrics.jsonl               -> <storage>/tensorboard/<grid set>_s<seed>_<run>/

Scalars: `val_top1`, `val_top5`, `val_loss`, `train_loss`, `lr`, `clips_per_s` with
`step = round(time_total_s)` (seconds on the run's clock: the same x-axis as ASHA and the
report's figures), and `by_epoch/val_top1`, `by_epoch/train_loss` with `step = epoch`.
A restarted or resumed run appends to the same folder and continues its clock.

Local storage only: for a URI storage path (`s3://`, `file://`, ...) the loop has no metrics
file and nothing is written here. Writing uses tensorboardX (installed with `ray[tune]`);
reading needs `tensorboard` (`pip install 'mgsearch[watch]'`).
"""

from __future__ import annotations

import sys
from pathlib import Path

TRIAL_RUNS = "train_runs"  # folder of a search experiment that holds its trials' Train runs
TENSORBOARD = "tensorboard"
CLOCK_TAGS = ("val_top1", "val_top5", "val_loss", "train_loss", "lr", "clips_per_s")
EPOCH_TAGS = ("val_top1", "train_loss")

_writers: dict[Path, object] = {}  # one open writer per run folder in this process
_warned = False


def tensorboard_root(metrics_file: str | Path) -> Path:
    """The folder to give `tensorboard --logdir` for the run that writes `metrics_file`."""
    runs = Path(metrics_file).parent.parent
    return (runs.parent if runs.name == TRIAL_RUNS else runs) / TENSORBOARD


def run_label(run_folder: str, metrics: dict) -> str:
    """`<grid set>_s<seed>_<run folder>`: legends sort by grid set and name the trial."""
    return f"{metrics.get('grid_set', 'run')}_s{metrics.get('seed', 0)}_{run_folder}"


def log_epoch(metrics_file: str | Path | None, metrics: dict) -> Path | None:
    """Append one epoch's scalars and flush; returns the run's folder (None: nothing written)."""
    if metrics_file is None or "time_total_s" not in metrics:
        return None
    folder = tensorboard_root(metrics_file) / run_label(Path(metrics_file).parent.name, metrics)
    writer = _writer(folder)
    if writer is None:
        return None
    clock_s = int(round(float(metrics["time_total_s"])))
    for tag in CLOCK_TAGS:
        if tag in metrics:
            writer.add_scalar(tag, float(metrics[tag]), global_step=clock_s)
    for tag in EPOCH_TAGS:
        if tag in metrics:
            writer.add_scalar(f"by_epoch/{tag}", float(metrics[tag]),
                              global_step=int(metrics["epoch"]))
    writer.flush()
    return folder


def close_all() -> None:
    for writer in _writers.values():
        writer.close()
    _writers.clear()


def _writer(folder: Path):
    global _warned
    if folder not in _writers:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:  # pragma: no cover - tensorboardX comes with ray[tune]
            if not _warned:
                print("[mgsearch] warning: no TensorBoard files: tensorboardX is missing; "
                      "pip install tensorboardX", file=sys.stderr, flush=True)
                _warned = True
            return None
        folder.mkdir(parents=True, exist_ok=True)
        _writers[folder] = SummaryWriter(logdir=str(folder), flush_secs=5)
    return _writers[folder]
