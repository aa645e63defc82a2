"""Live TensorBoard files: folder per run, clock steps, nothing for URI storage; the per-epoch
line names its run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mgsearch.train import tblog


def read_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of one TensorBoard run folder as (step, value) pairs."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        pytest.skip("reading event files needs tensorboard: pip install 'mgsearch[watch]'")
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def epoch_metrics(epoch: int, clock_s: float, **extra) -> dict:
    return {"point": epoch, "epoch": epoch, "max_epoch": 3, "grid_set": "two_stage", "seed": 1,
            "train_loss": 2.0 - epoch / 10, "lr": 0.1, "clips_per_s": 50.0,
            "time_total_s": clock_s, **extra}


def test_search_trial_writes_under_the_experiment_on_the_clock(tmp_path):
    metrics_file = tmp_path / "exp" / tblog.TRIAL_RUNS / "train-abc_00001" / "metrics.jsonl"
    for epoch, clock, top1 in ((1, 2.4, 25.0), (2, 4.6, None), (3, 7.5, 50.0)):
        extra = {} if top1 is None else {"val_top1": top1}
        folder = tblog.log_epoch(metrics_file, epoch_metrics(epoch, clock, **extra))
    assert folder == tmp_path / "exp" / "tensorboard" / "two_stage_s1_train-abc_00001"
    scalars = read_scalars(folder)  # readable before close: every epoch is flushed
    assert scalars["val_top1"] == [(2, 25.0), (8, 50.0)]  # step = round(time_total_s)
    assert [s for s, _ in scalars["train_loss"]] == [2, 5, 8]
    assert [s for s, _ in scalars["by_point/val_top1"]] == [1, 3]


def test_single_run_writes_beside_its_run_folder(tmp_path):
    metrics_file = tmp_path / "results" / "quick-wu2020-s0-20261201" / "metrics.jsonl"
    assert tblog.tensorboard_root(metrics_file) == tmp_path / "results" / "tensorboard"


def test_remote_storage_writes_nothing_and_file_uris_write_locally(tmp_path):
    m = epoch_metrics(1, 1.0, val_top1=10.0)
    assert tblog.log_epoch(None, m) is None
    assert tblog.log_epoch("s3://bucket/exp/train_runs/train-a_00000/metrics.jsonl", m) is None
    assert not list(tmp_path.iterdir())
    uri = (tmp_path / "exp" / "train_runs" / "train-a_00000" / "metrics.jsonl").as_uri()
    folder = tblog.log_epoch(uri, m)
    assert folder is not None and folder.parent == tmp_path / "exp" / "tensorboard"
    assert list(folder.iterdir())


def test_progress_line_names_grid_set_seed_and_run():
    from mgsearch.train.loop import _progress_line

    m = epoch_metrics(2, 4.2, val_top1=37.5, stage=1, shape_t=4, shape_s=32, global_batch=8,
                      time_data_wait_s=0.1)
    line = _progress_line(m, Path("/x/train_runs/train-abc_00001/metrics.jsonl"))
    assert line.startswith("[mgsearch] two_stage seed 1 train-abc_00001 epoch 2/3 ")
    assert "val top-1  37.5%" in line and "t=4.2s" in line
    assert _progress_line(m).startswith("[mgsearch] two_stage seed 1 epoch 2/3 ")
    uri = "s3://b/exp/train_runs/train-abc_00001/metrics.jsonl?endpoint_override=http://h:9"
    assert _progress_line(m, uri).startswith("[mgsearch] two_stage seed 1 train-abc_00001 ")


@pytest.fixture(autouse=True)
def _close_writers():
    yield
    tblog.close_all()
