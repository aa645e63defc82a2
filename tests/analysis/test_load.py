"""Loading experiment folders: the real sample, hand-built partial folders, a ResultGrid."""

import json

import pytest

from mgsearch.analysis import REPORT_COLUMNS, experiment_from_result_grid, load_experiment
from mgsearch.errors import ConfigError

from .builders import copy_real_search, point, reports, write_jsonl, write_trial


def test_real_search_gives_one_row_per_trial_and_epoch(tmp_path):
    root = copy_real_search(tmp_path)
    exp = load_experiment(root)
    rep = exp.reports
    assert list(rep.columns[:len(REPORT_COLUMNS)]) == list(REPORT_COLUMNS)
    expected = {}  # epochs per trial, read from the files themselves
    for f in root.glob("*/result.json"):
        rows = [json.loads(line) for line in f.read_text().splitlines()]
        expected[rows[0]["trial_id"]] = [r["epoch"] for r in rows]
    assert {t: list(df["epoch"]) for t, df in rep.groupby("trial_id")} == expected
    assert set(rep["grid_set"]) == {"baseline", "wu2020", "long_only"}
    assert set(rep.loc[rep["grid_set"] == "baseline", "kind"]) == {"baseline"}
    # epoch_factor is not in the reports: it comes from params.json
    assert set(rep.loc[rep["grid_set"] == "wu2020", "epoch_factor"]) == {1.5}
    assert set(exp.trials["status"]) == {"TERMINATED"}  # from experiment_state-*.json


def test_optuna_flat_params_and_csv_fallback(tmp_path):
    """Hand-built: an Optuna trial (flat params.json) whose result.json is missing."""
    p = point("wu2020", epoch_factor=2.0)
    folder = write_trial(tmp_path, "aaaaa_00000", p, [(1.0, 40.0), (2.0, 50.0)],
                         flat_params=True, metrics=False)
    (folder / "result.json").unlink()
    rep = load_experiment(tmp_path).reports
    assert list(rep["val_top1"]) == [40.0, 50.0]
    assert set(rep["epoch_factor"]) == {2.0}
    assert set(rep["trial_id"]) == {"aaaaa_00000"}  # progress.csv carries the id


def test_partial_folder_does_not_crash(tmp_path):
    """Hand-built running search: a half-written line, an empty result.json, a trial that has
    not reported, and a training that wrote further than Tune."""
    a = write_trial(tmp_path, "bbbbb_00000", point("baseline"), [(1.0, 30.0), (2.0, 40.0)])
    with (a / "result.json").open("a") as f:
        f.write('{"epoch": 3, "val_to')  # Tune is writing this line now
    b = write_trial(tmp_path, "bbbbb_00001", point("wu2020"), [(0.5, 20.0)])
    (b / "result.json").write_text("")
    (b / "progress.csv").write_text("")
    write_jsonl(tmp_path / "train_runs/train-bbbbb_00001/metrics.jsonl", [])  # still empty
    c = write_trial(tmp_path, "bbbbb_00002", point("long_only"), [], metrics=False)
    (c / "result.json").unlink()
    (c / "progress.csv").unlink()
    p = point("wu2020", seed=1)
    write_trial(tmp_path, "bbbbb_00003", p, [(0.4, 10.0)], metrics=False)
    write_jsonl(tmp_path / "train_runs/train-bbbbb_00003/metrics.jsonl",
                reports(p, [(0.4, 10.0), (0.9, 35.0)]))  # the training is one epoch ahead
    exp = load_experiment(tmp_path)
    epochs = {t: list(df["epoch"]) for t, df in exp.reports.groupby("trial_id")}
    assert epochs == {"bbbbb_00000": [1, 2], "bbbbb_00003": [1, 2]}
    assert set(exp.reports.loc[exp.reports["trial_id"] == "bbbbb_00003", "source"]) == \
        {"metrics.jsonl"}
    # the trials without reports are still found: by their params.json and folder
    assert set(exp.trials["trial_id"]) == {f"bbbbb_0000{i}" for i in range(4)}


def test_restored_run_keeps_the_last_report_of_an_epoch(tmp_path):
    """Hand-built: epoch 2 reported twice (a restore from the epoch-1 checkpoint)."""
    rows = [{"epoch": 1, "time_total_s": 1.0, "val_top1": 10.0, "grid_set": "wu2020"},
            {"epoch": 2, "time_total_s": 2.0, "val_top1": 20.0, "grid_set": "wu2020"},
            {"epoch": 2, "time_total_s": 2.5, "val_top1": 22.0, "grid_set": "wu2020"}]
    write_jsonl(tmp_path / "train-run" / "metrics.jsonl", rows)
    rep = load_experiment(tmp_path).reports
    assert list(rep["time_total_s"]) == [rows[0]["time_total_s"], rows[2]["time_total_s"]]
    assert list(rep["val_top1"]) == [rows[0]["val_top1"], rows[2]["val_top1"]]


def test_train_run_folder_alone(tmp_path):
    root = copy_real_search(tmp_path)
    exp = load_experiment(root / "train_runs" / "train-4d8cd_00001")
    assert list(exp.reports["epoch"]) == [1, 2, 3, 4]
    assert set(exp.reports["grid_set"]) == {"wu2020"}


def test_missing_and_empty_folders_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path / "nope")):
        load_experiment(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no trials in"):
        load_experiment(tmp_path)


@pytest.mark.slow
def test_result_grid_gives_the_same_frame(tmp_path):
    from ray.tune import ExperimentAnalysis, ResultGrid

    root = copy_real_search(tmp_path)
    from_folder = load_experiment(root).reports
    grid = ResultGrid(ExperimentAnalysis(str(root)))
    from_grid = experiment_from_result_grid(grid).reports
    cols = ["trial_id", "grid_set", "epoch_factor", "seed", "epoch", "val_top1", "time_total_s"]
    left = from_folder[cols].sort_values(["trial_id", "epoch"], ignore_index=True)
    right = from_grid[cols].sort_values(["trial_id", "epoch"], ignore_index=True)
    assert left.equals(right)
