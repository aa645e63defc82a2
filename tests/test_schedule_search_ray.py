"""A search over the schedule space end to end (Optuna TPE, two objectives, the baseline first):
real Tune trials on real MP4s, the driver SIGKILLed after the baseline finished and resumed; every
trial's record rebuilds its schedule; a space with an impossible corner is refused before Ray."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from .test_search_ray import finished_runs, kill_session, mgsearch

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def write_space_config(tmp_path: Path, dataset: dict, **space) -> Path:
    cfg = {
        "name": "tinyspace",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.05, "steps": [0, 2], "max_epoch": 3},
        "multigrid": {"bn_base_size": 2},
        "dataset": dataset,
        "train": {"workers": 0, "storage_path": str(tmp_path / "results"), "precision": "fp32",
                  "checkpoint_points": 2},
        "search": {"algorithm": "optuna", "multi_objective": True, "num_samples": 2,
                   "repeats": 1, "max_concurrent_trials": 1,
                   # coarsest batch 4 x 2 x 2^2 = 32 of the 52 training clips
                   "space": {"grid_set": "long_only", "long_shapes": {"randint": [2, 3]},
                             "long_t": 0.5, "long_s": {"uniform": [0.5, 1.0]},
                             "long_cycles": {"randint": [1, 2]},
                             "fine_tune_fraction": {"uniform": [0.1, 0.3]},
                             "lr_policy": {"choice": ["steps", "cosine_per_cycle"]},
                             **space}},
    }
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def space_search(tmp_path_factory, tiny_dataset):
    tmp = tmp_path_factory.mktemp("space")
    cfg = write_space_config(tmp, tiny_dataset)
    exp = tmp / "results" / "tinyspace"
    first = mgsearch("search", str(cfg))
    deadline = time.time() + 300
    try:  # kill once the baseline has finished: TPE's trials are still to come
        while not finished_runs(exp) and first.poll() is None and time.time() < deadline:
            time.sleep(0.2)
    finally:
        kill_session(first)
    log1 = first.communicate(timeout=120)[0]
    done_before = finished_runs(exp)
    second = mgsearch("search", str(cfg), "--resume")
    try:
        log2 = second.communicate(timeout=600)[0]
    finally:
        kill_session(second)
    records = [(p.parent, json.loads(p.read_text()))
               for p in (exp / "train_runs").glob("train-*/trial.json")]
    return {"exp": exp, "log1": log1, "log2": log2, "rc2": second.returncode,
            "done_before": done_before, "records": records}


def test_the_schedule_search_resumes_with_the_baseline_run_once(space_search):
    r = space_search
    assert r["done_before"], "the baseline did not finish before the kill:\n" + r["log1"][-3000:]
    assert r["rc2"] == 0, r["log2"][-3000:]
    assert "search complete" in r["log2"]
    after = finished_runs(r["exp"])
    assert len(after) == 3  # the baseline and TPE's two trials
    for trial, points in r["done_before"].items():
        assert after[trial] == points  # the baseline finished before the kill: not run again
    grid_sets = sorted(rec["point"]["grid_set"] for _, rec in r["records"])
    assert grid_sets == ["baseline", "long_only", "long_only"]  # TPE never samples the baseline


def test_every_trial_record_rebuilds_its_sampled_schedule(space_search):
    from mgsearch.contract import SearchPoint, schedule_from_record

    sampled = [(d, rec) for d, rec in space_search["records"]
               if rec["point"]["grid_set"] != "baseline"]
    assert len(sampled) == 2
    for run_dir, rec in sampled:
        point = SearchPoint.from_dict(rec["point"])
        assert 2 <= point.long_shapes <= 3 and 1 <= point.long_cycles <= 2
        assert 0.5 <= point.long_s <= 1.0 and 0.1 <= point.fine_tune_fraction <= 0.3
        assert point.lr_policy in ("steps", "cosine_per_cycle")
        schedule = schedule_from_record(rec)
        assert schedule is not None and schedule.iterations == rec["prediction"][
            "predicted_iterations"]
        rows = [json.loads(line) for line in
                (run_dir / "metrics.jsonl").read_text().splitlines() if line]
        assert rows[-1]["iterations"] == schedule.iterations  # the schedule it trained


def test_a_space_with_an_impossible_corner_is_refused_before_ray(tmp_path, tiny_dataset):
    # long_s 0.05 of 32 px is a 1-px crop at the coarsest shape: below any 3D CNN's input
    cfg = write_space_config(tmp_path, tiny_dataset, long_s={"uniform": [0.05, 1.0]})
    proc = mgsearch("search", str(cfg))
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 2, out[-3000:]
    lines = [line for line in out.splitlines() if line.strip()]
    assert any("long_s" in line and "0.05" in line for line in lines), out[-3000:]
    assert not (tmp_path / "results" / "tinyspace" / "train_runs").exists()
    assert "Started a local Ray instance" not in out


def test_the_importance_notebook_runs_on_the_schedule_search(space_search, tmp_path):
    from mgsearch.analysis import IMPORTANCE_NOTEBOOK, execute_notebook

    nb = execute_notebook(space_search["exp"], IMPORTANCE_NOTEBOOK,
                          out=tmp_path / "importance.ipynb", timeout_s=180)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "3 trials, 3 finished, 2 finished sampled trials in the study" in text
    # TPE's two trials are below the four importances need: the reason, not a crash
    assert "too few trials: 2 finished sampled trials" in text
    tables = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "long cycle only" in tables and "baseline" in tables  # the ablation's families
    assert [o for o in outputs if "image/png" in o.get("data", {})]  # the effects figure
