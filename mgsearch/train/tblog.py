"""Live TensorBoard files of a run, on the run's own clock.

Rank 0 calls `log_epoch(metrics_file, metrics)` after every report; it appends scalars to one
TensorBoard run folder per training run and flushes, so `tensorboard --logdir` shows a search
while it runs (Tune's own event files are indexed by report number, which is not comparable
between a 36-epoch multigrid trial and a 24-epoch baseline, and reach the storage path late).

    <experiment>/train_runs/<run>/metrics.jsonl -> <experiment>/tensorboard/<grid set>_s<seed>_<run>/
    <storage>/<run>/metrics.jsonl               -> <storage>/tensorboard/<grid set>_s<seed>_<run>/

Scalars: `val_top1`, `val_top5`, `val_loss`, `train_loss`, `lr`, `clips_per_s` with
`step = round(time_total_s)` (seconds on the run's clock: the same x-axis as ASHA and the
report's figures), and `by_point/val_top1`, `by_point/train_loss` with `step = point`, the
report's index: points sit at the same fractions of every run's budget (mgsearch.points), so
this axis lines runs up by progress through their schedule.
A restarted or resumed run adds a file to the same folder and continues its clock.

Local storage and `file://` only: for a remote URI (`s3://`, `gs://`, ...) nothing is written
(TensorBoard event files are appended in place, which object stores cannot do). Writing uses tensorboardX (installed with `ray[tune]`);
reading needs `tensorboard` (`pip install 'mgsearch[watch]'`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .. import storage
from ..contract import TRIAL_RUNS  # the experiment folder of a search's Train runs

TENSORBOARD = "tensorboard"
CLOCK_TAGS = ("val_top1", "val_top5", "val_loss", "train_loss", "lr", "clips_per_s")
POINT_TAGS = ("val_top1", "train_loss")

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
    metrics_file = storage.file_path(str(metrics_file))  # None: a remote URI
    if metrics_file is None:
        return None
    folder = tensorboard_root(metrics_file) / run_label(Path(metrics_file).parent.name, metrics)
    writer = _writer(folder)
    if writer is None:
        return None
    clock_s = int(round(float(metrics["time_total_s"])))
    scalars = [(tag, clock_s) for tag in CLOCK_TAGS if tag in metrics]
    point = int(metrics.get("point", metrics.get("epoch", 0)))  # old reports: one per epoch
    scalars += [(f"by_point/{tag}", point) for tag in POINT_TAGS if tag in metrics]
    for tag, step in scalars:
        writer.write_event(_event(tag.split("/")[-1], tag, metrics, step))
    writer.flush()  # on disk now: tensorboard shows this epoch at its next reload
    return folder


def close_all() -> None:
    for writer in _writers.values():
        writer.close()
    _writers.clear()


def _event(key: str, tag: str, metrics: dict, step: int):
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.summary import scalar

    return Event(wall_time=time.time(), step=step, summary=scalar(tag, float(metrics[key])))


def _writer(folder: Path):
    """A synchronous event file writer: tensorboardX's SummaryWriter queues events for a
    background thread, so its flush() can return before the epoch is on disk (measured)."""
    global _warned
    if folder not in _writers:
        try:
            from tensorboardX.event_file_writer import EventsWriter
        except ImportError:  # pragma: no cover - tensorboardX comes with ray[tune]
            if not _warned:
                print("[mgsearch] warning: no TensorBoard files: tensorboardX is missing; "
                      "pip install tensorboardX", file=sys.stderr, flush=True)
                _warned = True
            return None
        folder.mkdir(parents=True, exist_ok=True)
        # One file per process; the pid keeps a restart within the same second apart.
        _writers[folder] = EventsWriter(str(folder / "events"), filename_suffix=f".{os.getpid()}")
    return _writers[folder]
